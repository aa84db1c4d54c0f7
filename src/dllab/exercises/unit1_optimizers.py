"""Unit I exercises on "SGD and its variants": one update step of SGD with momentum and Nesterov
momentum (Sutskever et al., 2013), RMSProp (Tieleman & Hinton, 2012) and Adam with bias
correction (Kingma & Ba, 2015, Alg. 1), in PyTorch's arithmetic.

The references are `dllab.scratch.optim`'s optimizers, stepped once on a one-parameter layer.
"""

import numpy as np

from dllab import scratch
from dllab.exercises.adapters import holder, loaded
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import as_array, expect, expect_close, unpack

TOPIC = "SGD and its variants"
PARAM_SHAPES = [(1,), (3,), (2, 4), (5, 3)]


def _engine_step(make_optimizer, param, grad, state: dict) -> tuple[np.ndarray, dict]:
    """One step of an engine optimizer from `state`; returns the new parameter and state."""
    layer = loaded(holder(p=grad), p=param)
    optimizer = make_optimizer(layer)
    optimizer.state[(0, "p")] = {k: np.array(v, dtype=np.float64) for k, v in state.items()}
    optimizer.step()
    return layer.params["p"], optimizer.state[(0, "p")]


def _returns(s, function: str, names: tuple[str, ...], shape, *args) -> list[np.ndarray]:
    got = unpack(getattr(s, function)(*args), function, names)
    return [as_array(value, name, shape) for value, name in zip(got, names)]


def _quadratic(rng, n: int) -> np.ndarray:
    """A random positive-definite A (n, n): f(θ) = ½ θᵀ A θ, ∇f = A θ."""
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return Q @ np.diag(rng.uniform(0.1, 2.0, n)) @ Q.T


# --------------------------------------------------------------------- SGD with momentum


def sgd_momentum_step(param, grad, velocity, lr, momentum, nesterov=False):
    def make(layer):
        return scratch.SGD(layer, lr, momentum=momentum, nesterov=nesterov)

    param, state = _engine_step(make, param, grad, {"buf": velocity})
    return param, state["buf"] if momentum else np.array(grad, dtype=np.float64)


momentum = exercise(
    "sgd-momentum",
    unit=1,
    topic=TOPIC,
    title="SGD with momentum and Nesterov momentum",
    functions=("sgd_momentum_step",),
    reference={"sgd_momentum_step": sgd_momentum_step},
    hints=[
        Hint(
            "velocity-with-lr",
            "Your velocity includes the learning rate (v ← μv - lr·g, the form of Sutskever et "
            "al.). Here the velocity accumulates gradients, v ← μv + g, and the step is "
            "-lr·v, as in PyTorch: the two agree only while lr stays constant.",
        ),
        Hint(
            "old-velocity",
            "The step uses the velocity before this step's update: first v ← μv + g, then "
            "θ ← θ - lr·v with the new v.",
        ),
        Hint(
            "nesterov-ignored",
            "Your Nesterov step equals plain momentum. Nesterov looks ahead: the step is "
            "g + μv (with the new v) instead of v.",
        ),
    ],
    stub='''
def sgd_momentum_step(param, grad, velocity, lr, momentum, nesterov=False):
    """One step of stochastic gradient descent with momentum, in PyTorch's form.

    The velocity accumulates gradients: it is multiplied by the momentum μ and the new gradient
    is added (it starts at zeros). Plain momentum then steps the parameter by -lr times the new
    velocity; Nesterov momentum steps by -lr times (the gradient + μ times the new velocity).

    Args:
        param: the parameter (any shape).  grad: its gradient (same shape).
        velocity: the velocity before this step (same shape; zeros at the first step).
        lr: the learning rate.  momentum: μ in [0, 1).  nesterov: Nesterov momentum or plain.

    Returns:
        (param_new, velocity_new), both shaped like param.
    """
    raise NotImplementedError
''',
)


