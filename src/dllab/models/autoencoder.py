"""Autoencoders: dense (Hinton & Salakhutdinov, 2006, "Reducing the dimensionality of data with
neural networks"), sparse (Ng, 2011, "Sparse autoencoder", CS294A notes §2.3), denoising (Vincent
et al., 2008, "Extracting and composing robust features with denoising autoencoders": the model
is a plain autoencoder, the `Denoising` task corrupts its inputs) and convolutional
(Masci et al., 2011, "Stacked convolutional auto-encoders"; strided convolutions down and
transposed convolutions up, as in Radford et al., 2016).

Every autoencoder has `encode(x) -> z (B, k)`, `decode(z) -> x_hat` shaped like x, and
`forward = decode(encode(x))`. Plain reconstruction trains it (`dllab.engine.Reconstruction`);
the tasks at the end of this file add the corruption (`Denoising`) or the sparsity penalty
(`Sparse`).
"""

from collections.abc import Sequence
from math import prod

import torch
from torch import Tensor, nn

from dllab.engine.tasks import Batch, Reconstruction
from dllab.errors import ConfigError, unknown_name_message
from dllab.models.mlp import MLP
from dllab.models.registry import register_model
from dllab.nn import activation as make_activation
from dllab.nn.dims import by_dims

CORRUPTIONS = ("gaussian", "masking", "salt_pepper")


class DenseAutoencoder(nn.Module):
    """in -> num_hiddens -> k -> reversed(num_hiddens) -> in, one MLP each way.

    With `linear_path`, a linear encoder/decoder pair runs beside the MLPs (z = Wx + b + f(x),
    x_hat = Vz + c + g(z)); `init_from_pca` sets it to PCA and zeroes the MLPs' last layers, so
    training starts from PCA's reconstruction and can only be selected if it improves on it.

    Args:
        input_shape: one sample's shape, e.g. (1, 8, 8) or (784,); outputs take this shape.
        latent_activation: None (linear code), "sigmoid" (a sparse AE's code in (0, 1)), ...
        output_activation: "sigmoid" for data in [0, 1]; None for real-valued data.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_hiddens: Sequence[int],
        latent_dim: int,
        activation: str = "relu",
        latent_activation: str | None = None,
        output_activation: str | None = "sigmoid",
        linear_path: bool = False,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        num_inputs = prod(self.input_shape)
        self.latent_dim = latent_dim
        self.encoder = MLP(num_inputs, num_hiddens, latent_dim, activation)
        self.decoder = MLP(latent_dim, tuple(reversed(num_hiddens)), num_inputs, activation)
        self.latent_activation = make_activation(latent_activation)
        self.output_activation = make_activation(output_activation)
        self.linear_encoder = nn.Linear(num_inputs, latent_dim) if linear_path else None
        self.linear_decoder = nn.Linear(latent_dim, num_inputs) if linear_path else None

    def encode(self, x: Tensor) -> Tensor:
        z = self.encoder(x)  # (B, k)
        if self.linear_encoder is not None:
            z = z + self.linear_encoder(x.flatten(1))
        return self.latent_activation(z)

    def decode(self, z: Tensor) -> Tensor:
        x_hat = self.decoder(z)  # (B, D)
        if self.linear_decoder is not None:
            x_hat = x_hat + self.linear_decoder(z)
        return self.output_activation(x_hat).reshape(-1, *self.input_shape)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def init_from_pca(self, components: Tensor, mean: Tensor) -> None:
        """Start as PCA: z = C(x - mean), x_hat = Cᵀz + mean, with the MLP branches silent.

        Args:
            components: (k, D) orthonormal principal directions; mean: (D,).
        """
        self.linear_encoder.weight.copy_(components)  # (k, D)
        self.linear_encoder.bias.copy_(-components @ mean)
        self.linear_decoder.weight.copy_(components.T)  # (D, k)
        self.linear_decoder.bias.copy_(mean)
        for mlp in (self.encoder, self.decoder):
            last = mlp.net[-1]
            last.weight.zero_()
            last.bias.zero_()


def _conv(dims: int, transposed: bool):
    table = (
        {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}
        if transposed
        else {1: nn.Conv1d, 2: nn.Conv2d}
    )
    return by_dims("convolutional autoencoder", dims, table)


class ConvAutoencoder(nn.Module):
    """Strided convolutions halve the size down to a linear code; transposed convolutions undo it.

    (B, C, S..) -> [conv 4, stride 2, pad 1 -> ReLU] per channel width -> flatten -> Linear -> k;
    k -> Linear -> reshape -> [transposed conv 4, stride 2, pad 1 -> ReLU] reversed -> (B, C, S..).
    Each down step maps size n to n/2 (floor((n + 2 - 4) / 2) + 1, Dumoulin & Visin, 2016), so
    `input_size` must be divisible by 2 ** len(channels).

    Args:
        input_size: length of each spatial axis (8 for the digits, 40 for MNIST-1D).
        dims: 2 for images (B, C, H, W), 1 for signals (B, C, L).
    """

    def __init__(
        self,
        in_channels: int,
        input_size: int,
        latent_dim: int,
        channels: Sequence[int] = (16, 32),
        dims: int = 2,
        output_activation: str | None = "sigmoid",
    ):
        super().__init__()
        self.latent_dim = latent_dim
        down, up = [], []
        widths = (in_channels, *channels)
        for c_in, c_out in zip(widths, widths[1:]):
            down += [_conv(dims, False)(c_in, c_out, 4, 2, 1), nn.ReLU()]
            up = [_conv(dims, True)(c_out, c_in, 4, 2, 1), nn.ReLU(), *up]
        up[-1] = make_activation(output_activation)  # no ReLU after the last layer
        self.inner_shape = (channels[-1],) + (input_size // 2 ** len(channels),) * dims
        self.encoder = nn.Sequential(
            *down, nn.Flatten(), nn.Linear(prod(self.inner_shape), latent_dim)
        )
        self.decoder_fc = nn.Linear(latent_dim, prod(self.inner_shape))
        self.decoder = nn.Sequential(nn.ReLU(), *up)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)  # (B, C, S..) -> (B, k)

    def decode(self, z: Tensor) -> Tensor:
        h = self.decoder_fc(z).reshape(-1, *self.inner_shape)  # (B, C', S'..)
        return self.decoder(h)  # (B, C, S..)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


@register_model(input_shape=(784,))
def autoencoder_784(latent_dim: int = 32) -> DenseAutoencoder:
    """The notes' example: 784-128-64-32-64-128-784, ReLU, sigmoid output (train: MSE, Adam)."""
    return DenseAutoencoder((784,), (128, 64), latent_dim)


