"""Unit III exercises: the Elman RNN and backpropagation through time (Elman, 1990; Werbos,
1990), the LSTM cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000)
and the GRU cell (Cho et al., 2014) in PyTorch's gate order, gradient clipping (Pascanu, Mikolov
& Bengio, 2013) and truncated BPTT.

References: `dllab.scratch.recurrent`'s RNN, LSTM and GRU (one step, T = 1, for the cells; the
LSTM cell's backward is the layer's step backward, which takes the gradients of h and c) and
`dllab.scratch.optim`'s clipping functions.
"""

import itertools

import numpy as np

from dllab import data, scratch
from dllab.exercises.adapters import backward, holder, loaded
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import (
    as_array,
    expect,
    expect_close,
    expect_gradient,
    recognised,
    unpack,
    upstream,
    weighted_loss,
)

# ------------------------------------------------------------------------ RNN and BPTT


def _rnn_layer(W_xh, W_hh, b, truncate=None) -> scratch.RNN:
    H, D = W_xh.shape
    layer = scratch.RNN(D, H, truncate=truncate)
    return loaded(layer, weight_ih=W_xh, weight_hh=W_hh, bias_ih=b, bias_hh=np.zeros(H))


def rnn_forward(x, h0, W_xh, W_hh, b):
    return _rnn_layer(W_xh, W_hh, b).forward(x, h0)


def rnn_backward(dhs, x, h0, W_xh, W_hh, b):
    layer = _rnn_layer(W_xh, W_hh, b)
    dx = backward(layer, x, dhs, h0)
    g = layer.grads
    return dx, layer.dstate0[0], g["weight_ih"], g["weight_hh"], g["bias_ih"]


rnn = exercise(
    "rnn-bptt",
    unit=3,
    topic="BPTT",
    title="Elman RNN forward and backpropagation through time",
    functions=("rnn_forward", "rnn_backward"),
    reference={"rnn_forward": rnn_forward, "rnn_backward": rnn_backward},
    hints=[
        Hint(
            "h-t-for-h-t-minus-1",
            "dW_hh pairs each step's error with the state that entered that step: "
            "Σ_t da_tᵀ h_{t-1} (h_0 for the first step), not Σ_t da_tᵀ h_t.",
        ),
        Hint(
            "no-future",
            "h_t also feeds every later step: the error at h_t is its own dhs[:, t] plus what "
            "comes back from h_{t+1} through W_hh. Run the loop backwards and carry that term.",
        ),
    ],
    stub='''
def rnn_forward(x, h0, W_xh, W_hh, b):
    """An Elman RNN over a batch of sequences: h_t = tanh(x_t W_xhᵀ + h_{t-1} W_hhᵀ + b).

    Args:
        x: (B, T, D) inputs.  h0: (B, H) the initial state.
        W_xh: (H, D), W_hh: (H, H), b: (H,) the parameters.

    Returns:
        hs: (B, T, H), every hidden state h_1 .. h_T.
    """
    raise NotImplementedError


def rnn_backward(dhs, x, h0, W_xh, W_hh, b):
    """Backpropagation through time for rnn_forward.

    dhs[:, t] is the gradient of the loss with respect to h_t coming from that step's output.
    The state h_t also influences every later state, so go through the steps from last to
    first and carry the gradient arriving from the future. Recompute the forward pass first.

    Returns:
        (dx, dh0, dW_xh, dW_hh, db): (B, T, D), (B, H), (H, D), (H, H), (H,).
    """
    raise NotImplementedError
''',
)

RNN_SHAPES = [(1, 1, 1, 1), (2, 5, 3, 4), (3, 17, 2, 5), (1, 60, 2, 3)]  # B, T, D, H
RNN_NAMES = ("dx", "dh0", "dW_xh", "dW_hh", "db")


def _rnn_case(rng, B, T, D, H):
    W_xh, W_hh = rng.standard_normal((H, D)), rng.standard_normal((H, H)) / np.sqrt(H)
    x, h0, b = (
        rng.standard_normal((B, T, D)),
        0.5 * rng.standard_normal((B, H)),
        rng.standard_normal(H),
    )
    return x, h0, W_xh, W_hh, b


