"""Spatial dimensions: pick a layer's 1D or 2D torch class, and add a missing channel axis.

`dims` counts spatial axes everywhere in `dllab.nn`: 0 for feature vectors (B, C), 1 for
sequences (B, C, L), 2 for images (B, C, H, W).
"""

from typing import TypeVar

import torch

from dllab.errors import ConfigError, DataError

T = TypeVar("T")


def check_dims(kind: str, dims: int, supported: tuple[int, ...]) -> None:
    """Raise a ConfigError unless `dims` is one of `supported`."""
    if dims not in supported:
        listed = ", ".join(str(d) for d in supported)
        raise ConfigError(f"{kind} supports dims {listed}, not {dims!r}")


def by_dims(kind: str, dims: int, choices: dict[int, T]) -> T:
    """The entry of `choices` for `dims`, e.g. {1: nn.Conv1d, 2: nn.Conv2d}."""
    check_dims(kind, dims, tuple(sorted(choices)))
    return choices[dims]


def with_channel_axis(x: torch.Tensor, dims: int) -> torch.Tensor:
    """(B, *S) -> (B, 1, *S) for single-channel inputs given without one; (B, C, *S) unchanged.

    Lets a 1D CNN take MNIST-1D's (B, 40) vectors as one-channel sequences (B, 1, 40).
    """
    if x.dim() == dims + 1:
        return x.unsqueeze(1)
    if x.dim() != dims + 2:
        raise DataError(
            f"expected input of {dims + 2} axes (B, C, ...) or {dims + 1} (B, ...), "
            f"got shape {tuple(x.shape)}"
        )
    return x
