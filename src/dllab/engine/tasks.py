"""Step functions per task: how a batch becomes a loss and the numbers logged beside it.

A task's `compute(model, batch)` returns `(loss, logs)`, where logs are batch means
(accuracy, reconstruction error, KL...). Its `training_step` performs the update through
`trainer.backward_step`, which owns the divergence guard, clipping and the optimizer step;
a GAN's task overrides `training_step` to alternate two optimizers through the same call.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dllab.errors import ConfigError, unknown_name_message

Batch = tuple[torch.Tensor, ...]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _flatten_sequence(y_hat: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step class scores (B, T, C) with labels (B, T) -> (B*T, C) and (B*T,)."""
    if y_hat.dim() == y.dim() + 1 and y_hat.dim() > 2:
        return y_hat.reshape(-1, y_hat.shape[-1]), y.reshape(-1)
    return y_hat, y


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy on logits (B, C) or per-step logits (B, T, C)."""
    return F.cross_entropy(*_flatten_sequence(y_hat, y))


def binary_cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sigmoid cross-entropy on logits, fused for numerical stability (log-sum-exp)."""
    return F.binary_cross_entropy_with_logits(y_hat.reshape(y.shape), y.float())


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(y_hat.reshape(y.shape), y)


def mae(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(y_hat.reshape(y.shape), y)


LOSSES: dict[str, LossFn] = {
    "cross_entropy": cross_entropy,
    "bce": binary_cross_entropy,
    "mse": mse,
    "mae": mae,
    "huber": lambda y_hat, y: F.huber_loss(y_hat.reshape(y.shape), y),
}


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction correct: argmax of logits (B, C) / (B, T, C), or logit > 0 for binary outputs."""
    if y_hat.dim() == y.dim() + 1 and y_hat.shape[-1] > 1:
        return (y_hat.argmax(-1) == y).float().mean()
    return ((y_hat.reshape(y.shape) > 0).long() == y.long()).float().mean()


METRICS: dict[str, LossFn] = {"accuracy": accuracy, "mse": mse, "mae": mae}


def resolve(kind: str, spec: str | LossFn, table: dict[str, LossFn]) -> tuple[str, LossFn]:
    """A loss or metric given by name or as a callable -> (name, function)."""
    if callable(spec):
        return getattr(spec, "__name__", kind), spec
    if spec not in table:
        raise ConfigError(unknown_name_message(kind, spec, sorted(table)))
    return spec, table[spec]


class Task:
    """Base: one optimizer; subclasses define `compute`."""

    # Under torchrun the Trainer wraps the model in DDP as `trainer.forward_model`; a task that
    # overrides `training_step` sets this True once its step runs the model through that wrapper.
    drives_forward_model = False

    def make_optimizers(self, model: nn.Module, build) -> dict[str, torch.optim.Optimizer]:
        """`build(params) -> Optimizer`; tasks with several networks return several."""
        return {"main": build(model.parameters())}

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        loss, logs = self.compute(trainer.forward_model, batch)  # DDP / compiled, or the model
        trainer.backward_step(loss)
        return {"loss": loss.detach(), **logs}

    def seed(self, seed: int) -> None:
        """A fresh fit with the trainer's seed: tasks with their own randomness reseed it."""

    def state_dict(self) -> dict:
        """The task's own state (e.g. an augmentation generator), saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned, when a fit resumes."""


class Supervised(Task):
    """Inputs -> outputs compared with targets: classification and regression.

    Models that return (logits, aux1, aux2) in training (GoogLeNet's auxiliary classifiers)
    add 0.3 times each auxiliary loss, as Szegedy et al. (2015, §5) do.
    """

    aux_weight = 0.3

    def __init__(self, loss: str | LossFn = "cross_entropy", metrics=("accuracy",)):
        self.loss_name, self.loss_fn = resolve("loss", loss, LOSSES)
        self.metrics = [resolve("metric", m, METRICS) for m in metrics]

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X, y = batch[0], batch[-1]
        output = model(X)
        if isinstance(output, tuple):
            output, *aux = output
            loss = self.loss_fn(output, y) + self.aux_weight * sum(self.loss_fn(a, y) for a in aux)
        else:
            loss = self.loss_fn(output, y)
        if not self.metrics:
            return loss, {}
        with torch.no_grad():
            logs = {name: fn(output, y) for name, fn in self.metrics}
        return loss, logs


class Reconstruction(Task):
    """Autoencoders: the target is the (clean) input itself; a batch is (X,) or (X_noisy, X)."""

    def __init__(self, loss: str | LossFn = "mse"):
        self.loss_name, self.loss_fn = resolve("loss", loss, LOSSES)

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X_in, X_target = batch[0], batch[-1]
        X_hat = model(X_in)
        return self.loss_fn(X_hat, X_target), {}


def make_task(loss: str | LossFn | Task, metrics) -> Task:
    """The Keras-style `loss=` argument: a Task, or a loss name/callable for a supervised task."""
    if isinstance(loss, Task):
        return loss
    if metrics is None:
        metrics = ("accuracy",) if loss in ("cross_entropy", "bce") else ()
    return Supervised(loss, metrics)
