"""Recurrent layers for the NumPy engine, trained by backpropagation through time.

Elman RNN (Elman, 1990, "Finding Structure in Time"), LSTM (Hochreiter & Schmidhuber, 1997,
"Long Short-Term Memory", with the forget gate of Gers, Schmidhuber & Cummins, 2000), GRU
(Cho et al., 2014, "Learning Phrase Representations using RNN Encoder-Decoder", §2.3) and
bidirectional wrapping (Schuster & Paliwal, 1997). The backward pass is BPTT (Werbos, 1990,
"Backpropagation Through Time: What It Does and How to Do It"), in full or truncated.

All layers read batch-first sequences (B, T, I) and return every hidden state (B, T, H), matching
`torch.nn.RNN/LSTM/GRU(batch_first=True)` with one layer; parameters are named as in
`torch.nn.LSTMCell` (`weight_ih` (G·H, I), `weight_hh` (G·H, H), `bias_ih`, `bias_hh`), with
torch's gate order. The input projection of all T steps is one matrix product; only the
recurrence loops over time.

Truncated BPTT(k): the sequence is cut into consecutive chunks of k steps (0..k-1, k..2k-1, ...);
the state is carried forward across a cut but treated as a constant there, exactly as torch does
when the state is `.detach()`ed every k steps. A loss at step t therefore reaches steps s with
⌊s/k⌋ = ⌊t/k⌋: at most k - 1 transitions back. k ≥ T is full BPTT.
"""

import copy

import numpy as np

from dllab.errors import ConfigError, DataError, unknown_name_message
from dllab.scratch.layers import Layer, init_uniform, sigmoid


