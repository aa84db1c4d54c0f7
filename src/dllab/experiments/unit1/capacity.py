"""Hidden units, depth and capacity: MLPs of growing width and depth on a small noisy two-moons
set, from under-fitting to over-fitting (Goodfellow, Bengio & Courville, 2016, "Deep Learning",
§5.2 and §6.4), with the train/test error gap drawn against width."""

from dataclasses import dataclass

from dllab import data
from dllab.config import param
from dllab.experiments.common import boundary_panel, train_classifier
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class CapacityConfig:
    widths: tuple[int, ...] = param((1, 2, 4, 8, 16, 32, 64, 128, 256), ge=1)  # hidden units
    depths: tuple[int, ...] = param((1, 2, 4), ge=1)  # hidden layers
    num_train: int = param(80, ge=4)  # a small training set makes over-fitting visible
    noise: float = param(0.35, ge=0)  # Gaussian noise on the two moons
    num_epochs: int = param(1500, ge=1)  # full-batch Adam epochs, no regularisation


@experiment(
    "capacity",
    unit=1,
    title="Hidden units, depth and capacity: under- and over-fitting",
    topics=("hidden units and capacity", "architecture design"),
    config=CapacityConfig,
    quick={"widths": (1, 8, 128), "depths": (1, 2), "num_epochs": 300},
    headline=("train_error_d1_w128", "test_error_d1_w128"),
    implements=("dllab.models.mlp.MLP",),
)
def capacity(cfg: CapacityConfig, run: Run) -> dict[str, float]:
    """MLPs of growing width and depth fit a small noisy two-moons set: too few hidden units
    under-fit (high training and test error), many over-fit (training error near zero while test
    error rises): the capacity trade-off, with the train/test gap drawn against width."""
    moons = data.load("moons", n=cfg.num_train, n_test=2000, noise=cfg.noise)
    X, y = moons.train
    metrics, train_err, test_err, panels = {}, {}, {}, []
    for depth in cfg.depths:
        train_err[depth], test_err[depth] = [], []
        for width in cfg.widths:
            name = f"mlp-d{depth}-w{width}"
            model = run.model(
                name, "mlp", in_features=2, num_hiddens=(width,) * depth, num_outputs=2
            )
            trainer, test = train_classifier(
                run,
                name,
                model,
                moons,
                num_epochs=cfg.num_epochs,
                batch_size=None,
                optimizer="adam",
                lr=0.01,
                checkpoint=False,
            )
            train_acc = trainer.evaluate(moons.train)["accuracy"]
            train_err[depth].append(1 - train_acc)
            test_err[depth].append(1 - test["accuracy"])
            metrics[f"train_error_d{depth}_w{width}"] = 1 - train_acc
            metrics[f"test_error_d{depth}_w{width}"] = 1 - test["accuracy"]
            if depth == cfg.depths[-1]:
                panels.append(boundary_panel(trainer, X, y, f"{depth}x{width} hidden units"))
    series = {}
    for depth in cfg.depths:
        series[f"train, {depth} layer(s)"] = (list(cfg.widths), train_err[depth])
        series[f"test, {depth} layer(s)"] = (list(cfg.widths), test_err[depth])
    plots.lines(
        series,
        run.figure("error_vs_width"),
        f"Capacity: error against hidden units ({cfg.num_train} noisy training points)",
        "hidden units per layer",
        "classification error",
        log_x=True,
    )
    plots.decision_boundaries(
        panels, run.figure("boundaries_by_width"), "Decision boundaries from under- to over-fitting"
    )
    best = min(cfg.widths, key=lambda w: test_err[cfg.depths[0]][cfg.widths.index(w)])
    metrics["best_width_one_layer"] = best
    return metrics
