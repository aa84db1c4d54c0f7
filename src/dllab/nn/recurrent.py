"""Recurrent cells written out from their equations, and an explicit twin of nn.RNN/LSTM/GRU.

Elman (1990) "Finding Structure in Time" (the simple RNN); Hochreiter & Schmidhuber (1997)
"Long Short-Term Memory" with the forget gate of Gers, Schmidhuber & Cummins (2000); Cho et al.
(2014) "Learning Phrase Representations using RNN Encoder-Decoder" (the GRU).

Parameters keep PyTorch's names and layout — weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and
bias_hh (G*H,), gates stacked i, f, g, o (LSTM) and r, z, n (GRU) — so weights copy both ways:
`cell.load_state_dict(torch.nn.LSTMCell(...).state_dict())`, and `ExplicitRecurrent` holds exactly
the parameters of the fused module it mirrors (`weight_ih_l0`, `weight_hh_l1_reverse`, ...).

The explicit path is a Python loop over time: slower than the fused kernels, but every hidden
state h_t is a tensor of its own whose gradient dL/dh_t can be read after `backward()` — BPTT
made visible (vanishing-gradient heat maps).
"""

import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from dllab.errors import ConfigError, unknown_name_message

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # h, or (h, c) for the LSTM
Step = Callable[[torch.Tensor, State], State]  # (W_ih x_t + b_ih, state_{t-1}) -> state_t

NONLINEARITIES = ("tanh", "relu")
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # torch's names, per layer


def rnn_step(gi, h, weight_hh, bias_hh, nonlinearity: str = "tanh") -> torch.Tensor:
    """One Elman step from the input projection gi = W_ih x_t + b_ih (B, H); returns h_t (B, H)."""
    a = gi + F.linear(h, weight_hh, bias_hh)  # W_ih x_t + b_ih + W_hh h_{t-1} + b_hh  (B, H)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)  # h_t = tanh(a_t)  (Elman)


def lstm_step(
    gi: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], weight_hh, bias_hh
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step from gi = W_ih x_t + b_ih (B, 4H) and (h, c); returns (h_t, c_t)."""
    h, c = state
    a_i, a_f, a_g, a_o = (gi + F.linear(h, weight_hh, bias_hh)).chunk(4, dim=1)  # 4 x (B, H)
    i = torch.sigmoid(a_i)  # input gate   i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f = torch.sigmoid(a_f)  # forget gate  f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)  (Gers)
    g = torch.tanh(a_g)  # candidate       g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o = torch.sigmoid(a_o)  # output gate  o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c = f * c + i * g  # cell              c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    return o * torch.tanh(c), c  # hidden  h_t = o_t ⊙ tanh(c_t)


def gru_step(gi, h, weight_hh, bias_hh) -> torch.Tensor:
    """One GRU step from gi = W_ih x_t + b_ih (B, 3H) and h (B, H); returns h_t (B, H).

    PyTorch's form, as Cho et al. (eq. 7) write it: h_t = z ⊙ h_{t-1} + (1 - z) ⊙ n_t. The notes
    (like Chung et al. 2014) write h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h~_t: the same model with the
    update gate relabelled z <-> 1 - z (1 - σ(a) = σ(-a): its weights and biases negated).
    One real difference: Cho et al. reset before the product, tanh(W x + U (r ⊙ h)); PyTorch
    (and cuDNN) reset after it, tanh(W x + r ⊙ (U h + b)). We follow PyTorch so weights copy.
    """
    gi_r, gi_z, gi_n = gi.chunk(3, dim=1)  # 3 x (B, H)
    gh_r, gh_z, gh_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)  # 3 x (B, H)
    r = torch.sigmoid(gi_r + gh_r)  # reset   r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = torch.sigmoid(gi_z + gh_z)  # update  z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = torch.tanh(gi_n + r * gh_n)  # cand.  n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h + b_hn))
    return (1 - z) * n + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}


STEPS = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step}
NUM_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def zero_state(cell: str, shape: tuple[int, ...], like: torch.Tensor) -> State:
    """The all-zero initial state of `cell` with h of `shape`, dtype and device of `like`."""
    h = like.new_zeros(shape)
    return (h, torch.zeros_like(h)) if cell == "lstm" else h


def detach_state(state: State) -> State:
    """Cut the graph behind a carried state (truncated BPTT, Williams & Peng 1990)."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def hidden_grads(hs: list[torch.Tensor]) -> torch.Tensor:
    """dL/dh_t for every step of `hs` after `backward()`, stacked to (B, T, H)."""
    return torch.stack([h.grad for h in hs], dim=1)


def _check_choice(kind: str, name: str, known) -> None:
    if name not in known:
        raise ConfigError(unknown_name_message(kind, name, list(known)))


