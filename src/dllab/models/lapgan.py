"""LAPGAN (Denton et al., 2015, "Deep Generative Image Models using a Laplacian Pyramid of
Adversarial Networks", §3): a GAN draws the coarsest image, then at each finer level a
conditional GAN draws the band-pass residual h_k = I_k - u(I_{k+1}) given the upsampled coarse
image u(I_{k+1}); the image is rebuilt as I_k = u(I_{k+1}) + h_k.

For the 8x8 digits the pyramid has two levels: 4x4 images, then the 8x8 residual.
"""

import torch
import torch.nn.functional as F
from torch import nn

from dllab.models.gan import MLPDiscriminator, MLPGenerator
from dllab.models.registry import register_model


def downsample(x: torch.Tensor) -> torch.Tensor:
    """d(.): 2x2 average pooling, (B, C, H, W) -> (B, C, H/2, W/2)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """u(.): bilinear upsampling by 2, (B, C, H, W) -> (B, C, 2H, 2W)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[h_0, ..., h_{L-2}, I_{L-1}]: residuals h_k = I_k - u(d(I_k)) from fine to coarse, then
    the coarsest image (Denton et al., eq. 3); `reconstruct` inverts it exactly."""
    bands = []
    for _ in range(levels - 1):
        coarse = downsample(x)
        bands.append(x - upsample(coarse))
        x = coarse
    return [*bands, x]


def reconstruct(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """I_k = u(I_{k+1}) + h_k from the coarsest level up (Denton et al., eq. 4)."""
    x = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        x = upsample(x) + band
    return x


@register_model(input_shape=(16,))
def lapgan_coarse_generator(latent_dim: int = 16, num_hiddens: int = 256) -> nn.Module:
    """Level 1: z -> 4x4 coarse digits in [0, 1]."""
    return MLPGenerator(latent_dim, (1, 4, 4), num_hiddens, 2, "sigmoid")


@register_model(input_shape=(16,))
def lapgan_coarse_discriminator(num_hiddens: int = 256) -> nn.Module:
    """Level 1: 4x4 coarse digits -> logit."""
    return MLPDiscriminator(16, num_hiddens, 2)


@register_model(input_shape=(16 + 64,))
def lapgan_residual_generator(latent_dim: int = 16, num_hiddens: int = 256) -> nn.Module:
    """Level 0: (z, u(I_1) flattened) -> the 8x8 residual h_0 in [-1, 1]."""
    return MLPGenerator(latent_dim + 64, (1, 8, 8), num_hiddens, 2, "tanh")


@register_model(input_shape=(64 + 64,))
def lapgan_residual_discriminator(num_hiddens: int = 256) -> nn.Module:
    """Level 0: (h_0, u(I_1)) flattened -> logit: is this residual real for this coarse image?"""
    return MLPDiscriminator(128, num_hiddens, 2)
