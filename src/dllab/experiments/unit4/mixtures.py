"""Mode collapse made measurable: GANs on the ring of 8 and the grid of 25 Gaussians, scored as
in the VEEGAN and PacGAN tables, with PacGAN packing (Lin et al., 2018) as the cure."""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from dllab import data
from dllab.config import param
from dllab.data import mixture_modes
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.metrics import (
    mode_coverage,
)
from dllab.models.gan import GAN, GAN_BETAS, GANTask, SampleSnapshots
from dllab.report import plots

# method -> (GAN loss, whether the discriminator packs `cfg.pack` samples as in PacGAN)
GAN_2D_METHODS = {
    "minimax": ("minimax", False),
    "non_saturating": ("non_saturating", False),
    "wgan_gp": ("wgan_gp", False),
    "pacgan": ("non_saturating", True),
}


Method = Literal["minimax", "non_saturating", "wgan_gp", "pacgan"]  # GAN_2D_METHODS' keys

METHOD_NAMES = {  # as the figures name them
    "minimax": "minimax GAN",
    "non_saturating": "non-saturating GAN",
    "wgan_gp": "WGAN-GP",
    "pacgan": "PacGAN",
}


@dataclass(frozen=True)
class Setup:
    """The networks, optimiser and batches of one 2-D mode-collapse study."""

    generator: str  # registered model names
    discriminator: str
    lr: float | None  # Adam's learning rate and (β1, β2); None: the config's lr
    betas: tuple[float, float]
    batch_size: int | None  # None: the config's batch_size
    ring: str  # the data set its ring of 8 Gaussians is
    paper_samples: int | None = None  # discriminator inputs the paper trained on
    latent_dim: int | None = None  # size of the noise z; None: the config's latent_dim
    generator_lr: float | None = None  # None: the discriminator's


SETUPS = {
    "dllab": Setup("gan_generator_2d", "gan_discriminator_2d", None, GAN_BETAS, None, "ring8"),
    # Lin et al. (2018), code fjxmlzn/PacGAN, synthetic_data_experiments/*/config.py: G four
    # hidden layers of 400 (batch norm, ReLU), D three maxout layers of 200 (5 pieces), N(0, 0.02)
    # initial weights, Adam 1e-4 with β1 = 0.8, batches of 100, 400 epochs of 100,000 samples;
    # its ring has std 0.01 on the unit circle. Table 1 reports 10 trials of this.
    "pacgan": Setup(
        "pacgan_generator_2d",
        "pacgan_discriminator_2d",
        1e-4,
        (0.8, 0.999),
        100,
        "ring8_unit",
        400 * 100_000,
    ),
    # Srivastava et al. (2017, §5.1, Table 1) train their GAN baseline with the networks of the
    # unrolled GAN's mixture experiments (Metz et al., 2017, App. A; its 2-D reference code):
    # G and D two ReLU layers of 128, z of 256 dimensions, orthogonal initial weights, Adam
    # with β1 = 0.5 at 1e-4 for D and 1e-3 for G, batches of 512, 25,000 steps; the data and
    # scores are PacGAN's, which follows VEEGAN's. A fast generator against a slow
    # discriminator: the generator piles onto the one place D currently accepts, then hops.
    "veegan": Setup(
        "veegan_generator_2d",
        "veegan_discriminator_2d",
        1e-4,
        (0.5, 0.999),
        512,
        "ring8_unit",
        25_000 * 512,
        latent_dim=256,
        generator_lr=1e-3,
    ),
}


@dataclass
class MixtureData:
    name: Literal["ring8", "grid25"] = "ring8"  # ring of 8 or grid of 25 Gaussians (VEEGAN §5.1)
    n: int = param(100_000, ge=256)  # discriminator inputs per epoch (PacGAN: 100,000)


