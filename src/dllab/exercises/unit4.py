"""Unit IV exercises: the discriminator loss and the non-saturating generator loss from logits
(Goodfellow et al., 2014, eq. 1 and §3), WGAN-GP's gradient penalty (Gulrajani et al., 2017,
Alg. 1), and the mode coverage of 2-D samples (VEEGAN, Srivastava et al., 2017, §5.1).

References: `dllab.models.gan.generator_loss` and `gradient_penalty`,
`dllab.models.hybrid.discriminator_bce` and `dllab.metrics.mode_coverage`. The GAN losses
and the penalty are about PyTorch itself, so their stubs take and return torch tensors.
"""

import numpy as np
import torch
from torch import nn

from dllab import data
from dllab.data import mixture_modes
from dllab.engine import Trainer
from dllab.errors import DivergenceError
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import (
    Fail,
    as_array,
    expect,
    expect_close,
    non_finite,
    recognised,
    unpack,
)
from dllab.metrics import mode_coverage as dllab_mode_coverage
from dllab.models.gan import GAN, GANTask, gan_discriminator_2d, gan_generator_2d
from dllab.models.gan import generator_loss as dllab_generator_loss
from dllab.models.gan import gradient_penalty as dllab_gradient_penalty
from dllab.models.hybrid import discriminator_bce

TORCH_IMPORTS = "import torch\nimport torch.nn.functional as F"

# ------------------------------------------------------------------------------ GAN losses


def discriminator_loss(real_logits, fake_logits):
    return discriminator_bce(real_logits, fake_logits)


def generator_loss(fake_logits):
    return dllab_generator_loss("non_saturating", fake_logits)


gan_losses = exercise(
    "gan-losses",
    unit=4,
    topic="vanilla GAN",
    title="The discriminator loss and the non-saturating generator loss, from logits",
    functions=("discriminator_loss", "generator_loss"),
    reference={"discriminator_loss": discriminator_loss, "generator_loss": generator_loss},
    imports=TORCH_IMPORTS,
    hints=[
        Hint(
            "labels-swapped",
            "Your discriminator calls the real samples fake and the generated ones real: it "
            "should minimise -log σ(D(x)) on real x (label 1) and -log(1 - σ(D(G(z)))) on "
            "generated ones (label 0).",
        ),
        Hint(
            "minimax",
            "That is the minimax generator loss, log(1 - σ(D(G(z)))), whose gradient vanishes "
            "when the discriminator rejects the fakes. The non-saturating loss is "
            "-log σ(D(G(z))) (Goodfellow et al., 2014, §3).",
        ),
        Hint(
            "probabilities",
            "Computing log σ(l) as log(sigmoid(l)) gives log(0) = -inf for l = -100. Work "
            "from the logits: -log σ(l) = softplus(-l) and -log(1 - σ(l)) = softplus(l), "
            "which never take the log of 0.",
        ),
    ],
    stub='''
def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss (Goodfellow et al., 2014, eq. 1), from its logits.

    D's probability that a sample is real is σ(logit). The loss is the mean over the real
    samples of -log σ(real logit) plus the mean over the generated ones of -log(1 - σ(fake
    logit)). Compute it from the logits so that it stays finite for logits of ±100.

    Args:
        real_logits: (B,) torch tensor, D on real samples.  fake_logits: (B,) D on generated ones.

    Returns:
        The loss: a scalar torch tensor, differentiable with respect to the logits.
    """
    raise NotImplementedError


def generator_loss(fake_logits):
    """The generator's non-saturating loss: the mean of -log σ(fake logit), from the logits.

    Returns:
        A scalar torch tensor, differentiable with respect to fake_logits.
    """
    raise NotImplementedError
''',
)


def _scalar(value, what: str) -> torch.Tensor:
    """The student's loss as a scalar tensor connected to the graph, or `Fail`."""
    if not isinstance(value, torch.Tensor):
        raise Fail(
            f"{what} should return a torch tensor, got {type(value).__name__} "
            "(keep it a tensor: no .item() or NumPy)"
        )
    if value.numel() != 1:
        raise Fail(f"{what} should return a scalar (the mean), got shape {tuple(value.shape)}")
    return value.reshape(())


def _logits(rng, B: int, scale: float = 3.0) -> torch.Tensor:
    return torch.as_tensor(scale * rng.standard_normal(B))


def _gan_mistakes(real, fake) -> dict:
    return {
        "labels-swapped": discriminator_bce(fake, real),
        "probabilities": non_finite,
    }


@gan_losses.check("discriminator loss", weight=2)
def _(s, rng):
    for B in (1, 5, 64):
        real, fake = _logits(rng, B), _logits(rng, B)
        got = _scalar(s.discriminator_loss(real, fake), "discriminator_loss")
        expect_close(
            got,
            discriminator_loss(real, fake),
            f"the loss for B = {B}",
            mistakes=_gan_mistakes(real, fake),
        )


