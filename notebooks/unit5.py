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
# # Unit V: Autoencoders and hybrids
#
# An autoencoder learns to reproduce its input through a bottleneck: an encoder maps x to a
# short code z = f(x), a decoder maps it back, x̂ = g(z), and training minimises the
# reconstruction error. What the code keeps is what the data are made of. This unit trains the
# plain autoencoder and its denoising, sparse, variational and convolutional forms, uses them
# for compression, and ends with the hybrids that join autoencoders and GANs: VAE-GAN, the
# adversarial autoencoder, BiGAN and ALI.
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
# ## Autoencoder
#
# With a linear encoder and decoder and the squared error, the best k-number code spans the
# same subspace as the first k principal components: a linear autoencoder learns PCA (Baldi &
# Hornik, 1989). Nonlinear layers can fold the data onto a curved surface and do better at the
# same k (Hinton & Salakhutdinov, 2006) — when training finds that solution.
#
# What to look for: reconstruction error against the code size k for PCA and the autoencoders,
# and the reconstructed digits.

# %%
dllab.run("ae-compression", quick=QUICK)

# %% [markdown]
# ## Denoising autoencoder
#
# A denoising autoencoder (Vincent et al., 2008) is given a corrupted input x̃ — Gaussian
# noise, pixels set to zero, salt and pepper — and must reconstruct the clean x. It cannot just
# copy its input, so it learns what digits look like. PSNR = 10 log10(1 / MSE) dB, for pixels
# in [0, 1], measures how close a picture is to the clean one.
#
# What to look for: the noisy and the denoised PSNR at each noise level, and the pictures.

# %%
dllab.run("denoising", showcase=QUICK)

# %% [markdown]
# **Exercise.** The three corruptions.

# %% exercise="denoising-corruptions"
import numpy as np


def gaussian_noise(X, std, rng):
    """Additive Gaussian noise: X + noise, with noise ~ N(0, std²) drawn independently for every
    entry from rng (a numpy.random.Generator). Returns a new array shaped like X."""
    raise NotImplementedError


def masking_noise(X, fraction, rng):
    """Masking noise (Vincent et al., 2010, §4.2): each entry is set to 0 with probability
    `fraction` (independently), the others are kept. Returns a new array shaped like X."""
    raise NotImplementedError


def salt_and_pepper(X, fraction, rng):
    """Salt-and-pepper noise: each entry is corrupted with probability `fraction`; a corrupted
    entry becomes 0 or 1 with equal odds. Returns a new array shaped like X."""
    raise NotImplementedError


# %% check="denoising-corruptions"
check("denoising-corruptions", gaussian_noise, masking_noise, salt_and_pepper)

# %% [markdown]
# This is what passing looks like: the same checks on the package's own corruptions (the
# exercise's reference, `get_exercise("denoising-corruptions").reference`).

# %% reference="denoising-corruptions"
check("denoising-corruptions", **get_exercise("denoising-corruptions").reference)

# %% [markdown]
# ## Sparse autoencoder
#
# A sparse autoencoder may have more code units than inputs, but a penalty keeps most of them
# silent for any one input. With sigmoid codes, Ng (2011) penalises
# Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ / ρ̂_j) + (1 − ρ) log((1 − ρ) / (1 − ρ̂_j)), where ρ̂_j is unit j's
# mean activation over the batch and ρ a small target such as 0.05; an L1 penalty on the
# activations does the same job.
#
# What to look for: the histograms of code activations, piled up near zero with a penalty, and
# the encoder weights, which become localised strokes.

# %%
dllab.run("sparse-ae", quick=QUICK)

# %% [markdown]
# **Exercise.** The KL sparsity penalty and its gradient with respect to the activations.

# %% exercise="sparse-kl"
import numpy as np


def sparsity_kl(rho, h):
    """The sparse autoencoder's penalty (Ng, 2011, §2.3).

    ρ̂_j = the mean over the batch of the code unit j's activation h[:, j] (in (0, 1)). The
    penalty is the sum over the units of KL(ρ‖ρ̂_j) = ρ log(ρ/ρ̂_j) + (1 - ρ) log((1 - ρ)/(1 - ρ̂_j)),
    the divergence of a Bernoulli(ρ̂_j) from the target Bernoulli(ρ).

    Args:
        rho: the target mean activation ρ in (0, 1).  h: (B, k) activations in (0, 1).

    Returns:
        The penalty, a float.
    """
    raise NotImplementedError


def sparsity_kl_backward(rho, h):
    """The gradient of sparsity_kl(rho, h) with respect to the activations h: (B, k)."""
    raise NotImplementedError


