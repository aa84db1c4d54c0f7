"""Autoencoder tasks beyond plain reconstruction (`dllab.engine.tasks.Reconstruction`):
denoising (Vincent et al., 2008), sparse (Ng, 2011) and the VAE's evidence lower bound
(Kingma & Welling, 2014), with the corruptions and penalties they use.

The adversarial hybrids (adversarial autoencoder, BiGAN/ALI, VAE-GAN) alternate a discriminator
step and an autoencoder step through `trainer.backward_step`, as `dllab.engine.gan.GANTask` does,
with its non-saturating generator loss.

The ELBO is logged in nats per sample, with its two parts:
    log p(x) >= ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))   (Kingma & Welling, 2014, eq. 3)
`recon` = -E_q[log p(x|z)] (one z sample, summed over pixels), `kl` in closed form.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine.gan import generator_loss
from dllab.engine.tasks import Batch, Reconstruction, Task
from dllab.errors import ConfigError, unknown_name_message

CORRUPTIONS = ("gaussian", "masking", "salt_pepper")


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


def discriminator_bce(real_logits: torch.Tensor, *fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log σ(D(real)) - Σ_fakes E log(1 - σ(D(fake)))  (Goodfellow et al., 2014, eq. 1)."""
    loss = F.softplus(-real_logits).mean()  # -log σ(l) = softplus(-l)
    return loss + sum(F.softplus(fake).mean() for fake in fake_logits)  # -log(1 - σ(l))