def _minimax(fake) -> dict:
    minimax = [dllab_generator_loss("minimax", fake), -dllab_generator_loss("minimax", fake)]
    return {"minimax": [m.item() for m in minimax]}


@gan_losses.check("non-saturating generator loss")
def _(s, rng):
    for B in (1, 5, 64):
        fake = _logits(rng, B)
        got = _scalar(s.generator_loss(fake), "generator_loss")
        expect_close(got, generator_loss(fake), f"the loss for B = {B}", mistakes=_minimax(fake))


@gan_losses.check("both losses stay finite at logits of ±100")
def _(s, rng):
    extreme = torch.tensor([-100.0, -30.0, 0.0, 30.0, 100.0], dtype=torch.float64)
    real, fake = extreme, extreme.flip(0)
    mistakes = {"probabilities": non_finite}
    got = _scalar(s.discriminator_loss(real, fake), "discriminator_loss")
    expect_close(got, discriminator_loss(real, fake), "the discriminator loss", mistakes=mistakes)
    got = _scalar(s.generator_loss(fake), "generator_loss")
    expect_close(got, generator_loss(fake), "the generator loss", mistakes=mistakes)


def _gradient(loss: torch.Tensor, logits: torch.Tensor, what: str) -> np.ndarray:
    if not loss.requires_grad:
        raise Fail(f"{what} is not connected to the logits: compute it with torch operations")
    (grad,) = torch.autograd.grad(loss, logits)
    return grad.numpy()


@gan_losses.check("gradients with respect to the logits")
def _(s, rng):
    real, fake = (_logits(rng, 7).requires_grad_(True) for _ in range(2))
    for logits, name in ((real, "real"), (fake, "fake")):
        got = _scalar(s.discriminator_loss(real, fake), "discriminator_loss")
        want = _gradient(discriminator_loss(real, fake), logits, "")
        expect_close(
            _gradient(got, logits, "discriminator_loss"), want, f"d loss / d {name}_logits"
        )
    got = _scalar(s.generator_loss(fake), "generator_loss")
    expect_close(
        _gradient(got, fake, "generator_loss"),
        _gradient(generator_loss(fake), fake, ""),
        "d generator loss / d fake_logits",
    )


@gan_losses.check("the generator's gradient survives a confident discriminator")
def _(s, rng):
    fake = torch.full((8,), -10.0, dtype=torch.float64, requires_grad=True)  # σ(-10) ≈ 4.5e-5
    grad = _gradient(_scalar(s.generator_loss(fake), "generator_loss"), fake, "generator_loss")
    expect(
        np.all(np.abs(grad) > 0.5 / 8),
        f"when D gives the fakes logit -10 your generator's gradient is {grad[0]:.2g} per "
        f"logit; the non-saturating loss keeps it near -1/B = {-1 / 8:.3f}",
        tuple(recognised(grad, {"minimax": lambda g: np.all(np.abs(g) < 1e-3)})),
    )


class StudentGANTask(GANTask):
    """The engine's GAN task with the student's two losses."""

    def __init__(self, submission):
        super().__init__("non_saturating", ema_decay=0.99)
        self.submission = submission

    def discriminator_loss(self, model, real, fake, y):
        real_logits = model.discriminator(real).reshape(-1)
        fake_logits = model.discriminator(fake).reshape(-1)
        loss = self.submission.discriminator_loss(real_logits, fake_logits)
        return _scalar(loss, "discriminator_loss"), {}

    def generator_step_loss(self, model, fake, real, y):
        loss = self.submission.generator_loss(model.discriminator(fake).reshape(-1))
        return _scalar(loss, "generator_loss"), {}


RING_TARGET = 7  # modes of 8; the engine's own losses capture 8


def ring_modes(submission, rng, steps: int = 1500) -> int:
    """Modes of the ring of 8 captured by a small GAN (2 hidden layers of 64) trained with the
    submission's losses: Adam (lr 1e-3, β1 = 0.5), batches of 256, 1,500 steps, scored on 2,500
    samples of the generator's moving average (about 6 s on one core)."""
    X = data.load("ring8", n=256 * steps, seed=int(rng.integers(2**31))).train[0]
    torch.manual_seed(int(rng.integers(2**31)))
    size = {"num_hiddens": 64, "num_layers": 2}
    model = GAN(gan_generator_2d(**size), gan_discriminator_2d(**size), latent_dim=2)
    trainer = Trainer(model, loss=StudentGANTask(submission), lr=1e-3, quiet=True, device="cpu")
    try:
        trainer.fit(X, num_epochs=1, batch_size=256)
    except DivergenceError as error:
        raise Fail(f"training the GAN with your losses diverged: {error}") from None
    centres, std = mixture_modes("ring8")
    samples = model.sample(torch.randn(2500, 2))
    return dllab_mode_coverage(samples, centres, std)["modes_captured"]


