"""GANs on images: the vanilla GAN (Goodfellow et al., 2014), the conditional GAN (Mirza &
Osindero, 2014) and DCGAN (Radford et al., 2016) on digits, MNIST or CIFAR-10, scored in the
feature space of a classifier trained here; and whether GAN samples help a small labelled set."""

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.errors import ConfigError
from dllab.experiments.common import (
    ImageScorer,
    scoring_classifier,
    train_classifier,
)
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.metrics import mean_over_classes, sample_diversity
from dllab.models.gan import GAN, GANTask, SampleSnapshots
from dllab.report import plots


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
    pack: int = param(1, ge=1)  # PacGAN degree m: digits the discriminator judges at once
    ema_decay: float = param(0.999, ge=0, lt=1)  # β of the sampled generator's moving average
    refine: bool = False  # DCGAN on 8x8: a stride-1 3x3 convolution at each resolution
    generator_width: int = param(128, ge=1)  # DCGAN on 8x8: channels of G's last hidden map
    discriminator_width: int = param(64, ge=1)  # DCGAN on 8x8: channels of D's first map
    show_first_setting: bool = False  # also train it as first set (the experiment says how)
    classifier_epochs: int = param(40, ge=1)  # training of the CNN that scores the samples
    num_samples: int = param(1000, ge=20)  # generated digits scored
    snapshots: int = param(10, ge=2)  # frames of the training GIF


@dataclass(frozen=True)
class FirstSetting:
    """How an experiment's GAN was first set, to train and show beside how it is set now."""

    settings: dict  # the config values it had, e.g. {"lr": 2e-4}
    was: str  # a few words on the first setting, for the figure
    now: str  # and on the current one


