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
# # Unit II: Convolutional networks
#
# A convolutional network (CNN) is built for inputs with a grid: signals, images. Its layers
# slide small filters over the input, so a pattern is detected wherever it appears with the
# same few weights; pooling then summarises neighbourhoods. This unit builds a CNN piece by
# piece — convolution, activations, pooling, training — then the architectures that made the
# field (VGG, GoogLeNet, ResNet) and the tools that make deep CNNs train and generalise:
# dropout, normalization and data augmentation.
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
# ## Convolution
#
# A 2-D convolution layer computes each output channel o at position (i, j) as
# y[o, i, j] = b[o] + Σ_c Σ_{u,v} W[o, c, u, v] · x[c, i + u, j + v]: one small filter per pair
# of channels, slid across the image. Two ideas make it work (LeCun et al., 1998): each output
# sees only a small neighbourhood (local connectivity), and the same weights serve every
# position (weight sharing), so a stroke is recognised wherever it is and a layer has a few
# hundred weights instead of a dense layer's hundreds of thousands. Deep learning libraries
# compute cross-correlation, as written above; flipping the filter makes it a convolution.
#
# What to look for: the first layer's 3x3 filters become edge and stroke detectors of one
# orientation each, and each feature map lights up where its stroke appears in the digit.

# %%
dllab.run("feature-maps", quick=QUICK)

# %% [markdown]
# **Exercises.** The convolution's forward pass with stride and padding, then its backward
# pass: dL/dx is a full convolution of dL/dy with the flipped filters, dL/dW a correlation of
# the input with dL/dy.

# %% exercise="conv2d-forward"
import numpy as np


def conv2d_forward(x, W, b, stride=1, padding=0):
    """A 2-D convolution layer's forward pass, like torch.nn.Conv2d (a cross-correlation).

    Pad x with `padding` zeros on every side. Each output value out[b, o, r, q] is the sum, over
    the input channels c and the kernel positions (i, j), of W[o, c, i, j] times the padded
    input at row stride·r + i and column stride·q + j, plus b[o].

    Args:
        x: (B, C, H, W) images.  W: (O, C, kH, kW) kernels.  b: (O,) biases.
        stride: the step between two windows.  padding: zeros added on every side.

    Returns:
        out: (B, O, H_out, W_out) with H_out = (H + 2·padding - kH) // stride + 1 (W_out alike).
    """
    raise NotImplementedError


# %% check="conv2d-forward"
check("conv2d-forward", conv2d_forward)

# %% exercise="conv2d-backward"
import numpy as np


def conv2d_backward(dout, x, W, stride=1, padding=0):
    """The backward pass of conv2d_forward: the gradients of x, W and b given dout = dL/dout.

    Every output value out[b, o, r, q] = Σ W[o, c, i, j] · x_pad[b, c, stride·r + i,
    stride·q + j] + b[o] sends dout[b, o, r, q] back to each weight and each input pixel that
    took part in it, multiplied by the other factor; sum what arrives.

    Args:
        dout: (B, O, H_out, W_out) the gradient of the loss with respect to the output.
        x: (B, C, H, W) the forward pass's images.  W: (O, C, kH, kW) its kernels.
        stride, padding: as in the forward pass.

    Returns:
        (dx, dW, db): (B, C, H, W), (O, C, kH, kW) and (O,).
    """
    raise NotImplementedError


# %% check="conv2d-backward"
check("conv2d-backward", conv2d_backward)

# %% [markdown]
# This is what passing looks like: the same checks on the package's own convolution (the
# exercise's reference, `get_exercise("conv2d-forward").reference`).

# %% reference="conv2d-forward"
check("conv2d-forward", **get_exercise("conv2d-forward").reference)

# %% [markdown]
# ## Activations
#
# After each convolution comes a nonlinearity. Saturating units — the sigmoid 1 / (1 + e^{−z})
# and tanh — have derivatives near zero for large |z|, so their layers learn slowly; the
# rectifier max(0, z) (Nair & Hinton, 2010; Krizhevsky et al., 2012) passes the gradient
# unchanged wherever it is active. Leaky ReLU, ELU and PReLU keep a small slope for z < 0 so
# that no unit is silent for good.
#
# What to look for: the rectifiers' accuracy rises fastest; the sigmoid's lags.

# %%
dllab.run("activations-cnn", quick=QUICK)