class _Recurrent(Layer):
    """The time loop and BPTT shared by the cells; each cell defines `_step` and its backward.

    After `backward`, `dh` (B, T, H) holds dL/dh_t for every step (the error arriving at h_t from
    its output and from the future) and `dstate0` the gradient of the initial state(s).
    """

    num_gates: int  # G: 1 for RNN, 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n)
    num_states: int = 1  # h, or (h, c) for the LSTM

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        truncate: int | None = None,
        rng: np.random.Generator | None = None,
    ):
        super().__init__()
        if truncate is not None and truncate < 1:
            raise ConfigError(f"truncate must be a positive number of steps, got {truncate}")
        self.input_size, self.hidden_size, self.truncate = input_size, hidden_size, truncate
        self.reset_parameters(rng if rng is not None else np.random.default_rng())

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Fresh weights from U(-1/√H, 1/√H), torch's default."""
        GH, H = self.num_gates * self.hidden_size, self.hidden_size
        arrays = init_uniform(rng, H, (GH, self.input_size), (GH, H), (GH,), (GH,))
        self.params = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays))

    def forward(self, x, h0=None, c0=None):
        """Run the sequence x (B, T, I) from h0 (B, H) (and c0 for the LSTM), zeros by default.

        Returns every hidden state (B, T, H); the last state(s) are kept in `final_state`.
        """
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise DataError(
                f"{type(self).__name__} expects (B, T, {self.input_size}), got {x.shape}"
            )
        if c0 is not None and self.num_states == 1:
            raise ConfigError(f"{type(self).__name__} has no cell state c0")
        B, T, _ = x.shape
        W_ih, W_hh, b_ih, b_hh = (
            self.params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        state = tuple(
            np.zeros((B, self.hidden_size)) if s is None else s for s in (h0, c0)[: self.num_states]
        )
        if any(s.shape != (B, self.hidden_size) for s in state):
            raise DataError(f"initial states must be (B, H) = {(B, self.hidden_size)}")
        x_proj = x @ W_ih.T + b_ih  # (B, T, G·H): the input's share of every step at once
        h_prev, out, caches = np.empty_like(x_proj[..., : self.hidden_size]), [], []
        for t in range(T):
            h_prev[:, t] = state[0]
            h_proj = state[0] @ W_hh.T + b_hh  # (B, G·H)
            state, cache = self._step(x_proj[:, t], h_proj, state)
            out.append(state[0])
            caches.append(cache)
        self.cache = (x, h_prev, caches)
        self.final_state = state
        return np.stack(out, axis=1)  # (B, T, H)

    def backward(self, dout):
        x, h_prev, caches = self.cache
        W_ih, W_hh = self.params["weight_ih"], self.params["weight_hh"]
        B, T, H = dout.shape
        dx_proj = np.empty((B, T, self.num_gates * H))
        dh_proj = np.empty_like(dx_proj)
        self.dh = np.empty_like(dout)
        carry = tuple(np.zeros((B, H)) for _ in range(self.num_states))  # dL/d state_t from t+1
        for t in reversed(range(T)):
            dstate = (carry[0] + dout[:, t], *carry[1:])
            self.dh[:, t] = dstate[0]
            dx_proj[:, t], dh_proj[:, t], direct = self._step_backward(dstate, caches[t])
            carry = (direct[0] + dh_proj[:, t] @ W_hh, *direct[1:])  # dL/d state_{t-1}
            if self.truncate and t % self.truncate == 0 and t > 0:
                carry = tuple(np.zeros_like(c) for c in carry)  # the state entering a chunk is cut
        self.dstate0 = carry
        self.grads = {
            "weight_ih": np.tensordot(dx_proj, x, axes=([0, 1], [0, 1])),  # (G·H, I)
            "weight_hh": np.tensordot(dh_proj, h_prev, axes=([0, 1], [0, 1])),  # (G·H, H)
            "bias_ih": dx_proj.sum(axis=(0, 1)),
            "bias_hh": dh_proj.sum(axis=(0, 1)),
        }
        return dx_proj @ W_ih  # (B, T, I)

    def torch_key(self, name):
        return f"{name}_l0"

    def torch_module(self, nn, bidirectional: bool = False):
        """The matching one-layer `nn.RNN`, `nn.LSTM` or `nn.GRU` (truncation is not part of it)."""
        cls = getattr(nn, type(self).__name__)
        return cls(
            self.input_size,
            self.hidden_size,
            batch_first=True,
            bidirectional=bidirectional,
            **self.torch_kwargs,
        )

    @property
    def torch_kwargs(self) -> dict:
        """Constructor options of the torch twin beyond sizes."""
        return {}


class RNN(_Recurrent):
    """Elman RNN: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), φ = tanh or ReLU."""

    num_gates = 1

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", truncate=None, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(unknown_name_message("nonlinearity", nonlinearity, ["tanh", "relu"]))
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, truncate, rng)

    @property
    def torch_kwargs(self):
        return {"nonlinearity": self.nonlinearity}

    def _step(self, x_proj, h_proj, state):
        a = x_proj + h_proj
        h = np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0.0)
        return (h,), h

    def _step_backward(self, dstate, h):
        dphi = (1.0 - h**2) if self.nonlinearity == "tanh" else (h > 0)  # φ'(a) from h = φ(a)
        da = dstate[0] * dphi
        return da, da, (0.0,)  # h_{t-1} reaches h_t only through W_hh


class LSTM(_Recurrent):
    """LSTM with gates i, f, g, o (torch's order).

    i, f, o = σ(·), g = tanh(·) of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh (split in four);
    c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)   (Hochreiter & Schmidhuber 1997; Gers 2000).
    """

    num_gates, num_states = 4, 2

    def _step(self, x_proj, h_proj, state):
        h, c = state
        i, f, g, o = np.split(x_proj + h_proj, 4, axis=1)  # each (B, H)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        return (o * tanh_c, c_new), (i, f, g, o, c, tanh_c)

    def _step_backward(self, dstate, cache):
        dh, dc = dstate
        i, f, g, o, c, tanh_c = cache
        dc = dc + dh * o * (1.0 - tanh_c**2)  # the cell state's error: carried plus through h_t
        d_gates = np.concatenate(  # through σ' = σ(1 - σ) and tanh' = 1 - tanh²
            [
                dc * g * i * (1 - i),
                dc * c * f * (1 - f),
                dc * i * (1 - g**2),
                dh * tanh_c * o * (1 - o),
            ],
            axis=1,
        )  # (B, 4H)
        return d_gates, d_gates, (0.0, dc * f)  # the constant error carousel: dc_{t-1} = dc_t ⊙ f


