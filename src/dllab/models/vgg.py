"""VGG (Simonyan & Zisserman, 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", Table 1): stacks of 3x3 convolutions and 2x2 max pooling, then three dense layers.

Parameter names and layouts follow torchvision (`features.N`, `avgpool` = AdaptiveAvgPool2d(7),
`classifier.0/3/6`), so VGG-16 has 138,357,544 parameters like torchvision's `vgg16`.
"""

from torch import Tensor, nn

from dllab.models.registry import register_model

# Table 1's columns: output channels of each 3x3 convolution, "M" for 2x2 max pooling.
CONFIGS: dict[str, list[int | str]] = {
    # VGG-11
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    # VGG-13
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    # VGG-16
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    # VGG-19
    "E": [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *[512] * 4, "M", *[512] * 4, "M"],
}


def make_features(
    config: list[int | str],
    in_channels: int = 3,
    batch_norm: bool = False,
    width: int = 64,
    input_size: int = 224,
) -> nn.Sequential:
    """Conv(3x3, padding 1) [-> BatchNorm] -> ReLU per number, MaxPool(2) per "M".

    Args:
        width: channels of the first stage; every width scales by width / 64.
        input_size: image side; a pooling that would shrink the map below 1x1 is left out,
            so 8x8 inputs keep 3 of the 5 poolings and 28x28 inputs keep 4.
    """
    layers: list[nn.Module] = []
    size = input_size
    for v in config:
        if v == "M":
            if size >= 2:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                size //= 2
            continue
        out_channels = max(1, v * width // 64)
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features -> adaptive average pooling to `pool_size`² -> 3 dense layers with dropout.

    Takes (B, C, H, W); returns logits (B, num_classes).
    """

    def __init__(
        self,
        features: nn.Sequential,
        num_classes: int = 1000,
        pool_size: int = 7,
        num_hiddens: int = 4096,
        dropout: float = 0.5,
    ):
        super().__init__()
        out_channels = [m for m in features if isinstance(m, nn.Conv2d)][-1].out_channels
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Linear(out_channels * pool_size * pool_size, num_hiddens),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(num_hiddens, num_hiddens),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(num_hiddens, num_classes),
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))  # (B, C, pool_size, pool_size)
        return self.classifier(x.flatten(1))  # (B, num_classes)


def _vgg(config: str, num_classes: int, in_channels: int, batch_norm: bool) -> VGG:
    return VGG(make_features(CONFIGS[config], in_channels, batch_norm), num_classes)


@register_model(input_shape=(3, 32, 32))
def vgg11(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> VGG:
    return _vgg("A", num_classes, in_channels, batch_norm)


@register_model(input_shape=(3, 32, 32))
def vgg13(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> VGG:
    return _vgg("B", num_classes, in_channels, batch_norm)


@register_model(input_shape=(3, 32, 32))
def vgg16(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> VGG:
    return _vgg("D", num_classes, in_channels, batch_norm)


@register_model(input_shape=(3, 32, 32))
def vgg19(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> VGG:
    return _vgg("E", num_classes, in_channels, batch_norm)


def vgg_small(
    config: str = "A",
    num_classes: int = 10,
    in_channels: int = 3,
    width: int = 32,
    input_size: int = 32,
    batch_norm: bool = True,
    dropout: float = 0.5,
) -> VGG:
    """A VGG for small images: widths scaled by width / 64, the poolings the input allows, then
    global average pooling and dense layers of 8 * width units (512 at the paper's width)."""
    features = make_features(CONFIGS[config], in_channels, batch_norm, width, input_size)
    return VGG(features, num_classes, pool_size=1, num_hiddens=8 * width, dropout=dropout)


@register_model(input_shape=(3, 32, 32))
def vgg11_cifar(num_classes: int = 10, in_channels: int = 3, width: int = 32) -> VGG:
    return vgg_small("A", num_classes, in_channels, width, input_size=32)


@register_model(input_shape=(3, 32, 32))
def vgg16_cifar(num_classes: int = 10, in_channels: int = 3, width: int = 32) -> VGG:
    return vgg_small("D", num_classes, in_channels, width, input_size=32)


@register_model(input_shape=(1, 28, 28))
def vgg11_mnist(num_classes: int = 10, in_channels: int = 1, width: int = 16) -> VGG:
    return vgg_small("A", num_classes, in_channels, width, input_size=28)


@register_model(input_shape=(1, 8, 8))
def vgg11_digits(num_classes: int = 10, in_channels: int = 1, width: int = 16) -> VGG:
    return vgg_small("A", num_classes, in_channels, width, input_size=8)