# %% [markdown]
# ## Pooling
#
# A pooling layer replaces each window of a feature map by one number: its maximum (max
# pooling) or its mean (average pooling). The map shrinks, the next filters see a wider part of
# the image, and a small shift of the input changes little. Global average pooling takes the
# mean of a whole map (Lin et al., 2014), one number per channel, before the classifier.
#
# What to look for: max and average pooling keep the features that matter; min pooling, which
# keeps the weakest response (zero after a ReLU), throws them away.

# %%
dllab.run("pooling", quick=QUICK)

# %% [markdown]
# **Exercises.** Max pooling sends the gradient only to the largest value of each window;
# average pooling shares it equally among the window.

# %% exercise="maxpool-backward"
import numpy as np


def maxpool_forward(x, size, stride):
    """Max pooling without padding: each output is the maximum of one size x size window.

    Args:
        x: (B, C, H, W) feature maps.  size: the window is size x size.
        stride: the step between two windows (windows overlap when stride < size).

    Returns:
        (B, C, H_out, W_out) with H_out = (H - size) // stride + 1 (W_out alike).
    """
    raise NotImplementedError


def maxpool_backward(dout, x, size, stride):
    """The backward pass of maxpool_forward: dL/dx given dout = dL/dout (B, C, H_out, W_out).

    Each window's gradient goes to the position of its maximum, the first one when several
    values tie (in row-major order within the window, as torch breaks ties).

    Args:
        x: (B, C, H, W) feature maps.  size: the window is size x size.
        stride: the step between two windows (windows overlap when stride < size).

    Returns:
        dx: (B, C, H, W).
    """
    raise NotImplementedError


# %% check="maxpool-backward"
check("maxpool-backward", maxpool_forward, maxpool_backward)

# %% exercise="avg-global-pool"
import numpy as np


def avgpool_forward(x, size, stride):
    """Average pooling without padding: each output is the mean of one size x size window.

    Args:
        x: (B, C, H, W) feature maps.  size: the window is size x size.
        stride: the step between two windows (windows overlap when stride < size).

    Returns:
        (B, C, H_out, W_out) with H_out = (H - size) // stride + 1 (W_out alike).
    """
    raise NotImplementedError


def avgpool_backward(dout, x_shape, size, stride):
    """The backward pass of avgpool_forward: dL/dx (of shape x_shape) given dout (B, C, H_out,
    W_out). Each input receives its share of the gradient of every window it belongs to."""
    raise NotImplementedError


def global_avgpool_forward(x):
    """Global average pooling (Lin et al., 2014): each map's mean, (B, C, H, W) -> (B, C)."""
    raise NotImplementedError


def global_avgpool_backward(dout, x_shape):
    """The backward pass of global_avgpool_forward: dL/dx (of shape x_shape) given dout (B, C)."""
    raise NotImplementedError


# %% check="avg-global-pool"
check(
    "avg-global-pool",
    avgpool_forward,
    avgpool_backward,
    global_avgpool_forward,
    global_avgpool_backward,
)

# %% [markdown]
# ## Training a CNN
#
# A CNN trains like any network: a loss, its gradient by backpropagation through the
# convolutions, an optimizer. What the convolution buys shows on MNIST-1D (Greydanus, 2020):
# its digits are 1-D signals whose pattern sits anywhere along the axis, so a dense network
# must learn each position apart while a CNN's shared filters learn it once. The paper
# reports 32% test accuracy for logistic regression, 68% for an MLP, 94% for a CNN and 96% for
# a human; our numbers stand beside them.
#
# What to look for: the CNN's accuracy against the MLP's, and against the published CNN.

# %%
dllab.run("mnist1d-cnn", quick=QUICK)

# %% [markdown]
# ## VGG
#
# VGG (Simonyan & Zisserman, 2015) showed that depth built from one simple block goes far:
# only 3x3 convolutions, two or three stacked before each 2x2 max pooling, the channels doubling
# as the maps halve. Two stacked 3x3 layers see a 5x5 window with fewer weights (2·9 = 18
# against 25 per channel pair) and one more nonlinearity.
#
# What to look for: on 1,257 digits of 8x8 pixels, a small VGG-11 against the two-block CNN:
# accuracy, parameters and seconds per epoch. More parameters do not help on so little data.

