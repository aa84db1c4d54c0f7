"""Geometric augmentations: rotation, translation, scale, shear and flips fused into one affine
warp per batch, exact mirrors, and whole-pixel shifts (the CIFAR pad-and-crop)."""

from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F

from dllab.data.augment.base import Interval, Transform, _interval, _uniform
from dllab.errors import ConfigError


def _matrices(*rows: torch.Tensor) -> torch.Tensor:
    """Six (B,) entries a..f -> the (B, 3, 3) affine matrices [[a, b, c], [d, e, f], [0, 0, 1]]."""
    zero, one = torch.zeros_like(rows[0]), torch.ones_like(rows[0])
    return torch.stack([*rows, zero, zero, one], dim=-1).view(-1, 3, 3)


def warp_affine(x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Images moved by forward affine maps in pixel units about the image centre, x right, y down.

    Output pixel u samples input pixel A⁻¹u, bilinearly, zero outside (one `grid_sample` call).

    Args:
        x: (B, C, H, W) images.
        A: (B, 3, 3) forward maps taking centred input pixel coordinates to output ones.
    """
    H, W = x.shape[-2:]
    # affine_grid works in coordinates normalised to [-1, 1] over the pixel edges
    # (align_corners=False): u = S n with S = diag(W/2, H/2, 1), so theta = S⁻¹ A⁻¹ S.
    S = torch.diag(torch.tensor([W / 2, H / 2, 1.0], dtype=A.dtype))
    S_inv = torch.diag(torch.tensor([2 / W, 2 / H, 1.0], dtype=A.dtype))
    theta = (S_inv @ torch.linalg.inv(A) @ S)[:, :2].to(x.device, x.dtype)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@dataclass(kw_only=True)
class Affine(Transform):
    """Flip, scale, shear, rotate, translate, fused into one matrix and one warp per batch.

    degrees: rotation, counter-clockwise as displayed. translate: fraction of the width / height.
    scale: zoom factor (> 1 enlarges). shear: x and y shear angles in degrees, drawn independently.
    hflip, vflip: probability of mirroring each sample (exact mirrors are `Flip`).
    """

    degrees: Interval = 0.0
    translate: Interval = 0.0
    scale: Interval = 0.0
    shear: Interval = 0.0
    hflip: float = 0.0
    vflip: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        self.degrees = _interval(name, "degrees", self.degrees, 0.0)
        self.translate = _interval(name, "translate", self.translate, 0.0)
        self.scale = _interval(name, "scale", self.scale, 1.0, minimum=1e-3)
        self.shear = _interval(name, "shear", self.shear, 0.0)
        if max(map(abs, self.shear)) >= 90:
            raise ConfigError(f"{name}: shear angles must lie within (-90, 90), got {self.shear}")
        if not (0 <= self.hflip <= 1 and 0 <= self.vflip <= 1):
            raise ConfigError(f"{name}: hflip and vflip are probabilities in [0, 1]")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        B, H, W = len(x), *x.shape[-2:]
        draw = partial(_uniform, generator, B)
        angle = torch.deg2rad(draw(self.degrees))
        tx, ty = draw(self.translate) * W, draw(self.translate) * H
        s = draw(self.scale)
        kx, ky = torch.deg2rad(draw(self.shear)).tan(), torch.deg2rad(draw(self.shear)).tan()
        fx = 1 - 2 * (draw((0.0, 1.0)) < self.hflip).to(s)  # -1 mirrors
        fy = 1 - 2 * (draw((0.0, 1.0)) < self.vflip).to(s)
        zero, one, cos, sin = torch.zeros_like(s), torch.ones_like(s), angle.cos(), angle.sin()
        # A = T R Sh D in pixel coordinates with y down, so counter-clockwise R = [[c, s], [-s, c]]
        D = _matrices(s * fx, zero, zero, zero, s * fy, zero)
        Sh = _matrices(one, kx, zero, zero, one, zero) @ _matrices(one, zero, zero, ky, one, zero)
        R = _matrices(cos, sin, zero, -sin, cos, zero)
        T = _matrices(one, zero, tx, zero, one, ty)
        return warp_affine(x, T @ R @ Sh @ D)  # (B, C, H, W)


@dataclass(kw_only=True)
class Flip(Transform):
    """Exact mirror images: horizontal flips the last axis (time for signals), vertical the rows."""

    axis: Literal["horizontal", "vertical"] = "horizontal"
    p: float = 0.5
    ndims = (3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.axis not in ("horizontal", "vertical"):
            raise ConfigError(f"Flip: axis must be 'horizontal' or 'vertical', got {self.axis!r}")
        if self.axis == "vertical":
            self.ndims = (4,)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return x.flip(-1 if self.axis == "horizontal" else -2)


def shift(x: torch.Tensor, shifts: torch.Tensor, fill: str = "zeros") -> torch.Tensor:
    """Each sample moved by whole pixels/steps: out[..., i] = x[..., i - s], in one gather.

    Args:
        x: (B, C, L) signals or (B, C, H, W) images.
        shifts: (B, d) integer shifts of the d spatial axes ((dy, dx) for images).
        fill: "zeros" (what padding then cropping gives) or "circular" (torch.roll per sample).
    """
    B, C, *shape = x.shape
    shifts = shifts.to(x.device)
    margin = int(shifts.abs().max()) if fill == "zeros" else 0
    if margin:  # read from a zero-padded copy, where every source position exists
        x = F.pad(x, [margin] * 2 * len(shape))
    index = torch.zeros(B, *[1] * len(shape), dtype=torch.long, device=x.device)
    for k, n in enumerate(shape):
        pos = torch.arange(n, device=x.device).view([n if j == k else 1 for j in range(len(shape))])
        source = pos - shifts[:, k].view(B, *[1] * len(shape))  # (B, 1.., n, 1..)
        source = source % n if fill == "circular" else source + margin
        index = index * x.shape[2 + k] + source  # row-major flat position in the padded plane
    flat = index.view(B, 1, -1).expand(B, C, -1)  # (B, C, prod(shape))
    return x.flatten(2).gather(2, flat).view(B, C, *shape)


@dataclass(kw_only=True)
class Shift(Transform):
    """Random whole-pixel shifts up to `max_shift` along every spatial axis of signals or images.

    fill="zeros" equals padding by `max_shift` and cropping back at a random place (the CIFAR
    pad-and-crop); fill="circular" rolls each sample.
    """

    max_shift: int = 2
    fill: Literal["zeros", "circular"] = "zeros"
    ndims = (3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.max_shift, int) or self.max_shift < 0:
            raise ConfigError(f"Shift: max_shift must be an integer >= 0, got {self.max_shift!r}")
        if self.fill not in ("zeros", "circular"):
            raise ConfigError(f"Shift: fill must be 'zeros' or 'circular', got {self.fill!r}")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        m = self.max_shift
        size = (len(x), x.ndim - 2)
        shifts = torch.randint(-m, m + 1, size, generator=generator, device=generator.device)
        return shift(x, shifts, self.fill)
