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
# # Unit IV: Generative adversarial networks
#
# A generative model learns the distribution of its data well enough to draw new samples from
# it. A generative adversarial network (GAN) does so with two networks in a game: a generator G
# turns random noise z into samples, a discriminator D tells them from real ones, and each
# trains against the other. This unit places GANs among generative models, trains the vanilla
# GAN and its conditional and convolutional forms, the Wasserstein GAN, LAPGAN and SRGAN, and
# measures their best-known failure, mode collapse.
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
# ## Generative vs discriminative models
#
# A discriminative classifier models p(y | x) directly — logistic regression, a neural network.
# A generative one models how the data arise, p(x, y) = p(y) p(x | y), and classifies by Bayes'
# rule; it can also sample new x. Ng and Jordan (2002) compared the pair naive Bayes / logistic
# regression: the generative model approaches its (higher) asymptotic error with far fewer
# examples, the discriminative one ends lower given enough data.
#
# What to look for: the two test-error curves against the training-set size, and where they
# cross.

# %%
dllab.run("generative-vs-discriminative", quick=QUICK)

# %% [markdown]
# ## Vanilla GAN
#
# Goodfellow et al. (2014) set the two networks a minimax game,
# min_G max_D E_x[log D(x)] + E_z[log(1 − D(G(z)))]. For a fixed G the best D is
# p_data / (p_data + p_G), and at that D the generator minimises the Jensen-Shannon divergence
# between the data and its samples. Early in training D wins easily and log(1 − D(G(z)))
# saturates, so G maximises log D(G(z)) instead: the non-saturating loss.
#
# What to look for: samples that become digits, and the scores in a classifier's feature space:
# the Fréchet distance to real digits (lower is better, beside the real digits' own) and the
# entropy of the digit classes drawn.

# %%
dllab.run("gan-digits", quick=QUICK)

# %% [markdown]
# **Exercise.** The discriminator's loss and the non-saturating generator loss, computed
# stably from logits.

