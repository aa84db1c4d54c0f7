"""Autoencoders, the VAE and their tasks: shapes, the KL in closed form against Monte Carlo, the
ELBO in nats, corruption rates, the sparsity penalty, and a few steps that lower each loss."""

import math

import pytest
import torch

from dllab.engine import Reconstruction, Trainer
from dllab.errors import ConfigError
from dllab.models import create_model
from dllab.models.autoencoder import Denoising, Sparse, corrupt, sparsity_kl
from dllab.models.hybrid import (
    AdversarialAutoencoding,
    BidirectionalGAN,
    VAEGANTask,
    discriminator_bce,
)
from dllab.models.vae import ELBO, gaussian_kl, negative_log_likelihood


@pytest.mark.parametrize(
    "name, shape, k",
    [
        ("autoencoder_784", (784,), 32),
        ("autoencoder_digits", (1, 8, 8), 8),
        ("autoencoder_mnist1d", (1, 40), 8),
        ("sparse_autoencoder_digits", (1, 8, 8), 100),
        ("conv_autoencoder_digits", (1, 8, 8), 8),
        ("conv_autoencoder_mnist1d", (1, 40), 8),
    ],
)
def test_autoencoder_shapes(name, shape, k):
    model = create_model(name)
    x = torch.rand(5, *shape)
    assert model.encode(x).shape == (5, k)
    assert model(x).shape == (5, *shape)


def test_the_notes_example_has_the_notes_layer_sizes():
    model = create_model("autoencoder_784")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    assert sizes == [784, 128, 64, 32, 64, 128, 784]
    assert model(torch.rand(3, 784)).min() >= 0  # sigmoid output


def test_pca_start_reproduces_pca():
    torch.manual_seed(0)
    X = torch.rand(200, 1, 40)
    flat = X.flatten(1)
    mean = flat.mean(0)
    components = torch.linalg.svd(flat - mean, full_matrices=False).Vh[:4]  # (4, 40)
    model = create_model("autoencoder_mnist1d", latent_dim=4, linear_path=True)
    model.init_from_pca(components, mean)
    pca = (flat - mean) @ components.T @ components + mean
    assert torch.allclose(model(X).flatten(1), pca, atol=1e-5)


@pytest.mark.parametrize("name, shape", [("vae_digits", (1, 8, 8)), ("conv_vae_digits", (1, 8, 8))])
def test_vae_shapes_and_sampling(name, shape):
    model = create_model(name)
    x = torch.rand(4, *shape)
    params, mu, logvar = model(x)
    assert params.shape == x.shape and mu.shape == logvar.shape == (4, model.latent_dim)
    samples = model.sample(6)
    assert samples.shape == (6, *shape) and samples.min() >= 0 and samples.max() <= 1


def test_kl_closed_form_matches_the_definition_and_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4) * 0.5
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3, 4), torch.ones(3, 4))
    exact = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), exact, atol=1e-5)
    z = q.sample((200_000,))  # (S, 3, 4)
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(gaussian_kl(mu, logvar), monte_carlo, atol=0.03)


def test_elbo_is_in_nats_and_splits_into_recon_and_kl():
    torch.manual_seed(0)
    model = create_model("vae_digits")
    x = torch.rand(8, 1, 8, 8)
    torch.manual_seed(1)
    loss, logs = ELBO().compute(model, (x,))
    torch.manual_seed(1)
    params, mu, logvar = model(x)
    bernoulli = torch.distributions.Bernoulli(logits=params)
    # log p(x|z) for binary data is the Bernoulli log-probability; BCE extends it to [0, 1]
    log_px = (x * params.sigmoid().log() + (1 - x) * (1 - params.sigmoid()).log()).sum((1, 2, 3))
    binary = (x > 0.5).float()
    assert torch.allclose(
        negative_log_likelihood(model, params, binary), -bernoulli.log_prob(binary).sum((1, 2, 3))
    )
    assert torch.allclose(logs["recon"], -log_px.mean(), atol=1e-4)
    assert torch.allclose(logs["kl"], gaussian_kl(mu, logvar).mean())
    assert torch.allclose(logs["elbo"], -(logs["recon"] + logs["kl"]))
    assert torch.allclose(loss, -logs["elbo"])
    torch.manual_seed(1)
    beta_loss, _ = ELBO(beta=4.0).compute(model, (x,))
    assert torch.allclose(beta_loss, logs["recon"] + 4 * logs["kl"])


def test_gaussian_likelihood_is_the_normal_log_density():
    model = create_model("vae_mnist1d", sigma=0.5)
    x, mean = torch.randn(3, 1, 40), torch.randn(3, 1, 40)
    expected = -torch.distributions.Normal(mean, 0.5).log_prob(x).sum((1, 2))
    assert torch.allclose(negative_log_likelihood(model, mean, x), expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["masking", "salt_pepper"])
