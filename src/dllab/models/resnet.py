"""ResNet (He et al., 2015, "Deep Residual Learning for Image Recognition"): residual blocks
y = F(x) + x (§3.2), their plain counterparts without the shortcut (§4.1), the ImageNet
ResNet-18...152 of Table 1 and the CIFAR-10 ResNets of §4.2, in 2D and 1D.

Parameter names follow torchvision (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0/1`,
`fc`), and so does the bottleneck's stride on its 3x3 convolution ("ResNet v1.5"; the paper
strides the first 1x1 one; the parameter count is the same).
"""

import torch.nn.functional as F
from torch import Tensor, nn

from dllab.errors import ConfigError, unknown_name_message
from dllab.models.registry import register_model
from dllab.nn import conv, norm, pool, with_channel_axis

# §3.3: "A" pads the identity with zero channels, "B" projects by 1x1 conv where the shape
# changes, "none" drops the shortcut (a plain network).
SHORTCUTS = ("A", "B", "none")


class PadShortcut(nn.Module):
    """Option A: the identity subsampled by `stride`, zero channels appended; no parameters."""

    def __init__(self, extra_channels: int, stride: int, dims: int):
        super().__init__()
        self.extra_channels, self.stride, self.dims = extra_channels, stride, dims

    def forward(self, x: Tensor) -> Tensor:
        x = x[(..., *[slice(None, None, self.stride)] * self.dims)]  # (B, C, *S / stride)
        return F.pad(x, (0, 0) * self.dims + (0, self.extra_channels))  # (B, C + extra, ...)


def make_shortcut(
    kind: str, in_channels: int, out_channels: int, stride: int, dims: int
) -> nn.Module | None:
    """The `downsample` module of a block, or None when the shortcut is the identity."""
    if kind not in SHORTCUTS:
        raise ConfigError(unknown_name_message("shortcut", kind, list(SHORTCUTS)))
    if kind == "none" or (stride == 1 and in_channels == out_channels):
        return None
    if kind == "A":
        return PadShortcut(out_channels - in_channels, stride, dims)
    return nn.Sequential(  # W_s x of Eq. (2)
        conv(in_channels, out_channels, 1, stride, padding=0, bias=False, dims=dims),
        norm("batch", out_channels, dims),
    )


class ResidualBlock(nn.Module):
    """What both blocks share: y = relu(F(x) + shortcut(x)) (Eq. 1), or relu(F(x)) if plain."""

    expansion = 1

    def add_shortcut(
        self, in_channels: int, channels: int, stride: int, shortcut: str, dims: int
    ) -> None:
        """Register `relu` and `downsample` after the main path, in torchvision's key order."""
        self.residual = shortcut != "none"
        self.relu = nn.ReLU(inplace=True)
        out_channels = channels * self.expansion
        self.downsample = make_shortcut(shortcut, in_channels, out_channels, stride, dims)

    def merge(self, out: Tensor, x: Tensor) -> Tensor:
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions (Fig. 5 left), the first with the stride."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        dims: int = 2,
    ):
        super().__init__()
        self.conv1 = conv(in_channels, channels, 3, stride, bias=False, dims=dims)
        self.bn1 = norm("batch", channels, dims)
        self.conv2 = conv(channels, channels, 3, bias=False, dims=dims)
        self.bn2 = norm("batch", channels, dims)
        self.add_shortcut(in_channels, channels, stride, shortcut, dims)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))  # (B, channels, *S / stride)
        return self.merge(self.bn2(self.conv2(out)), x)


