"""Explicit cells against PyTorch's, the recurrent patterns, BPTT gradients, and Seq2Seq."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dllab.errors import ConfigError, DataError
from dllab.models import create_model, list_models, model_entry
from dllab.models.rnn import OneToMany, RecurrentNet
from dllab.models.seq2seq import Seq2Seq
from dllab.nn.recurrent import (
    GRUCell,
    LSTMCell,
    RNNCell,
    chrono_init_,
    detach_state,
    hidden_grads,
    make_recurrent,
    unroll,
)

CELLS = ("rnn", "lstm", "gru")
CELL_KINDS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
OUR_CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
TORCH_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
TIGHT = {"rtol": 0.0, "atol": 1e-10}


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def layer_zero(stack):
    """The parameters of layer 0 of a one-layer stack under a cell's names (weight_ih, ...)."""
    return {k.removesuffix("_l0"): v for k, v in stack.state_dict().items()}


def random_state(cell, shape):
    """A random initial state (h, or (h, c)) that requires grad, in float64."""
    parts = [torch.randn(shape, dtype=torch.double, requires_grad=True) for _ in range(2)]
    return tuple(parts) if cell == "lstm" else parts[0]


def outputs_and_grads(module, x, state, weights):
    """Outputs of module(x, state), and the gradients of their weighted sum w.r.t. x, state and
    parameters."""
    out = as_tuple(module(x, state))
    flat = [t for o in out for t in as_tuple(o)]
    loss = sum((t * w).sum() for t, w in zip(flat, weights))
    wrt = [x, *as_tuple(state), *module.parameters()]
    return flat, torch.autograd.grad(loss, wrt)


def assert_same(ours, theirs):
    """Same outputs and same gradients (inputs, states and parameters), to 1e-10 in float64."""
    for a, b in zip(ours[0] + list(ours[1]), theirs[0] + list(theirs[1]), strict=True):
        torch.testing.assert_close(a, b, **TIGHT)


@pytest.mark.parametrize("cell, nonlinearity", CELL_KINDS)
def test_cell_matches_torch_outputs_and_grads(cell, nonlinearity):
    torch.manual_seed(0)
    kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    theirs = TORCH_CELLS[cell](3, 5, **kw).double()
    ours = OUR_CELLS[cell](3, 5, **kw).double()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    state = random_state(cell, (4, 5))
    weights = [torch.randn(4, 5, dtype=torch.double) for _ in range(2)]
    assert_same(
        outputs_and_grads(ours, x, state, weights), outputs_and_grads(theirs, x, state, weights)
    )


