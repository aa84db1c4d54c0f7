"""MNIST-1D (Greydanus 2020): a 1D CNN against an MLP on 40-sample signals whose pattern
sits anywhere along the axis (translation equivariance, test-time shifted views), and the
degradation problem (He et al. 2015, Fig. 1 and 6): deeper plain networks train worse,
the same networks with identity shortcuts do not."""

import time
from dataclasses import dataclass, replace

import torch
from torch import nn

from dllab import data
from dllab.config import param
from dllab.data.augment import augmentation, shift
from dllab.engine import seed_everything
from dllab.experiments.registry import Claim, Reference, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.vision import (
    fit_classifier,
)
from dllab.models.resnet import cifar_resnet
from dllab.report import plots


@dataclass
class Mnist1dConfig:
    num_epochs: int = param(60, ge=1)  # epochs of the CNN (one-cycle schedule over them)
    width: int = param(32, ge=1)  # channels of the first blocks (then 2x, 4x)
    batch_size: int = param(256, ge=1)  # signals per step
    lr: float = param(6e-3, gt=0)  # AdamW peak learning rate
    weight_decay: float = param(0.05, ge=0)  # AdamW decoupled weight decay
    label_smoothing: float = param(0.1, ge=0, lt=1)  # targets 1 - s on the true class
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
    tour={"num_epochs": 12, "width": 16, "mlp_epochs": 40},
    tour_seconds=15,
    headline="test_accuracy",
    claims=(
        Claim(
            "the CNN, sharing its filters across positions, beats the MLP by 20 points",
            lambda m: m["test_accuracy"] > m["mlp_test_accuracy"] + 0.2,
        ),
    ),
    references={
        "logistic_test_accuracy": Reference(0.32, "Greydanus 2020, MNIST-1D Table 1"),
        "mlp_test_accuracy": Reference(0.68, "Greydanus 2020, MNIST-1D Table 1"),
        "test_accuracy": Reference(0.94, "Greydanus 2020, MNIST-1D Table 1 (CNN)"),
        "human_accuracy": Reference(0.96, "Greydanus 2020, MNIST-1D (human expert)"),
    },
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
    views = 2 * cfg.test_shifts + 1
    plots.grouped_bars(
        {
            "published (Greydanus 2020)": [0.32, 0.68, 0.94, float("nan")],
            "ours": [
                float("nan"),
                metrics["mlp_test_accuracy"],
                metrics["single_view_test_accuracy"],
                metrics["test_accuracy"],
            ],
        },
        ["logistic", "MLP", "CNN", f"CNN, {views} shifted views"],
        run.figure("accuracy"),
        "MNIST-1D test accuracy: sharing filters across positions (CNN) beats learning each "
        "position apart (MLP)",
        "test accuracy",
        published=("published (Greydanus 2020)",),
        reference=(0.96, "human expert (paper)"),
    )
    return metrics


@dataclass
class DegradationConfig:
    depths: tuple[int, ...] = param((8, 20, 56), ge=8)  # 6n + 2 layers
    width: int = param(16, ge=1)  # channels of the first stage (then 2x, 4x)
    num_train: int = param(4000, ge=100, le=4000)  # training signals: the first N of MNIST-1D's
    num_epochs: int = param(20, ge=1)  # long enough for the training error to plateau
    batch_size: int = param(128, ge=1)  # signals per SGD step
    lr: float = param(0.05, gt=0)  # SGD with momentum 0.9, cosine decay, as He et al. (SGD)


@experiment(
    "degradation",
    unit=2,
    title="The degradation problem: plain vs residual networks of growing depth",
    topics=("ResNet", "training a CNN"),
    config=DegradationConfig,
    quick={"depths": (8, 56), "num_epochs": 1, "width": 4},
    tour={"depths": (8, 20, 56), "width": 8, "num_train": 640, "batch_size": 64, "num_epochs": 24},
    tour_seconds=58,
    headline=("train_error_plain8", "train_error_plain56", "train_error_resnet56"),
    claims=(
        Claim(
            "the plain 56-layer net trains worse than the plain 8-layer one",
            lambda m: m["train_error_plain56"] > m["train_error_plain8"] + 0.05,
        ),
        Claim(
            "with shortcuts the 56-layer net trains far better than without",
            lambda m: m["train_error_resnet56"] < m["train_error_plain56"] - 0.2,
        ),
        Claim(
            "with shortcuts depth no longer hurts: ResNet-56 within 2 points of ResNet-20",
            lambda m: m["train_error_resnet56"] <= m.get("train_error_resnet20", 1) + 0.02,
        ),
    ),
)
def degradation(cfg: DegradationConfig, run: Run) -> dict[str, float]:
    """He et al. (2015, Fig. 1 and 6) found that a deeper plain network has a HIGHER training
    error than a shallower one — not over-fitting but an optimisation difficulty — while the
    same networks with identity shortcuts (y = F(x) + x) train better as they grow deeper. The
    1D CIFAR-style networks (6n + 2 layers, option-A shortcuts, identical parameters for both
    kinds) train on MNIST-1D with SGD until the training error stops falling; the figure draws
    each network's final training error (measured in evaluation mode) against its depth."""
    signals = data.load("mnist1d")
    X, y = signals.train
    signals = replace(signals, train=(X[: cfg.num_train], y[: cfg.num_train]))
    metrics, errors = {}, {"plain": [], "resnet": []}
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
            errors[kind].append(100 * metrics[f"train_error_{name}"])
    plots.lines(
        {
            "plain": plots.Line(cfg.depths, errors["plain"], key="plain", dashed=True),
            "residual (ResNet)": plots.Line(cfg.depths, errors["resnet"], key="resnet"),
        },
        run.figure("training_error"),
        _degradation_title(metrics, cfg.depths),
        "depth (layers)",
        f"final training error (%, {cfg.num_train} MNIST-1D signals)",
    )
    return metrics


def _degradation_title(metrics: dict[str, float], depths: tuple[int, ...]) -> str:
    """The sentence the figure shows: what its numbers say, not what they should say."""
    deep, shallow = max(depths), min(depths)
    plain_worse = metrics[f"train_error_plain{deep}"] > metrics[f"train_error_plain{shallow}"]
    residual_fine = (
        metrics[f"train_error_resnet{deep}"]
        <= min(metrics[f"train_error_resnet{d}"] for d in depths) + 0.02
    )
    if plain_worse and residual_fine:
        return "Deeper plain nets train worse; with shortcuts depth stops hurting"
    if plain_worse:
        return "Deeper plain nets train worse; shortcuts help, but the deepest still lags"
    return "At this budget depth did not hurt the plain nets"