# %%
dllab.run("architectures", quick=QUICK, settings={"models": ("digits_cnn", "vgg11_digits")})

# %% [markdown]
# ## GoogLeNet
#
# GoogLeNet (Szegedy et al., 2015) is built from inception modules: 1x1, 3x3 and 5x5
# convolutions and a max pooling side by side, their outputs stacked along the channels, so the
# network chooses its filter size per layer. The 1x1 convolutions placed before the large ones
# reduce the channels first, and with them the cost: the naive module, without them, has many
# times the parameters (`"googlenet_naive_small"`, trained by the full run, `QUICK = False`).
#
# What to look for: a small GoogLeNet's accuracy, parameters and seconds per epoch beside the
# two networks above.

# %%
dllab.run("architectures", quick=QUICK, settings={"models": ("googlenet_small",)})

# %% [markdown]
# ## ResNet
#
# He et al. (2015) found that stacking more plain layers can raise even the *training* error:
# not over-fitting, but an optimisation problem. A residual block learns a correction to its
# input, y = F(x) + x; the identity shortcut lets the signal and the gradient pass any number
# of blocks unchanged, and a block that has nothing to add can leave F near zero. Residual
# networks of over a hundred layers train.
#
# What to look for: the plain network's training error grows with depth; the residual one's
# does not.

# %%
dllab.run("degradation", quick=QUICK)

# %% [markdown]
# **Exercise.** The shortcut of a residual block: the identity where the shapes match; where
# the block halves the resolution and adds channels, either subsampling plus zero channels
# (option A, no weights) or a strided 1x1 convolution (option B, a projection).

# %% exercise="residual-shortcut"
import numpy as np


def shortcut(x, out_channels, stride, option, W=None):
    """The shortcut of a residual block (He et al., 2015, §3.3), which the block adds to its
    main path F(x): y = F(x) + shortcut(x).

    When the stride is 1 and the channels do not change, every option is the identity.
    Otherwise
        option "A": keep every stride-th row and column of x, then append zero channels
                    until there are out_channels (no parameters);
        option "B": a 1x1 convolution with weights W (out_channels, C, 1, 1) and the stride,
                    no bias (the projection W_s x).

    Args:
        x: (B, C, H, W).  out_channels: the block's output channels.  stride: 1 or 2.
        option: "identity", "A" or "B".  W: option B's weights.

    Returns:
        (B, out_channels, H', W') with H' = ⌈H / stride⌉ (W' alike), the main path's shape.
    """
    raise NotImplementedError


def residual_output_shape(in_shape, out_channels, stride):
    """The output shape of a basic residual block (two 3x3 convolutions with padding 1, the
    first with the stride) on inputs of in_shape = (B, C, H, W), as a tuple of 4 ints."""
    raise NotImplementedError


# %% check="residual-shortcut"
check("residual-shortcut", shortcut, residual_output_shape)

# %% [markdown]
# ## Dropout
#
# Dropout (Srivastava et al., 2014) sets each unit to zero with probability p at every training
# step and scales the survivors by 1 / (1 − p), so the expected activation is unchanged and
# nothing needs to change at test time (inverted dropout). No unit can rely on another being
# there, which keeps the network from memorising its training set; it acts like averaging many
# thinned networks.
#
# What to look for: the gap between training and test accuracy shrinks as p grows.

# %%
dllab.run("dropout", quick=QUICK)

# %% [markdown]
# **Exercise.** Dropout's forward pass with its mask, and the backward pass that sends the
# gradient through the kept units only.

# %% exercise="dropout"
import numpy as np


def dropout_forward(x, p, training, rng):
    """Inverted dropout (Srivastava et al., 2014): in training, drop each unit with probability
    p (set it to 0) and divide the kept ones by 1 - p; in evaluation, change nothing.

    Args:
        x: activations (any shape).  p: the probability of dropping a unit, in [0, 1].
        training: True or False.  rng: a numpy.random.Generator to draw the mask from.

    Returns:
        (y, mask): y = x ⊙ mask, and the mask of multipliers (0 or 1 / (1 - p); all ones in
        evaluation), both shaped like x. With p = 1 every unit is dropped (no division by 0).
    """
    raise NotImplementedError


def dropout_backward(dout, mask):
    """The backward pass of dropout_forward: dL/dx given dout = dL/dy and the forward's mask."""
    raise NotImplementedError


