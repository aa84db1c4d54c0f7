"""Simple CNNs built from ConvBlocks (LeCun et al., 1998, "Gradient-based learning applied to
document recognition"): the digits CNN, the MNIST-1D CNN of Greydanus (2020, "Scaling down deep
learning"), a modern 1D CNN for MNIST-1D, the Keras CIFAR-10 tutorial CNN, and a generic builder.
"""

from collections.abc import Sequence
from functools import partial

from torch import Tensor, nn

from dllab.errors import ConfigError
from dllab.models.registry import register_model
from dllab.nn import ConvBlock, pool, with_channel_axis


class CNN(nn.Module):
    """ConvBlocks, then a head: flatten -> Linear, or global average pooling -> Linear.

    Takes (B, C, *S), or (B, *S) for one channel; returns logits (B, num_classes).

    Args:
        blocks: the feature extractor, applied in order.
        head: "flatten" (needs `input_size`, the length of each spatial axis) or "global_avg".
    """

    def __init__(
        self,
        blocks: Sequence[ConvBlock],
        num_classes: int,
        head: str = "global_avg",
        input_size: int | None = None,
        dims: int = 2,
    ):
        super().__init__()
        self.dims = dims
        self.features = nn.Sequential(*blocks)
        num_features = blocks[-1].out_channels
        if head == "flatten":
            if input_size is None:
                raise ConfigError("a flatten head needs the input_size of the images")
            for block in blocks:
                input_size = block.output_size(input_size)
            num_features *= input_size**dims
            self.pool = nn.Flatten()
        elif head == "global_avg":
            self.pool = pool("global_avg", dims)
        else:
            raise ConfigError(f"unknown CNN head {head!r} (known: flatten, global_avg)")
        self.fc = nn.Linear(num_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(with_channel_axis(x, self.dims))  # (B, C', *S')
        return self.fc(self.pool(x))  # (B, num_classes)


def conv_blocks(
    in_channels: int,
    channels: Sequence[int],
    pool: str | None = "max",
    pool_every: int = 1,
    **block_kwargs,
) -> list[ConvBlock]:
    """ConvBlocks of widths `channels`, pooling after every `pool_every`-th block only."""
    widths = (in_channels, *channels)
    return [
        ConvBlock(c_in, c_out, pool=pool if (i + 1) % pool_every == 0 else None, **block_kwargs)
        for i, (c_in, c_out) in enumerate(zip(widths, channels))
    ]


@register_model(input_shape=(3, 32, 32))
def cnn(
    num_classes: int = 10,
    in_channels: int = 3,
    channels: tuple[int, ...] = (32, 64, 128),
    dims: int = 2,
    kernel_size: int = 3,
    norm: str | None = "batch",
    activation: str = "relu",
    pool: str | None = "max",
    pool_every: int = 1,
    dropout: float = 0.0,
) -> CNN:
    """A CNN of ConvBlocks with widths `channels` and a global-average-pooling head."""
    blocks = conv_blocks(
        in_channels, channels, pool, pool_every, kernel_size=kernel_size, dims=dims, norm=norm,
        activation=activation, dropout=dropout,
    )  # fmt: skip
    return CNN(blocks, num_classes, dims=dims)


@register_model(input_shape=(1, 8, 8))
def digits_cnn(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.0) -> CNN:
    """Two 3x3 ConvBlocks (16, 32 channels) with 2x2 max pooling, 8x8 -> 2x2, then Linear."""
    blocks = conv_blocks(in_channels, (16, 32), dropout=dropout)
    return CNN(blocks, num_classes, head="flatten", input_size=8)


@register_model(input_shape=(1, 40))
def mnist1d_cnn(num_classes: int = 10, in_channels: int = 1, channels: int = 25) -> CNN:
    """The MNIST-1D paper's CNN: three ReLU convolutions of 25 channels, stride 2 (kernels 5, 3, 3,
    padding 1), length 40 -> 19 -> 10 -> 5, flattened into Linear(125, 10): 5,210 parameters
    (Greydanus, 2020, and `ConvBase` in the mnist1d repository)."""
    shared = dict(dims=1, norm=None, pool=None, stride=2, padding=1)
    blocks = [
        ConvBlock(in_channels, channels, 5, **shared),
        ConvBlock(channels, channels, 3, **shared),
        ConvBlock(channels, channels, 3, **shared),
    ]
    return CNN(blocks, num_classes, head="flatten", input_size=40, dims=1)


@register_model(input_shape=(1, 40))
def mnist1d_cnn_modern(
    num_classes: int = 10, in_channels: int = 1, width: int = 32, dropout: float = 0.0
) -> CNN:
    """Six kernel-5 ConvBlocks with batch norm (widths w, w, 2w, 2w, 4w, 4w), max pooling after
    every second, length 40 -> 20 -> 10 -> 5, then global average pooling and Linear."""
    channels = (width, width, 2 * width, 2 * width, 4 * width, 4 * width)
    blocks = conv_blocks(
        in_channels, channels, pool_every=2, kernel_size=5, dims=1, dropout=dropout
    )
    return CNN(blocks, num_classes, dims=1)


@register_model(input_shape=(3, 32, 32))
def keras_cifar_cnn(num_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """The Keras CIFAR-10 CNN of the course notes, layer for layer (3x32x32 input).

    Keras applies a Conv2D's activation inside the layer, so each stage is conv -> ReLU ->
    BatchNorm -> pool (not ConvBlock's conv -> norm -> ReLU). 'valid' padding: 32 -> 30 -> 15
    -> 13 -> 6 -> 4, flattened to 64*4*4 = 1024.

    Parameters: 122,762 trainable (896 + 64 + 18,496 + 128 + 36,928 + 65,600 + 650); Keras's
    summary shows 122,954 in total because it also counts the 192 batch-norm moving means and
    variances, which are buffers in PyTorch. Keras's batch-norm defaults carry over: epsilon
    1e-3 and moving-average momentum 0.99, which is torch's momentum=0.01.

    The ReLUs work in place, as torchvision's do: a convolution's or linear layer's backward
    needs its input, not its output, so the ReLU may overwrite that output, which saves one
    pass over memory (bench/bench_engine.py). When the Trainer trains this model on a CPU, what
    follows each of the first two convolutions (its bias, ReLU, BatchNorm and MaxPool) runs as
    one fused kernel (`Trainer(fuse="auto")`, dllab.engine.fusion), which also gives the first
    convolution's weight gradient; the layers and the state_dict stay these.
    """
    bn = dict(eps=1e-3, momentum=0.01)
    relu = partial(nn.ReLU, inplace=True)
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3), relu(), nn.BatchNorm2d(32, **bn), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), relu(), nn.BatchNorm2d(64, **bn), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), relu(),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), relu(),
        nn.Linear(64, num_classes),
    )  # fmt: skip
