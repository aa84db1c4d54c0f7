"""Autoencoder-GAN hybrids: the adversarial autoencoder (Makhzani et al., 2016), BiGAN / ALI
(Donahue et al.; Dumoulin et al., 2017), VAE-GAN (Larsen et al., 2016), and AE vs VAE vs GAN
side by side."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dllab.config import param
from dllab.engine import Reconstruction
from dllab.experiments.common import ImageScorer, scoring_classifier
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.unit5.shared import (
    UNIT,
    fit_autoencoder,
    load_ae_data,
)
from dllab.metrics import linear_probe_accuracy, sample_diversity
from dllab.models.gan import GAN, GANTask, set_adam_betas
from dllab.models.hybrid import AdversarialAutoencoding, BidirectionalGAN, VAEGANTask
from dllab.models.vae import ELBO
from dllab.report import plots


@dataclass
class AdversarialConfig:
    latent_dim: int = param(8, ge=1)  # code size k
    num_epochs: int = param(100, ge=1)  # passes over the training digits
    lr: float = param(1e-3, gt=0)  # Adam for both networks
    adversarial_weight: float = param(0.3, ge=0)  # of the adversarial term (AAE, VAE-GAN)
    num_samples: int = param(500, ge=20)  # digits decoded from the prior and scored
    classifier_epochs: int = param(20, ge=1)  # the digits CNN whose features score them


_NAMES = {"aae": "Adversarial autoencoder", "bigan": "BiGAN", "ali": "ALI", "vae-gan": "VAE-GAN"}


def _adversarial_run(cfg: AdversarialConfig, run: Run, key: str, model_name: str, task):
    """Train a hybrid on the digits, then probe its codes and draw samples and reconstructions."""
    ds = load_ae_data("digits")
    (X_train, y_train), (X_test, y_test) = ds.train, ds.test
    model = run.model(key, model_name, latent_dim=cfg.latent_dim)
    trainer = run.trainer(key, model, checkpoint=False, optimizer="adam", loss=task, lr=cfg.lr)
    set_adam_betas(trainer.optimizers.values())  # β1 = 0.5 for adversarial training
    run.fit(trainer, X_train, num_epochs=cfg.num_epochs, batch_size=64)
    model.eval()
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
    with torch.no_grad():
        encode = model.encode if model_name != "ali_digits" else lambda x: model.encode(x, False)
        codes_train, codes_test = encode(X_train), encode(X_test)  # (N, k)
        samples = model.decode(torch.randn(cfg.num_samples, cfg.latent_dim, generator=generator))
        recon = model.decode(codes_test)
    probe = linear_probe_accuracy(codes_train, y_train, codes_test, y_test)
    pixels = linear_probe_accuracy(X_train.flatten(1), y_train, X_test.flatten(1), y_test)
    plots.image_grid(
        torch.cat([samples[:30], X_test[:10], recon[:10]]).numpy(),
        run.figure("samples_and_reconstructions"),
        f"{_NAMES.get(key, key)}: digits decoded from the prior z ~ N(0, I) (rows 1-3); test "
        "digits x and their reconstructions G(E(x))",
        nrow=10,
        row_labels=["samples", "", "", "test x", "G(E(x))"],
    )
    plots.scatter_2d(
        codes_test[:, :2].numpy(),
        y_test.numpy(),
        run.figure("codes"),
        f"{_NAMES.get(key, key)}: the first two code coordinates of test digits, coloured by "
        "class (the prior: N(0, I))",
    )
    scorer = ImageScorer.of(scoring_classifier(run, ds, cfg.classifier_epochs)[0], ds)
    return {
        **scorer.scores(scorer.embed(samples)),
        "linear_probe_accuracy": probe,
        "linear_probe_accuracy_pixels": pixels,
        "test_recon_mse": F.mse_loss(recon, X_test).item(),
        "code_mean_abs": codes_test.mean(0).abs().mean().item(),
        "code_std": codes_test.std(0).mean().item(),
    }


@experiment(
    "aae",
    unit=UNIT,
    title="Adversarial autoencoder: a discriminator matches the codes to N(0, I)",
    topics=("adversarial autoencoder",),
    config=AdversarialConfig,
    quick={"num_epochs": 3, "num_samples": 100, "classifier_epochs": 1},
    tour={"num_epochs": 25, "classifier_epochs": 10},
    tour_seconds=5,
    headline="linear_probe_accuracy",
    claims=(
        Claim(
            "the discriminator pulls the codes to the prior: their spread is near N(0, I)'s 1",
            lambda m: 0.6 < m["code_std"] < 1.4,
        ),
        Claim(
            "the codes still keep the digit: a linear probe reads it 80% of the time",
            lambda m: m["linear_probe_accuracy"] > 0.8,
        ),
    ),
)
def aae(cfg: AdversarialConfig, run: Run) -> dict[str, float]:
    """An adversarial autoencoder (Makhzani et al., 2016) reconstructs digits while a
    discriminator on the code pushes the distribution of E(x) towards the prior N(0, I), so
    decoding prior samples gives digits. The codes' linear-probe accuracy measures how much
    class information they keep (raw pixels as the reference)."""
    task = AdversarialAutoencoding(cfg.adversarial_weight)
    return _adversarial_run(cfg, run, "aae", "aae_digits", task)


@dataclass
class BiGANConfig(AdversarialConfig):
    lr: float = param(2e-4, gt=0)  # BiGAN's Adam rate (Donahue et al., 2017, §4)


@experiment(
    "bigan",
    unit=UNIT,
    title="BiGAN: a GAN that also learns the inverse mapping E(x)",
    topics=("BiGAN/ALI",),
    config=BiGANConfig,
    quick={"num_epochs": 3, "num_samples": 100, "classifier_epochs": 1},
    headline="linear_probe_accuracy",
)
def bigan(cfg: BiGANConfig, run: Run) -> dict[str, float]:
    """BiGAN (Donahue et al., 2017): the discriminator sees pairs (x, E(x)) and (G(z), z); at
    the optimum E inverts G, though no reconstruction loss is ever computed. Samples,
    reconstructions G(E(x)) and the linear-probe accuracy of E(x)."""
    return _adversarial_run(cfg, run, "bigan", "bigan_digits", BidirectionalGAN())


@experiment(
    "ali",
    unit=UNIT,
    title="ALI: adversarially learned inference with a Gaussian encoder",
    topics=("BiGAN/ALI",),
    config=BiGANConfig,
    quick={"num_epochs": 3, "num_samples": 100, "classifier_epochs": 1},
    headline="linear_probe_accuracy",
)
def ali(cfg: BiGANConfig, run: Run) -> dict[str, float]:
    """ALI (Dumoulin et al., 2017) is BiGAN with a stochastic encoder q(z|x) = N(μ(x), σ²(x)),
    sampled by reparameterisation; codes are probed at their means μ(x)."""
    return _adversarial_run(cfg, run, "ali", "ali_digits", BidirectionalGAN())


@experiment(
    "vae-gan",
    unit=UNIT,
    title="VAE-GAN: reconstruction measured in a discriminator's features",
    topics=("VAE-GAN", "variational autoencoder"),
    config=AdversarialConfig,
    quick={"num_epochs": 3, "num_samples": 100, "classifier_epochs": 1},
    headline="linear_probe_accuracy",
)
def vae_gan(cfg: AdversarialConfig, run: Run) -> dict[str, float]:
    """The VAE-GAN (Larsen et al., 2016) replaces the VAE's pixel-wise likelihood by a distance
    between discriminator features, and trains the decoder as a GAN generator as well: sharper
    samples than a VAE's. Samples, reconstructions and the codes' linear-probe accuracy."""
    return _adversarial_run(
        cfg, run, "vae-gan", "vaegan_digits", VAEGANTask(cfg.adversarial_weight)
    )


@dataclass
class AEvsGANConfig:
    latent_dim: int = param(8, ge=1)  # code / noise size of every model
    num_epochs: int = param(150, ge=1)  # epochs of the AE, the VAE and the VAE-GAN
    lr: float = param(2e-3, gt=0)  # Adam learning rate of the AE, the VAE and the VAE-GAN
    gan_epochs: int = param(300, ge=1)  # epochs of the GAN, which learns slower
    gan_lr: float = param(1e-3, gt=0)  # Adam learning rate of the GAN (β1 = 0.5)
    label_smoothing: float = param(0.1, ge=0, lt=1)  # the GAN's one-sided: real targets 1 - s
    num_samples: int = param(1000, ge=20)  # generated digits scored (FID, precision, recall)
    classifier_epochs: int = param(20, ge=1)  # the digits CNN whose features score them


@experiment(
    "ae-vs-gan",
    unit=UNIT,
    title="AE, VAE, GAN and VAE-GAN side by side: sample quality and reconstruction",
    topics=("VAE-GAN", "variational autoencoder", "autoencoder"),
    config=AEvsGANConfig,
    quick={"num_epochs": 3, "gan_epochs": 3, "num_samples": 200, "classifier_epochs": 2},
    tour={"num_epochs": 35, "gan_epochs": 120, "classifier_epochs": 10, "num_samples": 500},
    tour_seconds=39,
    headline=("classifier_fid_vae", "classifier_fid_vaegan"),
    claims=(
        Claim(
            "every model's samples differ from one another (none copies one image)",
            lambda m: min(m[f"diversity_{k}"] for k in ("ae", "vae", "gan", "vaegan")) > 0.5,
        ),
        Claim(
            "the adversarial loss sharpens the VAE: VAE-GAN samples score a lower FID",
            lambda m: m["classifier_fid_vaegan"] < m["classifier_fid_vae"],
        ),
        Claim(
            "... at a price in pixels: the VAE reconstructs test digits more closely",
            lambda m: m["recon_mse_vae"] < m["recon_mse_vaegan"],
        ),
    ),
)
def ae_vs_gan(cfg: AEvsGANConfig, run: Run) -> dict[str, float]:
    """The notes' VAE-versus-GAN table with measured numbers: an autoencoder (sampled from a
    Gaussian fitted to its codes, as it has no prior of its own), a VAE, a GAN and a VAE-GAN
    trained on the same digits with the same code size. Samples side by side; classifier FID of
    samples against test digits (lower is better; real training digits give the floor); test
    reconstruction MSE for the models that have an encoder (a GAN has none). FID is only worth
    comparing once every model's samples vary with z: `diversity_<model>` is their mean pairwise
    distance over that of the test digits (near 0: one image repeated)."""
    ds = load_ae_data("digits")
    (X_train, _), X_test = ds.train, ds.test[0]
    k = cfg.latent_dim
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
    z = torch.randn(cfg.num_samples, k, generator=generator)
    samples, recon = {}, {}

    ae = run.model("ae", "autoencoder_digits", latent_dim=k)
    ae = fit_autoencoder(run, "ae", ae, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
    vae = run.model("vae", "vae_digits", latent_dim=k)
    vae = fit_autoencoder(run, "vae", vae, ELBO(), ds, cfg.num_epochs, cfg.lr)
    with torch.no_grad():
        codes = ae.encode(X_train)  # (N, k): sample N(mean, cov) of the codes
        L = torch.linalg.cholesky(torch.cov(codes.T) + 1e-5 * torch.eye(k))
        samples["AE"] = ae.decode(codes.mean(0) + z @ L.T)
        recon["AE"] = ae(X_test)
        samples["VAE"] = vae.mean(vae.decode(z))
        recon["VAE"] = vae.reconstruct(X_test)
    G = run.model("gan-G", "gan_generator_digits", latent_dim=k)
    D = run.model("gan-D", "gan_discriminator_digits")
    gan = GAN(G, D, k)
    task = GANTask(label_smoothing=cfg.label_smoothing)
    trainer = run.trainer("gan", gan, checkpoint=False, optimizer="adam", loss=task, lr=cfg.gan_lr)
    run.fit(trainer, X_train, num_epochs=cfg.gan_epochs, batch_size=64)
    samples["GAN"] = gan.sample(z)
    vaegan = run.model("vae-gan", "vaegan_digits", latent_dim=k)
    trainer = run.trainer(
        "vae-gan", vaegan, checkpoint=False, optimizer="adam", loss=VAEGANTask(), lr=cfg.lr
    )
    set_adam_betas(trainer.optimizers.values())
    run.fit(trainer, X_train, num_epochs=cfg.num_epochs, batch_size=64)
    with torch.no_grad():
        vaegan.eval()
        samples["VAE-GAN"] = vaegan.decode(z)
        recon["VAE-GAN"] = vaegan.decode(vaegan.encode(X_test))

    scorer = ImageScorer.of(scoring_classifier(run, ds, cfg.classifier_epochs)[0], ds)
    metrics = {}
    for name, X in samples.items():
        key = name.lower().replace("-", "")
        scores = scorer.scores(scorer.embed(X))
        shared = {k: v for k, v in scores.items() if k.startswith(("real_", "max_"))}
        metrics |= shared | {f"{k}_{key}": v for k, v in scores.items() if k not in shared}
        metrics[f"diversity_{key}"] = sample_diversity(X, X_test)
        if name in recon:
            metrics[f"recon_mse_{key}"] = F.mse_loss(recon[name], X_test).item()
    plots.image_grid(
        torch.cat([X[:12] for X in samples.values()]).numpy(),
        run.figure("samples"),
        "Samples from each model, the same noise z in every row",
        nrow=12,
        row_labels=list(samples),
    )
    plots.bars(
        {name: metrics[f"classifier_fid_{name.lower().replace('-', '')}"] for name in samples},
        run.figure("classifier_fid"),
        "Classifier FID of each model's samples against the test digits (lower is better)",
        "classifier FID",
        reference=(metrics["real_classifier_fid"], "real training digits"),
    )
    keys = {name: name.lower().replace("-", "") for name in samples}
    plots.grouped_bars(
        {
            name: [metrics[f"precision_{key}"], metrics[f"recall_{key}"]]
            for name, key in keys.items()
        }
        | {"real training digits": [metrics["real_precision"], metrics["real_recall"]]},
        ["precision:\nlooks real", "recall:\nvariety covered"],
        run.figure("precision_recall"),
        "Precision and recall of each model's samples in the classifier's features "
        "(Kynkäänniemi et al. 2019)",
        "fraction",
        published=("real training digits",),
    )
    plots.bars(
        {name: metrics[f"recon_mse_{name.lower().replace('-', '')}"] for name in recon},
        run.figure("reconstruction_mse"),
        "Test reconstruction MSE per pixel (a GAN has no encoder to reconstruct with)",
        "MSE per pixel",
    )
    return metrics