def _rnn_grads(s, dhs, *case):
    got = unpack(s.rnn_backward(dhs, *case), "rnn_backward", RNN_NAMES)
    return [as_array(g, name) for g, name in zip(got, RNN_NAMES)]


def _rnn_mistakes(dhs, x, h0, W_xh, W_hh, b) -> list[dict]:
    """Per returned gradient, what each recognised mistake gives."""
    layer = _rnn_layer(W_xh, W_hh, b)
    hs = layer.forward(x, h0)  # (B, T, H)
    layer.backward(dhs)
    da = layer.dh * (1 - hs**2)  # dL/da_t, a_t the pre-activation  (B, T, H)
    local = dhs * (1 - hs**2)  # the same without the error carried from later steps
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)  # (B, T, H)
    no_future = [
        local @ W_xh,
        local[:, 0] @ W_hh,
        np.tensordot(local, x, ([0, 1], [0, 1])),
        np.tensordot(local, h_prev, ([0, 1], [0, 1])),
        local.sum((0, 1)),
    ]
    found = [{"no-future": v} for v in no_future]
    found[3]["h-t-for-h-t-minus-1"] = np.tensordot(da, hs, ([0, 1], [0, 1]))
    return found


@rnn.check("forward on random shapes, up to T = 60")
def _(s, rng):
    for shape in RNN_SHAPES:
        case = _rnn_case(rng, *shape)
        expect_close(s.rnn_forward(*case), rnn_forward(*case), f"hs for (B, T, D, H) = {shape}")


def _rnn_gradient_check(name: str, which: tuple[int, ...], weight: int) -> None:
    @rnn.check(name, weight=weight)
    def _(s, rng):
        for shape in RNN_SHAPES:
            case = _rnn_case(rng, *shape)
            dhs = upstream(rng, (*shape[:2], shape[3]))
            want, got = rnn_backward(dhs, *case), _rnn_grads(s, dhs, *case)
            mistakes = _rnn_mistakes(dhs, *case)
            for i in which:
                expect_close(
                    got[i],
                    want[i],
                    f"{RNN_NAMES[i]} for (B, T, D, H) = {shape}",
                    mistakes=mistakes[i],
                )


_rnn_gradient_check("weight gradients dW_xh, dW_hh, db", (2, 3, 4), 3)
_rnn_gradient_check("input gradients dx, dh0", (0, 1), 1)


@rnn.check("gradients match finite differences", weight=2)
def _(s, rng):
    case = _rnn_case(rng, 2, 4, 2, 3)
    dhs = upstream(rng, (2, 4, 3))
    got = _rnn_grads(s, dhs, *case)
    loss = weighted_loss(rnn_forward, dhs, *case)
    for grad, name, array in zip(got, RNN_NAMES, (case[0], case[1], *case[2:])):
        expect_gradient(grad, loss, array, name)


@rnn.check("a loss at the last step reaches the first (T = 60)")
def _(s, rng):
    case = _rnn_case(rng, 2, 60, 2, 3)
    dhs = np.zeros((2, 60, 3))
    dhs[:, -1] = upstream(rng, (2, 3))
    want, got = rnn_backward(dhs, *case), _rnn_grads(s, dhs, *case)
    mistakes = _rnn_mistakes(dhs, *case)
    expect_close(got[0], want[0], "dx when only h_60 has a loss", mistakes=mistakes[0], atol=1e-12)
    expect_close(got[1], want[1], "dh0 when only h_60 has a loss", mistakes=mistakes[1], atol=1e-12)


# --------------------------------------------------------------------------- LSTM cell


def _cell_layer(cls, W_ih, W_hh, b, b_hh=None):
    layer = cls(W_ih.shape[1], W_hh.shape[1])
    b_hh = np.zeros(len(b)) if b_hh is None else b_hh
    return loaded(layer, weight_ih=W_ih, weight_hh=W_hh, bias_ih=b, bias_hh=b_hh)


def lstm_cell_forward(x, h, c, W_ih, W_hh, b):
    layer = _cell_layer(scratch.LSTM, W_ih, W_hh, b)
    layer.forward(x[:, None], h, c)
    h_new, c_new = layer.final_state
    return h_new, c_new, (layer, x, h)


