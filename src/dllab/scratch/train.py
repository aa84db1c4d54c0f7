"""Mini-batch training for the NumPy engine: forward, loss, backward, step (Rumelhart et al., 1986).

Each epoch visits the data in a fresh random order, one slice of the permutation per batch.
"""

from collections.abc import Callable

import numpy as np

from dllab.errors import DivergenceError
from dllab.scratch.layers import Layer
from dllab.scratch.optim import Optimizer

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def fit(
    model: Layer,
    loss_fn: LossFn,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    num_epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    lr_schedule: Callable[[int], float] | None = None,
) -> list[float]:
    """Train `model` in place by mini-batch gradient descent.

    Args:
        model: a layer (usually a `Sequential`) whose parameters `optimizer` updates.
        loss_fn: `(y_hat, y) -> (loss, dL/dy_hat)`, e.g. `softmax_cross_entropy`.
        X, y: the training inputs (N, ...) and targets (N, ...).
        rng: shuffles the examples every epoch.
        lr_schedule: the learning rate of optimizer step s (counted from 0), set before that
            step (e.g. a cosine decay); None keeps `optimizer.lr`.

    Returns:
        The mean training loss of each epoch (batches weighted by their size).
    """
    model.train()
    history = []
    steps_per_epoch = -(-len(X) // batch_size)  # ceil
    for epoch in range(num_epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch * steps_per_epoch + start // batch_size)
            batch = order[start : start + batch_size]
            loss, dy_hat = loss_fn(model.forward(X[batch]), y[batch])
            if not np.isfinite(loss):
                raise DivergenceError(f"loss became {loss} in epoch {epoch + 1}")
            model.backward(dy_hat)
            optimizer.step()
            total += loss * len(batch)
        history.append(total / len(X))
    return history


def predict(model: Layer, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs (e.g. logits) for X in eval mode, batch by batch; mode is restored."""
    was_training = model.training
    model.eval()
    y_hat = np.concatenate(
        [model.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    )
    if was_training:
        model.train()
    return y_hat
