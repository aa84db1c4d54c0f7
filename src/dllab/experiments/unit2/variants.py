"""One building block varied at a time in the digits CNN, the rest equal: pooling (max, average,
min, global), activation functions, dropout (Srivastava et al. 2014) and normalization
(batch, layer, instance, group); test error over several runs, train-test gap and curves per
variant."""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from dllab import data
from dllab.config import param
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
    subset,
)
from dllab.report import plots


@dataclass
class VariantsConfig:
    num_epochs: int = param(20, ge=1)  # epochs of every variant
    batch_size: int = param(32, ge=1)  # digits per step
    optimizer: Literal["sgd", "momentum", "adam"] = "adam"  # the optimizer of every variant
    lr: float = param(1e-3, gt=0)  # its learning rate
    channels: tuple[int, ...] = param((32, 64), ge=1)  # widths of the digits CNN's blocks
    num_train: int = param(0, ge=0)  # training digits per class (0: all 1257 digits)
    seeds: int = param(3, ge=1)  # runs per variant (initialisation and data order): mean ± std


def _compare(
    cfg: VariantsConfig, run: Run, option: str, values: dict, what: str, gap: bool = False
) -> dict:
    """One digits CNN (`cnn` in the registry) per value of its `option` (label -> value), the
    rest equal, each trained `cfg.seeds` times: test accuracy and train-test gap per variant
    (means, with `_std` over seeds), curves of training loss and validation accuracy (mean ±
    std), bars of test error with their spread and, with `gap`, of the train-test gap;
    `test_accuracy` is the first variant's."""
    digits = data.load("digits")
    if cfg.num_train:
        digits = subset(digits, tuple(range(10)), cfg.num_train)
    metrics, losses, val = {}, {}, {}
    for label, value in values.items():
        kwargs = {"in_channels": 1, "channels": cfg.channels, option: value}
        tests, gaps, curves = [], [], []
        for seed in range(cfg.seeds):
            name = label if seed == 0 else f"{label}-seed{seed}"
            model = run.model(f"{option}-{name}", "cnn", **kwargs)
            trainer, test = fit_classifier(
                run, name, model, digits, num_epochs=cfg.num_epochs, batch_size=cfg.batch_size,
                optimizer=cfg.optimizer, lr=cfg.lr,
            )  # fmt: skip
            tests.append(test["accuracy"])
            gaps.append(trainer.evaluate(digits.train)["accuracy"] - test["accuracy"])
            curves.append([(r["loss"], r["val_accuracy"]) for r in trainer.history.epochs])
        metrics[f"test_accuracy_{label}"] = float(np.mean(tests))
        metrics[f"test_accuracy_std_{label}"] = float(np.std(tests))
        metrics[f"train_test_gap_{label}"] = float(np.mean(gaps))
        curves = np.array(curves)  # (seeds, epochs, 2)
        epochs = np.arange(1, curves.shape[1] + 1)
        mean, std = curves.mean(0), curves.std(0)  # (epochs, 2)
        shown = plots.words(label)
        losses[shown] = plots.Line(epochs, mean[:, 0], std[:, 0] if cfg.seeds > 1 else None)
        val[shown] = plots.Line(epochs, mean[:, 1], std[:, 1] if cfg.seeds > 1 else None)
    metrics["test_accuracy"] = metrics[f"test_accuracy_{next(iter(values))}"]
    spread = f", mean ± std of {cfg.seeds} runs" if cfg.seeds > 1 else ""
    plots.lines(
        losses, run.figure("training_loss"), f"Training loss by {what}{spread}", "epoch",
        "training loss (cross-entropy, nats; epoch mean)", log_y=True,
    )  # fmt: skip
    plots.lines(
        val, run.figure("val_accuracy"), f"Validation accuracy by {what}{spread}", "epoch",
        "validation accuracy",
    )  # fmt: skip
    plots.bars(
        {plots.words(k): 100 * (1 - metrics[f"test_accuracy_{k}"]) for k in values},
        run.figure("test_error"),
        f"Test error by {what} on the digits CNN (lower is better{spread})",
        "test error (%)",
        errors={plots.words(k): 100 * metrics[f"test_accuracy_std_{k}"] for k in values}
        if cfg.seeds > 1
        else None,
    )
    if gap:
        plots.bars(
            {plots.words(k): 100 * metrics[f"train_test_gap_{k}"] for k in values},
            run.figure("train_test_gap"),
            f"Over-fitting by {what}: training minus test accuracy{spread}",
            "train - test accuracy (points)",
        )
    return metrics


