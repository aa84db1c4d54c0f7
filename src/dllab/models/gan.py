"""MLP generators and discriminators: the vanilla GAN (Goodfellow et al., 2014), its conditional
form (Mirza & Osindero, 2014: the one-hot label is concatenated to the noise and to the
discriminator's input), and PacGAN's packed discriminator (Lin et al., 2018: m samples judged
together). The same discriminator is the WGAN-GP critic (Gulrajani et al., 2017): it outputs an
unbounded score and uses no batch norm, which would break the per-sample gradient penalty.

Pair them with `dllab.engine.gan.GAN` and train with `GANTask`.
"""

import math

import torch
from torch import nn

from dllab.models.registry import register_model

OUTPUTS = {"none": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def _mlp(sizes: list[int], activation: type[nn.Module]) -> list[nn.Module]:
    """Linear layers between consecutive `sizes`, each but the last followed by `activation`."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return layers


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> samples (B, *output_shape) through ReLU hidden layers."""

    def __init__(
        self,
        latent_dim: int,
        output_shape: tuple[int, ...],
        num_hiddens: int = 128,
        num_layers: int = 3,
        output: str = "none",
    ):
        super().__init__()
        self.output_shape = tuple(output_shape)
        sizes = [latent_dim, *[num_hiddens] * num_layers, math.prod(output_shape)]
        self.net = nn.Sequential(*_mlp(sizes, nn.ReLU), OUTPUTS[output]())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(-1, *self.output_shape)  # (B, *output_shape)


class LeakyReLU(nn.LeakyReLU):
    """LeakyReLU with slope 0.2, the discriminators' activation since DCGAN (Radford et al.)."""

    def __init__(self):
        super().__init__(0.2)


class MLPDiscriminator(nn.Module):
    """x (B, input_dim) flattened -> one logit (B, 1) through LeakyReLU hidden layers."""

    def __init__(self, input_dim: int, num_hiddens: int = 128, num_layers: int = 3):
        super().__init__()
        sizes = [input_dim, *[num_hiddens] * num_layers, 1]
        self.net = nn.Sequential(*_mlp(sizes, LeakyReLU))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (B, 1)


@register_model(input_shape=(2,))
def gan_generator_2d(latent_dim: int = 2, num_hiddens: int = 128, num_layers: int = 3):
    """Noise -> points in the plane, for the ring8/grid25 mixtures (VEEGAN §5.1)."""
    return MLPGenerator(latent_dim, (2,), num_hiddens, num_layers)


@register_model(input_shape=(2,))
def gan_discriminator_2d(pack: int = 1, num_hiddens: int = 128, num_layers: int = 3):
    """Points (B, 2 * pack) -> logit; `pack` > 1 is PacGAN's packed discriminator."""
    return MLPDiscriminator(2 * pack, num_hiddens, num_layers)


class Maxout(nn.Module):
    """x (B, in) -> the largest of `pieces` linear maps per unit (B, out) (Goodfellow et al.,
    2013): a learnt piecewise-linear activation, the discriminators' in ALI and PacGAN."""

    def __init__(self, fan_in: int, fan_out: int, pieces: int):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(fan_in, fan_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(1, (-1, self.pieces)).amax(dim=2)  # (B, out)


def _normal_init_(model: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights N(0, std²) and zero biases, as PacGAN's code initialises both networks."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


@register_model(input_shape=(2,))
def pacgan_generator_2d(latent_dim: int = 2, num_hiddens: int = 400, num_layers: int = 4):
    """PacGAN's 2-D generator (Lin et al., 2018, code fjxmlzn/PacGAN): `num_layers` hidden
    layers of batch norm and ReLU, without biases (batch norm has its own shift), then a linear
    output. z (B, latent_dim) -> points (B, 2)."""
    layers: list[nn.Module] = []
    for fan_in in [latent_dim] + [num_hiddens] * (num_layers - 1):
        layers += [nn.Linear(fan_in, num_hiddens, bias=False), nn.BatchNorm1d(num_hiddens)]
        layers.append(nn.ReLU())
    return _normal_init_(nn.Sequential(*layers, nn.Linear(num_hiddens, 2)))


@register_model(input_shape=(2,))
def pacgan_discriminator_2d(
    pack: int = 1, num_hiddens: int = 200, num_layers: int = 3, pieces: int = 5
):
    """PacGAN's 2-D discriminator: `num_layers` maxout layers of `pieces` pieces, then a
    linear logit. A pack of m points (B, 2m) -> (B, 1)."""
    sizes = [2 * pack] + [num_hiddens] * num_layers
    layers = [Maxout(a, b, pieces) for a, b in zip(sizes, sizes[1:])]
    return _normal_init_(nn.Sequential(*layers, nn.Linear(num_hiddens, 1)))


@register_model(input_shape=(32,))
def gan_generator_digits(
    latent_dim: int = 32, num_classes: int = 0, num_hiddens: int = 256, num_layers: int = 2
):
    """Noise (+ one-hot label when num_classes > 0) -> 8x8 digits in [0, 1] (B, 1, 8, 8)."""
    return MLPGenerator(latent_dim + num_classes, (1, 8, 8), num_hiddens, num_layers, "sigmoid")


@register_model(input_shape=(64,))
def gan_discriminator_digits(num_classes: int = 0, num_hiddens: int = 256, num_layers: int = 2):
    """8x8 digits flattened (+ one-hot label when num_classes > 0) -> logit."""
    return MLPDiscriminator(64 + num_classes, num_hiddens, num_layers)
