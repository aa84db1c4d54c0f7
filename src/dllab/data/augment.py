"""Data augmentation on whole batches: geometric warps, colour jitter, kernel filters, noise,
random erasing / cutout (Zhong et al., 2020; DeVries & Taylor, 2017), random shifts, mixup
(Zhang et al., 2018) and cutmix (Yun et al., 2019).

Every transform is a small callable `T(x, generator) -> x` on a batch (B, C, H, W) of images in
[0, 1] (some also take signals (B, C, L)); `augmentation(name, **kw)` builds one by name and
`Compose([...])` chains them. Nothing loops over samples: each transform draws one parameter per
sample, builds a per-sample matrix, kernel or mask, and applies it to the batch in one call.

Randomness comes only from the `torch.Generator` passed in, so a seeded generator makes a run
reproducible and resumable. Parameters are drawn on the generator's device (normally the CPU) and
moved to the batch's device. Each call first draws which samples the transform touches
(probability `p`), then every sample's parameters, so the stream consumed depends only on the
transform and the batch size.

Magnitudes: a number v means U(c - v, c + v) around the identity value c for the centred ones
(angles, shifts, factors, hue) and the fixed value v for strengths (sigma, std, amount, area,
ratio); a pair (low, high) always means U(low, high).

Plain torch ops, not kornia: measured side by side on this CPU (`python -m bench augment`, one
thread, batches of 256), they ran faster than kornia 0.9's equivalents in every case: affine
1.3-1.9x, colour jitter 1.5-31x, Gaussian blur 2.6-5.7x (bench/results/augment.json).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from dllab.errors import ConfigError, unknown_name_message

Interval = float | tuple[float, float]

# NTSC YIQ (FCC, 1953): Y is the luma torchvision's grayscale uses; I and Q carry the colour and
# sum to zero over R, G, B, so a grey pixel has I = Q = 0.
YIQ_FROM_RGB = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)
RGB_FROM_YIQ = torch.linalg.inv(YIQ_FROM_RGB)


def _interval(
    owner: str, name: str, value, centre: float | None, minimum: float | None = None
) -> tuple[float, float]:
    """A magnitude -> (low, high), checked (see the module docstring).

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


@dataclass(kw_only=True)
class ColorJitter(Transform):
    """Brightness, contrast, saturation and hue in one per-sample 3x3 matrix, clamped to [0, 1].

    In YIQ, with m the image's mean luma Y (torchvision's definitions, hue rotated in the IQ plane
    instead of shifted in HSV):
        Y' = b (c (Y - m) + m),    IQ' = b c s R(-2π h) IQ
    brightness b, contrast c, saturation s are factors (1 = unchanged); hue h is a fraction of a
    turn in [-0.5, 0.5]. Without torchvision's clamping between steps the four ops commute.
    One-channel images are luma only: saturation and hue leave them unchanged.
    """

    brightness: Interval = 0.0
    contrast: Interval = 0.0
    saturation: Interval = 0.0
    hue: Interval = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        for factor in ("brightness", "contrast", "saturation"):
            setattr(self, factor, _interval(name, factor, getattr(self, factor), 1.0, minimum=0))
        self.hue = _interval(name, "hue", self.hue, 0.0, minimum=-0.5)
        if self.hue[1] > 0.5:
            raise ConfigError(f"{name}: hue must stay within [-0.5, 0.5], got {self.hue}")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        B, C = x.shape[:2]
        if C not in (1, 3):
            raise ConfigError(f"ColorJitter needs 1 or 3 channels, got {C}")
        draw = partial(_uniform, generator, B)
        b, c, s = draw(self.brightness), draw(self.contrast), draw(self.saturation)
        h = -2 * math.pi * draw(self.hue)  # clockwise in IQ: red -> green -> blue as in HSV
        luma = YIQ_FROM_RGB[0].to(x) if C == 3 else x.new_ones(1)
        m = x.mean((2, 3)) @ luma  # (B,) mean luma
        if C == 3:
            one, zero, cos, sin = torch.ones_like(s), torch.zeros_like(s), h.cos() * s, h.sin() * s
            chroma = torch.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], -1)
            K = RGB_FROM_YIQ.to(x) @ chroma.view(B, 3, 3).to(x) @ YIQ_FROM_RGB.to(x)  # (B, 3, 3)
        else:
            K = x.new_ones(B, 1, 1)
        M = (b * c).to(x).view(B, 1, 1) * K  # (B, C, C)
        offset = (b.to(x) * (1 - c.to(x)) * m).view(B, 1, 1)  # grey (1 - c) m, times b
        out = torch.baddbmm(offset, M, x.reshape(B, C, -1))  # (B, C, H*W)
        return out.view_as(x).clamp_(0, 1)


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

    Filters written as sums of shifted slices ran 1.5-7x faster on CPU than `conv2d` over the
    B*C planes.  (B, C, H, W) -> (B, C, H, W)
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


