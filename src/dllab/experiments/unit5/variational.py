"""The variational autoencoder (Kingma & Welling, 2014): ELBO, samples, traversals, latent map."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dllab.config import param
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.unit5.shared import (
    UNIT,
    fit_autoencoder,
    load_ae_data,
)
from dllab.models.vae import ELBO
from dllab.report import plots


@dataclass
class VAEConfig:
    latent_dim: int = param(2, ge=1)  # 2 draws the latent map directly
    beta: float = param(1.0, ge=0)  # weight of the KL term (β-VAE; 1 is the ELBO)
    num_epochs: int = param(150, ge=1)  # passes over the training digits
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "vae",
    unit=UNIT,
    title="Variational autoencoder on the digits: samples, traversals, latent map, ELBO",
    topics=("variational autoencoder",),
    config=VAEConfig,
    quick={"num_epochs": 5, "lr": 3e-3},
    tour={"num_epochs": 30},
    tour_seconds=4,
    headline="test_elbo",
    claims=(
        Claim(
            "the code carries information: the KL term is well above zero (no posterior collapse)",
            lambda m: m["test_kl"] > 1.0,
        ),
    ),
)
def vae(cfg: VAEConfig, run: Run) -> dict[str, float]:
    """A VAE (Kingma & Welling, 2014) maximises the evidence lower bound
    ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) with Bernoulli pixels; the test ELBO is
    reported in nats with its reconstruction and KL parts. New digits are decoded from prior
    samples z ~ N(0, I); traversals move one code coordinate; interpolation walks between the
    codes of two test digits; the 2-D map shows the means μ(x) coloured by class."""
    ds = load_ae_data("digits")
    X_test, y_test = ds.test
    model = run.model("vae", "vae_digits", latent_dim=cfg.latent_dim)
    model = fit_autoencoder(run, "vae", model, ELBO(cfg.beta), ds, cfg.num_epochs, cfg.lr)
    torch.manual_seed(derive_seed(run.seed, "test-elbo"))  # one z sample per test digit
    with torch.no_grad():
        _, test = ELBO(beta=1.0).compute(model, (X_test,))
        mu = model.encode(X_test)[0]  # (N, k)
        generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
        samples = model.sample(40, generator)
        steps = torch.linspace(-2.5, 2.5, 10)
        dims = min(cfg.latent_dim, 8)
        z = torch.zeros(dims, 10, cfg.latent_dim)
        z[torch.arange(dims), :, torch.arange(dims)] = steps  # row d moves coordinate d
        traversals = model.mean(model.decode(z.reshape(-1, cfg.latent_dim)))
        first = torch.stack([(y_test == d).nonzero()[0, 0] for d in range(10)])  # (10,)
        a, b = mu[first[[0, 1, 3]]], mu[first[[7, 8, 5]]]  # (3, k): 0->7, 1->8, 3->5
        t = torch.linspace(0, 1, 10)[None, :, None]  # (1, 10, 1)
        path = (1 - t) * a[:, None] + t * b[:, None]  # (3, 10, k)
        path = model.mean(model.decode(path.reshape(-1, cfg.latent_dim)))  # (30, 1, 8, 8)
    plots.image_grid(
        samples.numpy(),
        run.figure("samples"),
        "VAE samples: digits decoded from z ~ N(0, I) drawn from the prior",
    )
    plots.image_grid(
        traversals.numpy(),
        run.figure("latent_traversals"),
        "Latent traversals: one code coordinate from -2.5 to 2.5, the others 0",
        nrow=10,
        row_labels=[f"$z_{d + 1}$" for d in range(dims)],
    )
    plots.image_grid(
        path.numpy(),
        run.figure("interpolation"),
        "Interpolation between the codes μ(x) of two test digits",
        nrow=10,
        row_labels=["0 → 7", "1 → 8", "3 → 5"],
    )
    plots.scatter_2d(
        mu[:, :2].numpy(),
        y_test.numpy(),
        run.figure("latent_map"),
        "Test digits' code means μ(x) in the latent plane, coloured by class",
        "$\\mu_1$",
        "$\\mu_2$",
    )
    return {
        "test_elbo": test["elbo"].item(),
        "test_recon": test["recon"].item(),
        "test_kl": test["kl"].item(),
        "test_mse": F.mse_loss(model.reconstruct(X_test), X_test).item(),
    }