class GRU(_Recurrent):
    """GRU with gates r, z, n, in PyTorch's convention, which this layer implements exactly:

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    This is also Cho et al.'s (2014) eq. 7. The course notes write h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h̃
    (as Chung et al., 2014): the same model with z relabelled as 1 - z (negate the update gate's
    weights and biases). One true difference: torch applies r to W_hn h + b_hn, where Cho et al.
    apply it to h_{t-1} before the product.
    """

    num_gates = 3

    def _step(self, x_proj, h_proj, state):
        h = state[0]
        x_r, x_z, x_n = np.split(x_proj, 3, axis=1)  # each (B, H)
        h_r, h_z, h_n = np.split(h_proj, 3, axis=1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)
        return ((1.0 - z) * n + z * h,), (r, z, n, h_n, h)

    def _step_backward(self, dstate, cache):
        dh = dstate[0]
        r, z, n, h_n, h = cache
        dn = dh * (1.0 - z) * (1.0 - n**2)  # dL/d(pre-activation of n)
        dz = dh * (h - n) * z * (1.0 - z)
        dr = dn * h_n * r * (1.0 - r)
        dx_proj = np.concatenate([dr, dz, dn], axis=1)  # (B, 3H)
        dh_proj = np.concatenate([dr, dz, dn * r], axis=1)  # r gates W_hn h + b_hn
        return dx_proj, dh_proj, (dh * z,)  # the direct path h_{t-1} -> z ⊙ h_{t-1}


class Bidirectional(Layer):
    """A recurrent layer reading left to right plus a fresh copy reading right to left.

    Schuster & Paliwal (1997), "Bidirectional Recurrent Neural Networks".

    Outputs are concatenated (B, T, 2H), as `bidirectional=True` in torch, or summed (B, T, H).
    Parameters are "forward.*" and "backward.*" (torch's "*_l0" and "*_l0_reverse").
    """

    def __init__(self, layer: _Recurrent, merge: str = "concat", rng=None):
        super().__init__()
        if not isinstance(layer, _Recurrent):
            raise ConfigError(f"Bidirectional wraps RNN, LSTM or GRU, not {type(layer).__name__}")
        if merge not in ("concat", "sum"):
            raise ConfigError(unknown_name_message("merge", merge, ["concat", "sum"]))
        self.merge = merge
        self.forward_layer = layer
        self.backward_layer = copy.deepcopy(layer)
        self.backward_layer.reset_parameters(rng if rng is not None else np.random.default_rng())
        self.params = self.gather("params")

    def children(self):
        return {"forward": self.forward_layer, "backward": self.backward_layer}

    def forward(self, x):
        out_f = self.forward_layer.forward(x)  # (B, T, H)
        out_b = self.backward_layer.forward(x[:, ::-1])[:, ::-1]  # read right to left, re-aligned
        return np.concatenate([out_f, out_b], axis=-1) if self.merge == "concat" else out_f + out_b

    def backward(self, dout):
        H = self.forward_layer.hidden_size
        d_f, d_b = (dout[..., :H], dout[..., H:]) if self.merge == "concat" else (dout, dout)
        dx = self.forward_layer.backward(d_f)
        dx = dx + self.backward_layer.backward(d_b[:, ::-1])[:, ::-1]
        self.grads = self.gather("grads")
        return dx  # (B, T, I)

    def torch_key(self, name):
        direction, rest = name.split(".", 1)
        key = self.children()[direction].torch_key(rest)
        return f"{key}_reverse" if direction == "backward" else key

    def torch_module(self, nn):
        if self.merge != "concat":
            raise ConfigError("torch's bidirectional layers concatenate; merge='sum' has no twin")
        return self.forward_layer.torch_module(nn, bidirectional=True)