@register_model(input_shape=(1, 8, 8))
def autoencoder_digits(
    latent_dim: int = 8, num_hiddens: tuple[int, ...] = (256, 128), linear_path: bool = False
) -> DenseAutoencoder:
    """64-256-128-k-128-256-64 for the 8x8 digits in [0, 1] (sigmoid output unless linear_path,
    whose PCA start needs an unbounded output)."""
    output = None if linear_path else "sigmoid"
    return DenseAutoencoder((1, 8, 8), num_hiddens, latent_dim, "relu", None, output, linear_path)


@register_model(input_shape=(1, 40))
def autoencoder_mnist1d(
    latent_dim: int = 8, num_hiddens: tuple[int, ...] = (256, 128), linear_path: bool = False
) -> DenseAutoencoder:
    """40-256-128-k-128-256-40 for MNIST-1D's real-valued signals (linear output)."""
    return DenseAutoencoder((1, 40), num_hiddens, latent_dim, "relu", None, None, linear_path)


@register_model(input_shape=(1, 8, 8))
def sparse_autoencoder_digits(latent_dim: int = 100) -> DenseAutoencoder:
    """64-100-64 with a sigmoid code, over-complete: sparsity, not size, limits it (Ng, 2011)."""
    return DenseAutoencoder((1, 8, 8), (), latent_dim, latent_activation="sigmoid")


