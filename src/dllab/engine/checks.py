"""The first step of a pass over the data, where a newcomer's mistakes show: torch's shape and
dtype errors become one DataError naming the shapes; and when the model is compiled, the first
training step's time, which is compilation, is kept apart from the training time."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from dllab.errors import DataError

SHAPE_ERRORS = (RuntimeError, ValueError, IndexError)


def data_error(batch: tuple[torch.Tensor, ...], error: Exception) -> DataError:
    """The DataError for `batch`, which the model or loss refused with `error`."""
    shapes = ", ".join(f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" for t in batch)
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DataError(f"the data ({shapes}) does not fit the model or loss: {reason}")


@contextmanager
def fits_model(batch: tuple[torch.Tensor, ...]):
    """Around the first batch of an evaluation or prediction (see `data_error`)."""
    try:
        yield
    except SHAPE_ERRORS as error:
        raise data_error(batch, error) from None


class FirstStep:
    """Watches a fit's batches until its first step is done, at no cost to the later steps.

    Args:
        timed: measure the first step (with `torch.compile`, its compilation) as `seconds`.
    """

    def __init__(self, timed: bool):
        self.timed = timed
        self.pending = True
        self.batch: tuple[torch.Tensor, ...] | None = None  # the first step's
        self.seconds: float | None = None  # the first step's, when timed

    def watch(self, batches: Iterator[tuple[torch.Tensor, ...]]) -> Iterator:
        """`batches`, through a generator that notes the first batch and, when the loop asks
        for the next one, the end of the first step; after it, `batches` as they are."""
        return self._watched(batches) if self.pending else batches

    def _watched(self, batches: Iterator) -> Iterator:
        started = time.perf_counter()
        self.batch = next(batches, None)
        if self.batch is None:
            return
        yield self.batch
        if self.timed:
            self.seconds = time.perf_counter() - started
        self.pending = False
        yield from batches

    @contextmanager
    def explained(self):
        """Around the loop: an error of the first step that is torch's refusal of a shape or
        dtype becomes the DataError naming the batch's shapes."""
        try:
            yield
        except SHAPE_ERRORS as error:
            if not (self.pending and self.batch is not None):
                raise
            raise data_error(self.batch, error) from None
