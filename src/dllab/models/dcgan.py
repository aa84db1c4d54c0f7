"""DCGAN (Radford et al., 2016, "Unsupervised Representation Learning with Deep Convolutional
GANs", §3): strided (transposed) convolutions instead of pooling, no fully connected hidden
layers, batch norm in both networks except the generator's output and the discriminator's
input layer, ReLU in the generator and LeakyReLU (0.2) in the discriminator.

The generator projects z to a 4x4 map and doubles the resolution with each 4x4 transposed
convolution of stride 2 until `image_size` (8 for the digits, 32 for CIFAR-10).
"""

import math

import torch
from torch import nn

from dllab.errors import ConfigError
from dllab.models.registry import register_model


def _upsamplings(image_size: int) -> int:
    """How many stride-2 layers lead from 4x4 to image_size (a power of two >= 8)."""
    steps = math.log2(image_size / 4)
    if image_size < 8 or steps != int(steps):
        raise ConfigError(f"DCGAN image_size must be 8, 16, 32, ..., got {image_size}")
    return int(steps)


def _refinement(channels: int, activation: nn.Module, norm: bool = True) -> list[nn.Module]:
    """A stride-1 3x3 convolution that keeps the map's size and width, batch norm, activation."""
    norm_layer = [nn.BatchNorm2d(channels)] if norm else []
    return [nn.Conv2d(channels, channels, 3, 1, 1, bias=not norm), *norm_layer, activation]


class DCGANGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, out_channels, image_size, image_size) in [0, 1].

    `refine`: a stride-1 3x3 convolution after every transposed one, and the last up-sampling
    to a feature map that a 3x3 convolution turns into the image. An 8x8 image leaves room for
    a single strided layer; without it the generator is one hidden layer deep.
    """

    def __init__(
        self,
        latent_dim: int,
        out_channels: int = 1,
        image_size: int = 8,
        width: int = 64,
        refine: bool = False,
    ):
        super().__init__()
        n = _upsamplings(image_size)
        widths = [width * 2 ** (n - i - (not refine)) for i in range(n + refine)]  # halving
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),  # (B, w0, 4, 4)
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += _refinement(c_in, nn.ReLU()) if refine else []
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),  # doubles H and W
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
        if refine:  # the hidden maps reached the image's size
            layers.append(nn.Conv2d(widths[-1], out_channels, 3, 1, 1))
        else:
            layers.append(nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1))
        self.net = nn.Sequential(*layers, nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # (B, latent_dim, 1, 1) -> (B, C, S, S)


class DCGANDiscriminator(nn.Module):
    """Images (B, in_channels, S, S) -> one logit (B, 1), halving S with stride-2 convolutions.

    `norm="none"` drops batch norm, as a WGAN-GP critic must (Gulrajani et al., 2017, §4).
    `refine`: the generator's mirror: a 3x3 convolution reads the image at full size and one
    follows every strided convolution.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 8,
        width: int = 64,
        norm: str = "batch",
        refine: bool = False,
    ):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ConfigError(f"DCGAN discriminator norm must be batch or none, got {norm!r}")
        n = _upsamplings(image_size)
        batch_norm = norm == "batch"
        kernel, stride = (3, 1) if refine else (4, 2)  # refine: the first keeps the size
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, kernel, stride, 1)]
        layers.append(nn.LeakyReLU(0.2))
        c = width
        for _ in range(n - 1 + refine):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not batch_norm)]  # halves H and W
            layers += [nn.BatchNorm2d(2 * c)] if batch_norm else []
            layers += [nn.LeakyReLU(0.2)]
            c *= 2
            layers += _refinement(c, nn.LeakyReLU(0.2), batch_norm) if refine else []
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))  # (B, c, 4, 4) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (B, 1)


@register_model(input_shape=(32,))
def dcgan_generator_digits(
    latent_dim: int = 32, width: int = 128, refine: bool = False
) -> DCGANGenerator:
    """z -> 8x8 grey digits: 4x4 projection, one stride-2 transposed convolution (`refine`:
    and a 3x3 convolution at 4x4 and at 8x8)."""
    return DCGANGenerator(latent_dim, 1, 8, width, refine)


@register_model(input_shape=(1, 8, 8))
def dcgan_discriminator_digits(
    width: int = 64, norm: str = "batch", pack: int = 1, refine: bool = False
) -> DCGANDiscriminator:
    """8x8 digits -> logit: one stride-2 convolution to 4x4, then a 4x4 convolution (`refine`:
    a 3x3 convolution before it and one after). `pack` > 1 is PacGAN's packed discriminator:
    m digits stacked as channels (B, m, 8, 8)."""
    return DCGANDiscriminator(pack, 8, width, norm, refine)


@register_model(input_shape=(100,))
def dcgan_generator_32(latent_dim: int = 100, channels: int = 3) -> DCGANGenerator:
    """z -> 32x32 images (CIFAR-10), widths 256-128-64 as a scaled-down Radford et al."""
    return DCGANGenerator(latent_dim, channels, 32, 64)


@register_model(input_shape=(3, 32, 32))
def dcgan_discriminator_32(channels: int = 3, norm: str = "batch") -> DCGANDiscriminator:
    """32x32 images -> logit, widths 64-128-256."""
    return DCGANDiscriminator(channels, 32, 64, norm)
