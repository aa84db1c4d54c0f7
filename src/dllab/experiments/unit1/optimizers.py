"""Gradient descent and its variants on the digits MLP: full-batch, mini-batch and per-sample
SGD (Robbins & Monro, 1951), momentum (Polyak, 1964), Nesterov (1983), RMSProp (Tieleman &
Hinton, 2012) and Adam (Kingma & Ba, 2015) from the same initial weights, compared by optimizer
steps and by wall-clock time."""

from dataclasses import dataclass

from dllab import data
from dllab.config import param
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class OptimizersConfig:
    num_epochs: int = param(15, ge=1)  # epochs per optimizer
    per_sample_epochs: int = param(3, ge=1)  # per-sample SGD takes 1257 steps an epoch


# name -> (optimizer, lr, batch size: None = full batch, 1 = per sample)
OPTIMIZER_RUNS = {
    "full-batch GD": ("sgd", 0.5, None),
    "mini-batch SGD": ("sgd", 0.05, 32),
    "per-sample SGD": ("sgd", 0.01, 1),
    "momentum": ("momentum", 0.02, 32),
    "Nesterov": ("nesterov", 0.02, 32),
    "RMSProp": ("rmsprop", 1e-3, 32),
    "Adam": ("adam", 1e-3, 32),
}


@experiment(
    "optimizers",
    unit=1,
    title="Gradient descent and its variants on the digits MLP",
    topics=("SGD and its variants",),
    config=OptimizersConfig,
    quick={"num_epochs": 3, "per_sample_epochs": 1},
    headline=("test_accuracy_full_batch_gd", "test_accuracy_adam"),
    implements=("dllab.engine.optim.make_optimizer",),
)
def optimizers(cfg: OptimizersConfig, run: Run) -> dict[str, float]:
    """Full-batch gradient descent, mini-batch and per-sample SGD, momentum, Nesterov, RMSProp
    and Adam train the same digits MLP from the same initialisation: training loss against
    optimizer steps and against wall-clock time."""
    digits = data.load("digits", flatten=True)
    metrics, by_step, by_time = {}, {}, {}
    for label, (name, lr, batch_size) in OPTIMIZER_RUNS.items():
        key = label.lower().replace(" ", "_").replace("-", "_")
        model = run.model("digits-mlp", "digits_mlp")  # the same initial weights for all
        epochs = cfg.per_sample_epochs if batch_size == 1 else cfg.num_epochs
        trainer, test = train_classifier(
            run,
            key,
            model,
            digits,
            num_epochs=epochs,
            batch_size=batch_size,
            optimizer=name,
            lr=lr,
        )
        steps = trainer.history.steps
        by_step[label] = ([r["step"] for r in steps], [r["loss"] for r in steps])
        epochs_done = trainer.history.epochs
        by_time[label] = ([r["time"] for r in epochs_done], [r["loss"] for r in epochs_done])
        metrics[f"test_accuracy_{key}"] = test["accuracy"]
        metrics[f"train_loss_{key}"] = epochs_done[-1]["loss"]
    plots.lines(
        by_step,
        run.figure("loss_vs_steps"),
        "Training loss against optimizer steps",
        "optimizer step",
        "training loss (cross-entropy)",
        log_x=True,
        log_y=True,
    )
    plots.lines(
        by_time,
        run.figure("loss_vs_time"),
        "Training loss against wall-clock time",
        "training time (s)",
        "epoch-mean training loss",
        log_y=True,
    )
    return metrics
