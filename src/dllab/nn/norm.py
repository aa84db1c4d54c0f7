"""Normalisation and dropout factories for vectors (dims=0), sequences (1) and images (2)."""

import math

from torch import nn

from dllab.errors import ConfigError, unknown_name_message
from dllab.nn.dims import by_dims, check_dims

NORMS = ("none", "batch", "layer", "instance", "group")


def norm(
    name: str | None, num_channels: int, dims: int = 2, num_groups: int | None = None
) -> nn.Module:
    """A normalisation layer over `num_channels` features; `None` or "none" is the identity.

    - batch: BatchNorm1d/2d, statistics over the batch and spatial axes (Ioffe & Szegedy, 2015).
    - layer: LayerNorm(C) for vectors; for feature maps GroupNorm(1, C), i.e. statistics over
      (C, *S) of each sample as in LayerNorm, with a per-channel (not per-element) scale and
      shift so that it works at any spatial size (Ba et al., 2016; Wu & He, 2018, §3.1).
    - instance: InstanceNorm1d/2d with a learned per-channel affine (Ulyanov et al., 2016).
    - group: GroupNorm with `num_groups`, by default gcd(32, C): Wu & He's 32 groups when C
      allows, otherwise the largest power of two dividing C (Wu & He, 2018).

    Raises:
        ConfigError: for an unknown name, unsupported `dims`, or groups not dividing C.
    """
    key = "none" if name is None else name
    if key not in NORMS:
        raise ConfigError(unknown_name_message("normalisation", key, list(NORMS)))
    if num_groups is not None and key != "group":
        raise ConfigError(f"num_groups applies to group normalisation, not {key!r}")
    if key == "none":
        return nn.Identity()
    if key == "batch":
        batch = by_dims(
            "batch normalisation", dims, {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
        )
        return batch(num_channels)
    if key == "instance":
        instance = by_dims(
            "instance normalisation", dims, {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d}
        )
        return instance(num_channels, affine=True)
    check_dims(f"{key} normalisation", dims, (0, 1, 2))
    if key == "layer":
        return nn.LayerNorm(num_channels) if dims == 0 else nn.GroupNorm(1, num_channels)
    groups = math.gcd(32, num_channels) if num_groups is None else num_groups
    if groups < 1 or num_channels % groups:
        raise ConfigError(f"num_groups={groups} does not divide {num_channels} channels")
    return nn.GroupNorm(groups, num_channels)


def dropout(p: float, spatial: bool = False, dims: int = 2) -> nn.Module:
    """Dropout with drop probability `p`; the identity when p == 0.

    `spatial=True` drops whole channels of (B, C, L) or (B, C, H, W) maps (Dropout1d/2d,
    Tompson et al., 2015), since neighbouring activations of one channel are correlated.

    Raises:
        ConfigError: for p outside [0, 1) or spatial dropout of vectors.
    """
    if not 0.0 <= p < 1.0:
        raise ConfigError(f"dropout probability must be in [0, 1), got {p!r}")
    if p == 0.0:
        return nn.Identity()
    if not spatial:
        return nn.Dropout(p)
    return by_dims("spatial dropout", dims, {1: nn.Dropout1d, 2: nn.Dropout2d})(p)