def lstm_cell_backward(dh_new, dc_new, cache):
    """The engine's step backward, which takes the gradients of both states, then the
    products of its layer's backward pass for one step."""
    layer, x, h = cache
    d_gates, _, (_, dc) = layer._step_backward((dh_new, dc_new), layer.cache[2][0])  # (B, 4H)
    W_ih, W_hh = layer.params["weight_ih"], layer.params["weight_hh"]
    return d_gates @ W_ih, d_gates @ W_hh, dc, d_gates.T @ x, d_gates.T @ h, d_gates.sum(0)


lstm = exercise(
    "lstm-cell",
    unit=3,
    topic="LSTM",
    title="LSTM cell forward and backward",
    functions=("lstm_cell_forward", "lstm_cell_backward"),
    reference={"lstm_cell_forward": lstm_cell_forward, "lstm_cell_backward": lstm_cell_backward},
    hints=[
        Hint(
            "gate-order",
            "Your cell reads the gates in another order. The 4H rows of W_ih, W_hh and b are "
            "stacked i, f, g, o (input, forget, candidate, output), as in torch.nn.LSTM.",
        ),
        Hint(
            "tanh-c",
            "The hidden state squashes the cell: h_t = o ⊙ tanh(c_t), not o ⊙ c_t.",
        ),
        Hint(
            "cell-no-h-path",
            "c_t reaches the loss along two paths: directly (dc_new) and through "
            "h_t = o ⊙ tanh(c_t). The error at c_t is dc_new + dh_new ⊙ o ⊙ (1 - tanh²(c_t)); "
            "then dc_prev = that error ⊙ f.",
        ),
    ],
    stub='''
def lstm_cell_forward(x, h, c, W_ih, W_hh, b):
    """One step of an LSTM cell, with PyTorch's gate order i, f, g, o.

    a = x W_ihᵀ + h W_hhᵀ + b (B, 4H), split into four blocks of H columns, in this order:
    the input gate i = σ(a_i), the forget gate f = σ(a_f), the candidate g = tanh(a_g) and the
    output gate o = σ(a_o). Then c_new = f ⊙ c + i ⊙ g and h_new = o ⊙ tanh(c_new).

    Args:
        x: (B, D) input.  h, c: (B, H) the previous hidden and cell states.
        W_ih: (4H, D), W_hh: (4H, H), b: (4H,) the parameters.

    Returns:
        (h_new, c_new, cache): (B, H), (B, H), and anything your backward pass needs.
    """
    raise NotImplementedError


def lstm_cell_backward(dh_new, dc_new, cache):
    """The backward pass of lstm_cell_forward, given the gradients of the loss with respect to
    h_new and c_new (both (B, H)) and the cache your forward pass returned.

    Returns:
        (dx, dh, dc, dW_ih, dW_hh, db): the gradients with respect to x, h, c, W_ih, W_hh, b.
    """
    raise NotImplementedError
''',
)

CELL_SHAPES = [(1, 1, 1), (3, 2, 4), (5, 6, 3)]  # B, D, H
LSTM_NAMES = ("dx", "dh", "dc", "dW_ih", "dW_hh", "db")


def _cell_case(rng, B, D, H, gates):
    x, h, c = (
        rng.standard_normal((B, D)),
        np.tanh(rng.standard_normal((B, H))),
        rng.standard_normal((B, H)),
    )
    W_ih = rng.standard_normal((gates * H, D)) / np.sqrt(D)
    return (
        x,
        h,
        c,
        W_ih,
        rng.standard_normal((gates * H, H)) / np.sqrt(H),
        rng.standard_normal(gates * H),
    )


def _permuted(blocks: int, order, *arrays):
    """The arrays with their `blocks` gate blocks (along axis 0) put in `order`."""
    return [np.concatenate([np.split(a, blocks)[i] for i in order]) for a in arrays]


def _lstm_step(s, x, h, c, W_ih, W_hh, b):
    got = unpack(
        s.lstm_cell_forward(x, h, c, W_ih, W_hh, b),
        "lstm_cell_forward",
        ("h_new", "c_new", "cache"),
    )
    return as_array(got[0], "h_new", h.shape), as_array(got[1], "c_new", c.shape), got[2]