# %% check="dropout"
check("dropout", dropout_forward, dropout_backward)

# %% [markdown]
# ## Normalization
#
# Batch normalization (Ioffe & Szegedy, 2015) standardises each channel over the batch,
# x̂ = (x − μ_B) / √(σ²_B + ε), then rescales it, y = γ x̂ + β, with learned γ and β; at test
# time it uses running averages of μ and σ². Layers then see inputs of a steady scale, and
# larger learning rates train. Layer, instance and group normalization take the same statistics
# over other axes — a sample's channels, one sample's channel, groups of channels — and so do
# not depend on the batch.
#
# What to look for: under plain SGD, every normalized network trains faster than the one
# without.

# %%
dllab.run("normalization", quick=QUICK)

# %% [markdown]
# **Exercise.** Batch normalization's forward pass and its backward pass, where the gradient
# also flows through the batch's mean and variance.

# %% exercise="batchnorm"
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization (Ioffe & Szegedy, 2015, Algorithm 1), like torch.nn.BatchNorm1d/2d.

    In training, normalise every channel with the mean μ and the (biased) variance σ² of its
    values in the batch (over the batch axis, and the spatial axes of images):
    x̂ = (x - μ) / √(σ² + ε), y = γ·x̂ + β. Then update the running estimates:
    running = (1 - momentum)·running + momentum·batch value, where the batch's variance is stored
    unbiased (times n / (n - 1), n the number of values per channel). In evaluation
    (training=False), normalise with the running estimates instead and leave them unchanged.

    Args:
        x: (B, C) or (B, C, H, W).  gamma, beta: (C,) scale and shift.
        running_mean, running_var: (C,) the running estimates.  training: True or False.

    Returns:
        (y, running_mean_new, running_var_new): y shaped like x, the estimates (C,).
    """
    raise NotImplementedError


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """The backward pass of batchnorm_forward in training mode, given dout = dL/dy.

    μ and σ² are computed from x, so the gradient reaches x through x̂ directly and through μ
    and σ² as well.

    Returns:
        (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (C,).
    """
    raise NotImplementedError


# %% check="batchnorm"
check("batchnorm", batchnorm_forward, batchnorm_backward)

# %% [markdown]
# ## Data augmentation
#
# Data augmentation trains on transformed copies of the training images — shifted, rotated,
# warped, noisy — that keep their label, so the network sees more of what a digit can look
# like for free (Simard et al., 2003). A transform that can change the label hurts: cut half of
# an 8x8 digit away and it may become another. Mixup (Zhang et al., 2018) blends two images and
# their labels, x = λ x_a + (1 − λ) x_b; CutMix (Yun et al., 2019) pastes a patch of one into
# the other and mixes the labels by area.
#
# What to look for: first every transform on real digits, then the test accuracy each policy
# gives a CNN trained on a few labelled digits per class.

# %%
dllab.run("augment-gallery", quick=QUICK)

# %%
dllab.run("augmentation", quick=QUICK)

# %% [markdown]
# **Exercise.** Mixup and CutMix on a batch, labels included.

# %% exercise="mixup-cutmix"
import numpy as np


def mixup(x, y, perm, lam):
    """Mixup (Zhang et al., 2018): each example mixed with a partner, labels alike.

    x' = λ·x + (1 - λ)·x[perm] and y' = λ·y + (1 - λ)·y[perm].

    Args:
        x: (B, C, H, W) images.  y: (B, K) one-hot (or soft) labels.
        perm: (B,) the partner of each example.  lam: λ in [0, 1].

    Returns:
        (x_mix, y_mix): (B, C, H, W) and (B, K).
    """
    raise NotImplementedError


def cutmix(x, y, perm, box):
    """CutMix (Yun et al., 2019): a box of each partner image pasted into the image.

    box = (top, left, height, width): rows top .. top + height - 1 and columns left ..
    left + width - 1 of every image (all channels) are replaced by those of x[perm]. The labels
    mix by area: λ = 1 - height·width / (H·W) is the share of the image itself that remains,
    y' = λ·y + (1 - λ)·y[perm].

    Returns:
        (x_mix, y_mix): (B, C, H, W) and (B, K).
    """
    raise NotImplementedError


# %% check="mixup-cutmix"
check("mixup-cutmix", mixup, cutmix)