class Bottleneck(ResidualBlock):
    """1x1 reduce, 3x3 (with the stride), 1x1 expand to 4x the channels (Fig. 5 right)."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        dims: int = 2,
    ):
        super().__init__()
        self.conv1 = conv(in_channels, channels, 1, padding=0, bias=False, dims=dims)
        self.bn1 = norm("batch", channels, dims)
        self.conv2 = conv(channels, channels, 3, stride, bias=False, dims=dims)
        self.bn2 = norm("batch", channels, dims)
        self.conv3 = conv(channels, channels * 4, 1, padding=0, bias=False, dims=dims)
        self.bn3 = norm("batch", channels * 4, dims)
        self.add_shortcut(in_channels, channels, stride, shortcut, dims)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))  # (B, channels, *S / stride)
        return self.merge(self.bn3(self.conv3(out)), x)  # (B, 4 * channels, *S / stride)


class ResNet(nn.Module):
    """Stem, stages `layer1..layerN` of `layers[i]` blocks of `widths[i]` channels (stride 2
    from the second stage on), global average pooling, fc.

    Takes (B, C, *S), or (B, *S) for one channel; returns logits (B, num_classes).

    Args:
        stem: "imagenet" (7x7/2 conv and 3x3/2 max pooling, Table 1) or "cifar" (one 3x3 conv,
            §4.2).
        shortcut: "A", "B" or "none" (plain network), see SHORTCUTS.
        dims: 2 for images, 1 for sequences.
    """

    def __init__(
        self,
        block: type[ResidualBlock],
        layers: tuple[int, ...],
        num_classes: int = 1000,
        in_channels: int = 3,
        widths: tuple[int, ...] = (64, 128, 256, 512),
        stem: str = "imagenet",
        shortcut: str = "B",
        dims: int = 2,
    ):
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ConfigError(unknown_name_message("ResNet stem", stem, ["cifar", "imagenet"]))
        self.dims = dims
        imagenet = stem == "imagenet"
        kernel, stride = (7, 2) if imagenet else (3, 1)
        self.conv1 = conv(in_channels, widths[0], kernel, stride, bias=False, dims=dims)
        self.bn1 = norm("batch", widths[0], dims)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = pool("max", dims, 3, 2, 1) if imagenet else nn.Identity()
        channels = widths[0]
        self.num_stages = len(layers)
        for i, (width, num_blocks) in enumerate(zip(widths, layers)):
            blocks = []
            for j in range(num_blocks):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block(channels, width, stride, shortcut, dims))
                channels = width * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = pool("global_avg", dims)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():  # He et al. (2015b) initialisation, as in torchvision
            if isinstance(m, nn.Conv1d | nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = with_channel_axis(x, self.dims)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, widths[0], *S')
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{i}")(x)  # (B, C_i, *S' / 2^(i-1))
        return self.fc(self.avgpool(x))  # (B, num_classes)


@register_model(input_shape=(3, 32, 32))
def resnet18(num_classes: int = 1000, in_channels: int = 3, shortcut: str = "B") -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, shortcut=shortcut)


@register_model(input_shape=(3, 32, 32))
def resnet34(num_classes: int = 1000, in_channels: int = 3, shortcut: str = "B") -> ResNet:
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, shortcut=shortcut)


@register_model(input_shape=(3, 32, 32))
def resnet50(num_classes: int = 1000, in_channels: int = 3, shortcut: str = "B") -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, shortcut=shortcut)


@register_model(input_shape=(3, 32, 32))
def resnet101(num_classes: int = 1000, in_channels: int = 3, shortcut: str = "B") -> ResNet:
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, shortcut=shortcut)


@register_model(input_shape=(3, 32, 32))
def resnet152(num_classes: int = 1000, in_channels: int = 3, shortcut: str = "B") -> ResNet:
    return ResNet(Bottleneck, (3, 8, 36, 3), num_classes, in_channels, shortcut=shortcut)


@register_model(input_shape=(3, 32, 32))
def plain18(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, shortcut="none")


@register_model(input_shape=(3, 32, 32))
def plain34(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, shortcut="none")


def cifar_resnet(
    depth: int,
    residual: bool = True,
    num_classes: int = 10,
    in_channels: int = 3,
    width: int = 16,
    shortcut: str = "A",
    dims: int = 2,
) -> ResNet:
    """§4.2's CIFAR-10 network of 6n + 2 layers: a 3x3 conv, three stages of n basic blocks with
    width, 2 width, 4 width channels (16/32/64) on 32, 16, 8 maps, global pooling, fc.

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110, ...).
        residual: False builds the plain network of the same depth (no shortcuts).
        shortcut: "A" as in §4.2 (so a residual net has exactly the plain net's parameters).
    """
    if depth < 8 or (depth - 2) % 6:
        raise ConfigError(f"a CIFAR ResNet has 6n + 2 layers (8, 14, 20, ...), not {depth!r}")
    n = (depth - 2) // 6
    return ResNet(
        BasicBlock, (n, n, n), num_classes, in_channels, (width, 2 * width, 4 * width),
        stem="cifar", shortcut=shortcut if residual else "none", dims=dims,
    )  # fmt: skip


@register_model(input_shape=(3, 32, 32))
def resnet8(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(8, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def resnet20(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(20, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def resnet32(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(32, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def resnet44(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(44, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def resnet56(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(56, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def resnet110(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(110, True, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def plain8(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(8, False, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def plain20(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(20, False, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def plain32(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(32, False, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def plain44(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(44, False, num_classes, in_channels, width)


@register_model(input_shape=(3, 32, 32))
def plain56(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> ResNet:
    return cifar_resnet(56, False, num_classes, in_channels, width)


@register_model(input_shape=(1, 40))
def resnet1d_20(num_classes: int = 10, in_channels: int = 1, width: int = 16) -> ResNet:
    """ResNet-20 with 1D convolutions for MNIST-1D: length 40 -> 40, 20, 10 over the stages."""
    return cifar_resnet(20, True, num_classes, in_channels, width, dims=1)


@register_model(input_shape=(1, 40))
def plain1d_20(num_classes: int = 10, in_channels: int = 1, width: int = 16) -> ResNet:
    """The plain counterpart of `resnet1d_20`."""
    return cifar_resnet(20, False, num_classes, in_channels, width, dims=1)