@lstm.check("forward on random shapes", weight=2)
def _(s, rng):
    for B, D, H in CELL_SHAPES:
        x, h, c, W_ih, W_hh, b = _cell_case(rng, B, D, H, 4)
        want_h, want_c, _ = lstm_cell_forward(x, h, c, W_ih, W_hh, b)
        got_h, got_c, _ = _lstm_step(s, x, h, c, W_ih, W_hh, b)
        orders = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]
        swapped = [lstm_cell_forward(x, h, c, *_permuted(4, p, W_ih, W_hh, b))[0] for p in orders]
        o = scratch.layers.sigmoid(np.split(x @ W_ih.T + h @ W_hh.T + b, 4, axis=1)[3])
        mistakes = {
            "gate-order": swapped,
            "tanh-c": o * want_c,
        }
        expect_close(got_h, want_h, f"h_new for (B, D, H) = {(B, D, H)}", mistakes=mistakes)
        expect_close(got_c, want_c, f"c_new for (B, D, H) = {(B, D, H)}")


def _lstm_backward_check(name: str, with_dc: bool, weight: int) -> None:
    @lstm.check(name, weight=weight)
    def _(s, rng):
        for B, D, H in CELL_SHAPES:
            case = _cell_case(rng, B, D, H, 4)
            dh, dc = upstream(rng, (B, H)), upstream(rng, (B, H)) if with_dc else np.zeros((B, H))
            _, _, cache = _lstm_step(s, *case)
            got = unpack(s.lstm_cell_backward(dh, dc, cache), "lstm_cell_backward", LSTM_NAMES)
            want = lstm_cell_backward(dh, dc, lstm_cell_forward(*case)[2])
            f = scratch.layers.sigmoid(
                np.split(case[0] @ case[3].T + case[1] @ case[4].T + case[5], 4, axis=1)[1]
            )
            hints = recognised(as_array(got[2], "dc"), {"cell-no-h-path": dc * f})
            for grad, expected, what in zip(got, want, LSTM_NAMES):
                expect_close(grad, expected, f"{what} for (B, D, H) = {(B, D, H)}", hints=hints)


_lstm_backward_check("backward with a gradient on h_new only", with_dc=False, weight=2)
_lstm_backward_check("backward with gradients on h_new and c_new", with_dc=True, weight=2)


@lstm.check("gradients match finite differences")
def _(s, rng):
    case = list(_cell_case(rng, 2, 3, 2, 4))
    dh, dc = upstream(rng, (2, 2)), upstream(rng, (2, 2))
    _, _, cache = _lstm_step(s, *case)
    got = unpack(s.lstm_cell_backward(dh, dc, cache), "lstm_cell_backward", LSTM_NAMES)

    def loss():
        h_new, c_new, _ = lstm_cell_forward(*case)
        return float((h_new * dh).sum() + (c_new * dc).sum())

    for grad, array, what in zip(got, case, LSTM_NAMES):
        expect_gradient(grad, loss, array, what)


ADDING_BASELINE = 0.167  # predicting 1 always: Var(U1 + U2) = 2/12
ADDING_TARGET = 0.1  # test MSE the student's cell must reach (the reference: about 0.01)


