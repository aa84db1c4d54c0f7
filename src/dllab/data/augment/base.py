"""The batch-transform contract shared by every augmentation: `Transform`, `Compose`, and the
helpers that check magnitudes and draw one parameter per sample from a `torch.Generator`."""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dllab.errors import ConfigError

Interval = float | tuple[float, float]


def _interval(
    owner: str, name: str, value, centre: float | None, minimum: float | None = None
) -> tuple[float, float]:
    """A magnitude -> (low, high), checked (see the `dllab.data.augment` docstring).

    Raises:
        ConfigError: for a negative spread, a reversed pair, or a low end below `minimum`.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if centre is not None and value < 0:
            raise ConfigError(f"{owner}: {name} must be >= 0, got {value}")
        low, high = (value, value) if centre is None else (centre - value, centre + value)
    elif isinstance(value, list | tuple) and len(value) == 2:
        low, high = value
    else:
        raise ConfigError(f"{owner}: {name} must be a number or a pair (low, high), got {value!r}")
    if low > high:
        raise ConfigError(f"{owner}: {name} must have low <= high, got ({low}, {high})")
    if minimum is not None and low < minimum:
        raise ConfigError(f"{owner}: {name} must stay >= {minimum}, got the range ({low}, {high})")
    return float(low), float(high)


def _rand(generator: torch.Generator, *shape: int) -> torch.Tensor:
    """U(0, 1) draws of `shape` on the generator's device."""
    return torch.rand(shape, generator=generator, device=generator.device)


def _uniform(generator: torch.Generator, n: int, interval: tuple[float, float]) -> torch.Tensor:
    """n draws from U(low, high) on the generator's device.  # (n,)"""
    low, high = interval
    return low + (high - low) * _rand(generator, n)


def _per_sample(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B,) parameters -> (B, 1, ..., 1) on x's device and dtype, to broadcast against x."""
    return values.to(x.device, x.dtype).view(-1, *[1] * (x.ndim - 1))


@dataclass(kw_only=True)
class Transform:
    """A random batch transform `T(x, generator) -> x`, applied to each sample with chance p."""

    p: float = 1.0
    ndims = (4,)  # accepted x.ndim: 4 for images (B, C, H, W), 3 for signals (B, C, L)

    def __post_init__(self) -> None:
        if not 0 <= self.p <= 1:
            raise ConfigError(f"{type(self).__name__}: p must be in [0, 1], got {self.p}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if x.ndim not in self.ndims or not x.is_floating_point():
            ndims = " or ".join(map(str, self.ndims))
            raise ConfigError(
                f"{type(self).__name__} needs a float batch with {ndims} dimensions,"
                f" got {x.dtype} of shape {tuple(x.shape)}"
            )
        chosen = _rand(generator, len(x)) < self.p  # (B,) drawn even when p is 0 or 1
        out = self.apply(x, generator)
        if self.p == 1:
            return out
        return torch.where(chosen.to(x.device).view(-1, *[1] * (x.ndim - 1)), out, x)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The transform applied to every sample of x (the caller keeps a fraction p of them)."""
        raise NotImplementedError


@dataclass
class Compose:
    """Transforms applied in order to the same batch with the same generator."""

    transforms: Sequence[Transform]

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x, generator)
        return x
