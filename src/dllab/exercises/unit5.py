"""Unit V exercises: the VAE's reparameterisation and Gaussian KL term (Kingma & Welling, 2014,
§2.4 and App. B), the denoising autoencoder's corruptions (Vincent et al., 2010, §4.2) and the
sparse autoencoder's KL(ρ‖ρ̂) penalty (Ng, 2011, §2.3).

References: `dllab.models.vae`'s `VAE.reparameterize` and `gaussian_kl`,
`dllab.models.autoencoder`'s `corrupt` and `sparsity_kl` (gradients by autograd). The VAE
exercise is about PyTorch itself (gradients flow through z), so its stub takes and returns
torch tensors.
"""

from functools import partial
from unittest import mock

import numpy as np
import torch

from dllab import data
from dllab.engine import Trainer
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import Fail, as_array, expect, expect_close, expect_gradient
from dllab.models.autoencoder import corrupt
from dllab.models.autoencoder import sparsity_kl as dllab_sparsity_kl
from dllab.models.vae import ELBO, VAE, vae_digits
from dllab.models.vae import gaussian_kl as dllab_gaussian_kl

# -------------------------------------------------------------- VAE reparameterisation


def reparameterize(mu, logvar, eps):
    """`VAE.reparameterize` with its noise ε given (it draws ε by torch.randn_like)."""
    with mock.patch("torch.randn_like", lambda like: eps):
        return VAE.reparameterize(None, mu, logvar)


def gaussian_kl(mu, logvar):
    return dllab_gaussian_kl(mu, logvar)


vae = exercise(
    "vae-reparameterization",
    unit=5,
    topic="variational autoencoder",
    title="The VAE's reparameterisation trick and its KL term",
    functions=("reparameterize", "gaussian_kl"),
    reference={"reparameterize": reparameterize, "gaussian_kl": gaussian_kl},
    imports="import torch",
    hints=[
        Hint(
            "std-from-logvar",
            "The encoder gives log σ², so the standard deviation is σ = exp(½·log σ²): "
            "z = μ + exp(0.5·logvar)·ε, not exp(logvar)·ε (that is σ²) or logvar·ε.",
        ),
        Hint(
            "logvar-as-log-sigma",
            "Your KL treats logvar as log σ. It is log σ²: "
            "KL = -½ Σ (1 + log σ² - μ² - σ²) with σ² = exp(logvar).",
        ),
        Hint(
            "kl-mean",
            "The KL of a diagonal Gaussian is a sum over the code's k dimensions, one value per "
            "sample; a mean divides it by k.",
        ),
    ],
    stub='''
def reparameterize(mu, logvar, eps):
    """The reparameterisation trick (Kingma & Welling, 2014, §2.4): a code z ~ N(μ, σ²) written
    as a function of μ and σ and independent noise ε ~ N(0, I), so that gradients flow
    through μ and σ: z = μ + σ ⊙ ε. The encoder gives logvar = log σ².

    Args:
        mu, logvar, eps: (B, k) torch tensors.

    Returns:
        z: (B, k) torch tensor, differentiable with respect to mu and logvar.
    """
    raise NotImplementedError


def gaussian_kl(mu, logvar):
    """KL(N(μ, σ²) || N(0, I)) for each sample, in closed form (Kingma & Welling, Appendix B):
    minus one half of the sum over the k dimensions of (1 + log σ² - μ² - σ²).

    Args:
        mu, logvar: (B, k) torch tensors (logvar = log σ²).

    Returns:
        (B,) torch tensor, differentiable with respect to mu and logvar.
    """
    raise NotImplementedError
''',
)

CODE_SHAPES = [(1, 1), (4, 2), (16, 8)]


def _tensors(rng, shape, *scales):
    return [torch.as_tensor(scale * rng.standard_normal(shape)) for scale in scales]


def _tensor(value, what: str, shape) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} should be a torch tensor, got {type(value).__name__}")
    as_array(value, what, shape)
    return value


