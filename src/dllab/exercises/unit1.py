"""Unit I exercises: the perceptron rule (Rosenblatt, 1958), activations, softmax cross-entropy,
a dense layer's backward pass and backpropagation by hand (Rumelhart, Hinton & Williams, 1986),
and the optimizers of `dllab.scratch.optim` (momentum, Sutskever et al., 2013; RMSProp,
Tieleman & Hinton, 2012; Adam, Kingma & Ba, 2015).

The references are the NumPy engine's own layers, losses and optimizers behind thin adapters;
only the perceptron rule, which the engine lacks, is written here.
"""

from functools import partial

import numpy as np

from dllab import data, scratch
from dllab.exercises.adapters import backward, loaded, weight_bias_backward
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import (
    Fail,
    as_array,
    expect,
    expect_close,
    expect_gradient,
    non_finite,
    unpack,
    upstream,
    weighted_loss,
)
from dllab.exercises.submission import StudentError

# ---------------------------------------------------------------- perceptron learning rule


def perceptron_update(w, b, x, y, lr):
    """Rosenblatt's rule (the reference: the engine trains perceptrons by gradient descent)."""
    y_hat = float(np.dot(w, x) + b > 0)
    return w + lr * (y - y_hat) * x, b + lr * (y - y_hat)


perceptron = exercise(
    "perceptron-rule",
    unit=1,
    topic="perceptron vs MLP on XOR/XNOR",
    title="The perceptron learning rule",
    functions=("perceptron_update",),
    reference={"perceptron_update": perceptron_update},
    hints=[
        Hint(
            "sign",
            "Your update moves the weights away from the example it got wrong: the rule adds "
            "lr·(y - ŷ)·x, which points towards x when y = 1 and ŷ = 0.",
        ),
        Hint(
            "bias-not-updated",
            "The bias learns too: b ← b + lr·(y - ŷ), as if it were a weight on a constant "
            "input of 1. Without it every boundary passes through the origin.",
        ),
        Hint(
            "always-update",
            "Your rule changes the weights on an example the perceptron already classifies "
            "right; the error y - ŷ is 0 then, and so is the update.",
        ),
    ],
    stub='''
def perceptron_update(w, b, x, y, lr):
    """One step of Rosenblatt's perceptron learning rule, on one example.

    The perceptron predicts ŷ = 1 when w·x + b > 0 and ŷ = 0 otherwise. The rule moves the
    weights towards an example it labelled 0 but should have labelled 1, away from one it
    labelled 1 but should have labelled 0, and leaves them alone when it was right:
    the change is the learning rate times the error (y - ŷ) times the input.

    Args:
        w: (D,) weights.  b: the bias (a float).  x: (D,) one input.
        y: its label, 0 or 1.  lr: the learning rate (> 0).

    Returns:
        (w_new, b_new): new weights (D,) and the new bias (a float).
    """
    raise NotImplementedError
''',
)


def _perceptron_case(rng, correct: bool):
    D = int(rng.choice([1, 2, 5, 7]))
    w, x, b = rng.standard_normal(D), rng.standard_normal(D), float(rng.standard_normal())
    y_hat = float(np.dot(w, x) + b > 0)
    return w, b, x, y_hat if correct else 1.0 - y_hat, float(rng.uniform(0.1, 2.0))


def _perceptron_step(s, w, b, x, y, lr):
    w_new, b_new = unpack(s.perceptron_update(w, b, x, y, lr), "perceptron_update", ("w", "b"))
    return as_array(w_new, "w_new", w.shape), as_array(b_new, "b_new", ())


@perceptron.check("update on a misclassified example", weight=2)
def _(s, rng):
    for _ in range(5):
        w, b, x, y, lr = _perceptron_case(rng, correct=False)
        want_w, want_b = perceptron_update(w, b, x, y, lr)
        got_w, got_b = _perceptron_step(s, w, b, x, y, lr)
        step = lr * (y - (1.0 - y)) * x  # the reference's change of w
        expect_close(got_w, want_w, "w_new", mistakes={"sign": w - step})
        expect_close(got_b, want_b, "b_new", mistakes={"bias-not-updated": b})


