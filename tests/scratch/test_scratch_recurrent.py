"""dllab.scratch's RNN, LSTM, GRU and Bidirectional against torch (batch_first=True) in float64:
full BPTT, truncated BPTT against torch with states detached every k steps, per-step dL/dh_t
and initial-state gradients against torch's cells.
"""

import numpy as np
import pytest
import torch
from torch import nn

from dllab import scratch as S
from dllab.errors import ConfigError, DataError
from dllab.scratch import check_against_torch

I, H = 3, 4


def twin(cell: str, bidirectional=False, **kwargs):
    return lambda: getattr(nn, cell)(I, H, batch_first=True, bidirectional=bidirectional, **kwargs)


def tbptt(k: int):
    """torch's truncated BPTT: run chunks of k steps, detaching the carried state between them."""

    def run(module, x):
        outs, state = [], None
        for start in range(0, x.shape[1], k):
            out, state = module(x[:, start : start + k], state)
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            outs.append(out)
        return torch.cat(outs, dim=1)

    return run


def summed_directions(module, x):
    return module(x)[0].unflatten(-1, (2, H)).sum(-2)  # (B, T, 2H) -> (B, T, H)


def case(name, make_layer, make_module, shape, torch_forward=None):
    return pytest.param(make_layer, make_module, shape, torch_forward, id=name)


RECURRENT = [
    case("rnn-tanh", lambda: S.RNN(I, H), twin("RNN"), (2, 5, I)),
    case("rnn-relu", lambda: S.RNN(I, H, "relu"), twin("RNN", nonlinearity="relu"), (2, 5, I)),
    case("lstm", lambda: S.LSTM(I, H), twin("LSTM"), (2, 5, I)),
    case("gru", lambda: S.GRU(I, H), twin("GRU"), (2, 5, I)),
    case("rnn-batch1-seq1", lambda: S.RNN(I, H), twin("RNN"), (1, 1, I)),
    case("lstm-batch1", lambda: S.LSTM(I, H), twin("LSTM"), (1, 4, I)),
    case("lstm-seq1", lambda: S.LSTM(I, H), twin("LSTM"), (2, 1, I)),
    case("gru-seq1", lambda: S.GRU(I, H), twin("GRU"), (2, 1, I)),
    case("bi-rnn", lambda: S.Bidirectional(S.RNN(I, H)), twin("RNN", True), (2, 4, I)),
    case("bi-lstm", lambda: S.Bidirectional(S.LSTM(I, H)), twin("LSTM", True), (2, 4, I)),
    case("bi-gru", lambda: S.Bidirectional(S.GRU(I, H)), twin("GRU", True), (2, 4, I)),
    case("bi-gru-batch1-seq1", lambda: S.Bidirectional(S.GRU(I, H)), twin("GRU", True), (1, 1, I)),
    case(
        "bi-lstm-sum",
        lambda: S.Bidirectional(S.LSTM(I, H), merge="sum"),
        twin("LSTM", True),
        (2, 4, I),
        summed_directions,
    ),
    case("rnn-tbptt2", lambda: S.RNN(I, H, truncate=2), twin("RNN"), (2, 5, I), tbptt(2)),
    case("lstm-tbptt2", lambda: S.LSTM(I, H, truncate=2), twin("LSTM"), (2, 5, I), tbptt(2)),
    case("gru-tbptt3", lambda: S.GRU(I, H, truncate=3), twin("GRU"), (2, 7, I), tbptt(3)),
    case("lstm-tbptt1", lambda: S.LSTM(I, H, truncate=1), twin("LSTM"), (2, 4, I), tbptt(1)),
    case("gru-tbptt-long", lambda: S.GRU(I, H, truncate=9), twin("GRU"), (2, 4, I)),
]


@pytest.mark.slow
@pytest.mark.parametrize("make_layer, make_module, shape, torch_forward", RECURRENT)
def test_recurrent_matches_torch(make_layer, make_module, shape, torch_forward):
    layer, x = make_layer(), np.random.default_rng(1).standard_normal(shape)
    truncate = getattr(layer, "truncate", None)
    exact = truncate is None or truncate >= shape[1]  # else not the loss's true gradient
    check_against_torch(layer, make_module(), x, torch_forward=torch_forward, numerical=exact)