def adding_mse(s, rng, max_steps: int = 500, H: int = 8) -> float:
    """Train an LSTM built from the student's cell on the adding problem at T = 50 (Le et al.,
    2015): NumPy, Adam (lr 0.03, batches of 32), the values centred at 0, the forget gate's bias
    at 1 and the output's at 1 (the mean target); stop once the test MSE is below 0.05.

    Returns:
        The lowest test MSE reached, on 256 sequences.
    """
    adding = data.load("adding", n=4000, n_test=256, T=50, seed=int(rng.integers(2**31)))
    (X, y), (X_test, y_test) = [
        (a.double().numpy(), b.double().numpy()) for a, b in (adding.train, adding.test)
    ]
    X[..., 0] -= 0.5
    X_test[..., 0] -= 0.5
    model = scratch.Layer()
    cell = scratch.LSTM(2, H, rng=rng)
    bias = cell.params["bias_ih"] + cell.params["bias_hh"]
    bias[H : 2 * H] += 1.0  # remember by default (Gers et al., 2000)
    head = scratch.Dense(H, 1, rng=rng)
    model.params = {
        "W_ih": cell.params["weight_ih"],
        "W_hh": cell.params["weight_hh"],
        "b": bias,
        "W_out": head.params["weight"],
        "b_out": head.params["bias"] + 1.0,
    }
    optimizer = scratch.Adam(model, lr=0.03)
    p = model.params

    def run(X_batch):
        h = c = np.zeros((len(X_batch), H))
        caches = []
        for t in range(X_batch.shape[1]):
            h, c, cache = _lstm_step(s, X_batch[:, t], h, c, p["W_ih"], p["W_hh"], p["b"])
            caches.append(cache)
        return h, h @ p["W_out"].T + p["b_out"], caches  # (B, H), (B, 1)

    best = np.inf
    for step in range(max_steps + 1):
        if step % 25 == 0:
            best = min(best, float(((run(X_test)[1] - y_test) ** 2).mean()))
            if best < 0.05 or step == max_steps:
                return best
        batch = rng.integers(0, len(X), 32)
        h, y_hat, caches = run(X[batch])
        _, d_out = scratch.mse(y_hat, y[batch])  # (B, 1)
        grads = {"W_out": d_out.T @ h, "b_out": d_out.sum(0)}
        dh, dc = d_out @ p["W_out"], np.zeros_like(h)
        for cache in reversed(caches):
            got = unpack(s.lstm_cell_backward(dh, dc, cache), "lstm_cell_backward", LSTM_NAMES)
            _, dh, dc, *weights = got
            for name, grad in zip(("W_ih", "W_hh", "b"), weights):
                grads[name] = grads.get(name, 0.0) + as_array(grad, name, p[name].shape)
        model.grads = grads
        optimizer.step()
    return best


@lstm.check("your cell learns the adding problem at T = 50", weight=2, behaviour=True)
def _(s, rng):
    mse = adding_mse(s, rng)
    expect(
        mse < ADDING_TARGET,
        f"the LSTM built from your cell reaches test MSE {mse:.3f} on the "
        f"adding problem (T = 50); it should beat the baseline {ADDING_BASELINE} by reaching "
        f"{ADDING_TARGET} (the reference cell gets below 0.05 in a few hundred steps)",
    )


# ---------------------------------------------------------------------------- GRU cell


def gru_cell_forward(x, h, W_ih, W_hh, b_ih, b_hh):
    layer = _cell_layer(scratch.GRU, W_ih, W_hh, b_ih, b_hh)
    layer.forward(x[:, None], h)
    return layer.final_state[0]


gru = exercise(
    "gru-cell",
    unit=3,
    topic="GRU",
    title="GRU cell forward",
    functions=("gru_cell_forward",),
    reference={"gru_cell_forward": gru_cell_forward},
    hints=[
        Hint(
            "update-convention",
            "In PyTorch's convention z keeps the old state: h_new = (1 - z) ⊙ n + z ⊙ h. "
            "(The notes' form swaps z and 1 - z: the same model with the update gate negated.)",
        ),
        Hint(
            "reset-before-product",
            "PyTorch applies the reset gate after the recurrent product: "
            "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), not W_hn (r ⊙ h) (Cho et al.'s form).",
        ),
        Hint(
            "gate-order",
            "The 3H rows of the weights are stacked r, z, n (reset, update, candidate), as in "
            "torch.nn.GRU.",
        ),
    ],
    stub='''
def gru_cell_forward(x, h, W_ih, W_hh, b_ih, b_hh):
    """One step of a GRU cell in PyTorch's convention (torch.nn.GRUCell).

    gi = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh (each (B, 3H)) split into blocks r, z, n, in
    that order. The reset gate r = σ(gi_r + gh_r), the update gate z = σ(gi_z + gh_z), the
    candidate n = tanh(gi_n + r ⊙ gh_n), and h_new = (1 - z) ⊙ n + z ⊙ h.

    Args:
        x: (B, D) input.  h: (B, H) the previous state.
        W_ih: (3H, D), W_hh: (3H, H), b_ih, b_hh: (3H,) the parameters.

    Returns:
        h_new: (B, H).
    """
    raise NotImplementedError
''',
)