@perceptron.check("no change on a correctly classified example")
def _(s, rng):
    for _ in range(5):
        w, b, x, y, lr = _perceptron_case(rng, correct=True)
        got_w, got_b = _perceptron_step(s, w, b, x, y, lr)
        hebbian = [w + lr * y * x, w + lr * (2 * y - 1) * x]  # updates whatever ŷ is
        mistakes = {"always-update": hebbian}
        expect_close(got_w, w, "w_new (the prediction was right)", mistakes=mistakes)
        expect_close(got_b, b, "b_new (the prediction was right)")


@perceptron.check("predicts 1 only when w·x + b > 0")
def _(s, rng):
    D = int(rng.integers(2, 6))
    w, x = np.zeros(D), rng.standard_normal(D)
    got_w, got_b = _perceptron_step(s, w, 0.0, x, 0.0, 1.0)
    expect(
        np.allclose(got_w, 0) and np.isclose(got_b, 0),
        "at w·x + b = 0 the perceptron predicts 0, which is right for y = 0, so nothing should "
        "change; your rule changed the weights",
    )


TRUTH_TABLES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def _train_gate(s, labels, epochs: int = 30) -> int:
    """Train from zero on the four corners in turn; return how many the rule then gets right."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    w, b = np.zeros(2), 0.0
    for _ in range(epochs):
        for x, y in zip(X, labels):
            w, b = _perceptron_step(s, w, b, x, float(y), 0.5)
    return int(sum(float(np.dot(w, x) + b > 0) == y for x, y in zip(X, labels)))


@perceptron.check("learns AND and OR, and not XOR", weight=3, behaviour=True)
def _(s, rng):
    for gate in ("AND", "OR"):
        right = _train_gate(s, TRUTH_TABLES[gate])
        expect(
            right == 4,
            f"after 30 epochs your rule gets {right}/4 of {gate} right (one line "
            "separates them: the rule finds it)",
        )
    right = _train_gate(s, TRUTH_TABLES["XOR"])
    expect(
        right < 4,
        "your rule classifies all four XOR corners right, which no single line "
        "can: is the prediction a threshold of w·x + b?",
    )


# ------------------------------------------------------------------ activation functions

ACTIVATIONS = {
    "sigmoid": scratch.Sigmoid,
    "tanh": scratch.Tanh,
    "relu": scratch.ReLU,
    "leaky_relu": lambda: scratch.LeakyReLU(0.01),
    "elu": lambda: scratch.ELU(1.0),
}


def activation_forward(kind, x):
    return ACTIVATIONS[kind]().forward(x)


def activation_backward(kind, x, dout):
    return backward(ACTIVATIONS[kind](), x, dout)


activations = exercise(
    "activations",
    unit=1,
    topic="deep feed-forward networks",
    title="Activation functions, forward and backward",
    functions=("activation_forward", "activation_backward"),
    reference={
        "activation_forward": activation_forward,
        "activation_backward": activation_backward,
    },
    hints=[
        Hint(
            "sigmoid-overflow",
            "e^(-x) overflows for x = -1000. Work with e^(-|x|), which never overflows, and "
            "the identity σ(x) = 1 - σ(-x) for negative x.",
        ),
        Hint(
            "tanh-square",
            "The derivative of tanh is 1 - tanh(x)², the square of tanh, not 1 - tanh(x).",
        ),
        Hint(
            "elu-negative",
            "For x <= 0 the ELU's derivative is e^x (the forward value plus 1), not e^x - 1.",
        ),
    ],
    stub='''
def activation_forward(kind, x):
    """The activation `kind` applied to every element of x (any shape, returned the same).

    kind is one of
        "sigmoid":     σ(x) = 1 / (1 + e^(-x)); it must not overflow for x = -1000
        "tanh":        tanh(x)
        "relu":        max(0, x)
        "leaky_relu":  x for x > 0, else 0.01 x
        "elu":         x for x > 0, else e^x - 1   (α = 1)
    """
    raise NotImplementedError


def activation_backward(kind, x, dout):
    """dL/dx = dout ⊙ f'(x): the upstream gradient times the derivative of `kind` at the input x.

    x and dout have the same shape, and so has the result. Use the derivative of each function
    written out by hand; for ReLU and Leaky ReLU take the derivative at 0 from the left side
    (0 and 0.01), as PyTorch does.
    """
    raise NotImplementedError
''',
)

ACTIVATION_SHAPES = [(1, 1), (3, 4), (2, 3, 5), (16, 7)]


def _activation_check(kind: str, mistakes) -> None:
    @activations.check(f"{kind}: values and gradient")
    def _(s, rng):
        for shape in ACTIVATION_SHAPES:
            x = 2 * rng.standard_normal(shape)
            expect_close(s.activation_forward(kind, x), activation_forward(kind, x), f"{kind}(x)")
            g = upstream(rng, shape)
            got = s.activation_backward(kind, x, g)
            expect_close(
                got, activation_backward(kind, x, g), f"{kind}: dL/dx", mistakes=mistakes(x, g)
            )
            if shape == (3, 4):
                loss = weighted_loss(activation_forward, g, kind, x)
                expect_gradient(got, loss, x, f"{kind}: dL/dx")


_activation_check("sigmoid", lambda x, g: {})
_activation_check("tanh", lambda x, g: {"tanh-square": g * (1 - np.tanh(x))})
_activation_check("relu", lambda x, g: {})
_activation_check("leaky_relu", lambda x, g: {})
_activation_check("elu", lambda x, g: {"elu-negative": g * np.where(x > 0, 1.0, np.expm1(x))})


@activations.check("sigmoid stays finite at x = ±1000")
def _(s, rng):
    x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    try:
        with np.errstate(over="raise", invalid="raise"):
            got = s.activation_forward("sigmoid", x)
    except StudentError as error:
        if isinstance(error.error, FloatingPointError):
            raise Fail(error.message, ("sigmoid-overflow",)) from None
        raise
    expect_close(
        got,
        activation_forward("sigmoid", x),
        "sigmoid(x)",
        mistakes={"sigmoid-overflow": non_finite},
    )


class StudentReLU(scratch.ReLU):
    """The engine's ReLU layer computing with the student's functions."""

    def __init__(self, submission):
        super().__init__()
        self.submission = submission

    def forward(self, x):
        self.x = x
        return as_array(self.submission.activation_forward("relu", x), "relu(x)", x.shape)

    def backward(self, dout):
        dx = self.submission.activation_backward("relu", self.x, dout)
        return as_array(dx, "relu: dL/dx", dout.shape)


@activations.check("your ReLU trains the digits MLP to 0.95", behaviour=True)
def _(s, rng):
    expect_digits(digits_mlp_accuracy(rng, relu=lambda: StudentReLU(s)), "your ReLU")


# ------------------------------------------------------------ softmax and cross-entropy


def softmax(z):
    return scratch.Softmax(dim=1).forward(z)


def cross_entropy(z, y):
    return scratch.softmax_cross_entropy(z, y)


softmax_ce = exercise(
    "softmax-cross-entropy",
    unit=1,
    topic="deep feed-forward networks",
    title="Stable softmax, cross-entropy and its gradient",
    functions=("softmax", "cross_entropy"),
    reference={"softmax": softmax, "cross_entropy": cross_entropy},
    hints=[
        Hint(
            "no-max-shift",
            "e^1000 overflows to inf and inf/inf is NaN. Subtract each row's maximum from the "
            "logits first: softmax(z) = softmax(z - max_j z_j) and every exponent is then <= 0.",
        ),
        Hint(
            "wrong-axis",
            "Your probabilities sum to 1 down each column. Softmax normalises each example, "
            "i.e. each row of the (B, C) logits: sum over axis 1 (keepdims=True).",
        ),
        Hint(
            "not-averaged",
            "The loss is the mean over the batch, so its gradient divides by the batch size B: "
            "dL/dz = (softmax(z) - onehot(y)) / B.",
        ),
    ],
    stub='''
def softmax(z):
    """Softmax of each row of the logits z (B, C): s_bj = e^(z_bj) / Σ_k e^(z_bk).

    Returns (B, C) probabilities, each row summing to 1, finite even for logits of 1000.
    """
    raise NotImplementedError


def cross_entropy(z, y):
    """The mean cross-entropy of softmax(z) against integer labels, and its gradient.

    L = the mean over the batch of -log softmax(z_b)[y_b].

    Args:
        z: (B, C) logits.  y: (B,) labels, integers in [0, C).

    Returns:
        (loss, dz): the loss (a float) and dL/dz (B, C).
    """
    raise NotImplementedError
''',
)

SOFTMAX_SHAPES = [(1, 1), (1, 7), (5, 3), (33, 10)]


@softmax_ce.check("softmax values on random logits")
def _(s, rng):
    for shape in SOFTMAX_SHAPES:
        z = 3 * rng.standard_normal(shape)
        column = np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)
        expect_close(s.softmax(z), softmax(z), "softmax(z)", mistakes={"wrong-axis": column})


@softmax_ce.check("softmax rows sum to 1 and stay finite at logits of 1000")
def _(s, rng):
    z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1.0], [-1000.0, -1000.0, -999.0]])
    got = expect_close(
        s.softmax(z),
        softmax(z),
        "softmax(z) at logits of ±1000",
        mistakes={"no-max-shift": non_finite},
    )
    expect(np.allclose(got.sum(axis=1), 1.0), "the rows of softmax(z) do not sum to 1")


def _cross_entropy(s, z, y):
    loss, dz = unpack(s.cross_entropy(z, y), "cross_entropy", ("loss", "dz"))
    return as_array(loss, "loss", ()), dz


def _labels(rng, shape):
    return rng.integers(0, shape[1], shape[0])


@softmax_ce.check("cross-entropy loss")
def _(s, rng):
    for shape in SOFTMAX_SHAPES:
        z, y = 3 * rng.standard_normal(shape), _labels(rng, shape)
        want, _ = cross_entropy(z, y)
        loss, _ = _cross_entropy(s, z, y)
        expect_close(loss, want, "the loss", mistakes={"not-averaged": shape[0] * want})


@softmax_ce.check("cross-entropy gradient dL/dz", weight=2)
def _(s, rng):
    for shape in [*SOFTMAX_SHAPES, (2, 3)]:
        z, y = 3 * rng.standard_normal(shape), _labels(rng, shape)
        if shape == (2, 3):
            z[0, 0] = 1000.0  # large logits: the gradient must stay finite too
        _, want = cross_entropy(z, y)
        _, dz = _cross_entropy(s, z, y)
        mistakes = {"not-averaged": shape[0] * want, "no-max-shift": non_finite}
        expect_close(dz, want, "dL/dz", mistakes=mistakes)


@softmax_ce.check("gradient matches finite differences")
def _(s, rng):
    z, y = rng.standard_normal((4, 5)), _labels(rng, (4, 5))
    _, dz = _cross_entropy(s, z, y)
    expect_gradient(dz, lambda: cross_entropy(z, y)[0], z, "dL/dz")


def _student_loss(s):
    def loss_fn(z, y):
        loss, dz = _cross_entropy(s, z, y)
        return float(loss), as_array(dz, "dL/dz", z.shape)

    return loss_fn


@softmax_ce.check("your loss trains the digits MLP to 0.95", behaviour=True)
def _(s, rng):
    expect_digits(digits_mlp_accuracy(rng, loss=_student_loss(s)), "your cross-entropy")


# ---------------------------------------------------------------- dense layer backward


def _dense_layer(W, b) -> scratch.Dense:
    return loaded(scratch.Dense(W.shape[1], W.shape[0]), weight=W, bias=b)


def dense_forward(x, W, b):
    return _dense_layer(W, b).forward(x)


def dense_backward(dout, x, W):
    return weight_bias_backward(_dense_layer(W, np.zeros(len(W))), x, dout)


dense = exercise(
    "dense-backward",
    unit=1,
    topic="backpropagation",
    title="A dense layer, forward and backward",
    functions=("dense_forward", "dense_backward"),
    reference={"dense_forward": dense_forward, "dense_backward": dense_backward},
    hints=[
        Hint(
            "weight-transposed",
            "Your weight gradient is the transpose of the right one: dL/dW has W's shape "
            "(out, in), so it is doutᵀ x (out, B)·(B, in), not xᵀ dout.",
        ),
        Hint(
            "bias-not-summed",
            "The bias gradient sums over the batch: dL/db = Σ_b dout[b]. Every example adds its "
            "share; a mean or a single row loses the others.",
        ),
    ],
    stub='''
def dense_forward(x, W, b):
    """A dense (fully connected) layer: y = x Wᵀ + b, like torch.nn.Linear.

    Args:
        x: (B, in) inputs.  W: (out, in) weights.  b: (out,) bias.

    Returns:
        y: (B, out).
    """
    raise NotImplementedError


def dense_backward(dout, x, W):
    """The dense layer's backward pass, given dout = dL/dy and the forward pass's x and W.

    By the chain rule through y = x Wᵀ + b, each gradient has the shape of what it is the
    gradient of, and every example of the batch contributes to dL/dW and dL/db.

    Args:
        dout: (B, out) gradient of the loss with respect to y.
        x: (B, in) the forward pass's input.  W: (out, in) the weights.

    Returns:
        (dx, dW, db): dL/dx (B, in), dL/dW (out, in), dL/db (out,).
    """
    raise NotImplementedError
''',
)

DENSE_SHAPES = [(1, 1, 1), (1, 5, 3), (7, 4, 9), (6, 5, 5), (16, 64, 10)]  # (B, in, out)


def _dense_case(rng, B, n_in, n_out):
    x, W, b = (
        rng.standard_normal((B, n_in)),
        rng.standard_normal((n_out, n_in)),
        rng.standard_normal(n_out),
    )
    return x, W, b, upstream(rng, (B, n_out))


def _dense_grads(s, dout, x, W):
    names = ("dx", "dW", "db")
    return unpack(s.dense_backward(dout, x, W), "dense_backward", names)


@dense.check("forward on random shapes")
def _(s, rng):
    for shape in DENSE_SHAPES:
        x, W, b, _ = _dense_case(rng, *shape)
        expect_close(
            s.dense_forward(x, W, b), dense_forward(x, W, b), f"y for (B, in, out) = {shape}"
        )


@dense.check("input gradient dL/dx")
def _(s, rng):
    for shape in DENSE_SHAPES:
        x, W, b, g = _dense_case(rng, *shape)
        expect_close(_dense_grads(s, g, x, W)[0], dense_backward(g, x, W)[0], "dL/dx")


@dense.check("weight gradient dL/dW", weight=2)
def _(s, rng):
    for shape in DENSE_SHAPES:
        x, W, b, g = _dense_case(rng, *shape)
        want = dense_backward(g, x, W)[1]
        got = _dense_grads(s, g, x, W)[1]
        expect_close(got, want, "dL/dW", mistakes={"weight-transposed": want.T})


@dense.check("bias gradient dL/db")
def _(s, rng):
    for shape in DENSE_SHAPES[1:]:
        x, W, b, g = _dense_case(rng, *shape)
        mistakes = {"bias-not-summed": [g.mean(0), g[0]]}
        expect_close(_dense_grads(s, g, x, W)[2], g.sum(0), "dL/db", mistakes=mistakes)


@dense.check("gradients match finite differences", weight=2)
def _(s, rng):
    x, W, b, g = _dense_case(rng, 3, 4, 2)
    dx, dW, db = _dense_grads(s, g, x, W)
    loss = weighted_loss(dense_forward, g, x, W, b)
    expect_gradient(dx, loss, x, "dL/dx")
    expect_gradient(
        dW,
        loss,
        W,
        "dL/dW",
        mistakes={"weight-transposed": lambda got, T=W.T.shape: got.shape == T},
    )
    expect_gradient(db, loss, b, "dL/db")


class StudentDense(scratch.Dense):
    """The engine's dense layer computing with the student's functions."""

    def __init__(self, submission, in_features, out_features, rng=None):
        super().__init__(in_features, out_features, rng)
        self.submission = submission

    def forward(self, x):
        self.x = x
        y = self.submission.dense_forward(x, self.params["weight"], self.params["bias"])
        return as_array(y, "dense_forward", (len(x), self.out_features))

    def backward(self, dout):
        dx, dW, db = _dense_grads(self.submission, dout, self.x, self.params["weight"])
        W, b = self.params["weight"], self.params["bias"]
        self.grads = {
            "weight": as_array(dW, "dL/dW", W.shape),
            "bias": as_array(db, "dL/db", b.shape),
        }
        return as_array(dx, "dL/dx", self.x.shape)


@dense.check("your layer trains the digits MLP to 0.95", weight=2, behaviour=True)
def _(s, rng):
    accuracy = digits_mlp_accuracy(rng, dense=lambda *a, **k: StudentDense(s, *a, **k))
    expect_digits(accuracy, "your dense layer")


DIGITS_TARGET = 0.95  # test accuracy; the engine's own layers reach about 0.97


def digits_mlp_accuracy(
    rng: np.random.Generator,
    dense=scratch.Dense,
    relu=scratch.ReLU,
    loss=scratch.softmax_cross_entropy,
) -> float:
    """Test accuracy of a 64-128-10 ReLU MLP trained on the digits by the NumPy engine (Adam,
    20 epochs, under a second), with any of its dense layers, ReLU or loss replaced."""
    digits = data.load("digits", flatten=True)
    X, y = digits.train[0].double().numpy(), digits.train[1].numpy()
    net = scratch.Sequential(dense(64, 128, rng=rng), relu(), dense(128, 10, rng=rng))
    scratch.fit(net, loss, scratch.Adam(net, lr=3e-3), X, y, num_epochs=20, batch_size=32, rng=rng)
    y_hat = scratch.predict(net, digits.test[0].double().numpy()).argmax(1)
    return float((y_hat == digits.test[1].numpy()).mean())


def expect_digits(accuracy: float, what: str) -> None:
    expect(
        accuracy >= DIGITS_TARGET,
        f"with {what} the digits MLP reaches test accuracy {accuracy:.3f}, below "
        f"{DIGITS_TARGET} (the engine's own layers reach about 0.97)",
    )


# ------------------------------------------------------- backpropagation through XOR by hand

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _xor_net(W1, b1, W2, b2) -> scratch.Sequential:
    """The engine's Dense-Sigmoid-Dense-Sigmoid network holding these parameters."""
    net = scratch.Sequential(
        scratch.Dense(2, 2), scratch.Sigmoid(), scratch.Dense(2, 1), scratch.Sigmoid()
    )
    return loaded(net, **dict(zip(("0.weight", "0.bias", "2.weight", "2.bias"), (W1, b1, W2, b2))))


