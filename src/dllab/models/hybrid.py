"""Autoencoders trained with a discriminator: the adversarial autoencoder (Makhzani et al., 2016,
"Adversarial Autoencoders"), BiGAN (Donahue et al., 2017, "Adversarial Feature Learning") and
ALI (Dumoulin et al., 2017, "Adversarially Learned Inference"), and the VAE-GAN (Larsen et al.,
2016, "Autoencoding beyond pixels using a learned similarity metric"); the networks are small
MLPs sized for the 8x8 digits.

Their tasks, at the end of this file, alternate a discriminator step and an autoencoder step
through `trainer.backward_step`, as `dllab.models.gan.GANTask` does, with its non-saturating
generator loss.
"""

from collections.abc import Sequence
from math import prod

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dllab.engine.tasks import Batch, Task
from dllab.models.autoencoder import DenseAutoencoder
from dllab.models.gan import generator_loss
from dllab.models.mlp import MLP
from dllab.models.registry import register_model
from dllab.models.vae import dense_vae, gaussian_kl


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
