"""Unit IV experiments: generative adversarial networks, mode collapse and its measurement."""

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.data import mixture_modes
from dllab.engine import GAN, GANTask, SampleSnapshots
from dllab.engine.gan import SuperResolutionTask
from dllab.errors import ConfigError
from dllab.experiments.common import classifier_features, scoring_classifier, train_classifier
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.metrics import (
    class_histogram_entropy,
    feature_frechet_distance,
    mode_coverage,
    precision_recall,
    psnr,
)
from dllab.models.lapgan import downsample, laplacian_pyramid, reconstruct, upsample
from dllab.report import plots

# method -> (GAN loss, whether the discriminator packs `cfg.pack` samples as in PacGAN)
GAN_2D_METHODS = {
    "minimax": ("minimax", False),
    "non_saturating": ("non_saturating", False),
    "wgan_gp": ("wgan_gp", False),
    "pacgan": ("non_saturating", True),
}


@dataclass
class MixtureData:
    name: Literal["ring8", "grid25"] = "ring8"  # ring of 8 or grid of 25 Gaussians (VEEGAN §5.1)
    n: int = param(100_000, ge=256)  # discriminator inputs per epoch (PacGAN: 100,000)


@dataclass
class Gan2dConfig:
    data: MixtureData = field(default_factory=MixtureData)
    method: Literal["minimax", "non_saturating", "wgan_gp", "pacgan"] = "pacgan"  # reported
    compare: bool = True  # also train the other methods, for the figures and the table
    num_epochs: int = param(38, ge=1)  # passes over the n training inputs (390 steps each)
    batch_size: int = param(256, ge=8)  # discriminator inputs per step (a PacGAN pack is m samples)
    lr: float = param(2e-3, gt=0)  # Adam learning rate of both networks (β1 = 0.5)
    latent_dim: int = param(2, ge=1)  # size of the noise z
    num_hiddens: int = param(128, ge=1)  # units per hidden layer of G and D
    num_layers: int = param(3, ge=1)  # hidden layers of G and D
    pack: int = param(4, ge=2)  # PacGAN degree m: samples the discriminator sees at once
    n_critic: int = param(5, ge=1)  # WGAN-GP critic steps per generator step
    num_samples: int = param(2500, ge=100)  # generated samples scored (VEEGAN: 2500)
    snapshots: int = param(6, ge=2)  # columns of the samples-over-training figure


def _density_frame(X: np.ndarray, extent: float, size: int = 64) -> np.ndarray:
    """A 2-D histogram of points X (N, 2) as a grey image (size, size), dark where dense.

    Counts are log-scaled and each occupied cell is widened by one cell so that a tight mode
    of a few pixels stays visible once the frame is scaled down.
    """
    counts, _, _ = np.histogram2d(X[:, 1], X[:, 0], bins=size, range=[[-extent, extent]] * 2)
    density = np.log1p(counts) / max(np.log1p(counts.max()), 1e-12)  # (size, size) in [0, 1]
    padded = np.pad(density, 1)
    shifts = [padded[i : i + size, j : j + size] for i in range(3) for j in range(3)]
    return 1 - np.flipud(np.max(shifts, axis=0))  # y upwards


