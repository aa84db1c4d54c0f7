"""Unit II experiments: convolutional networks, their building blocks, architectures and training
(MNIST-1D, scikit-learn's 8x8 digits, CIFAR-10 or CIFAR-shaped synthetic images)."""

import math
import time
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from dllab import data
from dllab.config import param
from dllab.data import Dataset
from dllab.data.augment import augmentation, gallery, shift
from dllab.engine import seed_everything
from dllab.experiments.common import confusion_matrix
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.vision import (
    first_conv,
    first_feature_maps,
    fit_classifier,
    load_images,
    load_pretrained,
    subset,
    unit_range,
)
from dllab.models.resnet import cifar_resnet
from dllab.report import plots


@dataclass
class Mnist1dConfig:
    num_epochs: int = param(60, ge=1)  # epochs of the CNN (one-cycle schedule over them)
    width: int = param(32, ge=1)  # channels of the first blocks (then 2x, 4x)
    batch_size: int = param(256, ge=1)
    lr: float = param(6e-3, gt=0)  # AdamW peak learning rate
    weight_decay: float = param(0.05, ge=0)  # AdamW decoupled weight decay
    label_smoothing: float = param(0.1, ge=0, lt=1)
    max_shift: int = param(3, ge=0)  # random shifts by up to this many samples (zero fill)
    test_shifts: int = param(2, ge=0)  # test-time augmentation: mean logits over shifts -k..k
    mlp_epochs: int = param(100, ge=1)  # the MLP baseline: 40-100-100-10, Adam 1e-3, batch 100