def xor_net_gradients(X, y, W1, b1, W2, b2):
    """The engine's network and `mse` (L = ½ mse for one output)."""
    net = _xor_net(W1, b1, W2, b2)
    mse, dy_hat = scratch.mse(net.forward(X), y)
    net.backward(0.5 * dy_hat)
    g = net.grads
    return 0.5 * mse, g["0.weight"], g["0.bias"], g["2.weight"], g["2.bias"]


xor_backprop = exercise(
    "xor-backprop",
    unit=1,
    topic="backpropagation",
    title="Backpropagation by hand through the 2-2-1 XOR network",
    functions=("xor_net_gradients",),
    reference={"xor_net_gradients": xor_net_gradients},
    hints=[
        Hint(
            "output-derivative",
            "The output passes through a sigmoid, so the error at its input is "
            "dL/dŷ ⊙ ŷ(1 - ŷ): your output layer's gradients lack σ'(z2) = ŷ(1 - ŷ).",
        ),
        Hint(
            "hidden-derivative",
            "The hidden layer's error is the output error sent back through W2 and then "
            "multiplied by σ'(z1) = h(1 - h); your dW1 and db1 lack that factor.",
        ),
        Hint(
            "not-averaged",
            "L is the mean over the batch, so dL/dŷ = (ŷ - y) / B: your gradients are B times "
            "too large.",
        ),
    ],
    stub='''
def xor_net_gradients(X, y, W1, b1, W2, b2):
    """The loss of the 2-2-1 sigmoid network and its gradients, by the chain rule by hand.

    Forward:  h = σ(X W1ᵀ + b1)  (B, 2);   ŷ = σ(h W2ᵀ + b2)  (B, 1);
              L = the mean over the batch of ½ (ŷ - y)²,   with σ(z) = 1 / (1 + e^(-z)).
    Backward: go from L back to W1 one step at a time; σ'(z) = σ(z)(1 - σ(z)), which you can
    write with the forward pass's outputs (h and ŷ).

    Args:
        X: (B, 2) inputs.  y: (B, 1) targets, 0 or 1.
        W1: (2, 2), b1: (2,), W2: (1, 2), b2: (1,): the parameters.

    Returns:
        (loss, dW1, db1, dW2, db2): the loss (a float), then dL/dθ shaped like each θ.
    """
    raise NotImplementedError
''',
)