@dataclass(kw_only=True)
class GaussianNoise(Transform):
    """Additive noise x + std ε, ε ~ N(0, I), with `std` drawn per sample; not clamped."""

    std: Interval = 0.1
    ndims = (2, 3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.std = _interval("GaussianNoise", "std", self.std, None, minimum=0)

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        std = _per_sample(_uniform(generator, len(x), self.std), x)
        noise = torch.randn(x.shape, generator=generator, device=generator.device)
        return x + std * noise.to(x)


def _box_mask(low: torch.Tensor, high: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Boxes [low, high) per sample over the spatial `shape` -> (n, 1, *shape) bool masks.

    Args:
        low, high: (n, d) integer corners, d = len(shape) (1 for signals, 2 for images).
    """
    n, d = low.shape
    mask = torch.ones(n, 1, *shape, dtype=torch.bool, device=low.device)
    for k, size in enumerate(shape):
        pos = torch.arange(size, device=low.device).view([size if j == k else 1 for j in range(d)])
        lo, hi = (v[:, k].view(n, 1, *[1] * d) for v in (low, high))
        mask &= (pos >= lo) & (pos < hi)  # broadcast (n, 1, ..., size, ...)
    return mask


@dataclass(kw_only=True)
class Erase(Transform):
    """Random erasing (Zhong et al., 2020): one box per sample set to `value`, lying fully inside.

    area: the box's fraction of the image; ratio: its height / width (log-uniform when a pair).
    A fixed area and ratio = 1 is cutout (DeVries & Taylor, 2017). On signals (B, C, L) the box
    is a segment of `area * L` steps and `ratio` is unused.
    """

    area: Interval = (0.02, 0.33)
    ratio: Interval = (0.3, 3.3)
    value: float = 0.0
    ndims = (3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.area = _interval("Erase", "area", self.area, None, minimum=0)
        self.ratio = _interval("Erase", "ratio", self.ratio, None, minimum=1e-3)
        if self.area[1] > 1:
            raise ConfigError(f"Erase: area is a fraction of the image in [0, 1], got {self.area}")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        B, shape = len(x), x.shape[2:]
        area = _uniform(generator, B, self.area)
        log_ratio = _uniform(generator, B, (math.log(self.ratio[0]), math.log(self.ratio[1])))
        if len(shape) == 1:
            size = (area * shape[0]).round()[:, None]  # (B, 1)
        else:
            pixels, ratio = area * shape[0] * shape[1], log_ratio.exp()
            size = torch.stack([(pixels * ratio).sqrt(), (pixels / ratio).sqrt()], 1).round()
        size = torch.minimum(size, size.new_tensor(shape))  # (B, d)
        room = size.new_tensor(shape) - size + 1  # positions a box of this size can start at
        low = (_rand(generator, *size.shape) * room).floor()
        mask = _box_mask(low.long(), (low + size).long(), shape)
        return x.masked_fill(mask.to(x.device), self.value)


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


def _mixing(
    generator: torch.Generator,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    per_sample: bool,
    lam: float | None,
    perm: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The weights lam ~ Beta(alpha, alpha) (n,) on the generator's device, and the partners
    x[perm], y[perm] of mixup and cutmix (perm random unless given); n = B per sample, else 1."""
    if alpha <= 0:
        raise ConfigError(f"mixing: alpha must be > 0, got {alpha}")
    if lam is not None and not 0 <= lam <= 1:
        raise ConfigError(f"mixing: lam must be in [0, 1], got {lam}")
    if perm is None:
        perm = torch.randperm(len(x), generator=generator, device=generator.device)
    perm = perm.to(x.device)
    n = len(x) if per_sample else 1
    # torch's Beta sampler takes no generator: numpy draws it, seeded from the generator
    seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
    draws = np.random.default_rng(seed).beta(alpha, alpha, n) if lam is None else np.full(n, lam)
    return torch.as_tensor(draws, device=generator.device), x[perm], y[perm]


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    alpha: float = 1.0,
    per_sample: bool = False,
    lam: float | None = None,
    perm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018): x' = lam x + (1 - lam) x[perm], lam ~ Beta(alpha, alpha).

    Args:
        x: (B, ...) inputs; y: (B,) labels.
        per_sample: one lam per sample (B,) instead of one for the batch ().
        lam: a fixed weight instead of the Beta draw (the generator is still advanced).
        perm: (B,) the partner of each sample instead of a random permutation.

    Returns:
        x', y_a = y, y_b = y[perm], lam: train with `mixed_loss`.
    """
    lam_n, x_b, y_b = _mixing(generator, x, y, alpha, per_sample, lam, perm)
    lam_n = lam_n.to(x.device, x.dtype)
    mixed = torch.lerp(x_b, x, _per_sample(lam_n, x))  # x_b + lam (x - x_b)
    return mixed, y, y_b, lam_n if per_sample else lam_n[0]


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    alpha: float = 1.0,
    per_sample: bool = False,
    lam: float | None = None,
    perm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CutMix (Yun et al., 2019): a box of x[perm] pasted into x, sides sqrt(1 - lam) of the image.

    The box centre is uniform and the box is clipped at the border (Yun et al., Appendix A1), so
    the returned lam is recomputed as the kept area fraction, the weight of y_a. Works on signals
    (B, C, L) with a segment. Arguments and returns as in `mixup`; with per_sample=False the
    whole batch shares one box.
    """
    lam_n, x_b, y_b = _mixing(generator, x, y, alpha, per_sample, lam, perm)
    shape = torch.tensor(x.shape[2:], device=lam_n.device)
    cut = (shape * (1 - lam_n)[:, None].sqrt()).floor().long()  # (n, d) box sides
    centre = (_rand(generator, *cut.shape) * shape).long()
    low = (centre - cut // 2).clamp(min=0)
    high = torch.minimum(centre + cut // 2, shape)
    mask = _box_mask(low, high, x.shape[2:])  # (n, 1, *spatial)
    mixed = torch.where(mask.to(x.device), x_b, x)
    kept = (1 - (high - low).prod(1) / shape.prod()).to(x.device, x.dtype)  # (n,)
    return mixed, y, y_b, kept if per_sample else kept[0]


def mixed_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor | float,
) -> torch.Tensor:
    """lam L(y_a) + (1 - lam) L(y_b), the loss of a mixed batch (Zhang et al., 2018, §2).

    With one lam per sample (B,), `loss_fn` must return per-sample losses (reduction="none");
    the result is the mean of the per-sample mixtures.
    """
    lam = torch.as_tensor(lam, dtype=logits.dtype, device=logits.device)
    loss_a, loss_b = loss_fn(logits, y_a), loss_fn(logits, y_b)
    if lam.ndim and loss_a.shape != lam.shape:
        raise ConfigError(
            f"mixed_loss: per-sample lam {tuple(lam.shape)} needs per-sample losses "
            f"(reduction='none'), got shape {tuple(loss_a.shape)}"
        )
    return (lam * loss_a + (1 - lam) * loss_b).mean()


AUGMENTATIONS: dict[str, Callable[..., Transform]] = {
    "rotate": partial(Affine, degrees=15.0),
    "translate": partial(Affine, translate=0.1),
    "scale": partial(Affine, scale=0.1),
    "shear": partial(Affine, shear=10.0),
    "affine": partial(Affine, degrees=15.0, translate=0.1, scale=0.1, shear=10.0),
    "hflip": partial(Flip, axis="horizontal"),
    "vflip": partial(Flip, axis="vertical"),
    "brightness": partial(ColorJitter, brightness=0.4),
    "contrast": partial(ColorJitter, contrast=0.4),
    "saturation": partial(ColorJitter, saturation=0.4),
    "hue": partial(ColorJitter, hue=0.1),
    "color_jitter": partial(ColorJitter, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
    "blur": GaussianBlur,
    "sharpen": Sharpen,
    "sobel": partial(Edges, kind="sobel"),
    "laplacian": partial(Edges, kind="laplacian"),
    "noise": GaussianNoise,
    "erase": partial(Erase, p=0.5),
    "cutout": partial(Erase, area=0.25, ratio=1.0),
    "shift": partial(Shift, fill="circular"),
    "crop": partial(Shift, max_shift=4, fill="zeros"),
}


def list_augmentations() -> list[str]:
    return sorted(AUGMENTATIONS)


def augmentation(name: str, **kw) -> Transform:
    """The transform called `name`, its defaults overridden by `kw` (the class's fields).

    Raises:
        ConfigError: for an unknown name or option, or a value out of range.
    """
    if name not in AUGMENTATIONS:
        raise ConfigError(unknown_name_message("augmentation", name, list_augmentations()))
    builder = AUGMENTATIONS[name]
    cls = builder.func if isinstance(builder, partial) else builder
    known = [f for f in cls.__dataclass_fields__ if not f.startswith("_")]
    unknown = sorted(set(kw) - set(known))
    if unknown:
        raise ConfigError(f"augmentation {name!r}: unknown option {unknown[0]!r} (known: {known})")
    return builder(**kw)


# Strong fixed magnitudes, so each transform is plain to see in a gallery.
GALLERY = {
    "rotate": {"degrees": (30.0, 30.0)},
    "translate": {"translate": (0.15, 0.15)},
    "scale": {"scale": (1.4, 1.4)},
    "shear": {"shear": (20.0, 20.0)},
    "hflip": {"p": 1.0},
    "vflip": {"p": 1.0},
    "brightness": {"brightness": (1.6, 1.6)},
    "contrast": {"contrast": (0.4, 0.4)},
    "saturation": {"saturation": (0.0, 0.0)},
    "hue": {"hue": (0.33, 0.33)},
    "blur": {"sigma": 1.5},
    "sharpen": {"amount": 2.0},
    "sobel": {},
    "laplacian": {},
    "noise": {"std": 0.15},
    "erase": {"p": 1.0, "area": 0.2, "ratio": 3.0},
    "cutout": {"area": 0.25},
    "shift": {"max_shift": 4},
    "crop": {"max_shift": 4},
}


def gallery(images: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every transform applied to the same images with strong fixed magnitudes, by name.

    Edge maps are scaled to a maximum of 1 per image, for display. Mixup and cutmix (lam = 0.5)
    mix each image with the next one of the batch. Images (N, C, H, W) in [0, 1]; every value in
    the result has their shape, the first entry is "original".
    """
    generator = torch.Generator().manual_seed(seed)
    out = {"original": images}
    for name, kw in GALLERY.items():
        out[name] = augmentation(name, **kw)(images, generator)
    for name in ("sobel", "laplacian"):
        out[name] = out[name] / out[name].amax((1, 2, 3), keepdim=True).clamp(min=1e-12)
    labels, after = torch.arange(len(images)), torch.arange(1, len(images) + 1) % len(images)
    out["mixup"] = mixup(images, labels, generator, lam=0.5, perm=after)[0]
    out["cutmix"] = cutmix(images, labels, generator, lam=0.5, perm=after)[0]
    return out
