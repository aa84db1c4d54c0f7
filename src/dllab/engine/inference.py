"""Evaluation and prediction over batches, without gradients, the model in eval mode."""

from contextlib import nullcontext

import torch
from torch import nn

from dllab.engine.batches import TensorBatches
from dllab.engine.checks import fits_model
from dllab.engine.tasks import Task
from dllab.errors import DataError


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, batches) -> dict[str, float]:
    """The task's loss and logs averaged over every sample of `batches`."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for batch in batches.epoch():
        with fits_model(batch) if count == 0 else nullcontext():
            loss, logs = task.compute(model, batch)
        n = len(batch[0])
        count += n
        for key, value in {"loss": loss, **logs}.items():
            sums[key] = sums.get(key, 0.0) + float(value) * n
    return {k: v / count for k, v in sums.items()}


@torch.no_grad()
def predict(model: nn.Module, batches) -> torch.Tensor:
    """The model's outputs (N, ...) for every batch of inputs, in order, on the CPU.

    Raises:
        DataError: for inputs that do not fit the model; for one sample given without its
            batch axis, the error says to add it (`X[None]`).
    """
    model.eval()
    outputs = []
    for batch in batches.epoch():
        if outputs:
            outputs.append(model(batch[0]).cpu())
            continue
        try:
            with fits_model(batch):
                y_hat = model(batch[0])
            if y_hat.dim() == 0 or len(y_hat) != len(batch[0]):
                raise DataError(
                    f"the model gave {tuple(y_hat.shape)} for inputs {tuple(batch[0].shape)}: "
                    "not one output per sample"
                )
        except DataError as error:
            whole = batches.tensors[0] if isinstance(batches, TensorBatches) else batch[0]
            raise batch_axis_missing(model, whole) or error from None
        outputs.append(y_hat.cpu())
    return torch.cat(outputs)


def batch_axis_missing(model: nn.Module, X: torch.Tensor) -> DataError | None:
    """The error for inputs X that are one sample without its batch axis: the model takes
    X[None]. None when it does not (the inputs are wrong in another way)."""
    try:
        model(X[None])
    except Exception:  # any failure: X[None] is not the answer either
        return None
    return DataError(
        f"predict takes a batch of inputs, and X {tuple(X.shape)} is one sample: add a "
        "batch axis: `X[None]`"
    )