@vae.check("z = μ + σ ⊙ ε", weight=2)
def _(s, rng):
    for shape in CODE_SHAPES:
        mu, logvar, eps = _tensors(rng, shape, 1.0, 1.0, 1.0)
        variants = [mu + logvar.exp() * eps, mu + logvar * eps, mu + (2 * logvar).exp() * eps]
        mistakes = {"std-from-logvar": [v.numpy() for v in variants]}
        got = _tensor(s.reparameterize(mu, logvar, eps), "z", shape)
        expect_close(
            got, reparameterize(mu, logvar, eps), f"z for codes {shape}", mistakes=mistakes
        )


@vae.check("gradients flow through μ and log σ²")
def _(s, rng):
    mu, logvar, eps = _tensors(rng, (5, 3), 1.0, 1.0, 1.0)
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    z = _tensor(s.reparameterize(mu, logvar, eps), "z", (5, 3))
    if not z.requires_grad:
        raise Fail(
            "z does not depend on mu and logvar through torch operations: the gradient "
            "cannot reach the encoder"
        )
    g = torch.as_tensor(rng.standard_normal((5, 3)))
    got = torch.autograd.grad(z, (mu, logvar), g, allow_unused=True)
    want = torch.autograd.grad(reparameterize(mu, logvar, eps), (mu, logvar), g)
    for name, a, b in zip(("mu", "logvar"), got, want):
        expect(a is not None, f"z does not depend on {name}")
        expect_close(a, b, f"dL/d{name} through z")


def _kl_mistakes(mu, logvar) -> dict:
    return {
        "logvar-as-log-sigma": -0.5 * (1 + 2 * logvar - mu**2 - (2 * logvar).exp()).sum(1),
        "kl-mean": dllab_gaussian_kl(mu, logvar) / mu.shape[1],
    }


@vae.check("the KL term per sample", weight=2)
def _(s, rng):
    for shape in CODE_SHAPES:
        mu, logvar = _tensors(rng, shape, 1.0, 1.0)
        got = _tensor(s.gaussian_kl(mu, logvar), "the KL", shape[:1])
        expect_close(
            got,
            gaussian_kl(mu, logvar),
            f"the KL for codes {shape}",
            mistakes={k: v.numpy() for k, v in _kl_mistakes(mu, logvar).items()},
        )


@vae.check("the KL is 0 at the prior and positive elsewhere")
def _(s, rng):
    zeros = torch.zeros(3, 4, dtype=torch.float64)
    expect_close(
        _tensor(s.gaussian_kl(zeros, zeros), "the KL", (3,)), np.zeros(3), "the KL at μ = 0, σ = 1"
    )
    mu, logvar = _tensors(rng, (6, 4), 1.0, 1.0)
    got = as_array(_tensor(s.gaussian_kl(mu, logvar), "the KL", (6,)), "the KL")
    expect(np.all(got > 0), f"the KL is {got.min():.4g} for some sample; a KL divergence is >= 0")


@vae.check("the KL's gradient")
def _(s, rng):
    mu, logvar = (t.requires_grad_(True) for t in _tensors(rng, (4, 3), 1.0, 1.0))
    got = _tensor(s.gaussian_kl(mu, logvar), "the KL", (4,))
    if not got.requires_grad:
        raise Fail("the KL does not depend on mu and logvar through torch operations")
    got = torch.autograd.grad(got.sum(), (mu, logvar), allow_unused=True)
    want = torch.autograd.grad(gaussian_kl(mu, logvar).sum(), (mu, logvar))
    for name, a, b in zip(("mu", "logvar"), got, want):
        expect(a is not None, f"the KL does not depend on {name}")
        expect_close(a, b, f"d KL / d {name}")


class StudentVAE(VAE):
    """The engine's VAE drawing its codes through the student's reparameterisation."""

    def reparameterize(self, mu, logvar):
        z = self.submission.reparameterize(mu, logvar, torch.randn_like(mu))
        return _tensor(z, "z", tuple(mu.shape))