# %% check="sparse-kl"
check("sparse-kl", sparsity_kl, sparsity_kl_backward)

# %% [markdown]
# ## Variational autoencoder
#
# A variational autoencoder (Kingma & Welling, 2014) is a generative model: a prior
# p(z) = N(0, I) and a decoder p(x | z). Its encoder gives a distribution q(z | x) =
# N(μ(x), σ²(x)), and training maximises the evidence lower bound
# log p(x) ≥ E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)): reconstruct well, keep the codes near the
# prior. The reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I), lets the gradient reach μ and σ.
#
# What to look for: new digits decoded from prior samples, the codes' map coloured by class, and
# the ELBO's two parts.

# %%
dllab.run("vae", showcase=QUICK)

# %% [markdown]
# **Exercise.** The reparameterisation trick and the Gaussian KL term.

# %% exercise="vae-reparameterization"
import torch


def reparameterize(mu, logvar, eps):
    """The reparameterisation trick (Kingma & Welling, 2014, §2.4): a code z ~ N(μ, σ²) written
    as a function of μ and σ and independent noise ε ~ N(0, I), so that gradients flow
    through μ and σ: z = μ + σ ⊙ ε. The encoder gives logvar = log σ².

    Args:
        mu, logvar, eps: (B, k) torch tensors.

    Returns:
        z: (B, k) torch tensor, differentiable with respect to mu and logvar.
    """
    raise NotImplementedError


def gaussian_kl(mu, logvar):
    """KL(N(μ, σ²) || N(0, I)) for each sample, in closed form (Kingma & Welling, Appendix B):
    minus one half of the sum over the k dimensions of (1 + log σ² - μ² - σ²).

    Args:
        mu, logvar: (B, k) torch tensors (logvar = log σ²).

    Returns:
        (B,) torch tensor, differentiable with respect to mu and logvar.
    """
    raise NotImplementedError


# %% check="vae-reparameterization"
check("vae-reparameterization", reparameterize, gaussian_kl)

# %% [markdown]
# ## Convolutional autoencoder
#
# A convolutional autoencoder (Masci et al., 2011) encodes with strided convolutions and decodes
# with transposed convolutions, which upsample. It shares its weights across the image as a
# CNN does, so it needs far fewer parameters than a dense autoencoder with the same code.
#
# What to look for: test error and parameter counts of the two, and their reconstructions.

# %%
dllab.run("conv-ae", quick=QUICK)

# %% [markdown]
# ## Compression and reconstruction
#
# An autoencoder is a lossy compressor: the code is the compressed file, D / k the compression
# ratio, the reconstruction error the loss. It compresses well only what resembles its training
# data — which makes the reconstruction error a detector of anomalies: trained on some digit
# classes, it reconstructs the others badly.
#
# What to look for: the reconstruction errors of known and unknown digits, and the area under
# the ROC curve (0.5 is chance, 1 perfect).

# %%
dllab.run("anomaly-detection", quick=QUICK)

# %% [markdown]
# ## VAE-GAN
#
# A VAE's pixel-wise reconstruction loss averages over what it is unsure of, so its samples are
# blurred. The VAE-GAN (Larsen et al., 2016) measures reconstruction in the features of a GAN
# discriminator instead, and trains the decoder as a generator against it as well: the samples
# sharpen, at some cost in pixel error.
#
# What to look for: samples and reconstructions, and how much of the digit the codes keep (a
# linear probe's accuracy).

# %%
dllab.run("vae-gan", quick=QUICK)

# %% [markdown]
# ## Adversarial autoencoder
#
# An adversarial autoencoder (Makhzani et al., 2016) replaces the VAE's KL term with a game: a
# discriminator on the code space tells the encoder's codes from prior samples, and the encoder
# learns to fool it, so the codes fill the prior and decoding prior samples gives digits.
#
# What to look for: the codes' spread against the prior's, and a linear probe's accuracy on
# them beside raw pixels'.

# %%
dllab.run("aae", quick=QUICK)

# %% [markdown]
# ## BiGAN/ALI
#
# A GAN has no encoder. BiGAN (Donahue, Krähenbühl & Darrell, 2017) and ALI (Dumoulin et al.,
# 2017) learn one inside the game: the discriminator sees pairs, (x, E(x)) for real data and
# (G(z), z) for samples, and at the optimum E inverts G, though no reconstruction loss is ever
# computed. ALI's encoder is stochastic, q(z | x) = N(μ(x), σ²(x)).
#
# What to look for: reconstructions G(E(x)), which resemble their digit without being trained
# to, and the codes' linear-probe accuracy.

# %%
dllab.run("bigan", quick=QUICK)
