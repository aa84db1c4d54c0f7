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
# # Unit I: Feed-forward networks
#
# A feed-forward network maps its input to its output through layers of weighted sums and
# nonlinear functions, and learns its weights by gradient descent on a loss. This unit goes from
# the perceptron to deep networks: what one line can and cannot separate, what depth and the
# choice of nonlinearity do to training, the optimizers, capacity, and backpropagation itself.
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
# ## Perceptron vs MLP on XOR/XNOR
#
# A perceptron computes ŷ = step(w·x + b): it splits the plane with one straight line. AND and
# OR can be split that way; XOR (true when exactly one input is) cannot, since its two true
# corners sit diagonally opposite. Minsky and Papert's *Perceptrons* (1969) made this limit
# famous. One hidden layer removes it: the hidden units map the four corners to new points that
# one line does separate, and backpropagation (Rumelhart, Hinton & Williams, 1986) finds such
# weights.
#
# What to look for: the perceptron's boundary cuts the XOR square into the wrong halves, the
# MLP's bends around the corners; in the hidden-space panel the four corners become separable.

# %%
dllab.run("perceptron-xor", showcase=QUICK)

# %% [markdown]
# **Exercise.** The perceptron learning rule: for a misclassified example, move the weights
# towards it, w ← w + η (y − ŷ) x. The checks train it on AND and OR, where it converges, and
# on XOR, where it cannot.

# %% exercise="perceptron-rule"
import numpy as np


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


# %% check="perceptron-rule"
check("perceptron-rule", perceptron_update)

# %% [markdown]
# ## Deep feed-forward networks
#
# A deep network stacks layers h_l = σ(W_l h_{l−1} + b_l). Its gradient with respect to an early
# layer is a product of one factor per later layer, each holding the derivative σ′. The
# sigmoid's derivative is at most 1/4, so through eight sigmoid layers the gradient shrinks by
# 4⁸ ≈ 65,000 or more before it reaches the first weights (Glorot & Bengio, 2010). ReLU,
# max(0, z), has derivative 1 where it is active, and with He initialisation (He et al., 2015)
# the signal keeps its scale from layer to layer.
#
# What to look for: the per-layer gradient norms of the sigmoid net fall by orders of magnitude
# towards the input, and its accuracy stays near chance while the ReLU-like nets learn.

# %%
dllab.run("activations", quick=QUICK)

# %% [markdown]
# **Exercises.** The activations and their derivatives, then the output layer of a classifier:
# softmax turns the scores z into probabilities p_k = e^{z_k} / Σ_j e^{z_j}, and the
# cross-entropy −log p_y measures how much of it the true class got. Subtract max_k z_k before
# exponentiating: the probabilities do not change, and e^z no longer overflows.

# %% exercise="activations"
import numpy as np


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


# %% check="activations"
check("activations", activation_forward, activation_backward)

# %% exercise="softmax-cross-entropy"
import numpy as np


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


# %% check="softmax-cross-entropy"
check("softmax-cross-entropy", softmax, cross_entropy)

# %% [markdown]
# Published numbers: on MNIST-1D, a benchmark small enough for a laptop, Greydanus (2020)
# reports 68% test accuracy for a 40-100-100-10 MLP. Our run of the same network prints its
# number beside that one.

# %%
dllab.run("mnist1d-mlp", quick=QUICK)

# %% [markdown]
# ## SGD and its variants
#
# Gradient descent steps against the gradient, θ ← θ − η ∇L(θ). Computing ∇L on the whole
# training set is exact but slow; a mini-batch gives a noisy estimate at a fraction of the cost
# (stochastic gradient descent). Momentum keeps a running velocity, v ← μ v + ∇L, θ ← θ − η v,
# which smooths the noise and speeds travel along shallow valleys; Nesterov takes the gradient
# at the point momentum is heading to. RMSProp divides each step by a running root mean square
# of that coordinate's gradients (Tieleman & Hinton, 2012); Adam combines both ideas with bias
# correction (Kingma & Ba, 2015).
#
# What to look for: measured against the examples seen, mini-batch methods pass full-batch
# gradient descent early; the adaptive methods (RMSProp, Adam) reach a low loss fastest here.

# %%
dllab.run("optimizers", quick=QUICK)

# %% [markdown]
# **Exercises.** One step of each optimizer, as a function of the parameters, the gradient and
# the optimizer's state.

# %% exercise="sgd-momentum"
import numpy as np


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


# %% check="sgd-momentum"
check("sgd-momentum", sgd_momentum_step)

# %% exercise="rmsprop"
import numpy as np


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


# %% check="rmsprop"
check("rmsprop", rmsprop_step)

# %% exercise="adam"
import numpy as np


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


# %% check="adam"
check("adam", adam_step)

# %% [markdown]
# This is what passing looks like: the same checks on the package's own optimizer (the
# exercise's reference, `get_exercise("adam").reference`).

# %% reference="adam"
check("adam", **get_exercise("adam").reference)

# %% [markdown]
# ## Hidden units and capacity
#
# A network's capacity is the range of functions it can fit, and it grows with its hidden
# units. Too few under-fit: training and test error both stay high. Too many, trained long on
# few examples, over-fit: the training error goes to zero and the test error rises, because the
# network has learned the noise of its training set (Goodfellow, Bengio & Courville, 2016,
# §5.2). The test error is lowest in between.
#
# What to look for: the decision boundary of one hidden unit is a line, of eight a smooth
# curve, of 128 a tangle around single training points; the train-test gap widens with width.

# %%
dllab.run("capacity", showcase=QUICK)

# %% [markdown]
# ## Architecture design
#
# Designing a feed-forward network means choosing its depth (how many hidden layers), its width
# (units per layer), its activations and its output layer and loss. A deeper network composes
# more functions and can express with few units what a shallow one needs many units for, but it
# is harder to train. Here the same eight-unit layers are stacked one, two and four deep on the
# same task.
#
# What to look for: at equal width the training error falls with depth; compare the test error
# too, and the boundaries' shapes.

# %%
dllab.run("capacity", quick=QUICK, settings={"widths": (8,), "depths": (1, 2, 4)})

# %% [markdown]
# ## Backpropagation
#
# Backpropagation is the chain rule applied from the loss back to every weight. For a layer
# y = W x + b, given the gradient dL/dy that arrives from above: dL/dW = (dL/dy) xᵀ, dL/db =
# dL/dy, and dL/dx = Wᵀ (dL/dy) is passed on to the layer below; through σ it is multiplied
# by σ′(z) elementwise. One backward pass costs about as much as the forward pass, whatever the
# number of weights (Rumelhart, Hinton & Williams, 1986).
#
# What to look for: the gradients computed by hand, by PyTorch's autograd and by the NumPy
# engine agree to rounding, and one step against them lowers the loss.

# %%
dllab.run("backprop", quick=QUICK)

# %% [markdown]
# **Exercises.** The dense layer's forward and backward pass, then every gradient of the 2-2-1
# XOR network of the first section by hand.

# %% exercise="dense-backward"
import numpy as np


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


# %% check="dense-backward"
check("dense-backward", dense_forward, dense_backward)

# %% exercise="xor-backprop"
import numpy as np


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


# %% check="xor-backprop"
check("xor-backprop", xor_net_gradients)
