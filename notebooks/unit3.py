# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Unit III: Recurrent networks
#
# A recurrent network reads a sequence one step at a time and carries a hidden state from each
# step to the next: h_t = f(W_xh x_t + W_hh h_{t−1} + b). The same weights serve every step, so
# it takes sequences of any length. This unit follows the gradient through time — how it is
# computed, why it vanishes or explodes, how clipping and gated cells (LSTM, GRU) tame it — then
# reads sequences both ways and maps sequences to sequences.
#
# Each topic has a short explanation, one experiment run through `dllab.run` (the same run as
# `dllab run NAME` on the command line, with its figures below it), and the unit's exercises
# where their topic comes up: a stub to fill in, then `check(...)`. In quick mode the notebook
# runs top to bottom in about a minute on a 2-core CPU, offline.
#
# The first cell installs dllab when it is missing (on a hosted notebook service) and sets
# `QUICK`: `True` runs the experiments with their quick or tour settings, seconds each; `False`
# with their full configs, minutes each on a CPU.

# %% setup="dllab"
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

# dllab from the checkout this notebook sits in; a service that opened the notebook alone needs
# DLLAB_SOURCE set to a git URL or a wheel of dllab (`pip install dllab` gets another project).
DLLAB_SOURCE = str(Path.cwd().parent)
if importlib.util.find_spec("dllab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", DLLAB_SOURCE], check=True)
    importlib.invalidate_caches()

QUICK = True  # False: the full configs (minutes per experiment on a CPU)

# %%
import dllab
from dllab.exercises import check, get_exercise

# %% [markdown]
# ## BPTT
#
# Backpropagation through time (Werbos, 1990) unrolls the network over the sequence — one copy
# of the cell per step, all sharing the weights — and backpropagates through the unrolled
# graph. The gradient of a weight is the sum of its gradients at every step, and the error that
# reaches h_t from a loss at step T passes through every step between:
# ∂h_T/∂h_t = Π_{k=t+1..T} ∂h_k/∂h_{k−1}. Truncated BPTT cuts the graph every k steps, so an
# update costs k steps however long the sequence, while the state still carries forward.
#
# What to look for: the Jacobian products computed by hand, by the NumPy engine and by autograd
# agree, and their norm changes exponentially with the distance T − t.

# %%
dllab.run("bptt", quick=QUICK)

# %% [markdown]
# **Exercises.** An Elman RNN's forward pass and its backward pass through time, then which
# steps a truncated backward pass reaches.

# %% exercise="rnn-bptt"
import numpy as np


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


# %% check="rnn-bptt"
check("rnn-bptt", rnn_forward, rnn_backward)

# %% exercise="truncated-bptt"
import numpy as np


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


# %% check="truncated-bptt"
check("truncated-bptt", tbptt_reach)

# %% [markdown]
# This is what passing looks like: the same checks on the package's own BPTT (the exercise's
# reference, `get_exercise("rnn-bptt").reference`).

# %% reference="rnn-bptt"
check("rnn-bptt", **get_exercise("rnn-bptt").reference)

# %% [markdown]
# ## Vanishing and exploding gradients
#
# For a tanh RNN each factor of that product is diag(1 − h_k²) W_hh. If its norm stays below 1
# the product shrinks geometrically with the distance, and what happened 50 steps ago no longer
# moves the weights: the gradient vanishes. Above 1 it can grow geometrically: the gradient
# explodes, and one step throws the weights far away (Bengio, Simard & Frasconi, 1994; Pascanu,
# Mikolov & Bengio, 2013).
#
# What to look for: in the heat maps of ‖dL/dh_t‖, time runs across and training up; the
# gradient fades towards t = 1 in every cell at first, and only a cell that learns the task
# carries it back.

# %%
dllab.run("vanishing-gradients", quick=QUICK)

# %% [markdown]
# ## Gradient clipping
#
# Clipping bounds the step when the gradient explodes. By norm: if ‖g‖ > c, rescale
# g ← g · c / ‖g‖, which keeps the direction (Pascanu et al., 2013, Algorithm 1); by value:
# clamp every element to [−c, c], which bounds each coordinate but changes the direction.
# Every recurrent model here trains with the norm clipped; a language model over long streams
# of characters, trained by truncated BPTT, is one that needs it.
#
# What to look for: the pre-clip gradient norm in the curves, and the bits per character
# against a model that knows only the letters' frequencies.

# %%
dllab.run("char-lm", quick=QUICK)

# %% [markdown]
# **Exercise.** Clipping by the joint norm of all gradients, and by value.

# %% exercise="gradient-clipping"
import numpy as np


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


# %% check="gradient-clipping"
check("gradient-clipping", clip_by_norm, clip_by_value)

# %% [markdown]
# ## LSTM
#
# The LSTM (Hochreiter & Schmidhuber, 1997; forget gate: Gers et al., 2000) keeps a cell state
# c_t beside h_t and changes it additively: c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t, with the forget
# gate f, input gate i and candidate g computed from x_t and h_{t−1}; h_t = o_t ⊙ tanh(c_t).
# Along the cell path ∂c_t/∂c_{t−1} = diag(f_t): while the forget gates stay near 1 the error
# flows back across many steps.
#
# What to look for: on the adding problem (remember two marked numbers across T steps, output
# their sum) the LSTM and the GRU fall far below the 0.167 of always answering 1; the tanh RNN
# stays there.

# %%
dllab.run("adding-problem", quick=QUICK)

# %% [markdown]
# **Exercise.** One step of the LSTM cell, forward and backward.

# %% exercise="lstm-cell"
import numpy as np


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


# %% check="lstm-cell"
check("lstm-cell", lstm_cell_forward, lstm_cell_backward)

# %% [markdown]
# ## GRU
#
# The GRU (Cho et al., 2014) has no separate cell state: an update gate z interpolates between
# the old state and a candidate, h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, and a reset gate r
# decides how much of h_{t−1} the candidate n_t sees. Fewer weights than the LSTM, and often as
# good. On MNIST-1D read as a sequence, Greydanus (2020) reports 91% for a GRU; ours is beside
# it.
#
# What to look for: our test accuracy beside the published GRU's.

# %%
dllab.run("mnist1d-gru", quick=QUICK)

# %% [markdown]
# **Exercise.** One step of the GRU cell, in PyTorch's convention.

# %% exercise="gru-cell"
import numpy as np


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


# %% check="gru-cell"
check("gru-cell", gru_cell_forward)

# %% [markdown]
# ## Bidirectional RNNs
#
# A bidirectional RNN (Schuster & Paliwal, 1997) runs one recurrent layer forwards and another
# backwards over the sequence and joins their states at each step, [h→_t; h←_t], so the output
# at step t sees the whole sequence — what a tagger needs when a label depends on what comes
# later. It cannot be used where the future is not known yet, as in generating text.
#
# What to look for: tagging each character of Python source by its token type, the
# bidirectional net beats every one-way net, and both beat the most common tag.

# %%
dllab.run("bidirectional", quick=QUICK)

# %% [markdown]
# ## Sequence tasks
#
# Recurrent networks map sequences in several shapes: many-to-one (a sequence to a class),
# many-to-many of equal length (a tag per step), and many-to-many of different lengths, where an
# encoder reads the input into a state and a decoder writes the output from it (Sutskever,
# Vinyals & Le, 2014). The decoder trains with teacher forcing — the true previous token as its
# input — and at test time feeds back its own.
#
# What to look for: the share of digit strings reversed exactly, every digit and the end.

# %%
dllab.run("seq2seq", quick=QUICK)