ELBO_GAP = 2.0  # nats: how far below the reference's test ELBO the student's may be


def digits_elbo(submission=None, seed: int = 0) -> float:
    """Test ELBO (nats) of a VAE on the digits (64-128-64-2, Bernoulli pixels, Adam lr 3e-3,
    15 epochs, about a second) trained with `submission`'s reparameterisation (the reference's
    when None), scored with the reference's: the ELBO is the model's, however it was trained."""
    digits = data.load("digits")
    torch.manual_seed(seed)
    model = vae_digits(latent_dim=2, num_hiddens=(128, 64))
    if submission is not None:
        model.__class__, model.submission = StudentVAE, submission
    Trainer(model, loss=ELBO(), lr=3e-3, quiet=True, seed=seed, device="cpu").fit(
        digits.train[0], num_epochs=15, batch_size=64
    )
    model.__class__ = VAE
    torch.manual_seed(seed)  # the same code samples for every model scored
    with torch.no_grad():
        _, logs = ELBO().compute(model.eval(), (digits.test[0],))
    return float(logs["elbo"])


@vae.check("a VAE trained with your z reaches the reference's ELBO", weight=2, behaviour=True)
def _(s, rng):
    seed = int(rng.integers(2**31))
    want, got = digits_elbo(None, seed), digits_elbo(s, seed)
    expect(
        got >= want - ELBO_GAP,
        f"the VAE trained with your reparameterisation reaches a test "
        f"ELBO of {got:.2f} nats, the reference {want:.2f}: more than {ELBO_GAP:g} nats worse",
    )


# ------------------------------------------------------------------ denoising corruptions


def _corrupt(X, kind, level, rng):
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return corrupt(torch.as_tensor(np.asarray(X)), kind, level, generator).numpy()


def gaussian_noise(X, std, rng):
    return _corrupt(X, "gaussian", std, rng)


def masking_noise(X, fraction, rng):
    return _corrupt(X, "masking", fraction, rng)


def salt_and_pepper(X, fraction, rng):
    return _corrupt(X, "salt_pepper", fraction, rng)


denoising = exercise(
    "denoising-corruptions",
    unit=5,
    topic="denoising autoencoder",
    title="The denoising autoencoder's corruptions",
    functions=("gaussian_noise", "masking_noise", "salt_and_pepper"),
    reference={
        "gaussian_noise": gaussian_noise,
        "masking_noise": masking_noise,
        "salt_and_pepper": salt_and_pepper,
    },
    hints=[
        Hint(
            "variance-as-std",
            "The noise's standard deviation is `std` (its variance std²): standard normal "
            "draws are scaled by std, not by std².",
        ),
        Hint(
            "mask-keep",
            "`fraction` is the share of entries destroyed (set to 0), not of those kept.",
        ),
        Hint(
            "salt-and-pepper",
            "Salt and pepper sets each corrupted entry to 0 or to 1 with equal odds: half "
            "pepper (0), half salt (1).",
        ),
    ],
    stub='''
def gaussian_noise(X, std, rng):
    """Additive Gaussian noise: X + noise, with noise ~ N(0, std²) drawn independently for every
    entry from rng (a numpy.random.Generator). Returns a new array shaped like X."""
    raise NotImplementedError


def masking_noise(X, fraction, rng):
    """Masking noise (Vincent et al., 2010, §4.2): each entry is set to 0 with probability
    `fraction` (independently), the others are kept. Returns a new array shaped like X."""
    raise NotImplementedError


def salt_and_pepper(X, fraction, rng):
    """Salt-and-pepper noise: each entry is corrupted with probability `fraction`; a corrupted
    entry becomes 0 or 1 with equal odds. Returns a new array shaped like X."""
    raise NotImplementedError
''',
)

N_ENTRIES = 200 * 150


def _corrupted(s, function, X, level, rng):
    return as_array(getattr(s, function)(X, level, rng), f"{function}(X)", X.shape)