@dataclass
class Gan2dConfig:
    data: MixtureData = field(default_factory=MixtureData)
    setup: Literal["dllab", "pacgan", "veegan"] = "dllab"  # networks, optimiser, batches: ours,
    # PacGAN's (Lin et al. 2018) or VEEGAN's (Srivastava et al. 2017); a paper's setup replaces
    # lr, schedule, batch_size, num_hiddens, num_layers, r1_weight and ema_decay (and VEEGAN's
    # latent_dim)
    method: Method = "pacgan"  # reported
    compare: bool = True  # also train the `methods`, for the figures and the table
    methods: tuple[Method, ...] = tuple(GAN_2D_METHODS)  # compared, in the figures' order
    num_epochs: int = param(60, ge=1)  # passes over the n training inputs (782 steps each)
    batch_size: int = param(128, ge=8)  # discriminator inputs per step (a PacGAN pack is m samples)
    lr: float = param(1e-3, gt=0)  # Adam learning rate of both networks (β1 = 0.5)
    schedule: Literal["constant", "cosine"] = "cosine"  # the learning rate over the steps
    latent_dim: int = param(16, ge=1)  # size of the noise z
    num_hiddens: int = param(256, ge=1)  # units per hidden layer of G and D
    num_layers: int = param(3, ge=1)  # hidden layers of G and D
    pack: int = param(4, ge=2)  # PacGAN degree m: samples the discriminator sees at once
    n_critic: int = param(5, ge=1)  # WGAN-GP critic steps per generator step
    num_samples: int = param(2500, ge=100)  # generated samples scored (VEEGAN: 2500)
    snapshots: int = param(6, ge=2)  # columns of the samples-over-training figure
    r1_weight: float = param(1.0, ge=0)  # γ of D's R1 penalty on real samples (not WGAN-GP's)
    r1_every: int = param(4, ge=1)  # lazy R1: every k-th step, weighted k (Karras et al. 2020)
    ema_decay: float = param(0.999, ge=0, lt=1)  # β of the sampled generator's moving average
    # (0: the generator itself; the average lags ~1/(1-β) steps: only long runs gain from it)


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
    setup = SETUPS[cfg.setup]
    ours = cfg.setup == "dllab"
    size = {"num_hiddens": cfg.num_hiddens, "num_layers": cfg.num_layers} if ours else {}
    latent_dim = _latent_dim(cfg)
    G = run.model(f"{method}-G", setup.generator, latent_dim=latent_dim, **size)
    D = run.model(f"{method}-D", setup.discriminator, pack=pack, **size)
    model = GAN(G, D, latent_dim)
    n_critic = cfg.n_critic if loss == "wgan_gp" else 1
    ema_decay = cfg.ema_decay if ours else 0.0
    schedule = cfg.schedule if ours else "constant"
    r1_weight = cfg.r1_weight if ours and loss != "wgan_gp" else 0.0
    task = GANTask(
        loss,
        n_critic=n_critic,
        pack=pack,
        ema_decay=ema_decay,
        betas=setup.betas,
        generator_lr=setup.generator_lr,
        r1_weight=r1_weight,
        r1_every=cfg.r1_every,
    )
    snapshots = SampleSnapshots(z, every=max(1, cfg.num_epochs // (cfg.snapshots - 1)))
    lr = setup.lr or cfg.lr
    trainer = run.trainer(method, model, loss=task, lr=lr, schedule=schedule, callbacks=[snapshots])
    batch_size = pack * (setup.batch_size or cfg.batch_size)
    run.fit(trainer, X[: pack * cfg.data.n], num_epochs=cfg.num_epochs, batch_size=batch_size)
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
    tour={  # VEEGAN's setup, where the vanilla GAN collapses, beside the cure (5,000 steps)
        "setup": "veegan",
        "methods": ("non_saturating", "pacgan"),
        "pack": 2,  # VEEGAN's networks: PacGAN2 is enough, as measured in its bench row
        "data": {"n": 51200},
        "num_epochs": 50,
        "num_samples": 2500,
        "snapshots": 6,
    },
    tour_seconds=60,
    headline=("modes_captured", "high_quality_fraction"),
    claims=(
        Claim(
            "the vanilla GAN collapses: the non-saturating GAN holds at most a quarter of the "
            "modes",
            lambda m: m["non_saturating_modes_captured"] <= m["num_modes"] / 4,
        ),
        Claim(
            "packing cures it: PacGAN, with the same networks and steps, captures every mode",
            lambda m: m["pacgan_modes_captured"] == m["num_modes"],
        ),
    ),
)
def gan_2d(cfg: Gan2dConfig, run: Run) -> dict[str, float]:
    """A GAN trained on a mixture of well-separated Gaussians often covers only some of them (mode
    collapse): the generator finds one mode the discriminator accepts, the discriminator then
    rejects it, and the generator hops to another. Four methods train the same networks for the
    same steps and are scored on the same noise: the minimax loss of Goodfellow et al. (2014),
    the non-saturating loss, WGAN-GP (Gulrajani et al., 2017) and PacGAN (Lin et al., 2018),
    whose discriminator judges m samples at once and so sees a lack of diversity (m = 4 here,
    PacGAN's best row, with hidden layers of 256 and a noise of 16 dimensions). Our networks
    train with the R1 penalty (γ/2) E ||∇D(x)||² on real samples (Mescheder et al., 2018; on
    every 4th step with 4 times the weight, the lazy R1 of Karras et al., 2020) and a cosine
    learning rate: without R1 the training circles its equilibrium instead of settling, and on
    some seeds drifts away from grid modes it had captured. The samples come from the
    averaged generator (its weights' moving average). With R1 the minimax GAN captures every
    mode too; without it (`r1_weight=0`) it mostly fails on the ring before it can collapse: its
    saturating loss stops teaching the generator once the discriminator wins. With the networks
    VEEGAN's GAN baseline trains (`setup=veegan`: a fast generator against a slow discriminator)
    it piles onto one mode and hops, while PacGAN2 with the same networks finds all eight (the
    tour shows this pair). A mode is captured when at least one of 2,500 generated samples lies
    within 3 standard deviations of it; the fraction of samples that do is the high-quality
    fraction (VEEGAN and PacGAN tables)."""
    name = _data_name(cfg)
    X = data.load(name, n=cfg.pack * cfg.data.n).train[0]  # (m * n, 2), m = pack
    centres, std = mixture_modes(name)
    z = torch.randn(cfg.num_samples, _latent_dim(cfg))  # the fixed noise batch of every method
    methods = list(dict.fromkeys([*cfg.methods, cfg.method])) if cfg.compare else [cfg.method]
    metrics, panels, frames, counts = {}, [], [], {}
    extent = float(np.abs(centres).max()) + 1.0
    for method in methods:
        snapshots = _train_gan_2d(cfg, run, method, X, z)
        scores = mode_coverage(snapshots.samples[-1], centres, std)
        if method == cfg.method:
            metrics.update(scores)
        metrics[f"{method}_modes_captured"] = scores["modes_captured"]
        metrics[f"{method}_high_quality_fraction"] = scores["high_quality_fraction"]
        label = METHOD_NAMES[method]
        title = f"{label}\n{scores['modes_captured']} of {len(centres)} modes, "
        title += f"{scores['high_quality_fraction']:.0%} high quality"
        panels.append({"points": snapshots.samples[-1].numpy(), "title": title})
        frames.append([_density_frame(s.numpy(), extent) for s in snapshots.samples])
        counts[label] = plots.Line(
            snapshots.epochs,
            [mode_coverage(s, centres, std)["modes_captured"] for s in snapshots.samples],
            key=method,
        )
    epochs = snapshots.epochs
    setup = SETUPS[cfg.setup]
    steps = cfg.data.n // (setup.batch_size or cfg.batch_size) * cfg.num_epochs
    if setup.paper_samples:  # a published setup's budget, scaled to this machine
        metrics["fraction_of_paper_budget"] = cfg.num_epochs * cfg.data.n / setup.paper_samples
    plots.scatter_panels(
        [{"points": X[: cfg.num_samples].numpy(), "title": "real samples"}, *panels],
        run.figure("samples-final"),
        f"{_mixture_name(name)}: the real samples and each GAN's after "
        f"{cfg.num_epochs} epochs ({steps} discriminator steps)",
        xlabel="$x_1$",
        ylabel="$x_2$",
        extent=extent,
    )
    plots.lines(
        counts,
        run.figure("modes-over-training"),
        f"Modes captured over training ({_mixture_name(name)}): a collapsing GAN "
        "loses modes or hops between them",
        "epoch",
        "modes captured (of the 2,500 fixed-noise samples)",
        hline=(len(centres), f"all {len(centres)} modes"),
    )
    plots.image_grid(
        np.stack([f for row in frames for f in row]),
        run.figure("samples-over-training"),
        f"Density of generated samples over training ({_mixture_name(name)}; dark = dense)",
        nrow=len(epochs),
        row_labels=[METHOD_NAMES[m] for m in methods],
        col_labels=[f"epoch {e}" for e in epochs],
    )
    gutter = np.ones((frames[0][0].shape[0], 4))
    movie = [
        np.concatenate([part for f in step for part in (f, gutter)][:-1], axis=1)
        for step in zip(*frames)
    ]
    plots.animated_gif(movie, run.figure("training", ".gif"), fps=2)
    return metrics


def _data_name(cfg: Gan2dConfig) -> str:
    """The data set: the setup's own ring of 8 (PacGAN's is half the size of VEEGAN's)."""
    return SETUPS[cfg.setup].ring if cfg.data.name == "ring8" else cfg.data.name


def _latent_dim(cfg: Gan2dConfig) -> int:
    return SETUPS[cfg.setup].latent_dim or cfg.latent_dim


def _mixture_name(name: str) -> str:
    names = {"ring8": "ring of 8 Gaussians", "ring8_unit": "ring of 8 Gaussians on the unit circle"}
    return (names | {"grid25": "grid of 25 Gaussians"}).get(name, name)