@pytest.mark.parametrize("cell, nonlinearity", CELL_KINDS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_explicit_stack_matches_fused(cell, nonlinearity, num_layers, bidirectional):
    torch.manual_seed(0)
    args = (cell, 3, 5, num_layers, bidirectional, 0.0, nonlinearity)
    fused = make_recurrent(*args).double()
    explicit = make_recurrent(*args, fused=False).double()
    explicit.load_state_dict(fused.state_dict())  # the same parameter names and shapes
    dirs = 2 if bidirectional else 1
    x = torch.randn(2, 6, 3, dtype=torch.double, requires_grad=True)
    state = random_state(cell, (num_layers * dirs, 2, 5))
    weights = [
        torch.randn(s, dtype=torch.double)
        for s in [(2, 6, 5 * dirs)] + [(num_layers * dirs, 2, 5)] * 2
    ]
    assert_same(
        outputs_and_grads(explicit, x, state, weights),
        outputs_and_grads(fused, x, state, weights),
    )


@pytest.mark.parametrize("cell", CELLS)
def test_unroll_matches_fused_single_layer(cell):
    torch.manual_seed(0)
    fused = make_recurrent(cell, 3, 5).double()
    explicit = OUR_CELLS[cell](3, 5).double()
    explicit.load_state_dict(layer_zero(fused))
    x = torch.randn(2, 7, 3, dtype=torch.double, requires_grad=True)
    out, hs, state = unroll(explicit, x, return_state=True)
    expected_out, expected_state = fused(x)
    torch.testing.assert_close(out, expected_out, **TIGHT)
    for a, b in zip(as_tuple(state), as_tuple(expected_state)):
        torch.testing.assert_close(a, b.squeeze(0), **TIGHT)
    w = torch.randn_like(out)
    (g,) = torch.autograd.grad((out * w).sum(), x)
    (expected_g,) = torch.autograd.grad((expected_out * w).sum(), x)
    torch.testing.assert_close(g, expected_g, **TIGHT)
    assert len(hs) == 7 and all(h.shape == (2, 5) for h in hs)


def test_tanh_rnn_gradient_vanishes_back_in_time():
    torch.manual_seed(0)
    cell = RNNCell(4, 16).double()
    with torch.no_grad():
        cell.weight_hh.mul_(0.5)
    outputs, hs = unroll(cell, torch.randn(8, 30, 4, dtype=torch.double))
    outputs[:, -1].sum().backward()  # a loss on the last step only
    grads = hidden_grads(hs)
    assert grads.shape == (8, 30, 16)
    norms = grads.norm(dim=(0, 2))  # ||dL/dh_t||, t = 0..29
    assert torch.all(norms[:-1] < norms[1:])  # smaller at every step further from the end
    assert norms[0] < 1e-2 * norms[-1]


def test_explicit_net_exposes_per_step_gradients_of_its_hidden_states():
    torch.manual_seed(0)
    model = RecurrentNet(3, 5, 2, "lstm", fused=False).double()
    x = torch.randn(4, 9, 3, dtype=torch.double)
    model(x).sum().backward()
    cell = LSTMCell(3, 5).double()
    cell.load_state_dict(
        {k[4:-3]: v for k, v in model.state_dict().items() if k.startswith("rnn.")}
    )
    _, hs = unroll(cell, x)
    model.head(hs[-1]).sum().backward()
    torch.testing.assert_close(hidden_grads(model.rnn.hs[0]), hidden_grads(hs), **TIGHT)
    clone = copy.deepcopy(model)  # the recorded graph tensors are not copied
    assert clone.rnn.hs == []
    torch.testing.assert_close(clone(x), model(x), **TIGHT)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pattern", ["many-to-one", "many-to-many"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("fused", [True, False])
def test_recurrent_net_shapes(cell, pattern, bidirectional, merge, fused):
    model = RecurrentNet(3, 8, 4, cell, 2, bidirectional, merge, pattern=pattern, fused=fused)
    y_hat = model(torch.randn(2, 5, 3))
    assert y_hat.shape == ((2, 4) if pattern == "many-to-one" else (2, 5, 4))
    assert model.head.in_features == (16 if bidirectional and merge == "concat" else 8)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_bidirectional_many_to_one_reads_backward_direction_at_first_step(cell, merge):
    torch.manual_seed(0)
    model = RecurrentNet(3, 5, 2, cell, num_layers=2, bidirectional=True, merge=merge).double()
    x = torch.randn(4, 6, 3, dtype=torch.double)
    outputs, _ = model.rnn(x)  # (B, T, 2H): [forward, backward] of the top layer
    forward_last, backward_first = outputs[:, -1, :5], outputs[:, 0, 5:]
    z = (
        torch.cat([forward_last, backward_first], -1)
        if merge == "concat"
        else forward_last + backward_first
    )
    torch.testing.assert_close(model(x), model.head(z), **TIGHT)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("fused", [True, False])
def test_carried_state_continues_the_sequence_exactly(cell, fused):
    torch.manual_seed(0)
    model = RecurrentNet(3, 5, 2, cell, num_layers=2, pattern="many-to-many", fused=fused)
    model = model.double()
    x = torch.randn(4, 10, 3, dtype=torch.double)
    whole, whole_state = model(x, return_state=True)
    first, state = model(x[:, :5], return_state=True)
    second, final_state = model(x[:, 5:], detach_state(state), return_state=True)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, **TIGHT)
    for a, b in zip(as_tuple(final_state), as_tuple(whole_state)):
        torch.testing.assert_close(a, b, **TIGHT)


def test_fused_and_explicit_nets_share_one_state_dict():
    torch.manual_seed(0)
    args = (16, 6, 10, "gru", 2, True)
    fused = RecurrentNet(*args, pattern="many-to-many", embedding=20)
    explicit = RecurrentNet(*args, pattern="many-to-many", embedding=20, fused=False)
    explicit.load_state_dict(fused.state_dict())
    tokens = torch.randint(0, 20, (3, 7))
    torch.testing.assert_close(explicit(tokens), fused(tokens), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RecurrentNet(3, 5, 1, cell="transformer"),
        lambda: RecurrentNet(3, 5, 1, merge="mean"),
        lambda: RecurrentNet(3, 5, 1, pattern="one-to-two"),
        lambda: RecurrentNet(3, 5, 1, cell="lstm", nonlinearity="relu"),
        lambda: RecurrentNet(3, 5, 1, nonlinearity="sigmoid"),
        lambda: RecurrentNet(3, 5, 1, dropout=1.5),
        lambda: RecurrentNet(3, 0, 1),
        lambda: OneToMany(3, 5, 1, seq_len=0),
        lambda: create_model("lstm", hidden=3),
        lambda: create_model("seq2seq_lstm", vocab=3),
    ],
)
def test_bad_configuration_is_a_config_error(build):
    with pytest.raises(ConfigError):
        build()


