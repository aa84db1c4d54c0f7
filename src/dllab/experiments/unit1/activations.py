"""Hidden-unit activations in a deep MLP: sigmoid, tanh, ReLU (Nair & Hinton, 2010), Leaky ReLU
(Maas et al., 2013) and ELU (Clevert et al., 2016) under plain SGD, each from the initialisation
made for it (Glorot & Bengio, 2010; He et al., 2015), with the per-layer gradient norms that
show sigmoid's gradient vanishing towards the input."""

from dataclasses import dataclass
from typing import Literal

from dllab import data
from dllab.config import param
from dllab.engine import GradientNormMonitor
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.nn import init_for_activation_
from dllab.report import plots

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")


@dataclass
class ActivationsConfig:
    num_layers: int = param(8, ge=1)  # hidden layers of the deep MLP
    num_hiddens: int = param(64, ge=1)  # units per hidden layer
    num_epochs: int = param(20, ge=1)  # epochs per activation
    lr: float = param(0.05, gt=0)  # plain SGD, so that vanishing gradients show
    init: Literal["matched", "torch"] = "matched"  # He for ReLU-like, Glorot for sigmoid/tanh


@experiment(
    "activations",
    unit=1,
    title="Hidden-unit activations in a deep MLP: accuracy and gradient flow",
    topics=("hidden units and capacity", "deep feed-forward networks"),
    config=ActivationsConfig,
    quick={"num_epochs": 4, "num_layers": 6},
    tour={"num_epochs": 8, "num_layers": 8},
    tour_seconds=5,
    headline=("test_accuracy_sigmoid", "test_accuracy_relu"),
    claims=(
        Claim(
            "the deep sigmoid network does not train; the ReLU one does",
            lambda m: m["test_accuracy_sigmoid"] < 0.3 < 0.8 < m["test_accuracy_relu"],
        ),
        Claim(
            "the sigmoid's gradient shrinks towards the input (σ' ≤ 1/4 per layer)",
            lambda m: m["grad_ratio_first_last_sigmoid"] < 0.01 * m["grad_ratio_first_last_relu"],
        ),
    ),
)
def activations(cfg: ActivationsConfig, run: Run) -> dict[str, float]:
    """A deep MLP on the digits with sigmoid, tanh, ReLU, Leaky ReLU and ELU hidden units, trained
    by plain SGD: the per-layer gradient norms show sigmoid's gradient vanishing towards the
    input (its derivative is at most 1/4), while ReLU-like units keep it flowing. Each net starts
    from the initialisation made for its activation (`init=torch` shows what torch's default
    does to a deep net)."""
    digits = data.load("digits", flatten=True)
    metrics, per_layer, curves = {}, {}, {}
    for act in ACTIVATIONS:
        model = run.model(
            act, "mlp", num_hiddens=(cfg.num_hiddens,) * cfg.num_layers, activation=act
        )
        if cfg.init == "matched":
            init_for_activation_(model, act)
        trainer, test = train_classifier(
            run,
            act,
            model,
            digits,
            num_epochs=cfg.num_epochs,
            batch_size=32,
            optimizer="sgd",
            lr=cfg.lr,
            callbacks=[GradientNormMonitor()],
        )
        first = trainer.history.epochs[0]
        norms = [v for k, v in first.items() if k.startswith("grad_norm/")]
        per_layer[plots.words(act)] = (list(range(1, len(norms) + 1)), norms)
        curves[plots.words(act)] = (
            [r["epoch"] for r in trainer.history.epochs],
            [r["val_accuracy"] for r in trainer.history.epochs],
        )
        metrics[f"test_accuracy_{act}"] = test["accuracy"]
        metrics[f"grad_ratio_first_last_{act}"] = norms[0] / norms[-1]
    plots.lines(
        per_layer,
        run.figure("gradient_norm_per_layer"),
        f"Gradient per layer after one epoch of a {cfg.num_layers}-layer MLP: through sigmoids "
        "it shrinks towards the input (layer 1)",
        "layer",
        "‖∂L/∂W‖ (L2)",
        log_y=True,
    )
    plots.lines(
        curves,
        run.figure("validation_accuracy"),
        "Validation accuracy by activation"
        + (
            f": the {cfg.num_layers}-layer sigmoid MLP stays at chance (0.1)"
            if metrics["test_accuracy_sigmoid"] < 0.2
            else ""
        ),
        "epoch",
        "validation accuracy",
    )
    return metrics
