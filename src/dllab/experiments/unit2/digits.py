"""A small CNN on scikit-learn's 8x8 digits: its test accuracy and confusion matrix, and what
its first layer sees (the learned 3x3 filters and their feature maps)."""

from dataclasses import dataclass

import torch

from dllab import data
from dllab.config import param
from dllab.experiments.common import plot_confusion
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    first_conv,
    first_feature_maps,
    fit_classifier,
    unit_range,
)
from dllab.report import plots


@dataclass
class DigitsConfig:
    num_epochs: int = param(30, ge=1)  # passes over the 1257 training digits
    batch_size: int = param(32, ge=1)  # digits per step
    lr: float = param(1e-3, gt=0)  # Adam


DIGITS_QUICK = {"num_epochs": 2}


@experiment(
    "digits-cnn",
    unit=2,
    title="A small CNN on 8x8 digits",
    topics=("convolution", "pooling", "training a CNN"),
    config=DigitsConfig,
    quick=DIGITS_QUICK,
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
    title = f"Digits CNN: test confusion matrix (accuracy {test['accuracy']:.3f})"
    plot_confusion(run, trainer, digits.test, 10, title, noun="digit", annotate=True)
    return {"test_accuracy": test["accuracy"]}


@experiment(
    "feature-maps",
    unit=2,
    title="What a CNN's first layer sees: filters and feature maps",
    topics=("convolution", "activations"),
    config=DigitsConfig,
    quick=DIGITS_QUICK,
    tour={"num_epochs": 10},
    tour_seconds=3,
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
    plots.signed_tiles(
        filters[:, 0].numpy(),
        run.figure("filters"),
        "The 16 learned 3x3 filters of the first layer: red weights add the pixel under them, "
        "blue ones subtract it",
        labels=[f"f{i}" for i in range(len(filters))],
        colorbar_label="weight (one scale for every filter)",
    )
    X, y = digits.test
    chosen = torch.stack([torch.nonzero(y == d)[0, 0] for d in (0, 1, 4, 7)])
    maps = first_feature_maps(trainer.model, X[chosen])  # (4, 16, 8, 8)
    panels = torch.cat([X[chosen], unit_range(maps)], 1)  # (4, 17, 8, 8)
    plots.image_grid(
        panels.reshape(-1, 1, *maps.shape[-2:]).numpy(),
        run.figure("feature_maps"),
        "Test digits and what each filter f0-f15 finds in them (its feature map after batch "
        "norm and ReLU, each scaled to its own range)",
        nrow=panels.shape[1],
        row_labels=[f"digit {int(d)}" for d in y[chosen]],
        col_labels=["input"] + [f"f{i}" for i in range(maps.shape[1])],
    )
    return {"test_accuracy": test["accuracy"]}