VARIANTS_QUICK = {"num_epochs": 1, "channels": (8, 16), "seeds": 1}
POOLINGS = {"max": "max", "avg": "avg", "min": "min", "global": None}  # global: the head alone


@dataclass
class DropoutConfig(VariantsConfig):
    num_epochs: int = param(100, ge=1)  # long enough to over-fit without dropout
    num_train: int = param(20, ge=0)  # few examples per class, so that the CNN can memorise them


@dataclass
class NormConfig(VariantsConfig):
    optimizer: Literal["sgd", "momentum", "adam"] = "sgd"  # plain SGD: where norms matter most
    lr: float = param(0.05, gt=0)  # SGD's learning rate


@experiment(
    "pooling",
    unit=2,
    title="Max, average, min and global pooling",
    topics=("pooling",),
    config=VariantsConfig,
    quick=VARIANTS_QUICK,
    tour={"num_epochs": 6, "channels": (16, 32), "seeds": 3},
    tour_seconds=16,
    headline=("test_accuracy_max", "test_accuracy_min", "test_accuracy_global"),
    claims=(
        Claim(
            "max pooling beats min pooling by more than their runs' spread",
            lambda m: (
                m["test_accuracy_max"] - m["test_accuracy_min"]
                > m["test_accuracy_std_max"] + m["test_accuracy_std_min"]
            ),
        ),
    ),
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
    headline=("train_test_gap_p0", "train_test_gap_p0.5"),
    claims=(
        Claim(
            "dropout narrows the train-test gap: smaller at p = 0.5 than without dropout",
            lambda m: m["train_test_gap_p0.5"] < m["train_test_gap_p0"],
        ),
    ),
)
def dropout(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The digits CNN with dropout 0, 0.25 and 0.5 after each block (Srivastava et al., 2014):
    dropping units at random during training keeps the network from memorising, so training
    accuracy falls towards test accuracy (`train_test_gap_*`)."""
    rates = {"p0": 0.0, "p0.25": 0.25, "p0.5": 0.5}
    return _compare(cfg, run, "dropout", rates, "dropout probability", gap=True)


@experiment(
    "normalization",
    unit=2,
    title="Batch, layer, instance and group normalization",
    topics=("normalization",),
    config=NormConfig,
    quick=VARIANTS_QUICK,
    tour={"num_epochs": 6, "channels": (16, 32), "seeds": 3},
    tour_seconds=16,
    headline=("test_accuracy_none", "test_accuracy_batch"),
    claims=(
        Claim(
            "under plain SGD, batch normalization beats none by more than their runs' spread",
            lambda m: (
                m["test_accuracy_batch"] - m["test_accuracy_none"]
                > m["test_accuracy_std_batch"] + m["test_accuracy_std_none"]
            ),
        ),
    ),
)
def normalization(cfg: VariantsConfig, run: Run) -> dict[str, float]:
    """The digits CNN with no normalization or batch (Ioffe & Szegedy, 2015), layer (Ba et al.,
    2016), instance (Ulyanov et al., 2016) or group (Wu & He, 2018) normalization after each
    convolution, trained by plain SGD where normalization speeds convergence most."""
    names = {n: n for n in ("batch", "layer", "instance", "group")}
    return _compare(cfg, run, "norm", {**names, "none": None}, "normalization")