def _gru_case(rng, B, D, H):
    x, h, _, W_ih, W_hh, b_ih = _cell_case(rng, B, D, H, 3)
    return x, h, W_ih, W_hh, b_ih, rng.standard_normal(3 * H)


def _gru_mistakes(x, h, W_ih, W_hh, b_ih, b_hh) -> dict:
    gi_r, gi_z, gi_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    gh_r, gh_z, gh_n = np.split(h @ W_hh.T + b_hh, 3, axis=1)
    r, z = scratch.layers.sigmoid(gi_r + gh_r), scratch.layers.sigmoid(gi_z + gh_z)
    n = np.tanh(gi_n + r * gh_n)
    W_hn, b_hn = np.split(W_hh, 3)[2], np.split(b_hh, 3)[2]
    n_cho = np.tanh(gi_n + (r * h) @ W_hn.T + b_hn)
    swapped = gru_cell_forward(x, h, *_permuted(3, (1, 0, 2), W_ih, W_hh, b_ih, b_hh))
    return {
        "update-convention": z * n + (1 - z) * h,
        "reset-before-product": (1 - z) * n_cho + z * h,
        "gate-order": swapped,
    }


@gru.check("values on random shapes", weight=3)
def _(s, rng):
    for shape in CELL_SHAPES:
        case = _gru_case(rng, *shape)
        expect_close(
            s.gru_cell_forward(*case),
            gru_cell_forward(*case),
            f"h_new for (B, D, H) = {shape}",
            mistakes=_gru_mistakes(*case),
        )


@gru.check("an update gate near 1 keeps the state")
def _(s, rng):
    x, h, W_ih, W_hh, b_ih, b_hh = _gru_case(rng, 4, 3, 5)
    b_hh[5:10] = 50.0  # z = σ(... + 50) ≈ 1
    case = (x, h, W_ih, W_hh, b_ih, b_hh)
    mistakes = {"update-convention": _gru_mistakes(*case)["update-convention"]}
    expect_close(
        s.gru_cell_forward(*case),
        h,
        "h_new with the update gate z ≈ 1 (the old state)",
        atol=1e-6,
        mistakes=mistakes,
    )


@gru.check("states stay in [-1, 1]")
def _(s, rng):
    x, h, W_ih, W_hh, b_ih, b_hh = _gru_case(rng, 8, 3, 5)
    for _ in range(20):
        h = as_array(s.gru_cell_forward(5 * x, h, 3 * W_ih, 3 * W_hh, b_ih, b_hh), "h_new", h.shape)
        expect(
            np.all(np.abs(h) <= 1),
            "a GRU state left [-1, 1]: h_new mixes h and tanh(·), both inside it",
        )


# ------------------------------------------------------------------- gradient clipping


def _grad_holder(grads) -> scratch.Layer:
    return holder(**{str(i): g for i, g in enumerate(grads)})


def clip_by_norm(grads, max_norm):
    layer = _grad_holder(grads)
    scratch.clip_grad_norm(layer, max_norm)
    return [layer.grads[str(i)] for i in range(len(grads))]


def clip_by_value(grads, clip_value):
    layer = _grad_holder(grads)
    scratch.clip_grad_value(layer, clip_value)
    return [layer.grads[str(i)] for i in range(len(grads))]


