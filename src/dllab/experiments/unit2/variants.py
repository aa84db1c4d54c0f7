"""One building block varied at a time in the digits CNN, the rest equal: pooling (max, average,
min, global), activation functions, dropout (Srivastava et al. 2014) and normalization
(batch, layer, instance, group); test error, train-test gap and curves per variant."""

from dataclasses import dataclass
from typing import Literal

from dllab import data
from dllab.config import param
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
    subset,
)
from dllab.report import plots


@dataclass
class VariantsConfig:
    num_epochs: int = param(20, ge=1)  # epochs per variant
    batch_size: int = param(32, ge=1)  # digits per step
    optimizer: Literal["sgd", "momentum", "adam"] = "adam"  # the same for every variant
    lr: float = param(1e-3, gt=0)  # learning rate of that optimizer
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