def _momentum_case(rng):
    shape = PARAM_SHAPES[int(rng.integers(len(PARAM_SHAPES)))]
    param, grad, velocity = (rng.standard_normal(shape) for _ in range(3))
    return param, grad, velocity, float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))


def _momentum_step(s, param, grad, velocity, lr, mu, nesterov):
    names = ("param_new", "velocity_new")
    args = (param, grad, velocity, lr, mu, nesterov)
    return _returns(s, "sgd_momentum_step", names, param.shape, *args)


def _momentum_check(name: str, nesterov: bool) -> None:
    @momentum.check(name)
    def _(s, rng):
        for _ in range(4):
            param, grad, velocity, lr, mu = _momentum_case(rng)
            want_p, want_v = sgd_momentum_step(param, grad, velocity, lr, mu, nesterov)
            got_p, got_v = _momentum_step(s, param, grad, velocity, lr, mu, nesterov)
            sutskever = mu * velocity - lr * grad
            expect_close(got_v, want_v, "velocity_new", mistakes={"velocity-with-lr": sutskever})
            mistakes = {
                "velocity-with-lr": param + sutskever,
                "old-velocity": param - lr * velocity,
            }
            if nesterov:
                mistakes["nesterov-ignored"] = param - lr * want_v
            expect_close(got_p, want_p, "param_new", mistakes=mistakes)


_momentum_check("one step with momentum", nesterov=False)
_momentum_check("one step with Nesterov momentum", nesterov=True)


@momentum.check("momentum 0 is plain SGD")
def _(s, rng):
    param, grad, velocity, lr, _ = _momentum_case(rng)
    velocity = np.zeros_like(param)
    got_p, got_v = _momentum_step(s, param, grad, velocity, lr, 0.0, False)
    expect_close(got_p, param - lr * grad, "param_new with momentum 0")
    expect_close(got_v, grad, "velocity_new with momentum 0 (= the gradient)")


@momentum.check("100 steps on a quadratic follow the reference", weight=2)
def _(s, rng):
    for nesterov in (False, True):
        A = _quadratic(rng, 4)
        theta = want = rng.standard_normal(4)
        v = v_want = np.zeros(4)
        for _ in range(100):
            theta, v = _momentum_step(s, theta, A @ theta, v, 0.05, 0.9, nesterov)
            want, v_want = sgd_momentum_step(want, A @ want, v_want, 0.05, 0.9, nesterov)
        kind = "Nesterov" if nesterov else "momentum"
        expect_close(theta, want, f"θ after 100 {kind} steps on ½θᵀAθ", rtol=1e-5, atol=1e-8)


@momentum.check("momentum crosses a long narrow valley faster than plain SGD")
def _(s, rng):
    A = np.diag([1.0, 50.0])  # f(θ) = ½ (θ₁² + 50 θ₂²): slow along θ₁ at a safe lr
    losses = {}
    for mu in (0.0, 0.9):
        theta, v = np.array([10.0, 1.0]), np.zeros(2)
        for _ in range(100):
            theta, v = _momentum_step(s, theta, A @ theta, v, 0.015, mu, False)
        losses[mu] = 0.5 * theta @ A @ theta
    expect(
        losses[0.9] < 0.01 * losses[0.0],
        f"after 100 steps f = {losses[0.9]:.3g} with momentum 0.9 and {losses[0.0]:.3g} "
        "without: momentum should be far ahead",
    )


# ------------------------------------------------------------------------------- RMSProp


