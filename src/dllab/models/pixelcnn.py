"""PixelCNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks", §3.4): an
autoregressive model p(x) = Π_i p(x_i | x_<i) over pixels in raster order, computed for all
pixels at once by convolutions whose kernels are masked so that no output sees its own pixel
(mask A, the first layer) or any later one (mask B, the layers after it).

For binary images the output is one Bernoulli logit per pixel; the negative log-likelihood
is the summed binary cross-entropy, exact (no bound), in nats.
"""

import torch
import torch.nn.functional as F
from torch import nn

from dllab.errors import ConfigError
from dllab.models.registry import register_model


class MaskedConv2d(nn.Conv2d):
    """A same-padded convolution that sees only pixels above, and left on the same row; mask
    "B" also sees the centre (its own position's features from earlier layers)."""

    def __init__(self, mask_type: str, in_channels: int, out_channels: int, kernel_size: int):
        if mask_type not in ("A", "B"):
            raise ConfigError(f"PixelCNN mask must be A or B, got {mask_type!r}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        centre = kernel_size // 2
        mask = torch.ones_like(self.weight)  # (C_out, C_in, k, k)
        mask[:, :, centre, centre + (mask_type == "B") :] = 0  # right of (or at) the centre
        mask[:, :, centre + 1 :] = 0  # rows below
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
    """Binary images (B, 1, H, W) -> Bernoulli logits (B, 1, H, W) of each pixel given those
    before it in raster order."""

    def __init__(self, channels: int = 32, num_layers: int = 4):
        super().__init__()
        layers: list[nn.Module] = [MaskedConv2d("A", 1, channels, 5), nn.ReLU()]
        for _ in range(num_layers - 1):
            layers += [MaskedConv2d("B", channels, channels, 3), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 1, 1))  # 1x1: keeps the causal structure
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @torch.no_grad()
    def sample(self, n: int, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, 1, size, size) drawn pixel by pixel: x_i ~ Bernoulli(σ(logit_i(x_<i)))."""
        x = torch.zeros(n, 1, size, size)
        for i in range(size):
            for j in range(size):
                p = torch.sigmoid(self(x)[:, 0, i, j])  # (n,)
                x[:, 0, i, j] = torch.bernoulli(p, generator=generator)
        return x


@register_model(input_shape=(1, 8, 8))
def pixelcnn_digits(channels: int = 32, num_layers: int = 4) -> PixelCNN:
    """A 5x5 mask-A layer, then 3x3 mask-B layers of 32 channels, for binarised 8x8 digits."""
    return PixelCNN(channels, num_layers)