clipping = exercise(
    "gradient-clipping",
    unit=3,
    topic="gradient clipping",
    title="Gradient clipping by norm and by value",
    functions=("clip_by_norm", "clip_by_value"),
    reference={"clip_by_norm": clip_by_norm, "clip_by_value": clip_by_value},
    hints=[
        Hint(
            "per-tensor",
            "The norm is taken over all the gradients together, ‖g‖ = √(Σ over every array of "
            "Σ g²), and every array is scaled by the same θ / ‖g‖: clipping each array by its own "
            "norm changes the gradient's direction.",
        ),
        Hint(
            "always-rescale",
            "Clip only when ‖g‖ > θ; a smaller gradient is left as it is (scaling it up to θ "
            "would take larger steps than the gradient asks for).",
        ),
        Hint(
            "value-one-sided",
            "Clipping by value bounds both sides: every entry goes into [-v, v], so large "
            "negative entries are raised to -v just as large positive ones are lowered to v.",
        ),
    ],
    stub='''
def clip_by_norm(grads, max_norm):
    """Clip gradients by their joint norm (Pascanu et al., 2013, Algorithm 1).

    ‖g‖ is the L2 norm of all the gradients together, as if concatenated into one vector.
    When ‖g‖ > θ (= max_norm), every gradient is multiplied by θ / ‖g‖, so the joint norm becomes
    θ and the direction stays; otherwise nothing changes. (PyTorch divides by ‖g‖ + 1e-6, which
    is accepted too.)

    Args:
        grads: a list of arrays of any shapes.  max_norm: θ > 0.

    Returns:
        A list of arrays shaped like grads.
    """
    raise NotImplementedError


def clip_by_value(grads, clip_value):
    """Clip every entry of every gradient into [-clip_value, clip_value]; return a new list."""
    raise NotImplementedError
''',
)


def _grads_case(rng, scale: float):
    shapes = [[(3,)], [(2, 3), (4,)], [(1, 1), (3, 2, 2), (5,)]][int(rng.integers(3))]
    return [scale * rng.standard_normal(shape) for shape in shapes]


def _clipped(s, function: str, grads, threshold):
    got = getattr(s, function)(grads, threshold)
    names = tuple(f"gradient {i}" for i in range(len(grads)))
    got = unpack(got, function, names)
    return [as_array(g, name, a.shape) for g, name, a in zip(got, names, grads)]


def _joint_norm(grads) -> float:
    return float(np.sqrt(sum((g**2).sum() for g in grads)))


@clipping.check("clipping by norm scales every gradient together", weight=2)
def _(s, rng):
    for _ in range(5):
        grads = _grads_case(rng, 3.0)
        theta = float(rng.uniform(0.5, 0.9)) * _joint_norm(grads)
        want = clip_by_norm(grads, theta)
        got = _clipped(s, "clip_by_norm", grads, theta)
        per_tensor = [g * min(1.0, theta / np.linalg.norm(g)) for g in grads]
        for i, (g, w, p) in enumerate(zip(got, want, per_tensor)):
            mistakes = {"per-tensor": p} if len(grads) > 1 else {}
            expect_close(
                g, w, f"clipped gradient {i} (θ = {theta:.3g})", rtol=1e-5, mistakes=mistakes
            )


@clipping.check("the clipped gradient has norm θ and the same direction")
def _(s, rng):
    grads = _grads_case(rng, 3.0)
    theta = 0.5 * _joint_norm(grads)
    got = _clipped(s, "clip_by_norm", grads, theta)
    norm = _joint_norm(got)
    flat_got, flat = (
        np.concatenate([g.ravel() for g in got]),
        np.concatenate([g.ravel() for g in grads]),
    )
    cosine = flat_got @ flat / max(np.linalg.norm(flat_got) * np.linalg.norm(flat), 1e-300)
    expect(
        norm <= theta * (1 + 1e-6) and np.isclose(norm, theta, rtol=1e-5),
        f"the clipped gradient's norm is {norm:.6g}, expected θ = {theta:.6g}",
    )
    expect(
        cosine > 1 - 1e-9,
        f"clipping turned the gradient (cosine {cosine:.6f} to the original)",
        ("per-tensor",) if len(grads) > 1 else (),
    )


@clipping.check("a gradient within the threshold is unchanged")
def _(s, rng):
    grads = _grads_case(rng, 1.0)
    theta = 2.0 * _joint_norm(grads)
    got = _clipped(s, "clip_by_norm", grads, theta)
    scaled = theta / _joint_norm(grads)
    for i, (g, a) in enumerate(zip(got, grads)):
        expect_close(
            g, a, f"gradient {i} (its norm is below θ)", mistakes={"always-rescale": scaled * a}
        )