@torch.no_grad()
def shifted_logits(model: nn.Module, X: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Test-time augmentation: the model's logits averaged over X shifted by -k..k samples
    (zero fill, as in training), all 2k + 1 views in one batch.  X (N, C, L) -> (N, K)."""
    model.eval()
    shifts = torch.arange(-max_shift, max_shift + 1)  # (S,)
    views = shift(X.repeat(len(shifts), 1, 1), shifts.repeat_interleave(len(X))[:, None])
    return model(views).view(len(shifts), len(X), -1).mean(0)  # (S * N, K) -> (N, K)


@experiment(
    "mnist1d-cnn",
    unit=2,
    title="CNN vs MLP on MNIST-1D",
    topics=("convolution", "training a CNN", "normalization", "data augmentation"),
    config=Mnist1dConfig,
    quick={"num_epochs": 2, "width": 8, "mlp_epochs": 3, "batch_size": 128},
    headline="test_accuracy",
    references={
        "logistic_test_accuracy": Reference(0.32, "Greydanus 2020, MNIST-1D Table 1"),
        "mlp_test_accuracy": Reference(0.68, "Greydanus 2020, MNIST-1D Table 1"),
        "test_accuracy": Reference(0.94, "Greydanus 2020, MNIST-1D Table 1 (CNN)"),
        "human_accuracy": Reference(0.96, "Greydanus 2020, MNIST-1D (human expert)"),
    },
    implements=(
        "dllab.models.cnn.mnist1d_cnn_modern",
        "dllab.engine.augmented.Augmented",
        "dllab.experiments.unit2.shifted_logits",
    ),
)
def mnist1d_cnn(cfg: Mnist1dConfig, run: Run) -> dict[str, float]:
    """MNIST-1D digits are 40-sample signals whose pattern sits anywhere along the axis: an MLP
    must learn each position separately, a CNN shares its filters across positions (translation
    equivariance). A modern 1D CNN (batch norm, global average pooling, AdamW with a one-cycle
    schedule, label smoothing, random-shift augmentation, and shifted views averaged at test
    time) far exceeds the paper's CNN (94%). `train_time_s` and `train_cpu_s` are the CNN's
    training alone (wall clock and process CPU time)."""
    signals = data.load("mnist1d")
    mlp, mlp_test = fit_classifier(
        run, "mlp", run.model("mlp", "mnist1d_mlp"), signals,
        num_epochs=cfg.mlp_epochs, batch_size=100, optimizer="adam", lr=1e-3,
    )  # fmt: skip
    cpu = time.process_time()
    cnn, single_view = fit_classifier(
        run, "cnn", run.model("cnn", "mnist1d_cnn_modern", width=cfg.width), signals,
        num_epochs=cfg.num_epochs, batch_size=cfg.batch_size,
        augment=(augmentation("shift", max_shift=cfg.max_shift, fill="zeros"),),
        label_smoothing=cfg.label_smoothing, optimizer="adamw", lr=cfg.lr,
        weight_decay=cfg.weight_decay, schedule="onecycle",
    )  # fmt: skip
    cpu = time.process_time() - cpu
    X, y = signals.test
    y_hat = shifted_logits(cnn.model, X, cfg.test_shifts)  # (N, 10)
    metrics = {
        "test_accuracy": (y_hat.argmax(1) == y).float().mean().item(),
        "single_view_test_accuracy": single_view["accuracy"],
        "mlp_test_accuracy": mlp_test["accuracy"],
        "train_time_s": cnn.history.epochs[-1]["time"],
        "train_cpu_s": cpu,
        "cnn_parameters": sum(p.numel() for p in cnn.model.parameters()),
    }
    plots.bars(
        {
            "logistic (paper)": 0.32,
            "MLP (paper)": 0.68,
            "MLP (ours)": metrics["mlp_test_accuracy"],
            "CNN (paper)": 0.94,
            "CNN (ours, one view)": metrics["single_view_test_accuracy"],
            f"CNN (ours, {2 * cfg.test_shifts + 1} shifted views)": metrics["test_accuracy"],
        },
        run.figure("accuracy"),
        "MNIST-1D test accuracy: published (Greydanus 2020) and measured here",
        "test accuracy",
        reference=(0.96, "human expert (paper)"),
    )
    return metrics


@dataclass
class DegradationConfig:
    depths: tuple[int, ...] = param((8, 20, 56), ge=8)  # 6n + 2 layers
    width: int = param(16, ge=1)  # channels of the first stage (then 2x, 4x)
    num_epochs: int = param(20, ge=1)
    batch_size: int = param(128, ge=1)
    lr: float = param(0.05, gt=0)  # SGD with momentum 0.9, cosine decay, as He et al. (SGD)


ERROR_FLOOR = 0.01  # %, below one error in 4000 (0.025%): an error-free epoch stays on a log axis


def training_error_curve(epochs: list[dict]) -> tuple[list[int], list[float]]:
    """(epoch, training error in %) per epoch record, an error of 0 raised to `ERROR_FLOOR` so
    that it can be drawn on a log axis (the axis label says so)."""
    errors = [max(100 * (1 - r["accuracy"]), ERROR_FLOOR) for r in epochs]
    return [r["epoch"] for r in epochs], errors


@experiment(
    "degradation",
    unit=2,
    title="The degradation problem: plain vs residual networks of growing depth",
    topics=("ResNet", "training a CNN"),
    config=DegradationConfig,
    quick={"depths": (8, 56), "num_epochs": 1, "width": 4},
    implements=("dllab.models.resnet.cifar_resnet",),
    headline=("train_error_plain8", "train_error_plain56", "train_error_resnet56"),
)
def degradation(cfg: DegradationConfig, run: Run) -> dict[str, float]:
    """He et al. (2015, Fig. 1 and 6) found that a deeper plain network has a HIGHER training
    error than a shallower one — not over-fitting but an optimisation difficulty — while the
    same networks with identity shortcuts (y = F(x) + x) train better as they grow deeper. The
    1D CIFAR-style networks (6n + 2 layers, option-A shortcuts, identical parameters for both
    kinds) train on MNIST-1D with SGD; the training error is measured in evaluation mode."""
    signals = data.load("mnist1d")
    metrics, curves = {}, {}
    for depth in cfg.depths:
        for kind in ("plain", "resnet"):
            name = f"{kind}{depth}"
            seed_everything(derive_seed(run.seed, name))
            model = cifar_resnet(depth, kind == "resnet", 10, 1, cfg.width, dims=1)
            trainer, _ = fit_classifier(
                run, name, model, signals, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size,
                optimizer="momentum", lr=cfg.lr, weight_decay=1e-4, schedule="cosine",
            )  # fmt: skip
            metrics[f"train_error_{name}"] = 1 - trainer.evaluate(signals.train)["accuracy"]
            curves[f"{kind}-{depth}"] = training_error_curve(trainer.history.epochs)
    plots.lines(
        curves,
        run.figure("training_error"),
        "Training error on MNIST-1D: plain nets get worse with depth, ResNets do not",
        "epoch",
        f"training error (%, epoch mean; 0 drawn at {ERROR_FLOOR})",
        log_y=True,
    )
    return metrics


@dataclass
class DigitsConfig:
    num_epochs: int = param(30, ge=1)
    batch_size: int = param(32, ge=1)
    lr: float = param(1e-3, gt=0)  # Adam


DIGITS_QUICK = {"num_epochs": 2}


@experiment(
    "digits-cnn",
    unit=2,
    title="A small CNN on 8x8 digits",
    topics=("convolution", "pooling", "training a CNN"),
    config=DigitsConfig,
    quick=DIGITS_QUICK,
    implements=("dllab.models.cnn.digits_cnn", "dllab.nn.ConvBlock"),
    headline="test_accuracy",
)
def digits_cnn(cfg: DigitsConfig, run: Run) -> dict[str, float]:
    """Two ConvBlocks (3x3 convolution -> batch norm -> ReLU -> 2x2 max pooling), 8x8 -> 2x2,
    then a linear classifier, trained with Adam: test accuracy and the confusion matrix."""
    digits = data.load("digits")
    trainer, test = fit_classifier(
        run, "cnn", run.model("cnn", "digits_cnn"), digits,
        num_epochs=cfg.num_epochs, batch_size=cfg.batch_size, lr=cfg.lr,
    )  # fmt: skip
    X, y = digits.test
    counts = confusion_matrix(y, trainer.predict(X).argmax(1), 10)
    plots.heatmap(
        counts,
        run.figure("confusion_matrix"),
        f"Digits CNN: test confusion matrix (accuracy {test['accuracy']:.3f})",
        "predicted digit",
        "true digit",
        "test images",
        origin="upper",
        annotate=True,
    )
    return {"test_accuracy": test["accuracy"]}


@experiment(
    "feature-maps",
    unit=2,
    title="What a CNN's first layer sees: filters and feature maps",
    topics=("convolution", "activations"),
    config=DigitsConfig,
    quick=DIGITS_QUICK,
    implements=("dllab.experiments.vision.first_feature_maps",),
    headline="test_accuracy",
)
def feature_maps(cfg: DigitsConfig, run: Run) -> dict[str, float]:
    """The 16 learned 3x3 filters of the digits CNN's first convolution, and the feature maps
    they produce (after batch norm and ReLU, before pooling) on one test digit of each of four
    classes: each filter responds to strokes of one orientation or to edges."""
    digits = data.load("digits")
    trainer, test = fit_classifier(
        run, "cnn", run.model("cnn", "digits_cnn"), digits,
        num_epochs=cfg.num_epochs, batch_size=cfg.batch_size, lr=cfg.lr,
    )  # fmt: skip
    filters = first_conv(trainer.model).weight.detach()  # (16, 1, 3, 3)
    plots.image_grid(
        unit_range(filters).numpy(),
        run.figure("filters"),
        "First-layer 3x3 filters (each scaled to black = min, white = max)",
        nrow=8,
    )
    X, y = digits.test
    chosen = torch.stack([torch.nonzero(y == d)[0, 0] for d in (0, 1, 4, 7)])
    maps = first_feature_maps(trainer.model, X[chosen])  # (4, 16, 8, 8)
    panels = torch.cat([X[chosen], unit_range(maps)], 1)  # (4, 17, 8, 8)
    plots.image_grid(
        panels.reshape(-1, 1, *maps.shape[-2:]).numpy(),
        run.figure("feature_maps"),
        "Test digits and the 16 first-layer feature maps (after batch norm + ReLU; each map"
        " scaled to its own range)",
        nrow=panels.shape[1],
        row_labels=[f"digit {int(d)}" for d in y[chosen]],
        col_labels=["input"] + [f"f{i}" for i in range(maps.shape[1])],
    )
    return {"test_accuracy": test["accuracy"]}


@dataclass
class VariantsConfig:
    num_epochs: int = param(20, ge=1)
    batch_size: int = param(32, ge=1)
    optimizer: Literal["sgd", "momentum", "adam"] = "adam"
    lr: float = param(1e-3, gt=0)
    channels: tuple[int, ...] = param((32, 64), ge=1)  # widths of the digits CNN's blocks
    num_train: int = param(0, ge=0)  # training digits per class (0: all 1257 digits)


def _compare(cfg: VariantsConfig, run: Run, option: str, values: dict, what: str) -> dict:
    """One digits CNN (`cnn` in the registry) per value of its `option` (label -> value), the
    rest equal: test accuracy and train-test gap per variant, curves of training loss and
    validation accuracy, bars of test error and of the gap; `test_accuracy` is the first
    variant's."""
    digits = data.load("digits")
    if cfg.num_train:
        digits = subset(digits, tuple(range(10)), cfg.num_train)
    metrics, losses, val = {}, {}, {}
    for label, value in values.items():
        kwargs = {"in_channels": 1, "channels": cfg.channels, option: value}
        trainer, test = fit_classifier(
            run, label, run.model(f"{option}-{label}", "cnn", **kwargs), digits,
            num_epochs=cfg.num_epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer,
            lr=cfg.lr,
        )  # fmt: skip
        train = trainer.evaluate(digits.train)
        metrics[f"test_accuracy_{label}"] = test["accuracy"]
        metrics[f"train_test_gap_{label}"] = train["accuracy"] - test["accuracy"]
        epochs = trainer.history.epochs
        losses[label] = ([r["epoch"] for r in epochs], [r["loss"] for r in epochs])
        val[label] = ([r["epoch"] for r in epochs], [r["val_accuracy"] for r in epochs])
    metrics["test_accuracy"] = metrics[f"test_accuracy_{next(iter(values))}"]
    plots.lines(
        losses, run.figure("training_loss"), f"Training loss by {what}", "epoch",
        "training loss (cross-entropy, epoch mean)", log_y=True,
    )  # fmt: skip
    plots.lines(
        val, run.figure("val_accuracy"), f"Validation accuracy by {what}", "epoch",
        "validation accuracy",
    )  # fmt: skip
    plots.bars(
        {label: 100 * (1 - metrics[f"test_accuracy_{label}"]) for label in values},
        run.figure("test_error"), f"Test error by {what} (digits CNN; lower is better)",
        "test error (%)",
    )  # fmt: skip
    plots.bars(
        {label: 100 * metrics[f"train_test_gap_{label}"] for label in values},
        run.figure("train_test_gap"),
        f"Over-fitting by {what}: training minus test accuracy", "train - test accuracy (points)",
    )  # fmt: skip
    return metrics


VARIANTS_QUICK = {"num_epochs": 1, "channels": (8, 16)}
POOLINGS = {"max": "max", "avg": "avg", "min": "min", "global": None}  # global: the head alone


@dataclass
class DropoutConfig(VariantsConfig):
    num_epochs: int = param(100, ge=1)
    num_train: int = param(20, ge=0)  # few examples per class, so that the CNN can memorise them


@dataclass
class NormConfig(VariantsConfig):
    optimizer: Literal["sgd", "momentum", "adam"] = "sgd"  # plain SGD: where norms matter most
    lr: float = param(0.05, gt=0)


@experiment(
    "pooling",
    unit=2,
    title="Max, average, min and global pooling",
    topics=("pooling",),
    config=VariantsConfig,
    quick=VARIANTS_QUICK,
    implements=("dllab.nn.pool", "dllab.nn.MinPool", "dllab.nn.GlobalPool"),
    headline=("test_accuracy_max", "test_accuracy_min", "test_accuracy_global"),
)
def pooling(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The same digits CNN with 2x2 max, average or min pooling after each block, or none
    ("global": the global-average-pooling head alone summarises the maps). Max pooling keeps
    the strongest response of each window; min pooling keeps the weakest, which after a ReLU
    is mostly zero and throws the features away."""
    return _compare(cfg, run, "pool", POOLINGS, "pooling")


@experiment(
    "activations-cnn",
    unit=2,
    title="Activation functions in a CNN",
    topics=("activations",),
    config=VariantsConfig,
    quick=VARIANTS_QUICK,
    implements=("dllab.nn.activation",),
    headline=("test_accuracy_sigmoid", "test_accuracy_relu"),
)
def activations_cnn(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The digits CNN with sigmoid, tanh, ReLU, leaky ReLU, ELU or PReLU after each convolution:
    saturating units (sigmoid, tanh) learn more slowly than the rectifiers."""
    names = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "prelu")
    return _compare(cfg, run, "activation", {n: n for n in names}, "activation")


@experiment(
    "dropout",
    unit=2,
    title="Dropout narrows the train-test gap",
    topics=("dropout",),
    config=DropoutConfig,
    quick=VARIANTS_QUICK,
    implements=("dllab.nn.dropout",),
    headline=("train_test_gap_p0", "train_test_gap_p0.5"),
)
def dropout(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The digits CNN with dropout 0, 0.25 and 0.5 after each block (Srivastava et al., 2014):
    dropping units at random during training keeps the network from memorising, so training
    accuracy falls towards test accuracy (`train_test_gap_*`)."""
    rates = {"p0": 0.0, "p0.25": 0.25, "p0.5": 0.5}
    return _compare(cfg, run, "dropout", rates, "dropout probability")


@experiment(
    "normalization",
    unit=2,
    title="Batch, layer, instance and group normalization",
    topics=("normalization",),
    config=NormConfig,
    quick=VARIANTS_QUICK,
    implements=("dllab.nn.norm",),
    headline=("test_accuracy_none", "test_accuracy_batch"),
)
def normalization(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The digits CNN with no normalization or batch (Ioffe & Szegedy, 2015), layer (Ba et al.,
    2016), instance (Ulyanov et al., 2016) or group (Wu & He, 2018) normalization after each
    convolution, trained by plain SGD where normalization speeds convergence most."""
    names = {n: n for n in ("batch", "layer", "instance", "group")}
    return _compare(cfg, run, "norm", {**names, "none": None}, "normalization")


@dataclass
class AugmentationConfig:
    num_train: int = param(20, ge=1)  # labelled digits per class: augmentation helps most here
    num_epochs: int = param(150, ge=1)  # augmented data takes longer to fit than the bare set
    batch_size: int = param(32, ge=1)
    lr: float = param(3e-3, gt=0)  # Adam
    policies: tuple[str, ...] = (  # "+"-joined augmentations, "mixup"/"cutmix" last, or "none"
        "none", "translate", "rotate", "affine", "crop", "cutout", "noise", "mixup", "cutmix",
        "affine+cutout",
    )  # fmt: skip


@experiment(
    "augmentation",
    unit=2,
    title="Data augmentation on a small labelled subset",
    topics=("data augmentation",),
    config=AugmentationConfig,
    quick={"num_epochs": 1, "num_train": 5, "policies": ("none", "affine", "mixup")},
    implements=("dllab.data.augment", "dllab.engine.augmented.Augmented"),
    headline=("test_accuracy_none", "test_accuracy_affine"),
)
def augmentation_ablation(cfg: AugmentationConfig, run: Run) -> dict[str, float]:
    """The digits CNN trained on a few labelled digits per class, with each augmentation policy
    applied inside the training step (same seed, same epochs): test accuracy per policy.
    Transforms that keep the label (small shifts, affine warps, noise) add data for free; ones
    that can destroy it hurt: "crop" shifts by up to 4 pixels, half of an 8x8 digit, and
    cutout / cutmix cover a patch that is a large part of so small a digit."""
    digits = subset(data.load("digits"), tuple(range(10)), cfg.num_train)
    metrics = {}
    for policy in cfg.policies:
        parts = [] if policy == "none" else policy.split("+")
        mix = parts.pop() if parts and parts[-1] in ("mixup", "cutmix") else None
        _, test = fit_classifier(
            run, policy, run.model("cnn", "digits_cnn"), digits, num_epochs=cfg.num_epochs,
            batch_size=cfg.batch_size, augment=tuple(parts), mix=mix, lr=cfg.lr,
        )  # fmt: skip
        metrics[f"test_accuracy_{policy}"] = test["accuracy"]
    metrics["test_accuracy"] = max(metrics.values())
    plots.bars(
        {p: 100 * (1 - metrics[f"test_accuracy_{p}"]) for p in cfg.policies},
        run.figure("test_error"),
        f"Digits CNN trained on {cfg.num_train} digits per class: test error by augmentation",
        "test error (%, lower is better)",
        reference=(100 * (1 - metrics["test_accuracy_none"]), "no augmentation")
        if "none" in cfg.policies
        else None,
    )
    return metrics


@dataclass
class GalleryConfig:
    num_images: int = param(4, ge=1, le=16)  # digits shown per transform
    size: int = param(32, ge=8)  # upscaled side (bicubic) so that each transform is visible


@experiment(
    "augment-gallery",
    unit=2,
    title="Every augmentation on real digits",
    topics=("data augmentation",),
    config=GalleryConfig,
    quick={},
    implements=("dllab.data.augment.gallery",),
)
def augment_gallery(cfg: GalleryConfig, run: Run) -> dict[str, float]:
    """Each transform of `dllab.data.augment` at a strong fixed magnitude on the same digits,
    upscaled from 8x8 by bicubic interpolation and tinted, so that the colour transforms
    (saturation, hue) show too; mixup and cutmix blend each digit with the next."""
    X, y = data.load("digits").test
    chosen = torch.stack([torch.nonzero(y == d)[0, 0] for d in range(cfg.num_images)])
    images = F.interpolate(X[chosen], size=cfg.size, mode="bicubic", align_corners=False)
    tints = torch.tensor([[1.0, 0.3, 0.2], [0.2, 0.7, 1.0], [1.0, 0.8, 0.1], [0.4, 1.0, 0.4]])
    images = images.clamp(0, 1) * tints[torch.arange(cfg.num_images) % 4, :, None, None]
    shown = gallery(images, seed=run.seed)  # name -> (N, 3, size, size)
    plots.image_grid(
        torch.cat(list(shown.values())).numpy(),
        run.figure("gallery"),
        "Augmentations of dllab.data.augment on 8x8 digits (upscaled, tinted)",
        nrow=cfg.num_images,
        row_labels=list(shown),
    )
    return {"num_transforms": len(shown) - 1}


@dataclass
class ArchitecturesConfig:
    models: tuple[str, ...] = (  # registered models taking 1x8x8 digits
        "digits_cnn", "vgg11_digits", "googlenet_small", "googlenet_naive_small", "resnet20",
    )  # fmt: skip
    num_epochs: int = param(20, ge=1)
    batch_size: int = param(64, ge=1)
    lr: float = param(2e-3, gt=0)  # Adam


@experiment(
    "architectures",
    unit=2,
    title="VGG, GoogLeNet and ResNet on the same data",
    topics=("VGG", "GoogLeNet", "ResNet"),
    config=ArchitecturesConfig,
    quick={"num_epochs": 1, "models": ("digits_cnn", "vgg11_digits", "resnet8")},
    implements=(
        "dllab.models.vgg.vgg_small",
        "dllab.models.googlenet.GoogLeNet",
        "dllab.models.resnet.cifar_resnet",
    ),  # fmt: skip
    headline=("test_accuracy_digits_cnn", "test_accuracy_resnet8"),
)
def architectures(cfg: ArchitecturesConfig, run: Run) -> dict[str, float]:
    """Small VGG-11 (stacked 3x3 convolutions), GoogLeNet (inception modules with and without
    1x1 reductions) and ResNet-20 (residual blocks) beside the two-block CNN on the 8x8 digits:
    test accuracy, parameters and training time per epoch."""
    digits = data.load("digits")
    metrics = {}
    for name in cfg.models:
        model = run.model(name, name, num_classes=10, in_channels=1)
        trainer, test = fit_classifier(
            run, name, model, digits, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size,
            lr=cfg.lr,
        )  # fmt: skip
        metrics[f"test_accuracy_{name}"] = test["accuracy"]
        metrics[f"parameters_{name}"] = sum(p.numel() for p in model.parameters())
        metrics[f"epoch_time_s_{name}"] = trainer.history.epochs[-1]["time"] / trainer.epoch
    metrics["test_accuracy"] = max(metrics[f"test_accuracy_{n}"] for n in cfg.models)
    labels = {n: f"{n}\n{metrics[f'parameters_{n}'] / 1e3:.0f}k params" for n in cfg.models}
    plots.bars(
        {labels[n]: metrics[f"test_accuracy_{n}"] for n in cfg.models},
        run.figure("test_accuracy"),
        "Digits (8x8): test accuracy and parameters of each architecture",
        "test accuracy",
    )
    plots.bars(
        {labels[n]: metrics[f"epoch_time_s_{n}"] for n in cfg.models},
        run.figure("epoch_time"),
        "Training time per epoch (1257 digits)",
        "seconds per epoch",
    )
    return metrics


@dataclass
class TransferConfig:
    pretrain_epochs: int = param(40, ge=1)  # on every training digit 0-4, with affine augmentation
    num_train: tuple[int, ...] = param((1, 2, 5, 10, 30), ge=1)  # labelled digits per class of 5-9
    num_draws: int = param(3, ge=1)  # random draws of those labelled digits (accuracies averaged)
    num_steps: int = param(300, ge=1)  # optimizer steps of each fine-tuning (and scratch) run
    channels: tuple[int, ...] = param((32, 64, 128), ge=1)  # the CNN's blocks
    lr: float = param(3e-3, gt=0)  # Adam, the same for every mode (scratch's best of 1e-3, 3e-3)


class Frozen(nn.Module):
    """A pretrained block kept as it is: no gradients, and batch norm always in evaluation mode,
    normalising by the running statistics of pretraining, not by those of a few new examples."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block.requires_grad_(False)

    def train(self, mode: bool = True) -> "Frozen":
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def shuffled(dataset: Dataset, seed: int) -> Dataset:
    """The dataset with its training split in a seeded random order (`subset` takes the first
    samples of each class, so each seed draws other labelled examples)."""
    X, y = dataset.train
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    return replace(dataset, train=(X[order], y[order]))


TRANSFER_MODES = {"frozen": None, "partly_frozen": 1, "free": 0, "scratch": 0}  # frozen blocks
TRANSFER_LABELS = {
    "frozen": "frozen backbone (new head only)",
    "partly_frozen": "partly frozen (first block fixed)",
    "free": "free (whole network fine-tuned)",
    "scratch": "from scratch (no pretraining)",
}
TRANSFER_BATCH = 16


@experiment(
    "transfer-learning",
    unit=2,
    title="Transfer learning: pretrain on digits 0-4, fine-tune on 5-9",
    topics=("training a CNN",),
    config=TransferConfig,
    quick={"pretrain_epochs": 1, "num_steps": 4, "channels": (8, 16), "num_train": (2, 5)},
    implements=("dllab.experiments.unit2.Frozen",),
    headline=("test_accuracy_scratch_n2", "test_accuracy_partly_frozen_n2"),
)
def transfer_learning(cfg: TransferConfig, run: Run) -> dict[str, float]:
    """A CNN learns features on digits 0-4 (with affine augmentation, for features that are not
    tied to the exact pixels of those classes); a new classifier head then learns 5-9 from a few
    labelled examples per class with the pretrained backbone frozen (every block, batch norm
    included), partly frozen (first block) or free (fine-tuned), against the same CNN trained
    from scratch on the same examples with the same steps and learning rate, for several
    numbers of labels (each the mean over `num_draws` random draws of the labels). Early
    features transfer and help most when labels are few; the last block's are specific to the
    source classes (Yosinski et al., 2014), so freezing it hurts; with more labels scratch
    catches up."""
    digits = data.load("digits")
    source = subset(digits, (0, 1, 2, 3, 4))
    shape = {"in_channels": 1, "channels": cfg.channels, "num_classes": 5}
    pretrained, source_test = fit_classifier(
        run, "pretrain", run.model("pretrain", "cnn", **shape), source,
        num_epochs=cfg.pretrain_epochs, batch_size=32, augment=("affine",), lr=1e-3,
    )  # fmt: skip
    backbone = {k: v for k, v in pretrained.weights().items() if not k.startswith("fc.")}
    metrics = {"source_test_accuracy": source_test["accuracy"]}
    curves = {mode: ([], []) for mode in TRANSFER_MODES}
    for n in cfg.num_train:
        for mode, num_frozen in TRANSFER_MODES.items():
            accuracies = []
            for draw in range(cfg.num_draws):
                target = subset(shuffled(digits, draw), (5, 6, 7, 8, 9), n)
                name = f"{mode}-n{n}-draw{draw}"
                model = run.model("head", "cnn", **shape)  # the same fresh head for every mode
                if mode != "scratch":
                    model.load_state_dict(backbone, strict=False)
                for i in range(len(cfg.channels) if num_frozen is None else num_frozen):
                    model.features[i] = Frozen(model.features[i])
                batches = math.ceil(len(target.train[1]) / TRANSFER_BATCH)
                _, test = fit_classifier(
                    run, name, model, target, num_epochs=math.ceil(cfg.num_steps / batches),
                    batch_size=TRANSFER_BATCH, lr=cfg.lr, checkpoint=False,
                )  # fmt: skip
                accuracies.append(test["accuracy"])
            metrics[f"test_accuracy_{mode}_n{n}"] = sum(accuracies) / len(accuracies)
            curves[mode][0].append(n)
            curves[mode][1].append(metrics[f"test_accuracy_{mode}_n{n}"])
    fewest = min(cfg.num_train)
    metrics["test_accuracy"] = max(metrics[f"test_accuracy_{m}_n{fewest}"] for m in TRANSFER_MODES)
    plots.lines(
        {TRANSFER_LABELS[mode]: curve for mode, curve in curves.items()},
        run.figure("test_accuracy"),
        f"Digits 5-9 after pretraining on 0-4 (mean of {cfg.num_draws} draws of the labels)",
        "labelled training digits per class (log scale)",
        "test accuracy on digits 5-9",
        log_x=True,
    )
    return metrics


@dataclass
class ImagesData:
    source: Literal["cifar10", "synthetic"] = "cifar10"  # synthetic: CIFAR-shaped stand-ins
    dir: str = ""  # folder holding CIFAR-10's python batches (default: the dllab cache)
    num_synthetic: int = param(2000, ge=10)  # synthetic training images


@dataclass
class ModelChoice:
    name: str = "keras_cifar_cnn"  # a registered model taking 3x32x32 images
    weights: str = ""  # torchvision-layout weights to fine-tune from (.safetensors or .pth)


@dataclass
class CifarConfig:
    data: ImagesData = field(default_factory=ImagesData)
    model: ModelChoice = field(default_factory=ModelChoice)
    num_epochs: int = param(10, ge=1)
    batch_size: int = param(32, ge=1)
    optimizer: Literal["adam", "momentum", "nesterov"] = "adam"
    lr: float = param(1e-3, gt=0)
    weight_decay: float = param(0.0, ge=0)
    schedule: Literal["none", "cosine", "onecycle"] = "none"
    augment: tuple[str, ...] = ()  # in-step augmentations, e.g. crop, hflip


@dataclass
class ResnetCifarConfig(CifarConfig):
    model: ModelChoice = field(default_factory=lambda: ModelChoice("resnet20"))
    num_epochs: int = param(30, ge=1)
    batch_size: int = param(128, ge=1)
    optimizer: Literal["adam", "momentum", "nesterov"] = "momentum"  # SGD, momentum 0.9 (§4.2)
    lr: float = param(0.1, gt=0)
    weight_decay: float = param(5e-4, ge=0)
    schedule: Literal["none", "cosine", "onecycle"] = "cosine"
    augment: tuple[str, ...] = ("crop", "hflip")  # 4-pixel pad-and-crop, flips (§4.2)


CIFAR_QUICK = {"data": {"source": "synthetic", "num_synthetic": 256}, "num_epochs": 1}


def _cifar(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """Train `cfg.model` (optionally from pretrained weights) on CIFAR-10 or its stand-ins."""
    images = load_images(cfg.data.source, cfg.data.dir, cfg.data.num_synthetic)
    model = run.model("model", cfg.model.name, num_classes=10, in_channels=3)
    if cfg.model.weights:
        load_pretrained(model, cfg.model.weights)
    trainer, test = fit_classifier(
        run, cfg.model.name, model, images, num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size, augment=cfg.augment, optimizer=cfg.optimizer, lr=cfg.lr,
        weight_decay=cfg.weight_decay, schedule=None if cfg.schedule == "none" else cfg.schedule,
    )  # fmt: skip
    X, y = images.test
    counts = confusion_matrix(y, trainer.predict(X).argmax(1), 10)
    plots.heatmap(
        counts,
        run.figure("confusion_matrix"),
        f"{cfg.model.name} on {images.name}: test confusion matrix",
        "predicted class",
        "true class",
        "test images",
        origin="upper",
    )
    return {
        "test_accuracy": test["accuracy"],
        "epoch_time_s": trainer.history.epochs[-1]["time"] / trainer.epoch,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


@experiment(
    "cifar10-cnn",
    unit=2,
    title="The notes' Keras CIFAR-10 CNN in PyTorch",
    topics=("convolution", "pooling", "training a CNN", "normalization"),
    config=CifarConfig,
    quick=CIFAR_QUICK,
    implements=("dllab.models.cnn.keras_cifar_cnn",),
)
def cifar10_cnn(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """The Keras tutorial CNN of the notes (three 3x3 convolutions with batch norm and max
    pooling, a dense layer of 64) trained with Adam, batch 32, for 10 epochs on CIFAR-10 (the
    files must be in `data.dir` or the dllab cache; `data.source=synthetic` needs none)."""
    return _cifar(cfg, run)


@experiment(
    "cifar10-resnet",
    unit=2,
    title="ResNet-20 on CIFAR-10",
    topics=("ResNet", "data augmentation"),
    config=ResnetCifarConfig,
    quick={**CIFAR_QUICK, "model": {"name": "resnet8"}},
    references={"test_accuracy": Reference(0.9125, "He et al. 2015 Table 6 (ResNet-20)")},
    implements=("dllab.models.resnet.resnet20",),
)
def cifar10_resnet(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """He et al.'s CIFAR ResNet-20 (§4.2) with pad-and-crop and horizontal-flip augmentation,
    SGD with momentum and a cosine schedule; `--set model.name=resnet18 --set
    model.weights=FILE` fine-tunes torchvision's ImageNet ResNet-18 weights instead."""
    return _cifar(cfg, run)