def _train_digit_gan(
    cfg: DigitsGanConfig, run: Run, digits, conditional: bool, z: torch.Tensor, prefix: str = ""
):
    """A GAN (conditional when asked) on the training images, its networks and trainer named
    `prefix` + G, D and gan; returns it and its frames."""
    num_classes = 10 if conditional else 0
    wgan = cfg.loss == "wgan_gp"  # no batch norm in the critic; no probabilities to smooth
    channels, side = digits.train[0].shape[1], digits.train[0].shape[-1]  # (N, C, S, S)
    if cfg.architecture == "dcgan":
        if conditional:
            raise ConfigError("the conditional GAN is an MLP: use architecture=mlp")
        norm = "none" if wgan else "batch"
        if side == 8:
            G = run.model(
                f"{prefix}G",
                "dcgan_generator_digits",
                latent_dim=cfg.latent_dim,
                width=cfg.generator_width,
                refine=cfg.refine,
            )
            D = run.model(
                f"{prefix}D",
                "dcgan_discriminator_digits",
                width=cfg.discriminator_width,
                norm=norm,
                pack=cfg.pack,
                refine=cfg.refine,
            )
        else:
            size = {"latent_dim": cfg.latent_dim, "channels": channels}
            G = run.model(f"{prefix}G", "dcgan_generator_32", **size)
            D = run.model(f"{prefix}D", "dcgan_discriminator_32", channels=channels, norm=norm)
    else:
        size = {"num_classes": num_classes, "num_hiddens": cfg.num_hiddens}
        G = run.model(f"{prefix}G", "gan_generator_digits", latent_dim=cfg.latent_dim, **size)
        D = run.model(f"{prefix}D", "gan_discriminator_digits", pack=cfg.pack, **size)
    model = GAN(G, D, cfg.latent_dim, num_classes=num_classes or None)
    task = GANTask(
        cfg.loss,
        n_critic=5 if wgan else 1,
        label_smoothing=0 if wgan else cfg.label_smoothing,
        pack=cfg.pack,
        ema_decay=cfg.ema_decay,
    )
    snapshots = SampleSnapshots(z, every=max(1, cfg.num_epochs // (cfg.snapshots - 1)))
    trainer = run.trainer(f"{prefix}gan", model, loss=task, lr=cfg.lr, callbacks=[snapshots])
    run.fit(trainer, digits.train, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size)
    return model, snapshots


def _sample_scores(
    scorer: ImageScorer, digits, fake: torch.Tensor, labels: torch.Tensor | None
) -> tuple[dict[str, float], dict | None]:
    """Generated digits (N, C, H, W), one pass through the scoring classifier, scored against
    the real ones (`ImageScorer.scores`, diversity). For a conditional GAN, asked for `labels`
    (N,), also the class accuracy and the scores within each class, averaged in the metrics
    (collapse inside a class, ten near copies of one "3", keeps the class accuracy high and
    shows as a low within-class recall).

    Returns:
        The metrics, and for a conditional GAN its per-class scores (else None):
        {"accuracy": (10,) fraction read as asked, "generated"/"real": {c: {precision, recall}}}.
    """
    X_test, y_test = digits.test
    embedded = scorer.embed(fake)
    metrics = scorer.scores(embedded) | {"diversity": sample_diversity(fake, X_test)}
    if labels is None:
        return metrics, None
    correct = (embedded.predicted == labels).float()
    per_class = scorer.class_scores(embedded, labels)
    per_class["accuracy"] = torch.zeros(10).index_add_(0, labels, correct) / torch.bincount(
        labels, minlength=10
    )
    metrics["generated_class_accuracy"] = correct.mean().item()
    metrics["within_class_diversity"] = float(
        np.mean([sample_diversity(fake[labels == k], X_test[y_test == k]) for k in range(10)])
    )
    for key, prefix in (("generated", "within_class_"), ("real", "real_within_class_")):
        metrics |= {f"{prefix}{k}": v for k, v in mean_over_classes(per_class[key]).items()}
    return metrics, per_class


def _digits_gan(
    cfg: DigitsGanConfig,
    run: Run,
    digits,
    conditional: bool,
    before: FirstSetting | None = None,
) -> dict[str, float]:
    """Train a GAN on the images `digits` and score its samples with a classifier; with
    `cfg.show_first_setting`, also the GAN as `before` first set it, drawn beside it and scored as
    before_<metric>."""
    classifier, classifier_accuracy = scoring_classifier(run, digits, cfg.classifier_epochs)
    scorer = ImageScorer.of(classifier, digits)
    labels = torch.arange(cfg.num_samples) % 10  # (N,) balanced requested classes
    shown = torch.arange(100) // 10  # one row per class in the figures
    z_shown = torch.randn(100, cfg.latent_dim)
    z_shown = torch.cat([z_shown, F.one_hot(shown, 10).float()], 1) if conditional else z_shown
    z = torch.randn(cfg.num_samples, cfg.latent_dim)  # the same noise for both GANs
    z = torch.cat([z, F.one_hot(labels, 10).float()], 1) if conditional else z
    model, snapshots = _train_digit_gan(cfg, run, digits, conditional, z_shown)
    z = z.to(next(model.parameters()).device)
    labels_or_none = labels if conditional else None
    scores, per_class = _sample_scores(scorer, digits, model.sample(z), labels_or_none)
    metrics = {"classifier_test_accuracy": classifier_accuracy, **scores}
    if per_class is not None:
        _class_accuracy_figure(run, per_class["accuracy"], classifier_accuracy)
        _class_precision_recall_figure(run, per_class)
    _samples_figures(run, cfg, digits, conditional, snapshots, metrics)
    if cfg.show_first_setting and before:
        old_cfg = replace(cfg, **before.settings)
        old, old_snapshots = _train_digit_gan(old_cfg, run, digits, conditional, z_shown, "before-")
        old_scores, _ = _sample_scores(scorer, digits, old.sample(z), labels_or_none)
        metrics |= {f"before_{k}": v for k, v in old_scores.items() if not _is_reference(k)}
        _before_after_figure(run, before, old_snapshots, snapshots, metrics)
    return metrics


def _samples_figures(run: Run, cfg, digits, conditional: bool, snapshots, metrics) -> None:
    """The last snapshot's samples (a row per requested digit, or beneath real test digits)
    titled with the classifier FID, and the snapshots as an animated GIF."""
    if conditional:
        rows = [str(k) for k in range(10)]
        shown_images = snapshots.samples[-1]
    else:
        rows = ["real", "generated", "", "", "", ""]
        shown_images = torch.cat([digits.test[0][:10], snapshots.samples[-1][:50]])
    plots.image_grid(
        shown_images.numpy(),
        run.figure("samples"),
        f"{_model_name(cfg, conditional)} after {cfg.num_epochs} epochs: classifier FID "
        f"{metrics['classifier_fid']:.1f} (real digits {metrics['real_classifier_fid']:.1f})"
        + (", row k asks for digit k" if conditional else ", real test digits on top"),
        nrow=10,
        row_labels=rows,
    )
    scale = max(1, 24 // digits.train[0].shape[-1])  # 8x8 digits drawn 3x larger
    frames = [plots.mosaic(s.numpy(), nrow=10) for s in snapshots.samples]  # (H, W, C)
    frames = [f[..., 0] if f.shape[-1] == 1 else f for f in frames]  # grey: (H, W)
    plots.animated_gif(
        [f.repeat(scale, 0).repeat(scale, 1) for f in frames], run.figure("training", ".gif")
    )


def _is_reference(metric: str) -> bool:
    """Whether `metric` scores the real digits (the same for both GANs), not the samples."""
    return metric.startswith("real_") or metric == "max_class_entropy"


def _class_accuracy_figure(run: Run, per_class: torch.Tensor, classifier_accuracy) -> None:
    """Bars: for each digit k, the fraction of samples asked for k that the classifier reads
    as k (`per_class` (10,)), beside its accuracy on real test digits."""
    plots.bars(
        {str(k): v for k, v in enumerate(per_class.tolist())},
        run.figure("class-accuracy"),
        "The classifier reads the requested digit (0-9) in the generated ones",
        "fraction classified as requested",
        reference=(classifier_accuracy, "classifier on real test digits"),
    )


def _class_precision_recall_figure(run: Run, per_class: dict) -> None:
    """Grouped bars: for each digit, the precision and recall of the samples asked for it
    against the real test digits of that class, beside the real training digits' own (pale)."""
    series, keys = {}, {}
    for name in ("precision", "recall"):
        for key, who in (("generated", "generated"), ("real", "real training digits")):
            label = f"{name}: {who}"
            series[label] = [scores[name] for scores in per_class[key].values()]
            keys[label] = name
    plots.grouped_bars(
        series,
        [str(c) for c in per_class["generated"]],
        run.figure("class-precision-recall"),
        "For each requested digit (0-9): precision (samples that look like real ones of it) "
        "and recall (real ones some sample is near; low when a class collapses to a few copies)",
        "fraction (k = 3 nearest neighbours)",
        published=[label for label in series if label.endswith("real training digits")],
        keys=keys,
    )


def _before_after_figure(run: Run, before: FirstSetting, old_snapshots, snapshots, metrics):
    """The same noise through the GAN as first set (left) and as set now (right), each titled
    with what differs, its classifier FID and recall."""

    def label(setting: str, prefix: str) -> str:
        fid, recall = metrics[f"{prefix}classifier_fid"], metrics[f"{prefix}recall"]
        return f"{setting}\nFID {fid:.1f}, recall {recall:.2f}"

    plots.image_panels(
        {
            label(before.was, "before_"): old_snapshots.samples[-1].numpy(),
            label(before.now, ""): snapshots.samples[-1].numpy(),
        },
        run.figure("before-after"),
        f"The same noise, as first set and as set now (real digits: FID "
        f"{metrics['real_classifier_fid']:.1f}, recall {metrics['real_recall']:.2f})",
        ncols=2,
        nrow=10,
        panel_size=(5.0, 5.6),
    )


def _model_name(cfg: DigitsGanConfig, conditional: bool) -> str:
    """What the figures call the model: its real name, not "GAN" for every one."""
    loss = {"wgan_gp": "WGAN-GP", "minimax": "minimax GAN"}.get(cfg.loss)
    if conditional:
        return f"Conditional {loss or 'GAN'} samples"
    kind = "DCGAN" if cfg.architecture == "dcgan" else f"MLP {loss or 'GAN'}"
    return f"{kind} samples"


IMAGE_GAN_CLAIMS = (
    Claim(
        "its samples differ from one another (diversity at least 0.6 of the real digits')",
        lambda m: m["diversity"] > 0.6,
    ),
    Claim(
        "its samples look like digits: classifier FID under 10x that of real digits",
        lambda m: m["classifier_fid"] < 10 * m["real_classifier_fid"],
    ),
    Claim(
        "it draws every digit: the predicted classes' entropy is over 90% of log 10",
        lambda m: m["class_entropy"] > 0.9 * m["max_class_entropy"],
    ),
)

CURED_GAN_CLAIMS = (
    Claim(
        "its samples are nearly as close to real digits as real digits are: classifier FID "
        "under 2x theirs",
        lambda m: m["classifier_fid"] < 2 * m["real_classifier_fid"],
    ),
    Claim(
        "its samples cover the real digits: recall at least half of real digits' own",
        lambda m: m["recall"] >= 0.5 * m["real_recall"],
    ),
    Claim(
        "as first trained it covered fewer real digits: its recall was lower",
        lambda m: m["before_recall"] < m["recall"],
    ),
)

GAN_DIGITS_QUICK = {"num_epochs": 3, "classifier_epochs": 2, "num_samples": 200, "snapshots": 2}


@experiment(
    "gan-digits",
    unit=4,
    title="A vanilla GAN on 8x8 digits, scored by a classifier's features",
    topics=("vanilla GAN",),
    config=DigitsGanConfig,
    quick=GAN_DIGITS_QUICK,
    headline=("real_classifier_fid", "classifier_fid"),
    claims=IMAGE_GAN_CLAIMS,
)
def gan_digits(cfg: DigitsGanConfig, run: Run) -> dict[str, float]:
    """An MLP generator and discriminator (Goodfellow et al., 2014) on the 1257 training digits.
    Pretrained Inception weights cannot be downloaded, so samples are scored in the feature
    space of a CNN the project trains on the same digits: the Fréchet distance to the test
    digits ("classifier FID", beside that of the real training digits, its floor), precision
    and recall in that space, and the entropy of the predicted-class histogram (log 10 when
    every digit is generated equally often; lower when the generator collapses)."""
    return _digits_gan(cfg, run, data.load("digits"), conditional=False)


@dataclass
class CganConfig(DigitsGanConfig):
    num_hiddens: int = param(512, ge=1)  # units per hidden layer of G and D
    lr: float = param(1e-3, gt=0)  # Adam learning rate of both networks (β1 = 0.5)
    show_first_setting: bool = True  # also train it as first set (CGAN_BEFORE), draw both


CGAN_BEFORE = FirstSetting(  # ten near copies of each digit
    {"num_hiddens": 256, "lr": 2e-4},
    "first set: 256 units, lr 2e-4",
    "now: 512 units, lr 1e-3",
)


@experiment(
    "cgan-digits",
    unit=4,
    title="A conditional GAN: the digit to draw is an input",
    topics=("conditional GAN",),
    config=CganConfig,
    quick=GAN_DIGITS_QUICK,
    tour={"num_epochs": 300, "classifier_epochs": 10, "num_samples": 1000},
    tour_seconds=90,
    headline=("generated_class_accuracy", "classifier_fid", "recall"),
    claims=(
        *IMAGE_GAN_CLAIMS,
        *CURED_GAN_CLAIMS,
        Claim(
            "it draws the digit asked for: 90% of its samples are read as the requested class",
            lambda m: m["generated_class_accuracy"] > 0.9,
        ),
    ),
)
def cgan_digits(cfg: DigitsGanConfig, run: Run) -> dict[str, float]:
    """Mirza & Osindero (2014): the one-hot label is appended to the generator's noise and to
    the discriminator's input, so the generator learns p(x | y) and draws the digit asked for.
    A CNN trained on real digits checks that it does: its accuracy on generated digits of each
    requested class, next to its accuracy on the real test digits; the classifier FID,
    precision and recall (pooled, and within each class) beside the real training digits'.

    As first set (256 units, lr 2e-4, 300 epochs) it drew the right class 99% of the time, but
    ten near copies of each digit: collapse inside every class, which the class accuracy
    cannot see and the within-class recall can (0.01 against the real digits' 0.89). Wider
    networks with a five times larger step leave that collapse within the budget; the
    averaged generator sharpens the samples further. PacGAN packs of one class helped the first
    setting (recall 0.06) and hurt the second, so they are left out."""
    return _digits_gan(cfg, run, data.load("digits"), conditional=True, before=CGAN_BEFORE)


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
    lr: float = param(5e-4, gt=0)  # Adam learning rate of both networks (β1 = 0.5)
    ema_decay: float = param(0.99, ge=0, lt=1)  # β of the sampled generator's moving average
    refine: bool = True  # DCGAN on 8x8: a stride-1 3x3 convolution at each resolution
    generator_width: int = param(32, ge=1)  # DCGAN on 8x8: channels of G's last hidden map
    discriminator_width: int = param(32, ge=1)  # DCGAN on 8x8: channels of D's first map
    show_first_setting: bool = True  # on the digits, also train it as first set, and draw both


DCGAN_BEFORE = FirstSetting(  # noisy digits
    {
        "refine": False,
        "generator_width": 128,
        "discriminator_width": 64,
        "lr": 2e-4,
        "ema_decay": 0.999,
    },
    "first set: one hidden layer each, lr 2e-4",
    "now: a 3x3 convolution at each size, lr 5e-4",
)


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
    tour={"num_epochs": 80, "classifier_epochs": 10, "num_samples": 1000},
    tour_seconds=70,
    headline=("real_classifier_fid", "classifier_fid", "recall"),
    claims=(*IMAGE_GAN_CLAIMS, *CURED_GAN_CLAIMS),
)
def dcgan(cfg: DcganConfig, run: Run) -> dict[str, float]:
    """Radford et al. (2016) made GANs train reliably on images with a few rules: strided
    (transposed) convolutions instead of pooling, no fully connected hidden layers, batch norm,
    ReLU in the generator and LeakyReLU in the discriminator, Adam with β1 = 0.5. The same
    scores as `gan-digits` (classifier FID, precision/recall, class entropy) compare it with
    the MLP GAN (`--set architecture=mlp`). `--set data.name=mnist` or `cifar10` trains the
    32x32 DCGAN on real files (in `data.dir` or the dllab cache), scored by a CNN trained on
    the same images.

    As first set (Radford et al.'s layers only: one transposed convolution from 4x4 to 8x8 in
    G, one strided convolution in D; lr 2e-4; the generator averaged over ~1000 steps) its 8x8
    digits were noisy after the tour's 60 epochs: classifier FID 22.7 against the real digits'
    3.9, precision 0.44. A stride-1 3x3 convolution at each resolution (`refine`) gives both
    networks a second hidden layer; with lr 5e-4 and an average over ~100 steps (a short run's
    early generators are poor) the same budget draws digits within 2x of the real FID. On
    MNIST / CIFAR-10 the 32x32 networks have depth enough and `refine` and the comparison are
    left out."""
    if cfg.architecture == "mlp" and cfg.data.name != "digits":
        raise ConfigError("the MLP GAN draws 8x8 digits: use architecture=dcgan for MNIST/CIFAR-10")
    before = DCGAN_BEFORE if cfg.data.name == "digits" else None
    return _digits_gan(cfg, run, load_gan_images(cfg.data), conditional=False, before=before)


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