XOR_START = (  # a start from which gradient descent at lr 5 solves XOR in about 700 steps
    np.array([[0.5, -0.4], [-0.3, 0.6]]),
    np.array([0.1, -0.1]),
    np.array([[0.7, -0.5]]),
    np.array([0.2]),
)
XOR_NAMES = ("loss", "dW1", "db1", "dW2", "db2")


def _xor_grads(s, X, y, params):
    got = unpack(s.xor_net_gradients(X, y, *params), "xor_net_gradients", XOR_NAMES)
    return [as_array(g, name, p.shape) for g, name, p in zip(got[1:], XOR_NAMES[1:], params)]


def _xor_case(rng):
    B = int(rng.choice([1, 3, 4, 9]))
    X = XOR_X if B == 4 else rng.uniform(0, 1, (B, 2))
    y = XOR_Y if B == 4 else rng.integers(0, 2, (B, 1)).astype(float)
    params = [2 * rng.standard_normal(p.shape) for p in XOR_START]
    return X, y, params


def _xor_mistakes(X, y, params) -> dict[str, list[np.ndarray]]:
    """The gradients each recognised mistake gives, in XOR_NAMES[1:] order."""
    net = _xor_net(*params)
    y_hat = net.forward(X)  # (B, 1)
    h, W2 = net.layers[1].out, params[2]  # (B, 2), (1, 2)

    def grads(d_out, hidden_factor=True, scale=1.0):
        d2 = d_out * scale  # (B, 1): the error at the output's pre-activation
        d1 = (d2 @ W2) * (h * (1 - h) if hidden_factor else 1.0)  # (B, 2)
        return [d1.T @ X, d1.sum(0), d2.T @ h, d2.sum(0)]

    error = (y_hat - y) / len(X)
    return {
        "output-derivative": grads(error),
        "hidden-derivative": grads(error * y_hat * (1 - y_hat), hidden_factor=False),
        "not-averaged": grads(error * y_hat * (1 - y_hat), scale=len(X)),
    }