def test_unknown_cell_message_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'lstm'"):
        RecurrentNet(3, 5, 1, cell="lstn")


@pytest.mark.parametrize(
    "name, x",
    [
        ("lstm", torch.randn(2, 20, 3)),  # 3 features, the model takes 2
        ("lstm", torch.randn(2, 20)),
        ("char_lstm", torch.randn(2, 16)),  # floats where token ids are due
        ("one_to_many_gru", torch.randn(2, 5)),
        ("seq2seq_lstm", torch.randn(2, 8)),
    ],
)
def test_wrong_input_is_a_data_error(name, x):
    with pytest.raises(DataError):
        create_model(name)(x)


@pytest.mark.parametrize("name", list_models("rnn") + list_models("seq2seq"))
def test_registered_variants_run_and_train_every_parameter(name):
    torch.manual_seed(0)
    entry = model_entry(name)
    model = create_model(name)
    shape = (2, *entry.input_shape)
    is_long = entry.input_dtype == torch.long
    x = torch.randint(0, 2, shape) if is_long else torch.randn(shape)
    y_hat = model(x)
    assert torch.isfinite(y_hat).all()
    y_hat.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_registered_variants_have_the_documented_outputs():
    assert create_model("bilstm", num_outputs=3)(torch.randn(2, 20, 2)).shape == (2, 3)
    assert create_model("char_gru", vocab_size=7)(torch.randint(0, 7, (2, 5))).shape == (2, 5, 7)
    model = create_model("gru", fused=False, pattern="many-to-many")
    assert model(torch.randn(2, 20, 2)).shape == (2, 20, 1)


@pytest.mark.parametrize("cell", CELLS)
def test_one_to_many_unfolds_a_vector(cell):
    torch.manual_seed(0)
    model = OneToMany(4, 8, 2, seq_len=6, cell=cell, num_layers=2)
    v = torch.randn(3, 4)
    assert model(v).shape == (3, 6, 2)
    assert model(v, seq_len=9).shape == (3, 9, 2)
    assert not torch.allclose(model(v)[0], model(v)[1])  # each vector its own sequence


def test_seq2seq_shapes():
    model = Seq2Seq(src_vocab=9, tgt_vocab=11, embed_size=8, num_hiddens=12, num_layers=2)
    src, tgt_in = torch.randint(0, 9, (4, 3)), torch.randint(0, 11, (4, 5))
    assert model(src, tgt_in).shape == (4, 5, 11)  # teacher forcing, T_out != T_in
    assert model(src).shape == (4, 3, 11)  # free-running for T_in steps
    tokens = model.generate(src, max_len=7, start_token=1)
    assert tokens.shape == (4, 7) and tokens.dtype == torch.long


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_seq2seq_learns_to_reverse_two_sequences(cell):
    torch.manual_seed(0)
    src = torch.tensor([[1, 2, 3, 4, 5], [5, 3, 1, 4, 2]])
    tgt = src.flip(1)
    tgt_in = torch.cat([torch.zeros(2, 1, dtype=torch.long), tgt[:, :-1]], 1)  # shifted right
    model = Seq2Seq(8, 8, embed_size=16, num_hiddens=32, cell=cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = F.cross_entropy(model(src, tgt_in).flatten(0, 1), tgt.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.equal(model.generate(src, max_len=5, start_token=0), tgt)


@pytest.mark.parametrize("fused", [True, False])
def test_chrono_init_spreads_forget_gate_memory_up_to_max_len(fused):
    torch.manual_seed(0)
    lstm = make_recurrent("lstm", 3, 16, num_layers=2, bidirectional=True, fused=fused)
    chrono_init_(lstm, max_len=100)
    for name, bias in lstm.named_parameters():
        i, f = bias[:16], bias[16:32]
        if name.startswith("bias_ih"):
            assert torch.all(f >= 0) and torch.all(f <= math.log(99)) and torch.equal(i, -f)
            assert f.max() > math.log(50)  # some cells remember for more than 50 steps
        elif name.startswith("bias_hh"):
            assert torch.all(bias[:32] == 0)