def _train_gan_2d(cfg: Gan2dConfig, run: Run, method: str, X: torch.Tensor, z: torch.Tensor):
    """One GAN of `method` trained on samples X (N, 2); returns its samples of z over training.

    As in PacGAN's experiments, a discriminator input is a pack of m samples: with packing, an
    epoch draws m * n samples in steps of m * batch_size, so every method takes the same steps.
    """
    loss, packed = GAN_2D_METHODS[method]
    pack = cfg.pack if packed else 1
    size = {"num_hiddens": cfg.num_hiddens, "num_layers": cfg.num_layers}
    G = run.model(f"{method}-G", "gan_generator_2d", latent_dim=cfg.latent_dim, **size)
    D = run.model(f"{method}-D", "gan_discriminator_2d", pack=pack, **size)
    model = GAN(G, D, cfg.latent_dim)
    task = GANTask(loss, n_critic=cfg.n_critic if loss == "wgan_gp" else 1, pack=pack)
    snapshots = SampleSnapshots(z, every=max(1, cfg.num_epochs // (cfg.snapshots - 1)))
    trainer = run.trainer(method, model, loss=task, lr=cfg.lr, callbacks=[snapshots])
    run.fit(
        trainer, X[: pack * cfg.data.n], num_epochs=cfg.num_epochs, batch_size=pack * cfg.batch_size
    )
    return snapshots


@experiment(
    "gan-2d",
    unit=4,
    title="Mode collapse on 2-D Gaussian mixtures, and its cure",
    topics=("vanilla GAN", "Wasserstein GAN", "mode collapse"),
    config=Gan2dConfig,
    quick={
        "num_epochs": 6,
        "data": {"n": 1024},
        "batch_size": 64,
        "num_samples": 500,
        "snapshots": 3,
    },
    implements=(
        "dllab.engine.gan.GANTask",
        "dllab.engine.gan.gradient_penalty",
        "dllab.models.gan.gan_discriminator_2d",
        "dllab.metrics.mode_coverage",
    ),
    headline=("modes_captured", "high_quality_fraction"),
)
def gan_2d(cfg: Gan2dConfig, run: Run) -> dict[str, float]:
    """A GAN trained on a mixture of well-separated Gaussians often covers only some of them
    (mode collapse): the generator finds one mode the discriminator accepts, the discriminator
    then rejects it, and the generator hops to another. Four methods train the same networks
    for the same steps and are scored on the same noise: the minimax loss of Goodfellow et al.
    (2014), the non-saturating loss, WGAN-GP (Gulrajani et al., 2017) and PacGAN (Lin et al.,
    2018), whose discriminator judges m samples at once and so sees a lack of diversity. The
    samples come from the averaged generator (its weights' moving average). A mode is captured
    when at least one of 2,500 generated samples lies within 3 standard deviations of it; the
    fraction of samples that do is the high-quality fraction (VEEGAN and PacGAN tables)."""
    X = data.load(cfg.data.name, n=cfg.pack * cfg.data.n).train[0]  # (m * n, 2), m = pack
    centres, std = mixture_modes(cfg.data.name)
    z = torch.randn(cfg.num_samples, cfg.latent_dim)  # the fixed noise batch of every method
    methods = list(GAN_2D_METHODS) if cfg.compare else [cfg.method]
    metrics, panels, frames = {}, [], []
    extent = float(np.abs(centres).max()) + 1.0
    for method in methods:
        snapshots = _train_gan_2d(cfg, run, method, X, z)
        scores = mode_coverage(snapshots.samples[-1], centres, std)
        if method == cfg.method:
            metrics.update(scores)
        metrics[f"{method}_modes_captured"] = scores["modes_captured"]
        metrics[f"{method}_high_quality_fraction"] = scores["high_quality_fraction"]
        title = f"{method}: {scores['modes_captured']}/{len(centres)} modes, "
        title += f"{scores['high_quality_fraction']:.0%} high quality"
        panels.append({"points": snapshots.samples[-1].numpy(), "title": title})
        frames.append([_density_frame(s.numpy(), extent) for s in snapshots.samples])
    epochs = snapshots.epochs
    plots.scatter_panels(
        [{"points": X[: cfg.num_samples].numpy(), "title": "real samples"}, *panels],
        run.figure("samples-final"),
        f"{cfg.data.name}: real samples and each GAN's samples after {cfg.num_epochs} epochs",
        xlabel="$x_1$",
        ylabel="$x_2$",
    )
    plots.image_grid(
        np.stack([f for row in frames for f in row]),
        run.figure("samples-over-training"),
        f"Density of generated samples over training ({cfg.data.name}; dark = dense)",
        nrow=len(epochs),
        row_labels=methods,
        col_labels=[f"epoch {e}" for e in epochs],
    )
    gutter = np.ones((frames[0][0].shape[0], 4))
    movie = [
        np.concatenate([part for f in step for part in (f, gutter)][:-1], axis=1)
        for step in zip(*frames)
    ]
    plots.animated_gif(movie, run.figure("training", ".gif"), fps=2)
    return metrics


@dataclass
class DigitsGanConfig:
    architecture: Literal["mlp", "dcgan"] = "mlp"  # MLP networks, or DCGAN's convolutions
    num_epochs: int = param(300, ge=1)  # passes over the 1257 training digits
    batch_size: int = param(64, ge=2)  # digits per step
    lr: float = param(2e-4, gt=0)  # Adam learning rate of both networks (β1 = 0.5)
    latent_dim: int = param(32, ge=1)  # size of the noise z
    num_hiddens: int = param(256, ge=1)  # units per hidden layer of G and D
    loss: Literal["minimax", "non_saturating", "wgan_gp"] = "non_saturating"  # GAN loss
    label_smoothing: float = param(0.1, ge=0, lt=1)  # one-sided: real targets 1 - s
    classifier_epochs: int = param(40, ge=1)  # training of the CNN that scores the samples
    num_samples: int = param(1000, ge=20)  # generated digits scored
    snapshots: int = param(10, ge=2)  # frames of the training GIF


def _image_scores(classifier, real_test: torch.Tensor, fake: torch.Tensor, real_train) -> dict:
    """Classifier FID of generated vs test images (and of real train vs test, the floor),
    precision/recall in feature space, and the entropy of the predicted-class histogram."""
    h_test, _ = classifier_features(classifier, real_test)
    h_fake, predicted = classifier_features(classifier, fake)
    h_train, _ = classifier_features(classifier, real_train)
    n = min(len(h_test), len(h_fake))  # k-NN balls need (n, n) distances: equal, bounded sets
    return {
        "classifier_fid": feature_frechet_distance(h_fake, h_test),
        "real_classifier_fid": feature_frechet_distance(h_train, h_test),
        **precision_recall(h_test[:n], h_fake[:n]),
        "class_entropy": class_histogram_entropy(predicted, 10),
        "max_class_entropy": math.log(10),
    }


def _train_digit_gan(cfg: DigitsGanConfig, run: Run, digits, conditional: bool, z: torch.Tensor):
    """A GAN (conditional when asked) on the training images; returns it and its frames."""
    num_classes = 10 if conditional else 0
    wgan = cfg.loss == "wgan_gp"  # no batch norm in the critic; no probabilities to smooth
    channels, side = digits.train[0].shape[1], digits.train[0].shape[-1]  # (N, C, S, S)
    if cfg.architecture == "dcgan":
        if conditional:
            raise ConfigError("the conditional GAN is an MLP: use architecture=mlp")
        norm = "none" if wgan else "batch"
        if side == 8:
            G = run.model("G", "dcgan_generator_digits", latent_dim=cfg.latent_dim)
            D = run.model("D", "dcgan_discriminator_digits", norm=norm)
        else:
            G = run.model("G", "dcgan_generator_32", latent_dim=cfg.latent_dim, channels=channels)
            D = run.model("D", "dcgan_discriminator_32", channels=channels, norm=norm)
    else:
        size = {"num_classes": num_classes, "num_hiddens": cfg.num_hiddens}
        G = run.model("G", "gan_generator_digits", latent_dim=cfg.latent_dim, **size)
        D = run.model("D", "gan_discriminator_digits", **size)
    model = GAN(G, D, cfg.latent_dim, num_classes=num_classes or None)
    task = GANTask(
        cfg.loss, n_critic=5 if wgan else 1, label_smoothing=0 if wgan else cfg.label_smoothing
    )
    snapshots = SampleSnapshots(z, every=max(1, cfg.num_epochs // (cfg.snapshots - 1)))
    trainer = run.trainer("gan", model, loss=task, lr=cfg.lr, callbacks=[snapshots])
    run.fit(trainer, digits.train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
    return model, snapshots


def _digits_gan(cfg: DigitsGanConfig, run: Run, digits, conditional: bool) -> dict[str, float]:
    """Train a GAN on the images `digits` and score its samples with a classifier."""
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    labels = torch.arange(cfg.num_samples) % 10  # (N,) balanced requested classes
    shown = torch.arange(100) // 10  # one row per class in the figures
    z_shown = torch.randn(100, cfg.latent_dim)
    z_shown = torch.cat([z_shown, F.one_hot(shown, 10).float()], 1) if conditional else z_shown
    model, snapshots = _train_digit_gan(cfg, run, digits, conditional, z_shown)
    fake = model.sample(model.noise(cfg.num_samples, labels if conditional else None))
    metrics = {
        "classifier_test_accuracy": classifier_accuracy,
        **_image_scores(classifier, digits.test[0], fake, digits.train[0]),
    }
    _, predicted = classifier_features(classifier, fake)
    kind = "conditional GAN" if conditional else "GAN"
    if conditional:
        correct = (predicted == labels).float()
        metrics["generated_class_accuracy"] = correct.mean().item()
        per_class = torch.zeros(10).index_add_(0, labels, correct) / torch.bincount(
            labels, minlength=10
        )
        plots.bars(
            {f"digit {k}": v for k, v in enumerate(per_class.tolist())},
            run.figure("class-accuracy"),
            "Classifier accuracy on generated digits of each requested class",
            "fraction classified as requested",
            reference=(classifier_accuracy, "classifier on real test digits"),
        )
    plots.image_grid(
        snapshots.samples[-1].numpy(),
        run.figure("samples"),
        f"{kind} samples after {cfg.num_epochs} epochs"
        + (" (row k: requested digit k)" if conditional else " (fixed noise)"),
        nrow=10,
        row_labels=[str(k) for k in range(10)] if conditional else None,
    )
    scale = max(1, 24 // digits.train[0].shape[-1])  # 8x8 digits drawn 3x larger
    frames = [plots.mosaic(s.numpy(), nrow=10) for s in snapshots.samples]  # (H, W, C)
    frames = [f[..., 0] if f.shape[-1] == 1 else f for f in frames]  # grey: (H, W)
    plots.animated_gif(
        [f.repeat(scale, 0).repeat(scale, 1) for f in frames], run.figure("training", ".gif")
    )
    return metrics


GAN_DIGITS_QUICK = {"num_epochs": 3, "classifier_epochs": 2, "num_samples": 200, "snapshots": 2}


@experiment(
    "gan-digits",
    unit=4,
    title="A vanilla GAN on 8x8 digits, scored by a classifier's features",
    topics=("vanilla GAN",),
    config=DigitsGanConfig,
    quick=GAN_DIGITS_QUICK,
    implements=("dllab.models.gan.gan_generator_digits", "dllab.metrics.frechet_distance"),
    headline=("real_classifier_fid", "classifier_fid"),
)
def gan_digits(cfg: DigitsGanConfig, run: Run) -> dict[str, float]:
    """An MLP generator and discriminator (Goodfellow et al., 2014) on the 1257 training digits.
    Pretrained Inception weights cannot be downloaded, so samples are scored in the feature
    space of a CNN the project trains on the same digits: the Fréchet distance to the test
    digits ("classifier FID", beside that of the real training digits, its floor), precision
    and recall in that space, and the entropy of the predicted-class histogram (log 10 when
    every digit is generated equally often; lower when the generator collapses)."""
    return _digits_gan(cfg, run, data.load("digits"), conditional=False)


@experiment(
    "cgan-digits",
    unit=4,
    title="A conditional GAN: the digit to draw is an input",
    topics=("conditional GAN",),
    config=DigitsGanConfig,
    quick=GAN_DIGITS_QUICK,
    implements=("dllab.engine.gan.GAN.condition",),
    headline=("generated_class_accuracy", "classifier_fid"),
)
def cgan_digits(cfg: DigitsGanConfig, run: Run) -> dict[str, float]:
    """Mirza & Osindero (2014): the one-hot label is appended to the generator's noise and to
    the discriminator's input, so the generator learns p(x | y) and draws the digit asked for.
    A CNN trained on real digits checks that it does: its accuracy on generated digits of each
    requested class, next to its accuracy on the real test digits; the classifier FID is
    reported beside that of the real training digits."""
    return _digits_gan(cfg, run, data.load("digits"), conditional=True)


@dataclass
class GanImages:
    name: Literal["digits", "mnist", "cifar10"] = "digits"  # 8x8 digits, or MNIST/CIFAR-10 files
    dir: str = ""  # folder of the MNIST IDX / CIFAR-10 batch files (default: the dllab cache)
    download: bool = False  # fetch missing MNIST/CIFAR-10 files into the cache first
    num_train: int = param(10_000, ge=0)  # training images kept (0: all), for a CPU's sake


@dataclass
class DcganConfig(DigitsGanConfig):
    data: GanImages = field(default_factory=GanImages)
    architecture: Literal["mlp", "dcgan"] = "dcgan"  # MLP networks, or DCGAN's convolutions
    num_epochs: int = param(150, ge=1)  # passes over the training images


def load_gan_images(spec: GanImages) -> data.Dataset:
    """Images in [0, 1] with a power-of-two side, as DCGAN's strided layers need: the digits
    (N, 1, 8, 8), MNIST padded from 28 to (N, 1, 32, 32), CIFAR-10 (N, 3, 32, 32).

    Raises:
        DataError: one line naming the MNIST / CIFAR-10 files missing and where to put them.
    """
    if spec.name == "digits":
        return data.load("digits")
    images = data.load(spec.name, dir=spec.dir or None, download=spec.download)
    pad = (32 - images.train[0].shape[-1]) // 2  # MNIST: 2 pixels of background on each side
    (X_train, y_train), (X_test, y_test) = images.train, images.test
    keep = spec.num_train or len(X_train)
    return replace(
        images,
        train=(F.pad(X_train[:keep], (pad,) * 4), y_train[:keep]),
        test=(F.pad(X_test, (pad,) * 4), y_test),
    )


@experiment(
    "dcgan",
    unit=4,
    title="DCGAN: a convolutional generator and discriminator on digits",
    topics=("DCGAN",),
    config=DcganConfig,
    quick=GAN_DIGITS_QUICK,
    implements=("dllab.models.dcgan.DCGANGenerator", "dllab.models.dcgan.DCGANDiscriminator"),
    headline=("real_classifier_fid", "classifier_fid"),
)
def dcgan(cfg: DcganConfig, run: Run) -> dict[str, float]:
    """Radford et al. (2016) made GANs train reliably on images with a few rules: strided
    (transposed) convolutions instead of pooling, no fully connected hidden layers, batch norm,
    ReLU in the generator and LeakyReLU in the discriminator, Adam with β1 = 0.5. The same
    scores as `gan-digits` (classifier FID, precision/recall, class entropy) compare it with
    the MLP GAN (`--set architecture=mlp`). `--set data.name=mnist` or `cifar10` trains the
    32x32 DCGAN on real files (in `data.dir` or the dllab cache), scored by a CNN trained on
    the same images."""
    if cfg.architecture == "mlp" and cfg.data.name != "digits":
        raise ConfigError("the MLP GAN draws 8x8 digits: use architecture=dcgan for MNIST/CIFAR-10")
    return _digits_gan(cfg, run, load_gan_images(cfg.data), conditional=False)


@dataclass
class GenDiscConfig:
    sizes: tuple[int, ...] = (20, 50, 100, 200, 500, 1257)  # training-set sizes (per run)
    repeats: int = param(3, ge=1)  # random training subsets per size
    num_epochs: int = param(200, ge=1)  # full-batch Adam epochs of the discriminative models
    lr: float = param(1e-2, gt=0)  # their Adam learning rate
    var_smoothing: float = param(0.1, gt=0)  # added to each naive-Bayes variance (pixels: 0-1)


def fit_gaussian_naive_bayes(X: torch.Tensor, y: torch.Tensor, num_classes: int, smoothing: float):
    """p(y) and p(x | y) = Π_j N(x_j; μ_yj, σ²_yj) by maximum likelihood, X (N, D), y (N,).

    Returns:
        log priors (K,), means (K, D) and variances (K, D) (+ `smoothing`; a class absent from
        the sample gets prior ~0 and the overall mean).
    """
    onehot = F.one_hot(y, num_classes).double()  # (N, K)
    counts = onehot.sum(0)  # (K,)
    safe = counts.clamp(min=1)[:, None]
    means = onehot.T @ X.double() / safe  # (K, D)
    variances = onehot.T @ X.double() ** 2 / safe - means**2 + smoothing  # (K, D)
    log_prior = torch.log((counts + 1e-9) / counts.sum())
    return log_prior, means, variances


def naive_bayes_log_joint(X: torch.Tensor, log_prior, means, variances) -> torch.Tensor:
    """log p(y) + Σ_j log N(x_j; μ_yj, σ²_yj) for every sample and class: (N, K)."""
    X = X.double()[:, None, :]  # (N, 1, D)
    log_normal = -0.5 * (torch.log(2 * math.pi * variances) + (X - means) ** 2 / variances)
    return log_prior + log_normal.sum(-1)  # (N, K)


@experiment(
    "generative-vs-discriminative",
    unit=4,
    title="Generative vs discriminative classifiers at growing training-set sizes",
    topics=("generative vs discriminative models",),
    config=GenDiscConfig,
    quick={"sizes": (20, 200), "repeats": 1, "num_epochs": 30},
    implements=(
        "dllab.experiments.unit4.fit_gaussian_naive_bayes",
        "dllab.models.mlp.perceptron",
    ),
    headline=("naive_bayes_error_smallest", "logistic_regression_error_smallest"),
)
def generative_vs_discriminative(cfg: GenDiscConfig, run: Run) -> dict[str, float]:
    """Ng & Jordan (2002): a generative classifier models p(x, y) = p(y) p(x | y) and classifies
    by Bayes' rule; a discriminative one models p(y | x) directly. Gaussian naive Bayes reaches
    its (higher) asymptotic error with few samples; logistic regression, its discriminative
    partner, starts worse and ends better; an MLP needs the most data. Being generative, naive
    Bayes can also draw new digits: x ~ N(μ_y, diag σ²_y), pixel by pixel independently, which
    shows what the independence assumption costs."""
    digits = data.load("digits", flatten=True)
    X_train, y_train = digits.train
    X_test, y_test = digits.test
    sizes = [min(n, len(X_train)) for n in cfg.sizes]
    errors: dict[str, list[list[float]]] = {"naive Bayes": [], "logistic regression": [], "MLP": []}
    generator = torch.Generator().manual_seed(run.seed)
    for n in sizes:
        per_model = {name: [] for name in errors}
        for r in range(cfg.repeats):
            idx = torch.randperm(len(X_train), generator=generator)[:n]
            X, y = X_train[idx], y_train[idx]
            nb = fit_gaussian_naive_bayes(X, y, 10, cfg.var_smoothing)
            predicted = naive_bayes_log_joint(X_test, *nb).argmax(1)
            per_model["naive Bayes"].append(1 - (predicted == y_test).float().mean().item())
            for name, model_name, kw in (
                ("logistic regression", "perceptron", {"in_features": 64, "num_outputs": 10}),
                ("MLP", "mlp", {"num_hiddens": (128,)}),
            ):
                tag = f"{model_name}-n{n}-r{r}"
                model = run.model(tag, model_name, **kw)
                trainer = run.trainer(tag, model, checkpoint=False, lr=cfg.lr)
                run.fit(trainer, (X, y), num_epochs=cfg.num_epochs, batch_size=None)
                per_model[name].append(1 - trainer.evaluate(digits.test)["accuracy"])
        for name, values in per_model.items():
            errors[name].append(values)
    metrics = {}
    series = {}
    for name, table in errors.items():
        mean = np.array([np.mean(v) for v in table])
        std = np.array([np.std(v) for v in table])
        series[name] = (sizes, mean, std)
        key = name.replace(" ", "_").lower()
        metrics[f"{key}_error_smallest"] = float(mean[0])
        metrics[f"{key}_error_largest"] = float(mean[-1])
    plots.lines(
        series,
        run.figure("learning-curves"),
        f"Test error on digits vs training-set size (mean ± std of {cfg.repeats} subsets)",
        "training samples",
        "test error",
        log_x=True,
    )
    nb = fit_gaussian_naive_bayes(X_train, y_train, 10, cfg.var_smoothing)
    _, means, variances = nb
    labels = torch.arange(100) // 10  # (100,) one row per class
    noise = torch.randn(100, 64, generator=generator, dtype=torch.float64)
    samples = means[labels] + variances[labels].sqrt() * noise  # (100, 64)
    by_class = samples.reshape(10, 10, 64)[:, :9].transpose(0, 1).reshape(90, 64)  # row: 0..9
    grid = torch.cat([means, by_class]).reshape(-1, 1, 8, 8).clamp(0, 1)
    plots.image_grid(
        grid.numpy(),
        run.figure("naive-bayes-samples"),
        "Naive Bayes as a generator: class means (top row), then samples x ~ N(μ_y, diag σ²_y)",
        nrow=10,
        col_labels=[str(k) for k in range(10)],
    )
    return metrics


@dataclass
class LapganConfig:
    num_epochs: int = param(200, ge=1)  # passes over the training digits, per level
    batch_size: int = param(64, ge=2)  # digits per step
    lr: float = param(2e-4, gt=0)  # Adam learning rate (β1 = 0.5)
    latent_dim: int = param(16, ge=1)  # noise per level
    classifier_epochs: int = param(40, ge=1)  # training of the CNN that scores the samples
    num_samples: int = param(1000, ge=20)  # generated digits scored


@experiment(
    "lapgan",
    unit=4,
    title="LAPGAN: a Laplacian pyramid of GANs, coarse to fine",
    topics=("LAPGAN",),
    config=LapganConfig,
    quick={"num_epochs": 2, "classifier_epochs": 2, "num_samples": 200},
    implements=("dllab.models.lapgan.laplacian_pyramid", "dllab.models.lapgan.reconstruct"),
    headline=("real_classifier_fid", "classifier_fid"),
)
def lapgan(cfg: LapganConfig, run: Run) -> dict[str, float]:
    """Denton et al. (2015) split image generation into easier steps: a GAN draws a 4x4
    digit, then a conditional GAN, given that image upsampled, draws the 8x8 residual (the
    detail the upsampling lacks: a level of the Laplacian pyramid). Each GAN is trained on the
    pyramid of the real digits; sampling runs coarse to fine. Scored as `gan-digits`."""
    digits = data.load("digits")
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    residual, coarse = laplacian_pyramid(digits.train[0], 2)  # (N, 1, 8, 8), (N, 1, 4, 4)
    levels = {}
    specs = [  # level: (generator, discriminator, training data, conditioned on the coarse image)
        (
            "lapgan_residual_generator",
            "lapgan_residual_discriminator",
            (residual, upsample(coarse)),
            True,
        ),
        ("lapgan_coarse_generator", "lapgan_coarse_discriminator", coarse, False),
    ]
    for level, (G_name, D_name, train, vector) in enumerate(specs):
        G = run.model(f"level{level}-G", G_name, latent_dim=cfg.latent_dim)
        D = run.model(f"level{level}-D", D_name)
        model = GAN(G, D, cfg.latent_dim, vector_condition=vector)
        trainer = run.trainer(f"level{level}", model, loss=GANTask(label_smoothing=0.1), lr=cfg.lr)
        run.fit(trainer, train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
        levels[level] = model
    coarse_fake = levels[1].sample(levels[1].noise(cfg.num_samples))  # (N, 1, 4, 4)
    context = upsample(coarse_fake)  # (N, 1, 8, 8)
    residual_fake = levels[0].sample(levels[0].noise(cfg.num_samples, context))
    fake = reconstruct([residual_fake, coarse_fake]).clamp(0, 1)  # (N, 1, 8, 8)
    metrics = {
        "classifier_test_accuracy": classifier_accuracy,
        **_image_scores(classifier, digits.test[0], fake, digits.train[0]),
    }
    shown = 10
    rows = [coarse_fake[:shown], context[:shown], (residual_fake[:shown] + 1) / 2, fake[:shown]]
    plots.image_grid(
        torch.cat([F.interpolate(r, size=8) for r in rows]).numpy(),  # 4x4 shown as blocks
        run.figure("pyramid-samples"),
        "LAPGAN sampling, coarse to fine (residuals shown as 0.5 + h/2)",
        nrow=shown,
        row_labels=["4x4 sample", "upsampled", "8x8 residual", "sum = digit"],
    )
    return metrics


@dataclass
class SrganConfig:
    num_epochs: int = param(100, ge=1)  # passes over the training digits, per model
    batch_size: int = param(64, ge=2)  # digits per step
    lr: float = param(1e-3, gt=0)  # Adam learning rate (β1 = 0.5)
    adversarial_weight: float = param(1e-3, ge=0)  # w of the adversarial term (Ledig et al.)
    classifier_epochs: int = param(40, ge=1)  # training of the CNN whose features are compared


@experiment(
    "srgan",
    unit=4,
    title="SRGAN: 4x4 -> 8x8 super-resolution with a content loss in classifier features",
    topics=("SRGAN",),
    config=SrganConfig,
    quick={"num_epochs": 2, "classifier_epochs": 2},
    implements=("dllab.models.srgan.SRGenerator", "dllab.engine.gan.SuperResolutionTask"),
    headline=("bicubic_psnr", "srresnet_psnr", "srgan_psnr"),
)
def srgan(cfg: SrganConfig, run: Run) -> dict[str, float]:
    """Ledig et al. (2017) train a residual generator to upscale images with a content loss
    measured in the feature space of a pretrained VGG network plus a small adversarial loss, so
    that outputs look sharp rather than averaged. VGG weights cannot be downloaded here: the
    content loss compares the features of a CNN the project trains on the same digits. Each
    8x8 test digit is reduced to 4x4 (2x2 averages) and upscaled by bicubic interpolation, by
    SRResNet (the same generator trained on pixel MSE) and by SRGAN; PSNR is measured against
    the original, and the classifier's accuracy on the upscaled digits tells whether they are
    still readable."""
    digits = data.load("digits")
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    classifier.requires_grad_(False)

    def feature_loss(X_hat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        # l_VGG/i,j = mean (φ(X̂) - φ(X))²  (Ledig et al., eq. 5), φ = the classifier's features
        return F.mse_loss(
            classifier.pool(classifier.features(X_hat)), classifier.pool(classifier.features(X))
        )

    def pixel_loss(X_hat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(X_hat, X)

    X_train, X_test = digits.train[0], digits.test[0]
    low_train, low_test = downsample(X_train), downsample(X_test)  # (N, 1, 4, 4)
    outputs = {"bicubic": F.interpolate(low_test, scale_factor=2, mode="bicubic").clamp(0, 1)}
    for name, content, weight in (
        ("SRResNet", pixel_loss, 0.0),
        ("SRGAN", feature_loss, cfg.adversarial_weight),
    ):
        G = run.model(f"{name}-G", "srgan_generator_digits")
        D = run.model(f"{name}-D", "dcgan_discriminator_digits")
        model = GAN(G, D, latent_dim=0, ema=False)
        task = SuperResolutionTask(content, adversarial_weight=weight)
        trainer = run.trainer(name, model, loss=task, lr=cfg.lr)
        run.fit(trainer, (X_train, low_train), num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
        outputs[name] = model.sample(low_test, use_ema=False)
    metrics = {"classifier_test_accuracy": classifier_accuracy}
    for name, X_hat in outputs.items():
        key = name.lower()
        metrics[f"{key}_psnr"] = psnr(X_hat, X_test)
        _, predicted = classifier_features(classifier, X_hat)
        metrics[f"{key}_classifier_accuracy"] = (predicted == digits.test[1]).float().mean().item()
    shown = 10
    rows = [
        F.interpolate(low_test[:shown], size=8),
        *(X[:shown] for X in outputs.values()),
        X_test[:shown],
    ]
    plots.image_grid(
        torch.cat(rows).numpy(),
        run.figure("super-resolution"),
        "4x4 -> 8x8 test digits (PSNR against the originals, over the whole test set)",
        nrow=shown,
        row_labels=[
            "4x4 input",
            *(f"{name}: {metrics[f'{name.lower()}_psnr']:.1f} dB" for name in outputs),
            "original 8x8",
        ],
    )
    return metrics


@dataclass
class PixelCnnConfig:
    num_epochs: int = param(100, ge=1)  # passes over the binarised training digits
    batch_size: int = param(64, ge=1)  # digits per step
    lr: float = param(2e-3, gt=0)  # Adam learning rate
    channels: int = param(32, ge=1)  # feature maps per masked layer
    num_layers: int = param(4, ge=1)  # masked convolutions (one of type A, then B)
    threshold: float = param(0.5, gt=0, lt=1)  # a pixel is 1 when its grey level exceeds this
    num_samples: int = param(50, ge=1)  # digits drawn pixel by pixel


@experiment(
    "pixelcnn",
    unit=4,
    title="PixelCNN: an autoregressive model with an exact likelihood",
    topics=("generative vs discriminative models",),
    config=PixelCnnConfig,
    quick={"num_epochs": 2, "num_samples": 10},
    implements=("dllab.models.pixelcnn.MaskedConv2d", "dllab.models.pixelcnn.PixelCNN.sample"),
    headline=("independent_pixels_nll_nats", "test_nll_nats"),
)
def pixelcnn(cfg: PixelCnnConfig, run: Run) -> dict[str, float]:
    """The third family of generative models beside GANs and VAEs: p(x) = Π_i p(x_i | x_<i)
    (van den Oord et al., 2016). Masked convolutions give every pixel's conditional in one
    pass during training, so the test negative log-likelihood is exact (in nats per digit,
    against independent pixels with the training frequencies as a baseline); sampling is
    sequential, one pixel at a time in raster order."""
    digits = data.load("digits")
    X_train = (digits.train[0] > cfg.threshold).float()  # (N, 1, 8, 8) binarised
    X_test = (digits.test[0] > cfg.threshold).float()
    model = run.model(
        "pixelcnn", "pixelcnn_digits", channels=cfg.channels, num_layers=cfg.num_layers
    )
    trainer = run.trainer("pixelcnn", model, loss="bce", metrics=(), lr=cfg.lr)
    run.fit(
        trainer,
        (X_train, X_train),
        val_data=(X_test, X_test),
        num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size,
    )
    pixels = X_train[0].numel()
    # -log p(x) = Σ_i BCE(logit_i, x_i): the mean per-pixel BCE times the pixels per digit
    nll = trainer.evaluate((X_test, X_test))["loss"] * pixels
    frequency = X_train.mean(0).clamp(1e-3, 1 - 1e-3)  # (1, 8, 8) p(x_i = 1), independent pixels
    independent = (
        -(X_test * frequency.log() + (1 - X_test) * (1 - frequency).log()).sum((1, 2, 3)).mean()
    )
    generator = torch.Generator().manual_seed(run.seed)
    samples = model.eval().sample(cfg.num_samples, X_train.shape[-1], generator)
    plots.image_grid(
        torch.cat([X_test[:10], samples]).numpy(),
        run.figure("samples"),
        f"Binarised test digits (top row) and PixelCNN samples; test NLL {nll:.1f} nats/digit",
        nrow=10,
    )
    return {
        "test_nll_nats": nll,
        "independent_pixels_nll_nats": independent.item(),
        "test_bits_per_pixel": nll / pixels / math.log(2),
    }


@dataclass
class GanAugmentationConfig(DigitsGanConfig):
    subset_size: int = param(200, ge=10)  # labelled training digits (of 1257)
    synthetic_per_class: int = param(100, ge=1)  # conditional-GAN digits added per class


@experiment(
    "gan-augmentation",
    unit=4,
    title="Does adding conditional-GAN digits to a small labelled set help a classifier?",
    topics=("conditional GAN",),
    config=GanAugmentationConfig,
    quick={**GAN_DIGITS_QUICK, "subset_size": 50, "synthetic_per_class": 5},
    implements=("dllab.engine.gan.GAN.condition",),
    headline=("test_accuracy_without_gan_digits", "test_accuracy_with_gan_digits"),
)
def gan_augmentation(cfg: GanAugmentationConfig, run: Run) -> dict[str, float]:
    """A conditional GAN is trained on a small labelled subset of the digits; a CNN is then
    trained on that subset alone and on the subset plus generated digits of every class, and
    both are tested on the real test digits. The GAN sees no image the classifier does not,
    so any gain comes from what it learned about each class's variations."""
    digits = data.load("digits")
    generator = torch.Generator().manual_seed(run.seed)
    idx = torch.randperm(len(digits.train[0]), generator=generator)[: cfg.subset_size]
    small = replace(digits, train=(digits.train[0][idx], digits.train[1][idx]))
    z_shown = torch.cat(
        [torch.randn(100, cfg.latent_dim), F.one_hot(torch.arange(100) // 10, 10).float()], 1
    )
    model, _ = _train_digit_gan(cfg, run, small, True, z_shown)
    labels = torch.arange(10 * cfg.synthetic_per_class) % 10
    synthetic = model.sample(model.noise(len(labels), labels))
    augmented = replace(
        small, train=(torch.cat([small.train[0], synthetic]), torch.cat([small.train[1], labels]))
    )
    metrics = {}
    for name, dataset in (("without", small), ("with", augmented)):
        classifier = run.model(f"classifier-{name}", "digits_cnn")
        _, test = train_classifier(
            run,
            f"classifier-{name}",
            classifier,
            dataset,
            num_epochs=cfg.classifier_epochs,
            batch_size=64,
        )
        metrics[f"test_accuracy_{name}_gan_digits"] = test["accuracy"]
    metrics["accuracy_gain"] = (
        metrics["test_accuracy_with_gan_digits"] - metrics["test_accuracy_without_gan_digits"]
    )
    plots.bars(
        {
            "real subset only": metrics["test_accuracy_without_gan_digits"],
            "+ cGAN digits": metrics["test_accuracy_with_gan_digits"],
        },
        run.figure("accuracy"),
        f"CNN test accuracy: {cfg.subset_size} real digits, with and without "
        f"{len(labels)} conditional-GAN digits",
        "test accuracy",
    )
    plots.image_grid(
        synthetic[:100].numpy(),
        run.figure("synthetic"),
        "Generated training digits (column k: digit k)",
        nrow=10,
    )
    return metrics