def _init_uniform(params, num_hiddens: int) -> None:
    # Every weight and bias ~ U(-1/√H, 1/√H), as torch.nn.RNNBase and torch.nn.RNNCellBase.
    bound = 1.0 / math.sqrt(num_hiddens)
    for p in params:
        nn.init.uniform_(p, -bound, bound)


def _scan(step: Step, gi: torch.Tensor, state: State, reverse: bool = False):
    """Apply `step` along time to gi (B, T, G*H); returns ([h_t] in time order, final state).

    Each h_t keeps `retain_grad()`, so after backward h_t.grad is the total dL/dh_t (through
    the output at t and through every later step).
    """
    hs = []
    # unbind: one backward node stacks the T step gradients; indexing gi[:, t] instead would
    # give every step's gradient a zero-filled (B, T, G*H) buffer, O(T²) work (10x at T = 200)
    steps = gi.unbind(1)  # T x (B, G*H)
    for gi_t in reversed(steps) if reverse else steps:
        state = step(gi_t, state)
        h = state[0] if isinstance(state, tuple) else state  # (B, H)
        if h.requires_grad:
            h.retain_grad()
        hs.append(h)
    return hs[::-1] if reverse else hs, state


class _Cell(nn.Module):
    """One step of a recurrent cell with torch.nn.*Cell's parameters (see the module docstring)."""

    kind = "rnn"

    def __init__(self, input_size: int, num_hiddens: int):
        super().__init__()
        self.input_size, self.num_hiddens = input_size, num_hiddens
        size = NUM_GATES[self.kind] * num_hiddens  # G*H: the gates stacked along rows
        self.weight_ih = nn.Parameter(torch.empty(size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(size, num_hiddens))
        self.bias_ih = nn.Parameter(torch.empty(size))
        self.bias_hh = nn.Parameter(torch.empty(size))
        _init_uniform(self.parameters(), num_hiddens)

    def step(self, gi: torch.Tensor, state: State) -> State:
        return STEPS[self.kind](gi, state, self.weight_hh, self.bias_hh)

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """x (B, D) and the previous state (zeros when None) -> new state, h (B, H) or (h, c)."""
        if state is None:
            state = zero_state(self.kind, (x.shape[0], self.num_hiddens), x)
        return self.step(F.linear(x, self.weight_ih, self.bias_ih), state)


class RNNCell(_Cell):
    """Elman (1990) cell, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); see `rnn_step`."""

    def __init__(self, input_size: int, num_hiddens: int, nonlinearity: str = "tanh"):
        super().__init__(input_size, num_hiddens)
        _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
        self.nonlinearity = nonlinearity

    def step(self, gi: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return rnn_step(gi, state, self.weight_hh, self.bias_hh, self.nonlinearity)


class LSTMCell(_Cell):
    """LSTM cell (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000); see `lstm_step`."""

    kind = "lstm"


class GRUCell(_Cell):
    """GRU cell (Cho et al. 2014) in PyTorch's form; see `gru_step`."""

    kind = "gru"


def unroll(cell: _Cell, x: torch.Tensor, state: State | None = None, return_state: bool = False):
    """Run `cell` over x (B, T, D) one step at a time.

    Returns:
        outputs (B, T, H) and hs, the list of the T hidden states h_t (B, H), each with
        `retain_grad()` so `hidden_grads(hs)` reads dL/dh_t after `backward()`; with
        `return_state`, also the final state (h_T, or (h_T, c_T) for the LSTM).
    """
    if state is None:
        state = zero_state(cell.kind, (x.shape[0], cell.num_hiddens), x)
    gi = F.linear(x, cell.weight_ih, cell.bias_ih)  # W_ih x_t + b_ih for all t at once (B, T, GH)
    hs, state = _scan(cell.step, gi, state)
    outputs = torch.stack(hs, dim=1)  # (B, T, H)
    return (outputs, hs, state) if return_state else (outputs, hs)


class ExplicitRecurrent(nn.Module):
    """nn.RNN/LSTM/GRU(batch_first=True) as a loop over the step equations: same parameter
    names, same forward contract, same numbers.

    After each forward, `hs[k]` lists the T hidden states (B, H) of layer/direction k (the h_n
    order, k = layer * num_directions + direction) in time order, each with `retain_grad()`.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        num_hiddens: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
    ):
        super().__init__()
        self.cell, self.num_hiddens, self.num_layers = cell, num_hiddens, num_layers
        self.dropout = dropout  # on each layer's outputs but the last, as torch does
        self.suffixes = ("", "_reverse") if bidirectional else ("",)
        self.step = partial(rnn_step, nonlinearity=nonlinearity) if cell == "rnn" else STEPS[cell]
        size = NUM_GATES[cell] * num_hiddens  # G*H: the gates stacked along rows
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else num_hiddens * len(self.suffixes)
            shapes = ((size, layer_input), (size, num_hiddens), (size,), (size,))
            for sfx in self.suffixes:
                for name, shape in zip(PARAM_NAMES, shapes):
                    setattr(self, f"{name}_l{layer}{sfx}", nn.Parameter(torch.empty(shape)))
        _init_uniform(self.parameters(), num_hiddens)
        self.hs: list[list[torch.Tensor]] = []

    def __getstate__(self):
        # `hs` holds graph tensors, which neither pickle nor deepcopy: copies start without them.
        return {**super().__getstate__(), "hs": []}

    def forward(self, x: torch.Tensor, state: State | None = None):
        """x (B, T, D) and h_0 (L*dirs, B, H) or (h_0, c_0), zeros when None.

        Returns:
            outputs (B, T, dirs*H) of the last layer, and the final state h_n (L*dirs, B, H),
            or (h_n, c_n) for the LSTM — as the fused module.
        """
        dirs = len(self.suffixes)
        if state is None:
            state = zero_state(self.cell, (self.num_layers * dirs, x.shape[0], self.num_hiddens), x)
        self.hs, finals = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction, sfx in enumerate(self.suffixes):
                k = layer * dirs + direction
                w_ih, w_hh, b_ih, b_hh = (getattr(self, f"{n}_l{layer}{sfx}") for n in PARAM_NAMES)
                gi = F.linear(x, w_ih, b_ih)  # W_ih x_t + b_ih for all t at once (B, T, G*H)
                step = partial(self.step, weight_hh=w_hh, bias_hh=b_hh)
                init = tuple(s[k] for s in state) if isinstance(state, tuple) else state[k]
                hs, final = _scan(step, gi, init, reverse=direction == 1)
                self.hs.append(hs)
                finals.append(final)
                outputs.append(torch.stack(hs, dim=1))  # (B, T, H)
            x = torch.cat(outputs, dim=-1)  # (B, T, dirs*H)
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        if self.cell == "lstm":
            return x, (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))
        return x, torch.stack(finals)  # h_n (L*dirs, B, H)


@torch.no_grad()
def chrono_init_(lstm: nn.Module, max_len: int) -> None:
    """Chrono initialisation of an LSTM's gate biases (Tallec & Ollivier 2018, "Can Recurrent
    Neural Networks Warp Time?", §4): b_f ~ log(U(1, max_len - 1)), b_i = -b_f.

    With forget gate f = σ(b_f) = u / (1 + u) a cell keeps its content for about u steps, so
    the cells start with memory time scales spread up to the longest dependency `max_len`
    (torch's U(-1/√H, 1/√H) init gives all of them f ≈ 0.5: a memory of about 2 steps).
    Works on nn.LSTM and on `ExplicitRecurrent("lstm", ...)`, every layer and direction.
    """
    for name, bias in lstm.named_parameters():
        H = bias.shape[0] // 4  # gates stacked i, f, g, o
        if name.startswith("bias_ih"):
            b_f = torch.log(torch.empty(H).uniform_(1, max(2, max_len - 1)))
            bias[H : 2 * H] = b_f  # forget gate
            bias[:H] = -b_f  # input gate
        elif name.startswith("bias_hh"):
            bias[: 2 * H] = 0


def make_recurrent(
    cell: str,
    input_size: int,
    num_hiddens: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    nonlinearity: str = "tanh",
    fused: bool = True,
) -> nn.Module:
    """The fused nn.RNN/LSTM/GRU(batch_first=True), or its `ExplicitRecurrent` twin.

    Both take (x (B, T, D), state) and return (outputs (B, T, dirs*H), state), and have the
    same state_dict, so one model trains either way.

    Raises:
        ConfigError: for an unknown cell or nonlinearity, a nonlinearity on a gated cell, or
            sizes and dropout out of range.
    """
    _check_choice("cell", cell, STEPS)
    _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if cell != "rnn" and nonlinearity != "tanh":
        raise ConfigError(f"nonlinearity={nonlinearity!r} applies to cell='rnn' only, not {cell!r}")
    if min(input_size, num_hiddens, num_layers) < 1:
        raise ConfigError(
            f"input_size, num_hiddens and num_layers must be >= 1, "
            f"got {input_size}, {num_hiddens}, {num_layers}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
    if not fused:
        return ExplicitRecurrent(
            cell, input_size, num_hiddens, num_layers, bidirectional, dropout, nonlinearity
        )
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
    return module(
        input_size,
        num_hiddens,
        num_layers,
        batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0,  # torch warns on dropout with one layer
        bidirectional=bidirectional,
        **kwargs,
    )