@xor_backprop.check("loss")
def _(s, rng):
    for _ in range(4):
        X, y, params = _xor_case(rng)
        got = unpack(s.xor_net_gradients(X, y, *params), "xor_net_gradients", XOR_NAMES)[0]
        expect_close(as_array(got, "loss", ()), xor_net_gradients(X, y, *params)[0], "the loss")


def _xor_layer_check(name: str, which: tuple[int, ...]) -> None:
    @xor_backprop.check(name, weight=2)
    def _(s, rng):
        for _ in range(4):
            X, y, params = _xor_case(rng)
            want = xor_net_gradients(X, y, *params)[1:]
            got = _xor_grads(s, X, y, params)
            variants = _xor_mistakes(X, y, params)
            for i in which:
                mistakes = {key: grads[i] for key, grads in variants.items()}
                expect_close(got[i], want[i], XOR_NAMES[i + 1], mistakes=mistakes)


_xor_layer_check("output layer gradients dW2, db2", (2, 3))
_xor_layer_check("hidden layer gradients dW1, db1", (0, 1))


def _xor_loss(X, y, params) -> float:
    return float(xor_net_gradients(X, y, *params)[0])


@xor_backprop.check("gradients match finite differences")
def _(s, rng):
    X, y, params = _xor_case(rng)
    got = _xor_grads(s, X, y, params)
    for grad, name, p in zip(got, XOR_NAMES[1:], params):
        expect_gradient(grad, partial(_xor_loss, X, y, params), p, name)


@xor_backprop.check("gradient descent with your gradients solves XOR", weight=2, behaviour=True)
def _(s, rng):
    params = [p.copy() for p in XOR_START]
    for _ in range(2000):
        for p, grad in zip(params, _xor_grads(s, XOR_X, XOR_Y, params)):
            p -= 5.0 * grad
    y_hat = _xor_net(*params).forward(XOR_X)  # (4, 1)
    right = int(((y_hat > 0.5) == (XOR_Y > 0.5)).sum())
    expect(
        right == 4,
        f"after 2000 steps of gradient descent (lr 5) from a start the reference "
        f"solves in about 700, the network gets {right}/4 XOR corners right",
    )
