"""The variational autoencoder (Kingma & Welling, 2014, "Auto-Encoding Variational Bayes"; Rezende
et al., 2014), dense and convolutional, with the β weight of Higgins et al. (2017, "β-VAE")
applied by the loss (`dllab.engine.autoencoding.ELBO`).

The encoder gives q(z|x) = N(μ, diag σ²) as (μ, log σ²); a code is drawn by the
reparameterisation trick z = μ + σ ⊙ ε, ε ~ N(0, I) (Kingma & Welling, §2.4), so gradients flow
through μ and σ; the decoder gives the parameters of p(x|z): Bernoulli logits for data in
[0, 1] (`likelihood="bernoulli"`) or the mean of a Gaussian of fixed σ for real-valued data.
"""

from collections.abc import Sequence
from math import prod

import torch
from torch import Tensor, nn

from dllab.errors import ConfigError
from dllab.models.autoencoder import ConvAutoencoder
from dllab.models.mlp import MLP
from dllab.models.registry import register_model

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(nn.Module):
    """An encoder to 2k numbers (μ, log σ²), and a decoder from k to the likelihood's parameters.

    Args:
        encoder: (B, *input_shape) -> (B, 2k); decoder: (B, k) -> (B, *input_shape).
        likelihood: "bernoulli" (decoder outputs logits) or "gaussian" (decoder outputs means).
        sigma: the Gaussian likelihood's fixed standard deviation.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        latent_dim: int,
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
    ):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"unknown likelihood {likelihood!r} (known: {', '.join(LIKELIHOODS)})"
            )
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.sigma = sigma

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x -> (μ, log σ²), each (B, k)."""
        return self.encoder(x).chunk(2, dim=1)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        # z = μ + σ ⊙ ε, ε ~ N(0, I)  (Kingma & Welling, 2014, §2.4)
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, k) -> the likelihood's parameters (B, *input_shape): logits or means."""
        return self.decoder(z)

    def mean(self, params: Tensor) -> Tensor:
        """E[x|z] from the decoder's output: sigmoid(logits) or the Gaussian mean."""
        return torch.sigmoid(params) if self.likelihood == "bernoulli" else params

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x -> (decoder output for one sampled z, μ, log σ²)."""
        mu, logvar = self.encode(x)  # (B, k) each
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """E[x | z = μ(x)]: the reconstruction through the code's mean."""
        return self.mean(self.decode(self.encode(x)[0]))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """E[x|z] for n codes from the prior N(0, I)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.mean(self.decode(z))


class _Reshape(nn.Module):
    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(-1, *self.shape)


def dense_vae(
    input_shape: Sequence[int],
    num_hiddens: Sequence[int],
    latent_dim: int,
    likelihood: str,
    sigma: float = 0.1,
) -> VAE:
    """MLP encoder D -> num_hiddens -> 2k and mirrored MLP decoder k -> D."""
    num_inputs = prod(input_shape)
    encoder = MLP(num_inputs, num_hiddens, 2 * latent_dim)
    decoder = nn.Sequential(
        MLP(latent_dim, tuple(reversed(num_hiddens)), num_inputs), _Reshape(input_shape)
    )
    return VAE(encoder, decoder, latent_dim, likelihood, sigma)


@register_model(input_shape=(1, 8, 8))
def vae_digits(latent_dim: int = 2, num_hiddens: tuple[int, ...] = (256, 128)) -> VAE:
    """64-256-128-(μ, log σ²) and back, Bernoulli pixels; k = 2 draws the latent map."""
    return dense_vae((1, 8, 8), num_hiddens, latent_dim, "bernoulli")


@register_model(input_shape=(1, 40))
def vae_mnist1d(latent_dim: int = 8, sigma: float = 0.5) -> VAE:
    """40-256-128-(μ, log σ²) and back, Gaussian likelihood of fixed σ for real signals."""
    return dense_vae((1, 40), (256, 128), latent_dim, "gaussian", sigma)


@register_model(input_shape=(1, 8, 8))
def conv_vae_digits(latent_dim: int = 8, channels: tuple[int, ...] = (32, 64)) -> VAE:
    """The convolutional autoencoder's encoder to 2k numbers and its decoder, Bernoulli pixels."""
    shell = ConvAutoencoder(1, 8, 2 * latent_dim, channels, output_activation=None)
    up = ConvAutoencoder(1, 8, latent_dim, channels, output_activation=None)
    decoder = nn.Sequential(up.decoder_fc, _Reshape(up.inner_shape), up.decoder)
    return VAE(shell.encoder, decoder, latent_dim, "bernoulli")