@gan_losses.check("your losses train the ring-of-8 GAN to 7 modes", weight=3, behaviour=True)
def _(s, rng):
    modes = ring_modes(s, rng)
    expect(
        modes >= RING_TARGET,
        f"the GAN trained with your losses captures {modes} of the 8 "
        f"modes; the engine's losses capture all 8 (at least {RING_TARGET} needed)",
    )


# ----------------------------------------------------------------------- gradient penalty


def gradient_penalty(critic, real, fake, eps):
    return dllab_gradient_penalty(critic, real, fake, eps)


penalty = exercise(
    "gradient-penalty",
    unit=4,
    topic="Wasserstein GAN",
    title="WGAN-GP's gradient penalty",
    functions=("gradient_penalty",),
    reference={"gradient_penalty": gradient_penalty},
    imports=TORCH_IMPORTS,
    hints=[
        Hint(
            "batch-norm",
            "The norm is per sample: one L2 norm over each sample's whole gradient, then the "
            "mean of (‖∇‖ - 1)² over the batch; one norm over the whole batch's gradient is a "
            "different penalty.",
        ),
        Hint(
            "eps-swapped",
            "x̂ = ε·real + (1 - ε)·fake: ε weighs the real sample.",
        ),
        Hint(
            "no-create-graph",
            "The penalty must be differentiable with respect to the critic's weights, so the "
            "gradient ∇_x̂ D(x̂) must itself be part of the autograd graph (see autograd's "
            "create_graph option); otherwise the penalty does not train the critic.",
        ),
    ],
    stub='''
def gradient_penalty(critic, real, fake, eps):
    """WGAN-GP's gradient penalty (Gulrajani et al., 2017, Algorithm 1).

    Interpolate x̂ = ε·real + (1 - ε)·fake, one ε per sample; the penalty is the mean over the
    batch of (‖∇_x̂ critic(x̂)‖₂ - 1)², the norm taken over each sample's whole gradient. The
    penalty is added to the critic's loss, so it must be differentiable with respect to the
    critic's parameters.

    Args:
        critic: a torch module, (B, ...) -> (B, 1) scores.
        real, fake: (B, ...) torch tensors.  eps: (B, 1, ...) torch tensor of weights in [0, 1].

    Returns:
        A scalar torch tensor.
    """
    raise NotImplementedError
''',
)


