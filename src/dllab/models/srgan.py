"""SRGAN's generator (Ledig et al., 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", §2.2 and Fig. 4): a residual network on the low-resolution
image (conv-BN-PReLU-conv-BN blocks with identity skips, a long skip around them), then
sub-pixel convolution (PixelShuffle, Shi et al., 2016) to double the resolution. Its
discriminator is a strided-convolution LeakyReLU network, as `dllab.models.dcgan`'s; both sit in
a `dllab.models.gan.GAN`, trained by `SuperResolutionTask`, the GAN task whose generator's input
is a low-resolution image and whose loss adds a content term.
"""

import torch
from torch import nn

from dllab.engine.tasks import Batch
from dllab.models.gan import GAN, GANTask
from dllab.models.registry import register_model


class ResidualBlock(nn.Module):
    """x + BN(conv(PReLU(BN(conv(x))))), 3x3 convolutions that keep (B, C, H, W)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRGenerator(nn.Module):
    """Low-res images (B, C, H, W) -> (B, C, 2H, 2W) in [0, 1]."""

    def __init__(self, in_channels: int = 1, channels: int = 32, num_blocks: int = 4):
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.PReLU(channels)
        )
        self.blocks = nn.Sequential(
            *[ResidualBlock(channels) for _ in range(num_blocks)],
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.upsample = nn.Sequential(
            nn.Conv2d(channels, 4 * channels, 3, padding=1),  # (B, 4C, H, W)
            nn.PixelShuffle(2),  # (B, C, 2H, 2W)
            nn.PReLU(channels),
            nn.Conv2d(channels, in_channels, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # (B, C, H, W)
        return self.upsample(h + self.blocks(h))  # long skip, then x2


@register_model(input_shape=(1, 4, 4))
def srgan_generator_digits(channels: int = 32, num_blocks: int = 4) -> SRGenerator:
    """4x4 digits -> 8x8 digits: 4 residual blocks of 32 channels (Ledig et al. use 16 of 64)."""
    return SRGenerator(1, channels, num_blocks)


class SuperResolutionTask(GANTask):
    """SRGAN (Ledig et al., 2017, eqs. 3-6): batches are (high-res X, low-res x); the generator
    maps x to X̂ and minimises content(X̂, X) + w * (-log σ(D(X̂))), the discriminator judges
    high-resolution images. With `adversarial_weight=0` it is SRResNet, trained on content only.

    Args:
        content_loss: (X̂, X) -> scalar; Ledig et al. compare VGG features.
        adversarial_weight: w (Ledig et al.: 1e-3).
    """

    def __init__(self, content_loss, adversarial_weight: float = 1e-3, **gan_kwargs):
        super().__init__("non_saturating", **gan_kwargs)
        self.content_loss, self.adversarial_weight = content_loss, adversarial_weight

    def _split(self, model: GAN, batch: Batch):
        """High-res targets (B, C, H, W), no label, and the generator's low-res inputs."""
        return batch[0], None, batch[1]

    def generator_step_loss(self, model: GAN, fake, real, y) -> tuple[torch.Tensor, dict]:
        adversarial, _ = super().generator_step_loss(model, fake, real, y)
        content = self.content_loss(fake, real)
        loss = content + self.adversarial_weight * adversarial
        return loss, {"content_loss": content, "adversarial_loss": adversarial}
