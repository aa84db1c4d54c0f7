"""GANs: MLP generators and discriminators, the `GAN` container that pairs any generator with
any discriminator, and `GANTask`, its alternating discriminator and generator updates
(Goodfellow et al., 2014, "Generative Adversarial Nets", Alg. 1).

The networks: the vanilla GAN, its conditional form (Mirza & Osindero, 2014: the one-hot label
is concatenated to the noise and to the discriminator's input), and PacGAN's packed
discriminator (Lin et al., 2018: m samples judged together). The same discriminator is the
WGAN-GP critic (Gulrajani et al., 2017): it outputs an unbounded score and uses no batch norm,
which would break the per-sample gradient penalty. DCGAN, LAPGAN and SRGAN bring their own
networks (`dcgan.py`, `lapgan.py`, `srgan.py`) to the same container and task.

Losses, with D(x) a logit and σ the sigmoid:
- discriminator: -E log σ(D(x)) - E log(1 - σ(D(G(z))))  (Goodfellow et al., 2014, eq. 1),
  with one-sided label smoothing: real targets 1 - s instead of 1 (Salimans et al., 2016, §3.4);
- generator, "minimax": J_G = E log(1 - σ(D(G(z)))), which saturates when D wins (eq. 1);
- generator, "non_saturating": J_G = -E log σ(D(G(z)))  (Goodfellow et al., 2014, §3);
- "wgan_gp": critic E D(G(z)) - E D(x) + λ E (||∇D(x̂)||₂ - 1)², x̂ on lines between real and
  fake samples; generator -E D(G(z))  (Gulrajani et al., 2017, Alg. 1);
- R1 (any loss but "wgan_gp"): + (γ/2) E ||∇_x D(x)||² on real samples, which makes training
  converge where it would circle an equilibrium (Mescheder et al., 2018, eq. 9).

Every step updates the discriminator once; the generator is updated every `n_critic` steps.
PacGAN packing (Lin et al., 2018) shows the discriminator `pack` samples at once, concatenated.
An exponential moving average of the generator's weights (Karras et al., 2018; Yazıcı et al.,
2019) lives in the model, so checkpoints carry it with the weights.
"""

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from dllab.engine.callbacks import Callback
from dllab.engine.tasks import Batch, Task
from dllab.errors import ConfigError
from dllab.models.registry import register_model

