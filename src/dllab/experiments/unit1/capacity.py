"""Hidden units, depth and capacity: MLPs of growing width and depth on a small noisy two-moons
set, from under-fitting to over-fitting (Goodfellow, Bengio & Courville, 2016, "Deep Learning",
§5.2 and §6.4), with the train/test error gap drawn against width."""

from dataclasses import dataclass

import torch

from dllab import data
from dllab.config import param
from dllab.experiments.common import boundary_panel, train_classifier
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class CapacityConfig:
    widths: tuple[int, ...] = param((1, 2, 4, 8, 16, 32, 64, 128, 256), ge=1)  # hidden units
    depths: tuple[int, ...] = param((1, 2, 4), ge=1)  # hidden layers
    num_train: int = param(80, ge=4)  # a small training set makes over-fitting visible
    noise: float = param(0.35, ge=0)  # Gaussian noise on the two moons
    num_epochs: int = param(1500, ge=1)  # full-batch Adam epochs, no regularisation
    restarts: int = param(3, ge=1)  # tries per network while it ends dead (one class everywhere)


def _fit_alive(cfg: CapacityConfig, run: Run, name: str, depth: int, width: int, moons):
    """Train one MLP (full-batch Adam); while it ends as a dead network, one that predicts a
    single class everywhere (every ReLU of some layer off), train it again from another
    initialisation, at most `restarts` times. Returns the model in evaluation mode."""
    for attempt in range(cfg.restarts):
        label = name if attempt == 0 else f"{name}-restart{attempt}"
        model = run.model(label, "mlp", in_features=2, num_hiddens=(width,) * depth, num_outputs=2)
        trainer, _ = train_classifier(
            run, label, model, moons, num_epochs=cfg.num_epochs, batch_size=None,
            optimizer="adam", lr=0.01, checkpoint=False,
        )  # fmt: skip
        with torch.no_grad():
            if len(model.eval()(moons.train[0]).argmax(1).unique()) > 1:
                break
    return model


def _error(model: torch.nn.Module, split) -> float:
    X, y = split
    with torch.no_grad():
        return (model(X).argmax(1) != y).float().mean().item()


@experiment(
    "capacity",
    unit=1,
    title="Hidden units, depth and capacity: under- and over-fitting",
    topics=("hidden units and capacity", "architecture design"),
    config=CapacityConfig,
    quick={"widths": (1, 8, 128), "depths": (1, 2), "num_epochs": 300},
    tour={"num_epochs": 800},
    tour_seconds=10,
    headline=("train_error_d1_w128", "test_error_d1_w128"),
    claims=(
        Claim(
            "one hidden unit under-fits: its training error is the highest",
            lambda m: (
                m["train_error_d1_w1"] > max(m["train_error_d1_w8"], 0.05)
                and m["train_error_d1_w1"] < 0.4
            ),  # under-fitting, not a dead network at 0.5
        ),
        Claim(
            "128 hidden units over-fit: (near) zero training error, test error above the best",
            lambda m: (
                m["train_error_d1_w128"] < 0.03 and m["test_error_d1_w128"] > m["test_error_d1_w8"]
            ),
        ),
    ),
)
def capacity(cfg: CapacityConfig, run: Run) -> dict[str, float]:
    """MLPs of growing width and depth fit a small noisy two-moons set: too few hidden units
    under-fit (high training and test error), many over-fit (training error near zero while test
    error rises): the capacity trade-off, with the train/test gap drawn against width. A network
    that ends dead (one class everywhere: a narrow deep net can start with every ReLU of a
    layer off) is trained again from another initialisation, so that what the figures show is
    capacity, not an unlucky start. The boundaries are the one-layer row."""
    moons = data.load("moons", n=cfg.num_train, n_test=2000, noise=cfg.noise)
    X, y = moons.train
    metrics, series, panels = {}, {}, []
    for depth in cfg.depths:
        layers = f"{depth} hidden layer" + "s" * (depth > 1)
        errors = {"training": [], "test": []}
        for width in cfg.widths:
            name = f"mlp-d{depth}-w{width}"
            model = _fit_alive(cfg, run, name, depth, width, moons)
            errors["training"].append(_error(model, moons.train))
            errors["test"].append(_error(model, moons.test))
            metrics[f"train_error_d{depth}_w{width}"] = errors["training"][-1]
            metrics[f"test_error_d{depth}_w{width}"] = errors["test"][-1]
            if depth == cfg.depths[0]:
                title = f"{width} hidden unit{'s' * (width > 1)}\ntrain error "
                title += f"{errors['training'][-1]:.2f}, test {errors['test'][-1]:.2f}"
                panels.append(boundary_panel(model, X, y, title))
        for split, values in errors.items():
            line = plots.Line(cfg.widths, values, key=layers, dashed=split == "test")
            series[f"{layers}, {split}"] = line
    plots.lines(
        series,
        run.figure("error_vs_width"),
        f"More hidden units fit the {cfg.num_train} noisy training points better; "
        "past a point the test error rises",
        "hidden units per layer",
        "classification error",
        log_x=True,
    )
    plots.decision_boundaries(
        panels,
        run.figure("boundaries_by_width"),
        f"One hidden layer: under-fitting with 1 unit, over-fitting with {cfg.widths[-1]}",
    )
    best = min(cfg.widths, key=lambda w: metrics[f"test_error_d{cfg.depths[0]}_w{w}"])
    metrics["best_width_one_layer"] = best
    return metrics
