"""The variational autoencoder (Kingma & Welling, 2014, "Auto-Encoding Variational Bayes"; Rezende
et al., 2014), dense and convolutional, and its loss, the negative evidence lower bound with
the β weight of Higgins et al. (2017, "β-VAE") on the KL (`ELBO`).

The encoder gives q(z|x) = N(μ, diag σ²) as (μ, log σ²); a code is drawn by the
reparameterisation trick z = μ + σ ⊙ ε, ε ~ N(0, I) (Kingma & Welling, §2.4), so gradients flow
through μ and σ; the decoder gives the parameters of p(x|z): Bernoulli logits for data in
[0, 1] (`likelihood="bernoulli"`) or the mean of a Gaussian of fixed σ for real-valued data.

The ELBO is logged in nats per sample, with its two parts:
    log p(x) >= ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))   (Kingma & Welling, 2014, eq. 3)
`recon` = -E_q[log p(x|z)] (one z sample, summed over pixels), `kl` in closed form.
"""

import math
from collections.abc import Sequence
from math import prod

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dllab.engine.tasks import Batch, Reconstruction
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


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, I)) per sample (B,), summed over the code."""
    # KL(q(z|x) || N(0, I)) = -0.5 * sum(1 + log σ² - μ² - σ²)  (Kingma & Welling, App. B)
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def negative_log_likelihood(
    model: nn.Module, params: torch.Tensor, X: torch.Tensor
) -> torch.Tensor:
    """-log p(x|z) per sample (B,) in nats, summed over every pixel or time step."""
    if model.likelihood == "bernoulli":
        # -log p(x|z) = -Σ x log x̂ + (1 - x) log(1 - x̂), x̂ = sigmoid(logits)
        nll = F.binary_cross_entropy_with_logits(params, X, reduction="none")
    else:
        # -log N(x; x̂, σ²) = (x - x̂)² / 2σ² + log σ + ½ log 2π
        s = model.sigma
        nll = (X - params).pow(2) / (2 * s**2) + math.log(s) + 0.5 * math.log(2 * math.pi)
    return nll.flatten(1).sum(1)


class ELBO(Reconstruction):
    """The VAE's loss -ELBO with β on the KL (Higgins et al., 2017): recon + β KL, batch mean.

    Logs `recon` (-E_q log p(x|z)), `kl` and `elbo` = -(recon + kl), all in nats per sample;
    with β != 1 `loss` differs from -elbo.
    """

    def __init__(self, beta: float = 1.0):
        if beta < 0:
            raise ConfigError(f"beta must be >= 0, got {beta}")
        self.beta = beta

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        params, mu, logvar = model(X)
        recon = negative_log_likelihood(model, params, X).mean()
        kl = gaussian_kl(mu, logvar).mean()
        elbo = -(recon + kl)
        logs = {"recon": recon.detach(), "kl": kl.detach(), "elbo": elbo.detach()}
        return recon + self.beta * kl, logs