def _critic(in_features: int) -> nn.Module:
    """A smooth critic (tanh), so second derivatives are not zero."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(in_features, 16), nn.Tanh(), nn.Linear(16, 1)
    ).double()


def _penalty_case(rng, shape):
    real = torch.as_tensor(rng.standard_normal(shape))
    fake = torch.as_tensor(rng.standard_normal(shape))
    eps = torch.as_tensor(rng.uniform(0, 1, (shape[0],) + (1,) * (len(shape) - 1)))
    return real, fake, eps


def _penalty_mistakes(critic, real, fake, eps) -> dict:
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return {
        "batch-norm": ((grad.norm() - 1) ** 2).item(),
        "eps-swapped": dllab_gradient_penalty(critic, fake, real, eps).item(),
    }


def _penalty_values_check(name: str, shapes, weight: int) -> None:
    @penalty.check(name, weight=weight)
    def _(s, rng):
        for shape in shapes:
            critic = _critic(int(np.prod(shape[1:])))
            case = _penalty_case(rng, shape)
            got = _scalar(s.gradient_penalty(critic, *case), "gradient_penalty")
            expect_close(
                got,
                gradient_penalty(critic, *case),
                f"the penalty for samples {shape}",
                mistakes=_penalty_mistakes(critic, *case),
            )


_penalty_values_check("values on 2-D points", [(1, 2), (5, 2), (64, 2)], 2)
_penalty_values_check("values on images: one norm per sample", [(3, 1, 4, 4), (2, 3, 2, 5)], 2)


@penalty.check("a linear critic gives (‖w‖ - 1)²")
def _(s, rng):
    critic = nn.Linear(3, 1).double()
    w = critic.weight.detach().numpy()
    got = _scalar(s.gradient_penalty(critic, *_penalty_case(rng, (6, 3))), "gradient_penalty")
    expect_close(got, (np.linalg.norm(w) - 1) ** 2, "the penalty of a linear critic")


@penalty.check("the penalty's gradient reaches the critic's weights", weight=2)
def _(s, rng):
    critic = _critic(2)
    case = _penalty_case(rng, (9, 2))
    got = _scalar(s.gradient_penalty(critic, *case), "gradient_penalty")
    params = list(critic.parameters())
    if not got.requires_grad:
        raise Fail("the penalty does not depend on the critic's weights", ("no-create-graph",))
    got_grads = torch.autograd.grad(got, params, allow_unused=True)
    want_grads = torch.autograd.grad(gradient_penalty(critic, *case), params, allow_unused=True)
    if all(g is None for g in got_grads):
        raise Fail("the penalty does not reach the critic's weights", ("no-create-graph",))
    for (name, param), g, w in zip(critic.named_parameters(), got_grads, want_grads):
        zero = torch.zeros_like(param)  # autograd gives None for a parameter it does not reach
        expect_close(zero if g is None else g, zero if w is None else w, f"d penalty / d {name}")


# -------------------------------------------------------------------------- mode coverage


def mode_coverage(X, centres, std):
    scores = dllab_mode_coverage(torch.as_tensor(np.asarray(X)), np.asarray(centres), std)
    return scores["modes_captured"], scores["high_quality_fraction"]


coverage = exercise(
    "mode-coverage",
    unit=4,
    topic="mode collapse",
    title="Mode coverage and the high-quality fraction of 2-D samples",
    functions=("mode_coverage",),
    reference={"mode_coverage": mode_coverage},
    hints=[
        Hint(
            "threshold",
            "A sample is high quality within 3 standard deviations of its nearest mode: "
            "distance <= 3·std (not std, not 3·std²).",
        ),
        Hint(
            "no-quality",
            "A mode counts as captured only when a high-quality sample falls on it: a sample "
            "far from every mode still has a nearest mode, but captures none.",
        ),
    ],
    stub='''
def mode_coverage(X, centres, std):
    """How well samples of a generator cover a mixture of Gaussians (VEEGAN, §5.1).

    A sample is high quality when its distance to the nearest mode centre is at most 3·std. A
    mode is captured when at least one high-quality sample has it as its nearest mode.

    Args:
        X: (N, 2) samples.  centres: (K, 2) the modes' centres.  std: the modes' standard deviation.

    Returns:
        (modes_captured, high_quality_fraction): an int in 0..K and a float in [0, 1].
    """
    raise NotImplementedError
''',
)


def _coverage(s, X, centres, std):
    got = unpack(
        s.mode_coverage(X, centres, std),
        "mode_coverage",
        ("modes_captured", "high_quality_fraction"),
    )
    return as_array(got[0], "modes_captured", ()), as_array(got[1], "high_quality_fraction", ())


def _coverage_expect(s, X, centres, std, what: str) -> None:
    modes, fraction = mode_coverage(X, centres, std)
    got_modes, got_fraction = _coverage(s, X, centres, std)
    nearest = np.linalg.norm(X[:, None] - centres[None], axis=2).argmin(1)  # (N,)
    variants = [mode_coverage(X, centres, t) for t in (std / 3, std**2)]  # thresholds std, 3 std²
    mistakes = {
        "threshold": lambda got: any(
            np.isclose(got, v[0]) and np.isclose(got_fraction, v[1]) for v in variants
        ),
        "no-quality": lambda got: (
            len(np.unique(nearest)) != modes and np.isclose(got, len(np.unique(nearest)))
        ),
    }
    expect_close(got_modes, modes, f"modes_captured for {what}", mistakes=mistakes)
    expect_close(
        got_fraction,
        fraction,
        f"high_quality_fraction for {what}",
        mistakes={"threshold": lambda got: any(np.isclose(got, v[1]) for v in variants)},
    )


@coverage.check("samples around random modes", weight=2)
def _(s, rng):
    for _ in range(4):
        K, std = int(rng.integers(3, 9)), float(rng.uniform(0.05, 0.2))
        centres = rng.uniform(-5, 5, (K, 2))
        on = centres[rng.integers(0, K // 2 + 1, 200)] + std * rng.standard_normal((200, 2))
        X = np.concatenate([on, rng.uniform(-6, 6, (50, 2))])  # half the modes, plus stragglers
        _coverage_expect(s, X, centres, std, f"{len(X)} samples and {K} modes")


@coverage.check("a collapsed generator covers one mode")
def _(s, rng):
    centres, std = mixture_modes("ring8")
    X = centres[3] + 0.5 * std * rng.standard_normal((500, 2))
    _coverage_expect(s, X, centres, std, "samples on one mode of the ring")


@coverage.check("samples far from every mode capture none")
def _(s, rng):
    centres, std = mixture_modes("ring8")
    X = rng.uniform(-0.5, 0.5, (300, 2))  # inside the ring, far from its modes
    _coverage_expect(s, X, centres, std, "samples near the ring's centre")


@coverage.check("the ring's own samples cover all 8 modes")
def _(s, rng):
    centres, std = mixture_modes("ring8")
    X = data.load("ring8", n=2500, seed=int(rng.integers(2**31))).train[0].double().numpy()
    _coverage_expect(s, X, centres, std, "real samples of the ring")