def test_corruptions_hit_the_requested_fraction(kind):
    X = torch.full((200, 1, 8, 8), 0.5)
    g = torch.Generator().manual_seed(0)
    changed = (corrupt(X, kind, 0.3, g) != X).float().mean().item()
    assert abs(changed - 0.3) < 0.01
    if kind == "salt_pepper":
        noisy = corrupt(X, kind, 0.3, g)
        values = noisy[noisy != 0.5]
        assert set(values.unique().tolist()) == {0.0, 1.0}
        assert abs((values == 1).float().mean().item() - 0.5) < 0.03


def test_gaussian_corruption_has_the_requested_std():
    X = torch.zeros(100_000)
    noise = corrupt(X, "gaussian", 0.4, torch.Generator().manual_seed(0))
    assert abs(noise.std().item() - 0.4) < 0.005 and abs(noise.mean().item()) < 0.005


def test_unknown_corruption_is_a_config_error():
    with pytest.raises(ConfigError, match="corruption"):
        Denoising("blur", 0.1)


def test_denoising_loss_compares_with_the_clean_input():
    X = torch.rand(16, 1, 8, 8)
    identity = torch.nn.Identity()
    loss, _ = Denoising("masking", 0.5).compute(identity, (X,))  # a module trains by default
    # an identity model returns the masked input: the loss is the masked pixels' squared values
    assert 0.5 * (X**2).mean() * 0.8 < loss < 0.5 * (X**2).mean() * 1.2


def test_sparsity_kl_formula():
    rho, rho_hat = 0.1, torch.tensor([0.1, 0.5, 0.01])
    expected = sum(
        rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r))
        for r in (0.1, 0.5, 0.01)
    )
    assert math.isclose(sparsity_kl(rho, rho_hat).item(), expected, rel_tol=1e-5)
    assert sparsity_kl(rho, torch.tensor([0.1])).item() == pytest.approx(0.0, abs=1e-7)


def test_sparse_penalties():
    model = create_model("sparse_autoencoder_digits", latent_dim=10)
    X = torch.rand(32, 1, 8, 8)
    h = model.encode(X)
    _, logs = Sparse("l1", weight=0.0).compute(model, (X,))
    assert torch.allclose(logs["sparsity"], h.abs().sum(1).mean())
    _, logs = Sparse("kl", rho=0.05).compute(model, (X,))
    assert torch.allclose(logs["sparsity"], sparsity_kl(0.05, h.mean(0)))
    with pytest.raises(ConfigError):
        Sparse("kl", rho=1.5)


@pytest.mark.parametrize(
    "name, task",
    [
        ("autoencoder_digits", Reconstruction()),
        ("conv_autoencoder_digits", Reconstruction()),
        ("autoencoder_digits", Denoising("salt_pepper", 0.2)),
        ("sparse_autoencoder_digits", Sparse("kl", weight=0.1)),
        ("sparse_autoencoder_digits", Sparse("l1", weight=1e-3)),
        ("vae_digits", ELBO()),
        ("conv_vae_digits", ELBO(beta=2.0)),
        ("conv_autoencoder_mnist1d", Reconstruction()),
    ],
)
def test_a_few_steps_lower_the_loss(name, task, digits_like):
    torch.manual_seed(0)
    model = create_model(name)
    X = digits_like.flatten(1)[:, None, :40] if name.endswith("mnist1d") else digits_like
    trainer = Trainer(model, "adam", task, lr=3e-3, quiet=True, device="cpu")
    before = trainer.evaluate(X)["loss"]
    trainer.fit(X, num_epochs=8, batch_size=64)
    torch.manual_seed(0)
    assert trainer.evaluate(X)["loss"] < 0.9 * before


@pytest.fixture(scope="module")
def digits_like():
    from dllab import data

    return data.load("digits").train[0][:256]


def test_discriminator_bce_is_the_gan_discriminator_loss():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(discriminator_bce(real, fake), expected)


@pytest.mark.parametrize(
    "name, task",
    [
        ("aae_digits", AdversarialAutoencoding()),
        ("bigan_digits", BidirectionalGAN()),
        ("ali_digits", BidirectionalGAN()),
        ("vaegan_digits", VAEGANTask()),
    ],
)
def test_hybrids_train_both_players(name, task, digits_like):
    torch.manual_seed(0)
    model = create_model(name)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = Trainer(model, "adam", task, lr=1e-3, quiet=True, device="cpu")
    trainer.fit(digits_like, num_epochs=2, batch_size=64)
    assert set(trainer.optimizers) == {"main", "discriminator"}
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert not unchanged, f"never updated: {unchanged}"
    record = trainer.history.epochs[-1]
    assert all(math.isfinite(v) for v in record.values() if isinstance(v, float))
    with torch.no_grad():
        z = model.encode(digits_like[:5])
        assert z.shape == (5, model.latent_dim)
        assert model.decode(z).shape == (5, 1, 8, 8)


@pytest.mark.slow
def test_the_aae_step_lowers_the_reconstruction(digits_like):
    torch.manual_seed(0)
    model = create_model("aae_digits")
    trainer = Trainer(model, "adam", AdversarialAutoencoding(), lr=1e-3, quiet=True, device="cpu")
    before = trainer.evaluate(digits_like)["recon"]
    trainer.fit(digits_like, num_epochs=8, batch_size=64)
    assert trainer.evaluate(digits_like)["recon"] < 0.9 * before