# %% exercise="gan-losses"
import torch
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss (Goodfellow et al., 2014, eq. 1), from its logits.

    D's probability that a sample is real is σ(logit). The loss is the mean over the real
    samples of -log σ(real logit) plus the mean over the generated ones of -log(1 - σ(fake
    logit)). Compute it from the logits so that it stays finite for logits of ±100.

    Args:
        real_logits: (B,) torch tensor, D on real samples.  fake_logits: (B,) D on generated ones.

    Returns:
        The loss: a scalar torch tensor, differentiable with respect to the logits.
    """
    raise NotImplementedError


def generator_loss(fake_logits):
    """The generator's non-saturating loss: the mean of -log σ(fake logit), from the logits.

    Returns:
        A scalar torch tensor, differentiable with respect to fake_logits.
    """
    raise NotImplementedError


# %% check="gan-losses"
check("gan-losses", discriminator_loss, generator_loss)

# %% [markdown]
# ## Conditional GAN
#
# A conditional GAN (Mirza & Osindero, 2014) gives both networks extra information y — here the
# digit's label: G(z, y) and D(x, y). The generator then learns p(x | y) and draws the class it
# is asked for.
#
# What to look for: one row of samples per requested digit, and how often a classifier trained
# on real digits reads each sample as the digit requested. That accuracy cannot see collapse
# inside a class: `before-after` shows the GAN as first set (256 units, lr 2e-4), right 99.8% of
# the time with ten near copies of each digit (recall 0.02), beside the wider, faster-learning
# one (recall 0.64 against the real digits' 0.88). Recall is the share of real digits that
# have a generated one among their nearest neighbours (Kynkäänniemi et al., 2019).
# `class-precision-recall` splits both scores by requested digit, beside the real training
# digits' own: the classes the generator still draws with little variety stand out (at the
# tour's settings, the 3s).

# %%
dllab.run("cgan-digits", quick=QUICK)

# %% [markdown]
# ## DCGAN
#
# DCGAN (Radford, Metz & Chintala, 2016) found the convolutional architecture that lets GANs
# train on images: strided convolutions instead of pooling, transposed convolutions to upsample
# in the generator, batch normalization, ReLU in G and LeakyReLU in D, no dense hidden layers,
# Adam with β1 = 0.5.
#
# What to look for: the samples and the same scores as the vanilla GAN's above. On 8x8 digits,
# only one strided layer fits from 4x4 to 8x8, so each network has a single hidden layer and
# the digits come out noisy (`before-after`, left). A stride-1 3x3 convolution at each size
# (`refine`) gives both networks depth without breaking DCGAN's rules (right).

# %%
dllab.run("dcgan", quick=QUICK)

# %% [markdown]
# ## Wasserstein GAN
#
# When the data and the samples barely overlap, the Jensen-Shannon divergence is constant and
# its gradient gives G nothing to follow. The Wasserstein GAN (Arjovsky, Chintala & Bottou,
# 2017) minimises the earth mover's distance instead, W(p, q) = sup_{‖f‖_L ≤ 1} E_p[f] − E_q[f],
# with a critic f that must be 1-Lipschitz. WGAN-GP (Gulrajani et al., 2017) enforces that with
# a gradient penalty, λ E_x̂[(‖∇_x̂ f(x̂)‖ − 1)²] on points x̂ between real and generated samples.
#
# What to look for: on a ring of eight Gaussians, the samples of each loss over training, and
# how many of the eight modes each captures.

# %%
dllab.run("gan-2d", quick=QUICK)

# %% [markdown]
# **Exercise.** WGAN-GP's gradient penalty, differentiable so that it trains the critic.

# %% exercise="gradient-penalty"
import torch
import torch.nn.functional as F


def gradient_penalty(critic, real, fake, eps):
    """WGAN-GP's gradient penalty (Gulrajani et al., 2017, Algorithm 1).

    Interpolate x̂ = ε·real + (1 - ε)·fake, one ε per sample; the penalty is the mean over the
    batch of (‖∇_x̂ critic(x̂)‖₂ - 1)², the norm taken over each sample's whole gradient. The
    penalty is added to the critic's loss, so it must be differentiable with respect to the
    critic's parameters.

    Args:
        critic: a torch module, (B, ...) -> (B, 1) scores.
        real, fake: (B, ...) torch tensors.  eps: (B, 1, ...) torch tensor of weights in [0, 1].

    Returns:
        A scalar torch tensor.
    """
    raise NotImplementedError


# %% check="gradient-penalty"
check("gradient-penalty", gradient_penalty)

# %% [markdown]
# ## LAPGAN
#
# LAPGAN (Denton et al., 2015) generates an image coarse to fine along a Laplacian pyramid: a
# GAN draws a small image, then at each finer level a conditional GAN, given the image so far
# upsampled, draws the residual detail that upsampling lacks. Each step is an easier problem
# than drawing the full image at once.
#
# What to look for: the coarse samples and the detail each finer level adds.

# %%
dllab.run("lapgan", quick=QUICK)

# %% [markdown]
# ## SRGAN
#
# SRGAN (Ledig et al., 2017) upscales images. Trained on pixel error alone, a super-resolution
# network predicts the mean of all plausible sharp images, which is blurred; SRGAN's generator
# adds a content loss measured in a classifier's features and a small adversarial loss, which
# push it towards one sharp, plausible image instead. PSNR, a pixel measure, then favours the
# blur.
#
# What to look for: bicubic, SRResNet (pixel loss) and SRGAN upscalings side by side, their
# PSNR, and whether a classifier still reads the digits.

# %%
dllab.run("srgan", quick=QUICK)

# %% [markdown]
# ## Mode collapse
#
# A GAN's generator can win the game by producing only a few kinds of samples the discriminator
# accepts; the discriminator then learns to reject those, and the generator hops to others, so
# at any time it covers only part of the data (mode collapse). The standard test trains on a
# mixture of Gaussians, where captured modes can be counted (VEEGAN: Srivastava et al., 2017).
# PacGAN (Lin et al., 2018) lets the discriminator judge m samples at once, so a generator that
# repeats itself is easy to catch.
#
# What to look for: on a grid of 25 modes, which losses cover all of them and how many
# high-quality samples each draws.

# %%
dllab.run("gan-2d", quick=QUICK, settings={"data.name": "grid25"})

# %% [markdown]
# **Exercise.** The two numbers that score a generator on a mixture: the modes captured and the
# fraction of high-quality samples.

# %% exercise="mode-coverage"
import numpy as np


def mode_coverage(X, centres, std):
    """How well samples of a generator cover a mixture of Gaussians (VEEGAN, §5.1).

    A sample is high quality when its distance to the nearest mode centre is at most 3·std. A
    mode is captured when at least one high-quality sample has it as its nearest mode.

    Args:
        X: (N, 2) samples.  centres: (K, 2) the modes' centres.  std: the modes' standard deviation.

    Returns:
        (modes_captured, high_quality_fraction): an int in 0..K and a float in [0, 1].
    """
    raise NotImplementedError


# %% check="mode-coverage"
check("mode-coverage", mode_coverage)

# %% [markdown]
# This is what passing looks like: the same checks on the package's own metric (the exercise's
# reference, `get_exercise("mode-coverage").reference`).

# %% reference="mode-coverage"
check("mode-coverage", **get_exercise("mode-coverage").reference)
