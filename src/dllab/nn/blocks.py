"""The convolution factory and ConvBlock, the conv -> norm -> activation -> pool -> dropout unit
of the simple CNNs (the layer pattern of LeCun et al., 1998, with batch norm, Ioffe & Szegedy,
2015, between convolution and non-linearity)."""

from collections import OrderedDict

from torch import nn

from dllab.errors import ConfigError
from dllab.nn.activations import activation as make_activation
from dllab.nn.dims import by_dims
from dllab.nn.norm import dropout as make_dropout
from dllab.nn.norm import norm as make_norm
from dllab.nn.pooling import pool as make_pool


def conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | None = None,
    bias: bool = True,
    dims: int = 2,
) -> nn.Module:
    """A Conv1d or Conv2d; padding defaults to kernel_size // 2 ("same" size at stride 1)."""
    conv_class = by_dims("convolution", dims, {1: nn.Conv1d, 2: nn.Conv2d})
    padding = kernel_size // 2 if padding is None else padding
    return conv_class(in_channels, out_channels, kernel_size, stride, padding, bias=bias)


class ConvBlock(nn.Sequential):
    """conv -> norm -> activation -> pool -> dropout over (B, C, L) or (B, C, H, W) inputs.

    Children are named `conv`, `norm`, `act`, `pool`, `drop`; the ones configured as "none"
    are left out. The convolution has a bias only without a norm, whose shift replaces it.

    Args:
        kernel_size, stride, padding: of the convolution (padding: kernel_size // 2 if None).
        norm: batch, layer, instance, group or None (see `dllab.nn.norm`).
        activation: any name of `dllab.nn.activation`, or None.
        pool: max, avg, min or None, over windows of `pool_size` with the same stride.
        dropout: drop probability after pooling (0 for none); `spatial_dropout` drops channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        dims: int = 2,
        norm: str | None = "batch",
        activation: str | None = "relu",
        pool: str | None = "max",
        dropout: float = 0.0,
        stride: int = 1,
        padding: int | None = None,
        pool_size: int = 2,
        spatial_dropout: bool = False,
    ):
        if pool is not None and pool.startswith("global"):
            raise ConfigError(f"ConvBlock pools over windows; {pool!r} belongs in a model head")
        bias = norm in (None, "none")
        layers = {
            "conv": conv(in_channels, out_channels, kernel_size, stride, padding, bias, dims),
            "norm": make_norm(norm, out_channels, dims),
            "act": make_activation(activation),
            "pool": make_pool(pool, dims, pool_size),
            "drop": make_dropout(dropout, spatial_dropout, dims),
        }
        super().__init__(
            OrderedDict((k, m) for k, m in layers.items() if not isinstance(m, nn.Identity))
        )
        self.out_channels = out_channels
        self.pool_size = pool_size if "pool" in self._modules else 1

    def output_size(self, size: int) -> int:
        """Length of each spatial axis after this block, for an input length `size`."""
        # floor((n + 2p - k) / s) + 1  (Dumoulin & Visin, 2016, relation 6)
        k, s, p = self.conv.kernel_size[0], self.conv.stride[0], self.conv.padding[0]
        return ((size + 2 * p - k) // s + 1) // self.pool_size