@register_model(input_shape=(1, 8, 8))
def conv_autoencoder_digits(latent_dim: int = 8, channels: tuple[int, ...] = (32, 64)):
    """(1, 8, 8) -> (32, 4, 4) -> (64, 2, 2) -> k, and back by transposed convolutions."""
    return ConvAutoencoder(1, 8, latent_dim, channels, dims=2)


@register_model(input_shape=(1, 40))
def conv_autoencoder_mnist1d(latent_dim: int = 8, channels: tuple[int, ...] = (32, 64)):
    """(1, 40) -> (32, 20) -> (64, 10) -> k, and back; linear output for real-valued signals."""
    return ConvAutoencoder(1, 40, latent_dim, channels, dims=1, output_activation=None)


def corrupt(
    X: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A corrupted copy of X (Vincent et al., 2010, "Stacked denoising autoencoders", §4.2).

    Args:
        kind: "gaussian" adds N(0, level²) noise; "masking" sets a random fraction `level` of
            the entries to 0; "salt_pepper" sets a fraction `level` to 0 or 1 with equal odds.
        level: the noise's standard deviation, or the fraction of entries corrupted.
    """
    if kind not in CORRUPTIONS:
        raise ConfigError(unknown_name_message("corruption", kind, CORRUPTIONS))
    if kind == "gaussian":
        noise = torch.randn(X.shape, generator=generator, device=X.device)
        return X + level * noise
    hit = torch.rand(X.shape, generator=generator, device=X.device) < level  # (B, ...) bools
    if kind == "masking":
        return X.masked_fill(hit, 0.0)
    salt = torch.rand(X.shape, generator=generator, device=X.device) < 0.5
    return torch.where(hit, salt.to(X.dtype), X)


class Denoising(Reconstruction):
    """Reconstruct the clean input from a freshly corrupted copy of each training batch.

    Like dropout, the corruption is a training-time regulariser: in eval mode (`evaluate`,
    validation) the model reconstructs the clean input, so `val_loss` is the plain
    reconstruction error; measure denoising by corrupting inputs yourself (`corrupt`).
    """

    def __init__(self, kind: str = "gaussian", level: float = 0.3, loss: str = "mse"):
        super().__init__(loss)
        corrupt(torch.zeros(1), kind, level)  # validates the name now, not mid-training
        self.kind, self.level = kind, level

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        X_hat = model(corrupt(X, self.kind, self.level) if model.training else X)
        return self.loss_fn(X_hat, X), {}


def sparsity_kl(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Σ_j KL(ρ || ρ̂_j) between Bernoulli means, summed over code units (Ng, 2011, §2.3):
    KL(ρ || ρ̂) = ρ log(ρ/ρ̂) + (1 - ρ) log((1 - ρ)/(1 - ρ̂))."""
    rho_hat = rho_hat.clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class Sparse(Reconstruction):
    """Reconstruction plus a sparsity penalty on the code h = encode(x).

    "l1": weight * mean over the batch of Σ_j |h_j| (an activity regulariser, Goodfellow et al.,
    2016, §14.2.1); "kl": weight * Σ_j KL(ρ || ρ̂_j), ρ̂_j the batch-mean activation of unit j
    (Ng, 2011), which needs a code in (0, 1) (a sigmoid code).
    """

    def __init__(self, penalty: str = "kl", weight: float = 0.1, rho: float = 0.05, loss="mse"):
        super().__init__(loss)
        if penalty not in ("l1", "kl"):
            raise ConfigError(unknown_name_message("sparsity penalty", penalty, ("l1", "kl")))
        if not 0 < rho < 1:
            raise ConfigError(f"the target activation rho must be in (0, 1), got {rho}")
        self.penalty, self.weight, self.rho = penalty, weight, rho

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        h = model.encode(X)  # (B, k)
        recon = self.loss_fn(model.decode(h), X)
        if self.penalty == "l1":
            penalty = h.abs().sum(1).mean()
        else:
            penalty = sparsity_kl(self.rho, h.mean(0))
        logs = {
            "recon": recon.detach(),
            "sparsity": penalty.detach(),
            "mean_code": h.mean().detach(),
        }
        return recon + self.weight * penalty, logs
