"""Classic architectures on the same data: small VGG-11 (Simonyan & Zisserman 2014),
GoogLeNet with and without 1x1 reductions (Szegedy et al. 2014) and ResNet-20 (He et al.
2015) beside the two-block CNN on the 8x8 digits: accuracy, parameters, time per epoch."""

from dataclasses import dataclass

from dllab import data
from dllab.config import param
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
)
from dllab.report import plots


@dataclass
class ArchitecturesConfig:
    models: tuple[str, ...] = (  # registered models taking 1x8x8 digits
        "digits_cnn", "vgg11_digits", "googlenet_small", "googlenet_naive_small", "resnet20",
    )  # fmt: skip
    num_epochs: int = param(20, ge=1)  # epochs per architecture
    batch_size: int = param(64, ge=1)  # digits per step
    lr: float = param(2e-3, gt=0)  # Adam


@experiment(
    "architectures",
    unit=2,
    title="VGG, GoogLeNet and ResNet on the same data",
    topics=("VGG", "GoogLeNet", "ResNet"),
    config=ArchitecturesConfig,
    quick={"num_epochs": 1, "models": ("digits_cnn", "vgg11_digits", "resnet8")},
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