class AdversarialAutoencoding(Task):
    """Makhzani et al. (2016, §2): D learns to tell prior samples z ~ N(0, I) from codes E(x);
    the autoencoder minimises the squared reconstruction error + `adversarial_weight` x the
    non-saturating generator loss -log σ(D(E(x))) (both phases of the paper in one step)."""

    def __init__(self, adversarial_weight: float = 1.0):
        self.adversarial_weight = adversarial_weight

    def make_optimizers(self, model, build) -> dict[str, torch.optim.Optimizer]:
        return {
            "main": build(model.autoencoder.parameters()),
            "discriminator": build(model.discriminator.parameters()),
        }

    def _discriminator_loss(self, model, z: torch.Tensor) -> torch.Tensor:
        prior = torch.randn_like(z)  # z ~ p(z) = N(0, I): the "real" codes
        return discriminator_bce(model.discriminator(prior), model.discriminator(z.detach()))

    def _autoencoder_loss(self, model, X: torch.Tensor, z: torch.Tensor):
        # squared error summed over pixels, batch mean: -log N(x; x̂, ½) up to a constant,
        # on the scale of the adversarial term (a per-pixel mean would let that term win)
        recon = F.mse_loss(model.decode(z), X, reduction="none").flatten(1).sum(1).mean()
        fool = generator_loss("non_saturating", model.discriminator(z).reshape(-1))
        return recon + self.adversarial_weight * fool, recon

    def compute(self, model, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        z = model.encode(X)  # (B, k)
        loss, recon = self._autoencoder_loss(model, X, z)
        return loss, {"recon": recon, "loss_d": self._discriminator_loss(model, z)}

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        model, X = trainer.model, batch[0]
        z = model.encode(X)  # (B, k)
        loss_d = self._discriminator_loss(model, z)
        trainer.backward_step(loss_d, optimizer="discriminator")
        loss, recon = self._autoencoder_loss(model, X, z)  # after D's step: its new weights
        trainer.backward_step(loss)
        return {"loss": loss.detach(), "recon": recon.detach(), "loss_d": loss_d.detach()}


class BidirectionalGAN(Task):
    """BiGAN / ALI: D learns to tell (x, E(x)) from (G(z), z); E and G are trained together with
    the labels swapped, the non-saturating form (Donahue et al., 2017, §3.4)."""

    def make_optimizers(self, model, build) -> dict[str, torch.optim.Optimizer]:
        encoder_generator = [*model.encoder.parameters(), *model.generator.parameters()]
        return {
            "main": build(encoder_generator),
            "discriminator": build(model.discriminator.parameters()),
        }

    def _pairs(self, model, X: torch.Tensor):
        z_hat = model.encode(X)  # (B, k)
        z = torch.randn_like(z_hat)
        return z_hat, z, model.decode(z)  # G(z): (B, *input_shape)

    def compute(self, model, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        z_hat, z, X_fake = self._pairs(model, X)
        real, fake = model.discriminate(X, z_hat), model.discriminate(X_fake, z)
        return discriminator_bce(fake, real), {"loss_d": discriminator_bce(real, fake)}

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        model, X = trainer.model, batch[0]
        z_hat, z, X_fake = self._pairs(model, X)
        real = model.discriminate(X, z_hat.detach())
        loss_d = discriminator_bce(real, model.discriminate(X_fake.detach(), z))
        trainer.backward_step(loss_d, optimizer="discriminator")
        loss = discriminator_bce(model.discriminate(X_fake, z), model.discriminate(X, z_hat))
        trainer.backward_step(loss)
        return {"loss": loss.detach(), "loss_d": loss_d.detach()}


class VAEGANTask(Task):
    """Larsen et al. (2016, §2.1, Alg. 1): the VAE's reconstruction error is measured in the
    discriminator's hidden features, -log p(Dis_l(x) | z) = ½ ||Dis_l(x) - Dis_l(x̃)||² (+ const),
    the KL to the prior is kept, and the decoder also fools D on x̃ and on prior samples G(z_p).
    D learns to tell x from x̃ and G(z_p). Logs the pixel MSE of x̃ as `recon_mse`."""

    def __init__(self, adversarial_weight: float = 1.0):
        self.adversarial_weight = adversarial_weight

    def make_optimizers(self, model, build) -> dict[str, torch.optim.Optimizer]:
        discriminator = [*model.features.parameters(), *model.head.parameters()]
        return {"main": build(model.vae.parameters()), "discriminator": build(discriminator)}

    def _parts(self, model, X: torch.Tensor):
        params, mu, logvar = model.vae(X)
        X_tilde = model.vae.mean(params)  # (B, *input_shape)
        X_prior = model.vae.mean(model.vae.decode(torch.randn_like(mu)))
        return X_tilde, X_prior, gaussian_kl(mu, logvar).mean()

    def _vae_loss(self, model, X, X_tilde, X_prior, kl):
        features_real = model.discriminate(X)[0].detach()
        features_tilde, logits_tilde = model.discriminate(X_tilde)
        feature_nll = 0.5 * (features_tilde - features_real).pow(2).sum(1).mean()
        fool = generator_loss("non_saturating", logits_tilde.reshape(-1))
        fool = fool + generator_loss("non_saturating", model.discriminate(X_prior)[1].reshape(-1))
        return kl + feature_nll + self.adversarial_weight * fool, feature_nll

    def compute(self, model, batch: Batch) -> tuple[torch.Tensor, dict]:
        X = batch[0]
        X_tilde, X_prior, kl = self._parts(model, X)
        loss, feature_nll = self._vae_loss(model, X, X_tilde, X_prior, kl)
        logs = {"kl": kl, "feature_nll": feature_nll, "recon_mse": F.mse_loss(X_tilde, X)}
        return loss, logs

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        model, X = trainer.model, batch[0]
        X_tilde, X_prior, kl = self._parts(model, X)
        loss_d = discriminator_bce(
            model.discriminate(X)[1],
            model.discriminate(X_tilde.detach())[1],
            model.discriminate(X_prior.detach())[1],
        )
        trainer.backward_step(loss_d, optimizer="discriminator")
        loss, feature_nll = self._vae_loss(model, X, X_tilde, X_prior, kl)
        trainer.backward_step(loss)
        logs = {"kl": kl, "feature_nll": feature_nll, "recon_mse": F.mse_loss(X_tilde, X)}
        return {
            "loss": loss.detach(),
            "loss_d": loss_d.detach(),
            **{k: v.detach() for k, v in logs.items()},
        }