@clipping.check("clipping by value", weight=2)
def _(s, rng):
    for _ in range(5):
        grads, v = _grads_case(rng, 2.0), float(rng.uniform(0.2, 1.5))
        got = _clipped(s, "clip_by_value", grads, v)
        for i, (g, w, a) in enumerate(zip(got, clip_by_value(grads, v), grads)):
            expect_close(
                g,
                w,
                f"gradient {i} clipped at {v:.3g}",
                mistakes={"value-one-sided": np.minimum(a, v)},
            )


# ------------------------------------------------------------------------ truncated BPTT


def tbptt_reach(T, k, t):
    rng = np.random.default_rng(0)
    layer = scratch.RNN(1, 2, truncate=k, rng=rng)
    layer.forward(rng.standard_normal((1, T, 1)))
    dout = np.zeros((1, T, 2))
    dout[0, t] = 1.0  # a loss at step t alone
    layer.backward(dout)
    return np.abs(layer.dh[0]).sum(axis=1) > 0  # which states h_s the gradient reached


truncated = exercise(
    "truncated-bptt",
    unit=3,
    topic="BPTT",
    title="Truncated BPTT: which steps receive gradient",
    functions=("tbptt_reach",),
    reference={"tbptt_reach": tbptt_reach},
    hints=[
        Hint(
            "sliding-window",
            "Truncation cuts the sequence into fixed chunks 0..k-1, k..2k-1, ... and detaches "
            "the state at each cut: a loss at step t reaches back to the start of its own chunk, "
            "not k steps back from t.",
        ),
        Hint(
            "includes-future",
            "Gradient flows backwards in time only: a loss at step t cannot reach the states "
            "after t, even in the same chunk.",
        ),
        Hint(
            "chunk-off-by-one",
            "The state entering a chunk is a constant (detached), so the last step of the "
            "previous chunk receives no gradient from this chunk's losses.",
        ),
    ],
    stub='''
def tbptt_reach(T, k, t):
    """Truncated backpropagation through time: which hidden states get gradient from one loss.

    The sequence of T steps (counted from 0) is cut into consecutive chunks of k steps: 0..k-1,
    k..2k-1, and so on. The state is carried forward across a cut but treated as a constant
    there (detached, as `h = h.detach()` every k steps in PyTorch).

    Args:
        T: the sequence length.  k: the truncation length.  t: the step with the loss.

    Returns:
        reach: (T,) booleans, True at the steps s whose hidden state h_s receives gradient
        from a loss at step t alone.
    """
    raise NotImplementedError
''',
)


def _reach_mistakes(T, k, t) -> dict:
    s = np.arange(T)
    want = tbptt_reach(T, k, t)
    start = (t // k) * k
    return {
        "sliding-window": (s > t - k) & (s <= t),
        "includes-future": s // k == t // k,
        "chunk-off-by-one": want | (s == start - 1),
    }


def _reach(s, T, k, t):
    return as_array(s.tbptt_reach(T, k, t), f"tbptt_reach({T}, {k}, {t})", (T,))


@truncated.check("random lengths, truncations and loss steps", weight=3)
def _(s, rng):
    for _ in range(10):
        T = int(rng.integers(5, 40))
        k, t = int(rng.integers(2, T)), int(rng.integers(0, T))
        expect_close(
            _reach(s, T, k, t),
            tbptt_reach(T, k, t),
            f"tbptt_reach(T={T}, k={k}, t={t})",
            mistakes=_reach_mistakes(T, k, t),
        )


@truncated.check("k >= T is full BPTT")
def _(s, rng):
    T = int(rng.integers(5, 30))
    t = int(rng.integers(0, T))
    expect_close(
        _reach(s, T, T, t),
        np.arange(T) <= t,
        f"tbptt_reach(T={T}, k={T}, t={t})",
        mistakes=_reach_mistakes(T, T, t),
    )


@truncated.check("k = 1 and a loss on a chunk's first step reach that step only")
def _(s, rng):
    T, k = 24, int(rng.integers(2, 6))
    for kk, t in ((1, int(rng.integers(0, T))), (k, 2 * k)):
        expect_close(
            _reach(s, T, kk, t),
            np.arange(T) == t,
            f"tbptt_reach(T={T}, k={kk}, t={t})",
            mistakes=_reach_mistakes(T, kk, t),
        )