OUTPUTS = {"none": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
GAN_LOSSES = ("minimax", "non_saturating", "wgan_gp")
GAN_BETAS = (0.5, 0.999)  # Adam's (β1, β2) for adversarial training (Radford et al., 2016, §4)


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
        # max, not amax (a PacGAN step takes 12% less time): max's backward sends the gradient
        # to the winning piece by index, where amax's splits it among exact ties through a mask
        return self.linear(x).unflatten(1, (-1, self.pieces)).max(dim=2).values  # (B, out)


def _init_linears_(model: nn.Module, init_weight: Callable[[torch.Tensor], object]) -> nn.Module:
    """`init_weight` on every Linear layer's weight, zeros in its bias (if any)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            init_weight(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def _normal_init_(model: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights N(0, std²) and zero biases, as PacGAN's code initialises both networks."""
    return _init_linears_(model, lambda weight: nn.init.normal_(weight, std=std))


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


def _orthogonal_init_(model: nn.Module, gain: float = 1.4) -> nn.Module:
    """Orthogonal weights scaled by `gain` and zero biases, as the unrolled GAN's 2-D code."""
    return _init_linears_(model, lambda weight: nn.init.orthogonal_(weight, gain=gain))


@register_model(input_shape=(256,))
def veegan_generator_2d(latent_dim: int = 256, num_hiddens: int = 128, num_layers: int = 2):
    """The 2-D generator of the unrolled GAN's mixture experiments (Metz et al., 2017, App. A),
    whose networks VEEGAN's 2-D baselines train (Srivastava et al., 2017, §5.1): z (B, 256) ->
    points (B, 2) through ReLU layers of 128, orthogonal initial weights (gain 1.4)."""
    sizes = [latent_dim, *[num_hiddens] * num_layers, 2]
    return _orthogonal_init_(nn.Sequential(*_mlp(sizes, nn.ReLU)))


@register_model(input_shape=(2,))
def veegan_discriminator_2d(pack: int = 1, num_hiddens: int = 128, num_layers: int = 2):
    """Its discriminator: a pack of m points (B, 2m) -> logit (B, 1), ReLU layers of 128."""
    sizes = [2 * pack, *[num_hiddens] * num_layers, 1]
    return _orthogonal_init_(nn.Sequential(*_mlp(sizes, nn.ReLU)))


@register_model(input_shape=(32,))
def gan_generator_digits(
    latent_dim: int = 32, num_classes: int = 0, num_hiddens: int = 256, num_layers: int = 2
):
    """Noise (+ one-hot label when num_classes > 0) -> 8x8 digits in [0, 1] (B, 1, 8, 8)."""
    return MLPGenerator(latent_dim + num_classes, (1, 8, 8), num_hiddens, num_layers, "sigmoid")


@register_model(input_shape=(64,))
def gan_discriminator_digits(
    num_classes: int = 0, num_hiddens: int = 256, num_layers: int = 2, pack: int = 1
):
    """8x8 digits flattened (+ one-hot label when num_classes > 0) -> logit; `pack` > 1:
    PacGAN's discriminator, m of them side by side (B, m * (64 + num_classes))."""
    return MLPDiscriminator((64 + num_classes) * pack, num_hiddens, num_layers)


def set_adam_betas(
    optimizers: Iterable[torch.optim.Optimizer], betas: tuple[float, float] = GAN_BETAS
) -> None:
    """Give every Adam or AdamW optimizer in `optimizers` the momentum terms `betas`.

    Radford et al. found Adam's default β1 = 0.9 made adversarial training oscillate and
    unstable, and β1 = 0.5 stabilised it; every task that trains a discriminator against
    another network uses it (GANs here; BiGAN/ALI, VAE-GAN and AAE through their trainer's
    `optimizers`). Other optimizers are left as they are.
    """
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            if "betas" in group:  # Adam and AdamW
                group["betas"] = tuple(betas)


@contextmanager
def frozen(network: nn.Module) -> Iterator[None]:
    """`network`'s parameters stop requiring gradients inside the block: the generator's step
    backpropagates through the discriminator to the generator without also computing the
    discriminator's own weight gradients, which its next step would throw away. Each
    parameter's flag is restored after it."""
    trainable = [p for p in network.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


class GAN(nn.Module):
    """A generator, a discriminator and (optionally) the moving average of the generator.

    Args:
        generator: (B, latent_dim [+ num_classes]) -> samples (B, ...).
        discriminator: samples, flattened and concatenated with labels / packed as the task
            says -> logits (B', 1) or (B',).
        latent_dim: size of the noise vector z ~ N(0, I).
        num_classes: for a conditional GAN (Mirza & Osindero, 2014): the one-hot label is
            concatenated to the generator's noise and to the discriminator's flattened input.
        vector_condition: condition on a tensor instead (LAPGAN's coarse image, Denton et
            al., 2015): batches are (X, condition), the condition is flattened and appended.
        ema: keep `ema_generator`, a copy of the generator updated as a moving average.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        num_classes: int | None = None,
        vector_condition: bool = False,
        ema: bool = True,
    ):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.conditional = num_classes is not None or vector_condition
        self.ema_generator = copy.deepcopy(generator).requires_grad_(False) if ema else None

    def noise(self, n: int, y: torch.Tensor | None = None) -> torch.Tensor:
        """z ~ N(0, I) (n, latent_dim), with the condition appended for a conditional GAN."""
        z = torch.randn(n, self.latent_dim, device=next(self.parameters()).device)
        return self.condition(z, y)

    def condition(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """x (B, ...) -> (B, D + K): flattened, one_hot(y) or y flattened appended; x itself
        for an unconditional GAN."""
        if not self.conditional:
            return x
        if y is None:
            raise ConfigError("a conditional GAN needs its condition: give (X, y) batches")
        if self.num_classes is not None:
            y = F.one_hot(y.long(), self.num_classes)
        return torch.cat([x.flatten(1), y.flatten(1).to(x.dtype)], 1)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, use_ema: bool = True) -> torch.Tensor:
        """Samples G(z) from noise z (as built by `noise`), by the averaged generator if kept."""
        net = self.ema_generator if use_ema and self.ema_generator is not None else self.generator
        was_training = net.training
        net.eval()
        X = net(z)
        net.train(was_training)
        return X

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """D(G(z)): the logits the discriminator gives to generated samples."""
        return self.discriminator(self.generator(z))


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None
) -> torch.Tensor:
    """E (||∇_x̂ D(x̂)||₂ - 1)² at x̂ = εx + (1-ε)x̃, ε ~ U(0, 1) per sample (Gulrajani et al., Alg. 1).

    Args:
        critic: inputs (B, ...) -> scores.
        real, fake: (B, ...) critic inputs.
        eps: (B, 1, ...) interpolation weights broadcast over a sample; uniform when not given.
    """
    if eps is None:
        eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device)  # (B, 1, ...)
    grad = _input_gradient(critic, eps * real + (1 - eps) * fake)  # (B, ...) at x̂
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(discriminator: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """E ||∇_x D(x)||² over real discriminator inputs x (B, ...) (Mescheder et al., 2018, eq. 9).

    Differentiable, so the discriminator's step descends it."""
    return _input_gradient(discriminator, real).flatten(1).pow(2).sum(1).mean()


def _input_gradient(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """∇_x of the summed scores at inputs x (B, ...), with its graph (create_graph), so that a
    penalty on it trains the critic; computed under evaluate()'s no_grad too."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)  # (B, ...)
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return grad  # (B, ...)


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """J_G for `kind` in GAN_LOSSES, from the discriminator's logits on G(z)."""
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()  # log(1 - σ(l)) = -softplus(l)
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()  # -log σ(l) = softplus(-l)
    return -fake_logits.mean()


class GANTask(Task):
    """Alternating updates of a `GAN` model's discriminator and generator.

    Args:
        loss: "minimax", "non_saturating" or "wgan_gp".
        n_critic: discriminator updates per generator update.
        gp_weight: λ of the gradient penalty (WGAN-GP only; Gulrajani et al. use 10).
        label_smoothing: s of one-sided label smoothing (real targets 1 - s).
        pack: PacGAN degree m: the discriminator judges m samples concatenated.
        ema_decay: β of the generator's moving average θ_ema ← βθ_ema + (1-β)θ.
        betas: Adam's (β1, β2) for both networks; DCGAN's β1 = 0.5 (Radford et al., §4).
        generator_lr: the generator's learning rate where it differs from the discriminator's
            (the unrolled GAN's 2-D runs: 1e-3 against 1e-4, Metz et al., 2017); None: the same.
        r1_weight: γ of the R1 penalty (γ/2) E ||∇D(x)||² on real samples (0: none; not with
            "wgan_gp", which has its own penalty).
        r1_every: k of lazy R1 (Karras et al. 2020, StyleGAN2 §B): the penalty on every k-th
            discriminator step only, weighted kγ/2 so that its average pull stays γ/2.
    """

    def __init__(
        self,
        loss: str = "non_saturating",
        n_critic: int = 1,
        gp_weight: float = 10.0,
        label_smoothing: float = 0.0,
        pack: int = 1,
        ema_decay: float = 0.999,
        betas: tuple[float, float] = GAN_BETAS,
        generator_lr: float | None = None,
        r1_weight: float = 0.0,
        r1_every: int = 1,
    ):
        if loss not in GAN_LOSSES:
            raise ConfigError(f"unknown GAN loss {loss!r} (known: {', '.join(GAN_LOSSES)})")
        if n_critic < 1 or pack < 1 or not 0 <= label_smoothing < 1 or not 0 <= ema_decay < 1:
            raise ConfigError("GAN task: need n_critic >= 1, pack >= 1, 0 <= smoothing, decay < 1")
        if r1_weight < 0 or (r1_weight and loss == "wgan_gp"):
            raise ConfigError("GAN task: the R1 weight must be >= 0, and 0 with wgan_gp")
        if r1_every < 1:
            raise ConfigError(
                f"GAN task: r1_every must be >= 1 (R1 on every k-th step), not {r1_every}"
            )
        self.loss, self.n_critic, self.gp_weight = loss, n_critic, gp_weight
        self.label_smoothing, self.pack, self.ema_decay = label_smoothing, pack, ema_decay
        self.betas, self.generator_lr, self.r1_weight = betas, generator_lr, r1_weight
        self.r1_every = r1_every
        self.loss_name = "discriminator"  # the loss it logs as "loss" (reports name it so)

    def make_optimizers(self, model: GAN, build) -> dict[str, torch.optim.Optimizer]:
        optimizers = {
            "discriminator": build(model.discriminator.parameters()),
            "generator": build(model.generator.parameters()),
        }
        set_adam_betas(optimizers.values(), self.betas)
        if self.generator_lr is not None:
            for group in optimizers["generator"].param_groups:
                group["lr"] = self.generator_lr
        return optimizers

    def _critic_input(self, model: GAN, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Samples (B, ...) as the discriminator sees them: with their one-hot labels appended
        (conditional GAN) and m consecutive samples side by side (PacGAN): vectors (B, D) as
        (B // m, m * D), images (B, C, H, W) stacked as channels, (B // m, m * C, H, W)."""
        x = model.condition(x, y)
        return x if self.pack == 1 else x.reshape(x.shape[0] // self.pack, -1, *x.shape[2:])

    def _split(self, model: GAN, batch: Batch):
        """Real samples trimmed to a multiple of `pack`, their labels (or None), and noise."""
        X = batch[0]
        y = batch[1] if len(batch) > 1 and model.conditional else None
        n = X.shape[0] - X.shape[0] % self.pack
        if n == 0:
            raise ConfigError(f"batch of {X.shape[0]} is smaller than the PacGAN pack {self.pack}")
        X, y = X[:n], None if y is None else y[:n]
        if y is not None and self.pack > 1:  # packs of one class: collapse within it shows
            order = y.argsort(stable=True)
            X, y = X[order], y[order]
        return X, y, model.noise(n, y)

    def discriminator_loss(self, model: GAN, real, fake, y) -> tuple[torch.Tensor, dict]:
        """The discriminator's (critic's) loss on real and generated samples (B, ...)."""
        real_in, fake_in = self._critic_input(model, real, y), self._critic_input(model, fake, y)
        real_logits = model.discriminator(real_in).reshape(-1)
        fake_logits = model.discriminator(fake_in).reshape(-1)
        if self.loss == "wgan_gp":
            penalty = gradient_penalty(model.discriminator, real_in, fake_in)
            loss = fake_logits.mean() - real_logits.mean() + self.gp_weight * penalty
            logs = {"gradient_penalty": penalty, "wasserstein": real_logits - fake_logits}
        else:
            target = torch.full_like(real_logits, 1.0 - self.label_smoothing)
            loss = F.binary_cross_entropy_with_logits(real_logits, target)
            loss = loss + F.binary_cross_entropy_with_logits(
                fake_logits, torch.zeros_like(fake_logits)
            )
            # the discriminator's mean probability that real / generated samples are real
            logs = {"d_real": torch.sigmoid(real_logits), "d_fake": torch.sigmoid(fake_logits)}
        return loss, {k: v.detach().mean() for k, v in logs.items()}

    def discriminator_step_loss(
        self, model: GAN, real, fake, y, step: int
    ) -> tuple[torch.Tensor, dict]:
        """The loss a training step minimises: `discriminator_loss`, plus (kγ/2) R1 on the real
        inputs when `step` is a multiple of k = `r1_every` (lazy R1)."""
        loss, logs = self.discriminator_loss(model, real, fake, y)
        if self.r1_weight and step % self.r1_every == 0:
            r1 = r1_penalty(model.discriminator, self._critic_input(model, real, y))
            loss = loss + self.r1_weight * self.r1_every / 2 * r1
            logs = {**logs, "r1": r1.detach()}
        return loss, logs

    def generator_step_loss(self, model: GAN, fake, real, y) -> tuple[torch.Tensor, dict]:
        """J_G on generated samples (B, ...); `real` is there for losses that compare."""
        logits = model.discriminator(self._critic_input(model, fake, y))
        return generator_loss(self.loss, logits.reshape(-1)), {}

    def compute(self, model: GAN, batch: Batch) -> tuple[torch.Tensor, dict]:
        """Evaluation: the discriminator's loss, and the generator's, on one batch."""
        X, y, z = self._split(model, batch)
        fake = model.generator(z)
        loss, logs = self.discriminator_loss(model, X, fake, y)
        loss_g, logs_g = self.generator_step_loss(model, fake, X, y)
        return loss, {**logs, "loss_g": loss_g, **logs_g}

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        model: GAN = trainer.model
        X, y, z = self._split(model, batch)
        fake = model.generator(z)
        loss_d, logs = self.discriminator_step_loss(model, X, fake.detach(), y, trainer.step)
        trainer.backward_step(loss_d, optimizer="discriminator")
        if (trainer.step + 1) % self.n_critic == 0:
            with frozen(model.discriminator):
                loss_g, logs_g = self.generator_step_loss(model, fake, X, y)
                trainer.backward_step(loss_g, optimizer="generator")
            self.update_ema(model, updates=(trainer.step + 1) // self.n_critic)
        else:
            with torch.no_grad():
                loss_g, logs_g = self.generator_step_loss(model, fake, X, y)
        logs_g = {k: v.detach() for k, v in logs_g.items()}
        return {"loss": loss_d.detach(), "loss_g": loss_g.detach(), **logs, **logs_g}

    @torch.no_grad()
    def update_ema(self, model: GAN, updates: int) -> None:
        """θ_ema ← βθ_ema + (1-β)θ for parameters; buffers (batch-norm statistics) are copied.

        β is min(ema_decay, (u - 1) / u) at the u-th generator update: a plain running mean of
        the generators seen until the moving average takes over, so that no weight stays on the
        untrained initial generator (with β = 0.999 throughout, 45% of it would remain after
        800 updates, and a short run would sample noise). Long runs are unchanged: the first
        thousand generators weigh 0.999^n by the end either way.
        """
        if model.ema_generator is None:
            return
        decay = min(self.ema_decay, (updates - 1) / updates) if updates > 0 else 0.0
        for ema, current in zip(model.ema_generator.parameters(), model.generator.parameters()):
            ema.lerp_(current, 1 - decay)
        for ema, current in zip(model.ema_generator.buffers(), model.generator.buffers()):
            ema.copy_(current)


class SampleSnapshots(Callback):
    """Samples of a fixed noise batch `z` at the start and every `every` epochs: the frames of
    a training-progress figure or GIF. Checkpoints keep them, so a resumed run has them all."""

    def __init__(self, z: torch.Tensor, every: int = 1):
        self.z, self.every = z, every
        self.epochs: list[int] = []
        self.samples: list[torch.Tensor] = []

    def _take(self, trainer) -> None:
        self.epochs.append(trainer.epoch)
        self.samples.append(trainer.model.sample(self.z.to(trainer.device)).cpu())

    def on_fit_start(self, trainer) -> None:
        if trainer.epoch == 0 and not self.epochs:
            self._take(trainer)

    def on_epoch_end(self, trainer, record: dict) -> None:
        if trainer.epoch % self.every == 0 or trainer.epoch == trainer.num_epochs:
            self._take(trainer)

    def state_dict(self) -> dict:
        return {"epochs": list(self.epochs), "samples": [s.clone() for s in self.samples]}

    def load_state_dict(self, state: dict) -> None:
        self.epochs, self.samples = list(state["epochs"]), list(state["samples"])
