"""Kernel-filter augmentations: Gaussian blur, sharpening (unsharp masking), Sobel and Laplacian
edges, each written as batched matrix products or shifted slices rather than per-plane convs."""

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from dllab.data.augment.base import Interval, Transform, _interval, _per_sample, _uniform
from dllab.errors import ConfigError


def _blur_matrices(g: torch.Tensor, n: int) -> torch.Tensor:
    """1-D kernels g (B, k) -> (B, n, n) matrices G with (G v)_i = Σ_d g_d v_clamp(i+d, 0, n-1)."""
    r = g.shape[1] // 2
    index = (torch.arange(n)[:, None] + torch.arange(-r, r + 1)).clamp(0, n - 1)  # (n, k)
    taps = F.one_hot(index, n).to(g)  # (n, k, n): which input pixel each tap reads
    return torch.einsum("bk,ikj->bij", g, taps)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur, one standard deviation σ (pixels) per image, truncated at ⌈3σ⌉,
    edges replicated: out = G_H x G_Wᵀ per image and channel, two batched matrix products.

    Args:
        x: (B, C, H, W) images.
        sigma: (B,) positive standard deviations.
    """
    B, C, H, W = x.shape
    radius = max(1, math.ceil(3 * float(sigma.max())))
    d = torch.arange(-radius, radius + 1, dtype=torch.float64)
    sigma = sigma.double().cpu()[:, None]
    g = torch.exp(-(d**2) / (2 * sigma**2)) * (d.abs() <= (3 * sigma).ceil())  # (B, 2r+1)
    g = (g / g.sum(1, keepdim=True)).to(x)
    G_H, G_W = _blur_matrices(g, H), _blur_matrices(g, W)  # (B, H, H), (B, W, W)
    rows = torch.bmm(x.reshape(B, C * H, W), G_W.transpose(1, 2))  # (B, C*H, W) along W
    cols = rows.view(B, C, H, W).transpose(1, 2).reshape(B, H, C * W)  # (B, H, C*W)
    return torch.bmm(G_H, cols).view(B, H, C, W).transpose(1, 2).contiguous()  # along H


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """∇²x, the 4-neighbour kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]], edges replicated.

    A sum of shifted slices: on the CPU it beats `conv2d` over the B*C planes (`python -m bench
    augment`).  (B, C, H, W) -> (B, C, H, W)
    """
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")  # (B, C, H+2, W+2)
    up, down, left, right = p[..., :-2, 1:-1], p[..., 2:, 1:-1], p[..., 1:-1, :-2], p[..., 1:-1, 2:]
    return (up - x) + (down - x) + (left - x) + (right - x)  # exactly 0 on a constant


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude sqrt(gx² + gy²) per channel (Sobel, 1968), in units per pixel.

    gx = [1, 2, 1]ᵀ/4 (smoothing along y) times [-1, 0, 1]/2 (central difference along x),
    and gy likewise, both from one replicate-padded copy.  (B, C, H, W) -> (B, C, H, W)
    """
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")  # (B, C, H+2, W+2)
    dx = (p[..., 2:] - p[..., :-2]) / 2  # (B, C, H+2, W)
    dy = (p[..., 2:, :] - p[..., :-2, :]) / 2  # (B, C, H, W+2)
    gx = (dx[..., :-2, :] + 2 * dx[..., 1:-1, :] + dx[..., 2:, :]) / 4
    gy = (dy[..., :-2] + 2 * dy[..., 1:-1] + dy[..., 2:]) / 4
    return torch.hypot(gx, gy)


@dataclass(kw_only=True)
class GaussianBlur(Transform):
    """Gaussian blur with a standard deviation `sigma` (pixels) drawn per image."""

    sigma: Interval = (0.1, 2.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sigma = _interval("GaussianBlur", "sigma", self.sigma, None, minimum=1e-3)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return gaussian_blur(x, _uniform(generator, len(x), self.sigma))


@dataclass(kw_only=True)
class Sharpen(Transform):
    """Unsharp masking x - a ∇²x (a = 1 is the kernel [[0,-1,0],[-1,5,-1],[0,-1,0]]), in [0, 1]."""

    amount: Interval = (0.5, 1.5)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.amount = _interval("Sharpen", "amount", self.amount, None, minimum=0)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        a = _per_sample(_uniform(generator, len(x), self.amount), x)
        return (x - a * laplacian(x)).clamp_(0, 1)


@dataclass(kw_only=True)
class Edges(Transform):
    """The image replaced by its edges: Sobel gradient magnitude or |Laplacian|."""

    kind: Literal["sobel", "laplacian"] = "sobel"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in ("sobel", "laplacian"):
            raise ConfigError(f"Edges: kind must be 'sobel' or 'laplacian', got {self.kind!r}")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return sobel(x) if self.kind == "sobel" else laplacian(x).abs()