def test_truncation_changes_the_gradient():
    x = np.random.default_rng(1).standard_normal((2, 6, I))
    full, cut = (
        S.LSTM(I, H, rng=np.random.default_rng(0)),
        S.LSTM(I, H, 2, np.random.default_rng(0)),
    )
    g = np.ones((2, 6, H))
    for layer in (full, cut):
        layer.forward(x)
        layer.backward(g)
    assert not np.allclose(full.grads["weight_hh"], cut.grads["weight_hh"])
    np.testing.assert_array_equal(full.dh[:, -2:], cut.dh[:, -2:])  # the last chunk is intact


@pytest.mark.parametrize("make_layer, make_module, shape, torch_forward", RECURRENT)
def test_to_torch_computes_the_same_function(make_layer, make_module, shape, torch_forward):
    layer = make_layer()
    x = np.random.default_rng(1).standard_normal(shape)
    if getattr(layer, "merge", "concat") == "sum":
        with pytest.raises(ConfigError, match="merge='sum'"):
            layer.to_torch()
        return
    out = layer.to_torch()(torch.from_numpy(x))[0].detach()
    np.testing.assert_allclose(layer.forward(x), out, rtol=1e-10)


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("truncate", [None, 2])
def test_per_step_and_initial_state_gradients_match_torch_cells(cell, truncate):
    """dh[:, t] = dL/dh_t and dstate0 = dL/d(h0, c0), against a torch cell unrolled by hand."""
    B, T = 2, 5
    rng = np.random.default_rng(5)
    layer = getattr(S, cell)(I, H, truncate=truncate, rng=rng)
    torch_cell = getattr(nn, f"{cell}Cell")(I, H).double()
    torch_cell.load_state_dict({k: torch.from_numpy(v) for k, v in layer.params.items()})
    x, g = rng.standard_normal((B, T, I)), rng.standard_normal((B, T, H))
    state0 = [rng.standard_normal((B, H)) for _ in range(2 if cell == "LSTM" else 1)]

    layer.forward(x, *state0)
    dx = layer.backward(g)
    x_t = torch.tensor(x, requires_grad=True)
    state0_t = [torch.tensor(s, requires_grad=True) for s in state0]
    state, hs = state0_t, []
    for t in range(T):
        if truncate and t % truncate == 0 and t > 0:
            state = [s.detach() for s in state]
        out = torch_cell(x_t[:, t], tuple(state) if cell == "LSTM" else state[0])
        state = list(out) if cell == "LSTM" else [out]
        state[0].retain_grad()
        hs.append(state[0])
    (torch.stack(hs, dim=1) * torch.from_numpy(g)).sum().backward()

    np.testing.assert_allclose(dx, x_t.grad, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(layer.dh, torch.stack([h.grad for h in hs], 1), rtol=1e-6)
    for ours, theirs in zip(layer.dstate0, state0_t):
        np.testing.assert_allclose(ours, theirs.grad, rtol=1e-6, atol=1e-12)
    for name, param in torch_cell.named_parameters():
        np.testing.assert_allclose(layer.grads[name], param.grad, rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(layer.final_state[0], hs[-1].detach(), rtol=1e-12)


def test_user_errors_are_one_line_dllab_errors():
    with pytest.raises(ConfigError, match="did you mean 'relu'"):
        S.RNN(I, H, nonlinearity="relu6")
    with pytest.raises(ConfigError, match="truncate"):
        S.GRU(I, H, truncate=0)
    with pytest.raises(ConfigError, match="no cell state"):
        S.GRU(I, H).forward(np.zeros((1, 2, I)), c0=np.zeros((1, H)))
    with pytest.raises(DataError, match="expects"):
        S.LSTM(I, H).forward(np.zeros((1, 2, I + 1)))
    with pytest.raises(ConfigError, match="merge"):
        S.Bidirectional(S.RNN(I, H), merge="max")
    with pytest.raises(ConfigError, match="wraps"):
        S.Bidirectional(S.Dense(I, H))
