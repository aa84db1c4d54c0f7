"""Pixel-value augmentations: colour jitter (brightness, contrast, saturation, hue) and additive
Gaussian noise."""

import math
from dataclasses import dataclass
from functools import partial

import torch

from dllab.data.augment.base import Interval, Transform, _interval, _per_sample, _uniform
from dllab.errors import ConfigError

# NTSC YIQ (FCC, 1953): Y is the luma torchvision's grayscale uses; I and Q carry the colour and
# sum to zero over R, G, B, so a grey pixel has I = Q = 0.
YIQ_FROM_RGB = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)
RGB_FROM_YIQ = torch.linalg.inv(YIQ_FROM_RGB)


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
