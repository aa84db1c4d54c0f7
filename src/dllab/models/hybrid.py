"""Autoencoders trained with a discriminator: the adversarial autoencoder (Makhzani et al., 2016,
"Adversarial Autoencoders"), BiGAN (Donahue et al., 2017, "Adversarial Feature Learning") and
ALI (Dumoulin et al., 2017, "Adversarially Learned Inference"), and the VAE-GAN (Larsen et al.,
2016, "Autoencoding beyond pixels using a learned similarity metric"). Their training steps live
in `dllab.engine.autoencoding`; the networks here are small MLPs sized for the 8x8 digits.
"""

from collections.abc import Sequence
from math import prod

import torch
from torch import Tensor, nn

from dllab.models.autoencoder import DenseAutoencoder
from dllab.models.mlp import MLP
from dllab.models.registry import register_model
from dllab.models.vae import dense_vae


class AdversarialAutoencoder(nn.Module):
    """An autoencoder whose code distribution q(z) a discriminator pushes towards the prior
    p(z) = N(0, I) (Makhzani et al., 2016, §2): D tells z ~ p(z) from z = E(x)."""

    def __init__(self, input_shape: Sequence[int], num_hiddens: Sequence[int], latent_dim: int):
        super().__init__()
        self.autoencoder = DenseAutoencoder(input_shape, num_hiddens, latent_dim)
        self.discriminator = MLP(latent_dim, (256, 256), 1, "leaky_relu")
        self.latent_dim = latent_dim

    def encode(self, x: Tensor) -> Tensor:
        return self.autoencoder.encode(x)  # (B, k)

    def decode(self, z: Tensor) -> Tensor:
        return self.autoencoder.decode(z)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x -> (reconstruction, the discriminator's logit on the code (B, 1))."""
        z = self.encode(x)
        return self.decode(z), self.discriminator(z)


class BiGAN(nn.Module):
    """Encoder E: x -> z, generator G: z -> x, and a discriminator on joint pairs, trained to tell
    (x, E(x)) from (G(z), z) (Donahue et al., 2017, §3; Dumoulin et al., 2017, §2).

    Args:
        stochastic: ALI's encoder q(z|x) = N(μ(x), σ²(x)) sampled by reparameterisation;
            False gives BiGAN's deterministic E(x).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_hiddens: Sequence[int],
        latent_dim: int,
        stochastic: bool = False,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        num_inputs = prod(self.input_shape)
        self.latent_dim, self.stochastic = latent_dim, stochastic
        self.encoder = MLP(num_inputs, num_hiddens, latent_dim * (2 if stochastic else 1))
        self.generator = MLP(
            latent_dim, tuple(reversed(num_hiddens)), num_inputs, "relu", 0.0, None, "sigmoid"
        )
        self.discriminator = MLP(num_inputs + latent_dim, (512, 256), 1, "leaky_relu", 0.2)

    def encode(self, x: Tensor, sample: bool = True) -> Tensor:
        """E(x) (B, k); for ALI a sample of q(z|x), or its mean μ(x) with sample=False."""
        h = self.encoder(x)
        if not self.stochastic:
            return h
        mu, logvar = h.chunk(2, dim=1)
        # z = μ + σ ⊙ ε  (Dumoulin et al., 2017, §2.2: the reparameterisation trick)
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu

    def decode(self, z: Tensor) -> Tensor:
        return self.generator(z).reshape(-1, *self.input_shape)  # (B, *input_shape)

    def discriminate(self, x: Tensor, z: Tensor) -> Tensor:
        """The logit D(x, z) (B, 1) that a pair is (x, E(x)) rather than (G(z), z)."""
        return self.discriminator(torch.cat([x.flatten(1), z], dim=1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x -> (G(E(x)), D(x, E(x)))."""
        z = self.encode(x)
        return self.decode(z), self.discriminate(x, z)


class VAEGAN(nn.Module):
    """A VAE whose decoder doubles as a GAN generator, and a discriminator whose hidden layer
    gives the feature space where reconstructions are compared (Larsen et al., 2016, §2.1)."""

    def __init__(self, input_shape: Sequence[int], num_hiddens: Sequence[int], latent_dim: int):
        super().__init__()
        self.vae = dense_vae(input_shape, num_hiddens, latent_dim, "bernoulli")
        num_inputs = prod(input_shape)
        self.features = nn.Sequential(
            nn.Flatten(), nn.Linear(num_inputs, 256), nn.LeakyReLU(0.2), nn.Linear(256, 128)
        )
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(128, 1))
        self.latent_dim = latent_dim

    def encode(self, x: Tensor) -> Tensor:
        """The code mean μ(x) (B, k)."""
        return self.vae.encode(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """E[x|z] (B, *input_shape)."""
        return self.vae.mean(self.vae.decode(z))

    def discriminate(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x -> (Dis_l(x), the hidden features (B, 128); the logit that x is real (B, 1))."""
        h = self.features(x)
        return h, self.head(h)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """x -> (decoded mean x̃ of one sampled code, μ, log σ², D's logit on x̃)."""
        params, mu, logvar = self.vae(x)
        x_tilde = self.vae.mean(params)
        return x_tilde, mu, logvar, self.discriminate(x_tilde)[1]


@register_model(input_shape=(1, 8, 8))
def aae_digits(latent_dim: int = 8, num_hiddens: tuple[int, ...] = (256, 128)):
    """64-256-128-k autoencoder, code discriminator k-256-256-1 (Makhzani et al., 2016)."""
    return AdversarialAutoencoder((1, 8, 8), num_hiddens, latent_dim)


@register_model(input_shape=(1, 8, 8))
def bigan_digits(latent_dim: int = 16, num_hiddens: tuple[int, ...] = (256, 128)):
    """Deterministic encoder, generator and joint discriminator (Donahue et al., 2017)."""
    return BiGAN((1, 8, 8), num_hiddens, latent_dim)


@register_model(input_shape=(1, 8, 8))
def ali_digits(latent_dim: int = 16, num_hiddens: tuple[int, ...] = (256, 128)):
    """ALI: the same with a Gaussian encoder q(z|x) (Dumoulin et al., 2017)."""
    return BiGAN((1, 8, 8), num_hiddens, latent_dim, stochastic=True)


@register_model(input_shape=(1, 8, 8))
def vaegan_digits(latent_dim: int = 8, num_hiddens: tuple[int, ...] = (256, 128)):
    """The digits VAE plus a 64-256-128-1 discriminator (Larsen et al., 2016)."""
    return VAEGAN((1, 8, 8), num_hiddens, latent_dim)
