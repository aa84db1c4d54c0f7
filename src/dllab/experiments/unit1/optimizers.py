"""Gradient descent and its variants on the digits MLP: full-batch, mini-batch and per-sample
SGD (Robbins & Monro, 1951), momentum (Polyak, 1964), Nesterov (1983), RMSProp (Tieleman &
Hinton, 2012) and Adam (Kingma & Ba, 2015) from the same initial weights, compared by optimizer
steps and by wall-clock time."""

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.engine import Callback
from dllab.experiments.common import train_classifier
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.report import plots


@dataclass
class OptimizersConfig:
    num_epochs: int = param(15, ge=1)  # epochs per optimizer
    per_sample_epochs: int = param(3, ge=1)  # per-sample SGD takes 1257 steps an epoch
    checkpoints_per_epoch: int = param(8, ge=1)  # full training-loss evaluations per epoch


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


class TrainingLossCheckpoints(Callback):
    """The loss on the WHOLE training set each time another `every` examples have been seen,
    with the training time so far (the evaluations' own time left out): one curve that every
    optimizer can be compared on, whatever its batch size. A per-step loss would compare one
    sample's loss with a batch mean."""

    def __init__(self, train: tuple[torch.Tensor, torch.Tensor], every: int, batch_size: int):
        self.X, self.y = train
        self.every, self.batch_size = every, batch_size
        self.points: list[tuple[int, float, float]] = []  # (examples seen, seconds, loss)

    def on_fit_start(self, trainer) -> None:
        self.started, self.evaluating = time.perf_counter(), 0.0
        self._measure(trainer, 0)

    def on_step_end(self, trainer, record: dict) -> None:
        seen = trainer.step * self.batch_size
        if seen // self.every > (seen - self.batch_size) // self.every:
            self._measure(trainer, seen)

    def _measure(self, trainer, seen: int) -> None:
        began = time.perf_counter()
        model = trainer.model
        was_training = model.training
        with torch.no_grad():
            loss = F.cross_entropy(model.eval()(self.X), self.y).item()
        model.train(was_training)
        self.points.append((seen, began - self.started - self.evaluating, loss))
        self.evaluating += time.perf_counter() - began


@experiment(
    "optimizers",
    unit=1,
    title="Gradient descent and its variants on the digits MLP",
    topics=("SGD and its variants",),
    config=OptimizersConfig,
    quick={"num_epochs": 3, "per_sample_epochs": 1},
    tour={"num_epochs": 8, "per_sample_epochs": 2},
    tour_seconds=7,
    headline=("test_accuracy_full_batch_gd", "test_accuracy_adam"),
    claims=(
        Claim(
            "after the same examples, momentum and Adam reach a lower training loss than SGD",
            lambda m: (
                max(m["train_loss_momentum"], m["train_loss_adam"]) < m["train_loss_mini_batch_sgd"]
            ),
        ),
        Claim(
            "one full-batch step per epoch is the slowest way through the same examples",
            lambda m: (
                m["train_loss_full_batch_gd"]
                > max(m[f"train_loss_{k}"] for k in ("mini_batch_sgd", "momentum", "adam"))
            ),
        ),
    ),
)
def optimizers(cfg: OptimizersConfig, run: Run) -> dict[str, float]:
    """Full-batch gradient descent, mini-batch and per-sample SGD, momentum, Nesterov, RMSProp
    and Adam train the same digits MLP from the same initialisation. Each is measured the same
    way: the loss on the whole training set, `checkpoints_per_epoch` times an epoch, against
    the training examples seen and against wall-clock time. `train_loss_<optimizer>` is that
    loss after the examples every optimizer saw (`per_sample_epochs` epochs)."""
    digits = data.load("digits", flatten=True)
    N = len(digits.train[0])
    every = max(1, N // cfg.checkpoints_per_epoch)
    metrics, by_examples, by_time = {}, {}, {}
    common = min(cfg.per_sample_epochs, cfg.num_epochs) * N  # examples every optimizer saw
    for label, (name, lr, batch_size) in OPTIMIZER_RUNS.items():
        key = label.lower().replace(" ", "_").replace("-", "_")
        model = run.model("digits-mlp", "digits_mlp")  # the same initial weights for all
        epochs = cfg.per_sample_epochs if batch_size == 1 else cfg.num_epochs
        checkpoints = TrainingLossCheckpoints(digits.train, every, batch_size or N)
        _, test = train_classifier(
            run, key, model, digits, num_epochs=epochs, batch_size=batch_size, optimizer=name,
            lr=lr, callbacks=[checkpoints],
        )  # fmt: skip
        seen, seconds, losses = zip(*checkpoints.points)
        by_examples[label] = (np.array(seen) / N, losses)
        by_time[label] = (seconds, losses)
        metrics[f"test_accuracy_{key}"] = test["accuracy"]
        metrics[f"train_loss_{key}"] = float(np.interp(common, seen, losses))
    plots.lines(
        by_examples,
        run.figure("loss_vs_examples"),
        "Training loss against examples seen: many small steps, momentum and adaptive steps "
        "learn most per example; one full-batch step per epoch learns least",
        "epochs (training examples seen / 1257)",
        "training-set loss (cross-entropy, nats)",
        log_y=True,
    )
    plots.lines(
        by_time,
        run.figure("loss_vs_time"),
        "Training loss against wall-clock time: per-sample steps cost the most time",
        "training time (s)",
        "training-set loss (cross-entropy, nats)",
        log_y=True,
    )
    return metrics