def _within(value: float, target: float, p: float, what: str, hints=()) -> None:
    """Fail unless the share `value` of N_ENTRIES draws is within 5 standard deviations of
    `target` (p: the probability whose binomial spread sets the tolerance)."""
    tolerance = 5 * np.sqrt(p * (1 - p) / N_ENTRIES)
    expect(
        abs(value - target) < tolerance,
        f"{what} is {value:.4f}, expected {target:g} ± {tolerance:.4f}",
        hints,
    )


@denoising.check("Gaussian noise has mean 0 and standard deviation std", weight=2)
def _(s, rng):
    for std in (0.5, 0.2):
        X = rng.uniform(0, 1, (200, 150))
        noise = _corrupted(s, "gaussian_noise", X, std, rng) - X
        spread = noise.std()
        expect(
            abs(noise.mean()) < 5 * std / np.sqrt(N_ENTRIES),
            f"the noise's mean is {noise.mean():.4f}, expected 0",
        )
        hints = ("variance-as-std",) if abs(spread - std**2) < 0.03 * std**2 else ()
        expect(
            abs(spread - std) < 0.03 * std,
            f"the noise's standard deviation is {spread:.4f}, expected {std}",
            hints,
        )


@denoising.check("masking zeroes a fraction of the entries and keeps the rest", weight=2)
def _(s, rng):
    for fraction in (0.25, 0.6):
        X = rng.uniform(0.1, 1, (200, 150))
        got = _corrupted(s, "masking_noise", X, fraction, rng)
        kept = got != 0
        expect(np.array_equal(got[kept], X[kept]), "masking changed entries it did not set to 0")
        zeroed = 1 - kept.mean()
        hints = ("mask-keep",) if abs(zeroed - (1 - fraction)) < 0.02 else ()
        _within(
            zeroed,
            fraction,
            fraction,
            f"with fraction {fraction} the share of zeroed entries",
            hints,
        )


@denoising.check("salt and pepper sets a fraction of the entries to 0 or 1, half each", weight=2)
def _(s, rng):
    fraction = 0.3
    X = rng.uniform(0.1, 0.9, (200, 150))
    got = _corrupted(s, "salt_and_pepper", X, fraction, rng)
    changed = got != X
    expect(
        np.isin(got[changed], (0.0, 1.0)).all(),
        "salt and pepper set entries to values other than 0 and 1",
    )
    _within(changed.mean(), fraction, fraction, "the share of corrupted entries")
    salt = float((got[changed] == 1).mean()) if changed.any() else 0.0
    hints = ("salt-and-pepper",) if salt in (0.0, 1.0) else ()
    expect(
        abs(salt - 0.5) < 0.03,
        f"{salt:.1%} of the corrupted entries are 1 (salt), expected half",
        hints,
    )


@denoising.check("level 0 changes nothing; each call draws new noise")
def _(s, rng):
    X = rng.uniform(0, 1, (20, 30))
    for function in ("gaussian_noise", "masking_noise", "salt_and_pepper"):
        expect_close(_corrupted(s, function, X, 0.0, rng), X, f"{function}(X) at level 0")
        first, second = (_corrupted(s, function, X, 0.5, rng) for _ in range(2))
        expect(
            not np.array_equal(first, second),
            f"two calls of {function} with the same generator gave the "
            "same corruption: draw the noise from rng",
        )


# -------------------------------------------------------------------- sparsity penalty


def sparsity_kl(rho, h):
    return float(dllab_sparsity_kl(rho, torch.as_tensor(np.asarray(h)).mean(0)))


def sparsity_kl_backward(rho, h):
    h = torch.tensor(np.asarray(h), requires_grad=True)
    dllab_sparsity_kl(rho, h.mean(0)).backward()
    return h.grad.numpy()