def rmsprop_step(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    def make(layer):
        return scratch.RMSProp(layer, lr, alpha=alpha, eps=eps)

    param, state = _engine_step(make, param, grad, {"square_avg": square_avg})
    return param, state["square_avg"]


rmsprop = exercise(
    "rmsprop",
    unit=1,
    topic=TOPIC,
    title="RMSProp",
    functions=("rmsprop_step",),
    reference={"rmsprop_step": rmsprop_step},
    hints=[
        Hint(
            "eps-inside-sqrt",
            "ε goes outside the square root: divide by √s + ε (PyTorch's RMSProp), not √(s + ε).",
        ),
        Hint(
            "average-of-g",
            "s is a moving average of the squared gradient: s ← αs + (1 - α)·g², not of g.",
        ),
        Hint(
            "no-sqrt",
            "Divide the gradient by the root mean square, √s + ε: s alone has the units of g².",
        ),
    ],
    stub='''
def rmsprop_step(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    """One step of RMSProp, in PyTorch's form.

    square_avg is a moving average of the squared gradient: it decays by α and gains (1 - α)
    times the new squared gradient. The parameter then steps by -lr times the gradient divided
    by (the square root of the new square_avg, plus ε).

    Args:
        param: the parameter (any shape).  grad: its gradient (same shape).
        square_avg: the average before this step (same shape; zeros at the first step).
        lr: the learning rate.  alpha: the decay α.  eps: ε, which keeps the division safe.

    Returns:
        (param_new, square_avg_new), both shaped like param.
    """
    raise NotImplementedError
''',
)


def _rmsprop_case(rng, eps=1e-8):
    shape = PARAM_SHAPES[int(rng.integers(len(PARAM_SHAPES)))]
    param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
    return param, grad, rng.uniform(0, 2, shape), float(rng.uniform(0.001, 0.1)), 0.9, eps


def _rmsprop_returns(s, param, grad, square_avg, lr, alpha, eps):
    names = ("param_new", "square_avg_new")
    args = (param, grad, square_avg, lr, alpha, eps)
    return _returns(s, "rmsprop_step", names, param.shape, *args)


def _rmsprop_check(name: str, eps: float) -> None:
    @rmsprop.check(name)
    def _(s, rng):
        for _ in range(4):
            param, grad, avg, lr, alpha, eps_ = _rmsprop_case(rng, eps)
            want_p, want_s = rmsprop_step(param, grad, avg, lr, alpha, eps_)
            got_p, got_s = _rmsprop_returns(s, param, grad, avg, lr, alpha, eps_)
            of_g = alpha * avg + (1 - alpha) * grad
            expect_close(got_s, want_s, "square_avg_new", mistakes={"average-of-g": of_g})
            mistakes = {
                "eps-inside-sqrt": param - lr * grad / np.sqrt(want_s + eps_),
                "no-sqrt": param - lr * grad / (want_s + eps_),
            }
            expect_close(got_p, want_p, "param_new", mistakes=mistakes)


_rmsprop_check("one step", eps=1e-8)
_rmsprop_check("one step with a large ε (0.5)", eps=0.5)


@rmsprop.check("50 steps on a quadratic follow the reference", weight=2)
def _(s, rng):
    A = _quadratic(rng, 4)
    theta = want = rng.standard_normal(4)
    avg = avg_want = np.zeros(4)
    for _ in range(50):
        theta, avg = _rmsprop_returns(s, theta, A @ theta, avg, 0.01, 0.99, 1e-8)
        want, avg_want = rmsprop_step(want, A @ want, avg_want, 0.01, 0.99, 1e-8)
    expect_close(theta, want, "θ after 50 RMSProp steps on ½θᵀAθ", rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------- Adam


def adam_step(param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    def make(layer):
        return scratch.Adam(layer, lr, betas=(beta1, beta2), eps=eps)

    param, state = _engine_step(make, param, grad, {"t": t - 1, "m": m, "v": v})
    return param, state["m"], state["v"]


adam = exercise(
    "adam",
    unit=1,
    topic=TOPIC,
    title="Adam with bias correction",
    functions=("adam_step",),
    reference={"adam_step": adam_step},
    hints=[
        Hint(
            "no-bias-correction",
            "Your step leaves out the bias correction. m and v start at 0, so early on they "
            "underestimate the moments: divide by 1 - β₁ᵗ and 1 - β₂ᵗ (m̂ = m / (1 - β₁ᵗ), "
            "v̂ = v / (1 - β₂ᵗ)) before θ ← θ - lr·m̂ / (√v̂ + ε).",
        ),
        Hint(
            "t-off-by-one",
            "t counts steps from 1: the first step corrects with 1 - β₁¹, not 1 - β₁⁰ (which is "
            "0) or 1 - β₁².",
        ),
        Hint(
            "v-of-g",
            "v is the moving average of the squared gradient: v ← β₂v + (1 - β₂)·g².",
        ),
    ],
    stub='''
def adam_step(param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction.

    m and v are moving averages of the gradient and of the squared gradient (decay β₁ and β₂).
    Both start at zeros, which biases them towards 0 in the first steps; dividing m by
    1 - β₁ᵗ and v by 1 - β₂ᵗ corrects that. The parameter steps by -lr times the corrected m
    divided by (the square root of the corrected v, plus ε).

    Args:
        param: the parameter (any shape).  grad: its gradient (same shape).
        m, v: the moments before this step (same shape; zeros before the first step).
        t: the number of this step, counting from 1.  lr: the learning rate.
        beta1, beta2: the decays β₁ and β₂.  eps: ε.

    Returns:
        (param_new, m_new, v_new), all shaped like param.
    """
    raise NotImplementedError
''',
)


def _adam_returns(s, param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    names = ("param_new", "m_new", "v_new")
    args = (param, grad, m, v, t, lr, beta1, beta2, eps)
    return _returns(s, "adam_step", names, param.shape, *args)


def _adam_mistakes(param, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    shifted = [adam_step(param, grad, m, v, t + d, lr, beta1, beta2, eps)[0] for d in (-1, 1)]
    return {
        "no-bias-correction": param - lr * m_new / (np.sqrt(v_new) + eps),
        "t-off-by-one": shifted,
    }


@adam.check("the first step moves every parameter by about lr")
def _(s, rng):
    for shape in PARAM_SHAPES:
        param, grad = rng.standard_normal(shape), rng.standard_normal(shape)
        zeros = np.zeros(shape)
        got = _adam_returns(s, param, grad, zeros, zeros, 1, 0.01)[0]
        mistakes = _adam_mistakes(param, grad, zeros, zeros, 1, 0.01)
        expect_close(
            got,
            adam_step(param, grad, zeros, zeros, 1, 0.01)[0],
            "param_new at t = 1",
            mistakes=mistakes,
        )


@adam.check("the moments m and v")
def _(s, rng):
    for shape in PARAM_SHAPES:
        param, grad, m = (rng.standard_normal(shape) for _ in range(3))
        v, t = rng.uniform(0, 2, shape), int(rng.integers(1, 50))
        _, want_m, want_v = adam_step(param, grad, m, v, t, 0.01)
        _, got_m, got_v = _adam_returns(s, param, grad, m, v, t, 0.01)
        expect_close(got_m, want_m, "m_new")
        expect_close(got_v, want_v, "v_new", mistakes={"v-of-g": 0.999 * v + 0.001 * grad})


@adam.check("one step at a random step number t")
def _(s, rng):
    for shape in PARAM_SHAPES:
        param, grad, m = (rng.standard_normal(shape) for _ in range(3))
        v, t = rng.uniform(0, 2, shape), int(rng.integers(2, 30))
        beta1, beta2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))
        args = (param, grad, m, v, t, 0.01, beta1, beta2, 1e-8)
        got = _adam_returns(s, *args)[0]
        expect_close(
            got, adam_step(*args)[0], f"param_new at t = {t}", mistakes=_adam_mistakes(*args)
        )


@adam.check("100 steps on a quadratic follow the reference", weight=2)
def _(s, rng):
    A = _quadratic(rng, 4)
    theta = want = rng.standard_normal(4)
    m = v = m_want = v_want = np.zeros(4)
    for t in range(1, 101):
        theta, m, v = _adam_returns(s, theta, A @ theta, m, v, t, 0.05)
        want, m_want, v_want = adam_step(want, A @ want, m_want, v_want, t, 0.05)
    expect_close(theta, want, "θ after 100 Adam steps on ½θᵀAθ", rtol=1e-5, atol=1e-8)
