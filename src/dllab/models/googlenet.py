"""GoogLeNet / Inception-v1 (Szegedy et al., 2015, "Going Deeper with Convolutions", §4-5,
Fig. 2-3, Table 1): inception modules that run 1x1, 3x3 and 5x5 convolutions and 3x3 max pooling
side by side and concatenate their outputs, with optional auxiliary classifiers.

Parameter names follow torchvision (`conv1.conv`, `conv1.bn`, `inception3a.branch2.1.conv`,
`aux1.conv.conv`, `aux1.fc1`, `fc`), and so does the unit conv -> batch norm -> ReLU (the paper
predates batch norm). Two choices differ from torchvision and are arguments:
- `branch3_kernel=5`: the paper's 5x5 convolution in the third branch. torchvision uses 3x3
  there (a known quirk of its port); with `branch3_kernel=3, aux_logits=False` the model has
  torchvision's 6,624,904 parameters, with the paper's 5x5 it has 7,005,832.
- `dropout=0.4`: the paper's 40% before the classifier (torchvision uses 20%).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dllab.models.registry import register_model

# Table 1 rows: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


class BasicConv2d(nn.Module):
    """Conv2d without bias -> BatchNorm2d(eps=1e-3) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, **conv_kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class _Branches(nn.Module):
    """Four parallel branches whose outputs concatenate along channels."""

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)  # (B, out_channels, H, W)


class NaiveInception(_Branches):
    """Fig. 2(a): 1x1, 3x3 and 5x5 convolutions and 3x3 max pooling of the same input.

    The pooling branch passes all `in_channels` through, so out_channels = in_channels +
    ch1x1 + ch3x3 + ch5x5 and widths grow module after module: the blow-up §4 fixes.
    """

    def __init__(
        self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, branch3_kernel: int = 5
    ):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = BasicConv2d(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch3 = BasicConv2d(
            in_channels, ch5x5, kernel_size=branch3_kernel, padding=branch3_kernel // 2
        )
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True)
        self.out_channels = in_channels + ch1x1 + ch3x3 + ch5x5


class Inception(_Branches):
    """Fig. 2(b): 1x1 "reduce" convolutions before the 3x3 and 5x5 ones and after the pooling
    cut the cost; out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj."""

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        branch3_kernel: int = 5,
    ):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel, padding=branch3_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj


class InceptionAux(nn.Module):
    """§5's auxiliary classifier: average pooling to 4x4, 1x1 conv (128), FC 1024 + ReLU,
    70% dropout, linear; (B, C, H, W) -> (B, num_classes). Pooling is adaptive (the paper's
    5x5/3 on 14x14 maps gives the same 4x4) so that small inputs work."""

    def __init__(self, in_channels: int, num_classes: int, width: float = 1.0):
        super().__init__()
        channels, num_hiddens = _scale(128, width), _scale(1024, width)
        self.conv = BasicConv2d(in_channels, channels, kernel_size=1)
        self.fc1 = nn.Linear(channels * 4 * 4, num_hiddens)
        self.fc2 = nn.Linear(num_hiddens, num_classes)
        self.dropout = nn.Dropout(0.7)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)  # (B, 16 * channels)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


def _scale(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class GoogLeNet(nn.Module):
    """Table 1's network: stem, inception 3a-5b with max pooling between stages, global average
    pooling, dropout, linear. Takes (B, C, H, W); returns logits (B, num_classes), or in
    training mode with `aux_logits` the tuple (logits, aux1, aux2), aux heads after 4a and 4d
    (§5: their losses are added with weight 0.3).

    Args:
        naive: build Fig. 2(a) modules (no 1x1 reductions) instead of Fig. 2(b).
        width: multiplies every channel count (1.0 is the paper's).
        small_input: a 3x3 stride-1 stem without its two poolings, for 32x32 or 8x8 images.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        naive: bool = False,
        width: float = 1.0,
        small_input: bool = False,
        branch3_kernel: int = 5,
        dropout: float = 0.4,
    ):
        super().__init__()
        c64, c192 = _scale(64, width), _scale(192, width)
        if small_input:
            self.conv1 = BasicConv2d(in_channels, c64, kernel_size=3, padding=1)
            self.maxpool1, self.maxpool2 = nn.Identity(), nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, c64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(c64, c64, kernel_size=1)
        self.conv3 = BasicConv2d(c64, c192, kernel_size=3, padding=1)
        channels, aux_channels = c192, {}
        for name, row in INCEPTIONS.items():
            ch = [_scale(c, width) for c in row]
            if naive:
                module = NaiveInception(channels, ch[0], ch[2], ch[4], branch3_kernel)
            else:
                module = Inception(channels, *ch, branch3_kernel=branch3_kernel)
            setattr(self, f"inception{name}", module)
            channels = aux_channels[name] = module.out_channels
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.aux_logits = aux_logits
        if aux_logits:
            self.aux1 = InceptionAux(aux_channels["4a"], num_classes, width)
            self.aux2 = InceptionAux(aux_channels["4d"], num_classes, width)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor, Tensor]:
        x = self.maxpool1(self.conv1(x))  # (B, 64, H/4, W/4) with the ImageNet stem
        x = self.maxpool2(self.conv3(self.conv2(x)))  # (B, 192, H/8, W/8)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (B, 480, H/16, W/16)
        x = self.inception4a(x)  # (B, 512, H/16, W/16)
        aux = self.training and self.aux_logits
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (B, 528, H/16, W/16)
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))  # (B, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (B, 1024, H/32, W/32)
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))  # (B, num_classes)
        return (x, aux1, aux2) if aux else x


@register_model(input_shape=(3, 32, 32))
def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool = True,
    branch3_kernel: int = 5,
) -> GoogLeNet:
    """GoogLeNet for 224x224 images (any size >= 32 works through the adaptive pooling)."""
    return GoogLeNet(num_classes, in_channels, aux_logits, branch3_kernel=branch3_kernel)


@register_model(input_shape=(3, 32, 32))
def googlenet_small(
    num_classes: int = 10, in_channels: int = 3, width: float = 0.25, aux_logits: bool = False
) -> GoogLeNet:
    """GoogLeNet at a quarter of the widths with the small-input stem, for 32x32 or 8x8."""
    return GoogLeNet(num_classes, in_channels, aux_logits, width=width, small_input=True)


@register_model(input_shape=(3, 32, 32))
def googlenet_naive_small(
    num_classes: int = 10, in_channels: int = 3, width: float = 0.25, aux_logits: bool = False
) -> GoogLeNet:
    """`googlenet_small` built from naive modules, to compare cost with the 1x1 reductions."""
    return GoogLeNet(
        num_classes, in_channels, aux_logits, naive=True, width=width, small_input=True
    )