sparse = exercise(
    "sparse-kl",
    unit=5,
    topic="sparse autoencoder",
    title="The sparse autoencoder's KL(ρ‖ρ̂) penalty and its gradient",
    functions=("sparsity_kl", "sparsity_kl_backward"),
    reference={"sparsity_kl": sparsity_kl, "sparsity_kl_backward": sparsity_kl_backward},
    hints=[
        Hint(
            "reversed-kl",
            "The penalty is KL(ρ‖ρ̂) = ρ log(ρ/ρ̂) + (1 - ρ) log((1 - ρ)/(1 - ρ̂)), the target ρ "
            "first; KL is not symmetric, and KL(ρ̂‖ρ) is another penalty.",
        ),
        Hint(
            "no-batch-mean",
            "ρ̂_j is the mean over the batch of h[:, j], so each activation moves it by 1/B: "
            "dL/dh[b, j] = (-ρ/ρ̂_j + (1 - ρ)/(1 - ρ̂_j)) / B.",
        ),
        Hint(
            "sign",
            "Your gradient points the wrong way: when ρ̂ > ρ the penalty grows with ρ̂, so its "
            "derivative -ρ/ρ̂ + (1 - ρ)/(1 - ρ̂) is positive there.",
        ),
    ],
    stub='''
def sparsity_kl(rho, h):
    """The sparse autoencoder's penalty (Ng, 2011, §2.3).

    ρ̂_j = the mean over the batch of the code unit j's activation h[:, j] (in (0, 1)). The
    penalty is the sum over the units of KL(ρ‖ρ̂_j) = ρ log(ρ/ρ̂_j) + (1 - ρ) log((1 - ρ)/(1 - ρ̂_j)),
    the divergence of a Bernoulli(ρ̂_j) from the target Bernoulli(ρ).

    Args:
        rho: the target mean activation ρ in (0, 1).  h: (B, k) activations in (0, 1).

    Returns:
        The penalty, a float.
    """
    raise NotImplementedError


def sparsity_kl_backward(rho, h):
    """The gradient of sparsity_kl(rho, h) with respect to the activations h: (B, k)."""
    raise NotImplementedError
''',
)

SPARSE_SHAPES = [(1, 1), (5, 3), (32, 10)]


def _sparse_case(rng, shape):
    return float(rng.uniform(0.02, 0.3)), rng.uniform(0.01, 0.99, shape)


@sparse.check("the penalty's value", weight=2)
def _(s, rng):
    for shape in SPARSE_SHAPES:
        rho, h = _sparse_case(rng, shape)
        q = h.mean(0)
        reversed_kl = float((q * np.log(q / rho) + (1 - q) * np.log((1 - q) / (1 - rho))).sum())
        got = as_array(s.sparsity_kl(rho, h), "the penalty", ())
        expect_close(
            got,
            sparsity_kl(rho, h),
            f"the penalty for h {shape}, ρ = {rho:.3f}",
            mistakes={"reversed-kl": reversed_kl},
        )


@sparse.check("zero when every unit's mean activation is ρ")
def _(s, rng):
    rho = float(rng.uniform(0.05, 0.3))
    h = np.clip(rho + 0.01 * np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.5]]), 0.001, 0.999)
    expect_close(
        as_array(s.sparsity_kl(rho, h), "the penalty", ()),
        0.0,
        f"the penalty at ρ̂ = ρ = {rho:.3f}",
        atol=1e-12,
    )


@sparse.check("gradient with respect to the activations", weight=2)
def _(s, rng):
    for shape in SPARSE_SHAPES:
        rho, h = _sparse_case(rng, shape)
        want = sparsity_kl_backward(rho, h)
        mistakes = {"no-batch-mean": want * shape[0], "sign": -want}
        expect_close(
            s.sparsity_kl_backward(rho, h), want, f"dL/dh for h {shape}", mistakes=mistakes
        )


@sparse.check("gradient matches finite differences")
def _(s, rng):
    rho, h = _sparse_case(rng, (4, 3))
    got = s.sparsity_kl_backward(rho, h)
    expect_gradient(got, partial(sparsity_kl, rho, h), h, "dL/dh")
