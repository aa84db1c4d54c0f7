"""The other generative families of the notes: class-conditional Gaussians against discriminative
classifiers (Ng & Jordan, 2002), and the autoregressive PixelCNN (van den Oord et al., 2016)."""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.engine.multiseed import copy_test_errors, train_seeds
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.models import create_model
from dllab.report import plots


@dataclass
class GenDiscConfig:
    sizes: tuple[int, ...] = param((10, 20, 50, 100, 200, 500, 1257), ge=10)  # training sizes
    repeats: int = param(5, ge=1)  # random training subsets per size: mean ± std
    num_epochs: int = param(300, ge=1)  # full-batch Adam epochs of the discriminative models
    lr: float = param(1e-2, gt=0)  # their Adam learning rate
    var_smoothing: float = param(0.1, gt=0)  # added to each naive-Bayes variance (pixels: 0-1)


# the discriminative models: label -> (registered model, its arguments)
DISCRIMINATIVE = {
    "logistic regression": ("perceptron", {"in_features": 64, "num_outputs": 10}),
    "MLP": ("mlp", {"num_hiddens": (128,)}),
}


def fit_gaussian_naive_bayes(X: torch.Tensor, y: torch.Tensor, num_classes: int, smoothing: float):
    """p(y) and p(x | y) = Π_j N(x_j; μ_yj, σ²_yj) by maximum likelihood, X (N, D), y (N,).

    Returns:
        log priors (K,), means (K, D) and variances (K, D) (+ `smoothing`; a class absent from
        the sample gets prior ~0 and the overall mean).
    """
    onehot = F.one_hot(y, num_classes).double()  # (N, K)
    counts = onehot.sum(0)  # (K,)
    safe = counts.clamp(min=1)[:, None]
    means = onehot.T @ X.double() / safe  # (K, D)
    variances = onehot.T @ X.double() ** 2 / safe - means**2 + smoothing  # (K, D)
    log_prior = torch.log((counts + 1e-9) / counts.sum())
    return log_prior, means, variances


def naive_bayes_log_joint(X: torch.Tensor, log_prior, means, variances) -> torch.Tensor:
    """log p(y) + Σ_j log N(x_j; μ_yj, σ²_yj) for every sample and class: (N, K)."""
    X = X.double()[:, None, :]  # (N, 1, D)
    log_normal = -0.5 * (torch.log(2 * math.pi * variances) + (X - means) ** 2 / variances)
    return log_prior + log_normal.sum(-1)  # (N, K)


@experiment(
    "generative-vs-discriminative",
    unit=4,
    title="Generative vs discriminative classifiers at growing training-set sizes",
    topics=("generative vs discriminative models",),
    config=GenDiscConfig,
    quick={"sizes": (20, 200), "repeats": 2, "num_epochs": 30},
    tour={"sizes": (10, 20, 50, 100, 200, 500, 1257), "repeats": 5, "num_epochs": 150},
    tour_seconds=12,
    headline=("naive_bayes_error_smallest", "logistic_regression_error_smallest"),
    claims=(
        Claim(
            "with few samples naive Bayes beats logistic regression",
            lambda m: m["naive_bayes_error_smallest"] < m["logistic_regression_error_smallest"],
        ),
        Claim(
            "with all of them logistic regression beats naive Bayes (the curves cross)",
            lambda m: m["logistic_regression_error_largest"] < m["naive_bayes_error_largest"],
        ),
    ),
)
def generative_vs_discriminative(cfg: GenDiscConfig, run: Run) -> dict[str, float]:
    """Ng & Jordan (2002): a generative classifier models p(x, y) = p(y) p(x | y) and classifies
    by Bayes' rule; a discriminative one models p(y | x) directly. Gaussian naive Bayes reaches
    its (higher) asymptotic error with few samples; logistic regression, its discriminative
    partner, starts worse and ends better; an MLP needs the most data. Being generative, naive
    Bayes can also draw new digits: x ~ N(μ_y, diag σ²_y), pixel by pixel independently, which
    shows what the independence assumption costs."""
    digits = data.load("digits", flatten=True)
    X_train, y_train = digits.train
    X_test, y_test = digits.test
    sizes = sorted({min(n, len(X_train)) for n in cfg.sizes})
    errors: dict[str, list[list[float]]] = {"naive Bayes": [], **{k: [] for k in DISCRIMINATIVE}}
    generator = torch.Generator().manual_seed(run.seed)
    for n in sizes:
        subsets = torch.stack(
            [torch.randperm(len(X_train), generator=generator)[:n] for _ in range(cfg.repeats)]
        )  # (R, n)
        X, y = X_train[subsets], y_train[subsets]  # (R, n, 64), (R, n)
        naive_bayes = []
        for X_r, y_r in zip(X, y):
            nb = fit_gaussian_naive_bayes(X_r, y_r, 10, cfg.var_smoothing)
            predicted = naive_bayes_log_joint(X_test, *nb).argmax(1)
            naive_bayes.append((predicted != y_test).float().mean().item())
        errors["naive Bayes"].append(naive_bayes)
        for name, (model_name, kwargs) in DISCRIMINATIVE.items():

            def build(model_name=model_name, kwargs=kwargs):
                return create_model(model_name, **kwargs)

            seeds = [derive_seed(run.seed, f"{model_name}-n{n}-r{r}") for r in range(cfg.repeats)]
            result = train_seeds(
                build, seeds, (X, y), lr=cfg.lr, num_epochs=cfg.num_epochs, data_per_copy=True
            )
            errors[name].append(copy_test_errors(build, result.params, (X_test, y_test)))
    metrics = {}
    series = {}
    for name, table in errors.items():
        mean = np.array([np.mean(v) for v in table])
        std = np.array([np.std(v) for v in table])
        series[name] = (sizes, mean, std)
        key = name.replace(" ", "_").lower()
        metrics[f"{key}_error_smallest"] = float(mean[0])
        metrics[f"{key}_error_largest"] = float(mean[-1])
        metrics.update({f"{key}_error_n{n}": float(e) for n, e in zip(sizes, mean)})
    plots.lines(
        series,
        run.figure("learning-curves"),
        "Naive Bayes learns fastest, logistic regression overtakes it with more data "
        f"(test error, mean ± std of {cfg.repeats} subsets)",
        "training samples",
        "test error",
        log_x=True,
    )
    nb = fit_gaussian_naive_bayes(X_train, y_train, 10, cfg.var_smoothing)
    _, means, variances = nb
    labels = torch.arange(100) // 10  # (100,) one row per class
    noise = torch.randn(100, 64, generator=generator, dtype=torch.float64)
    samples = means[labels] + variances[labels].sqrt() * noise  # (100, 64)
    by_class = samples.reshape(10, 10, 64)[:, :9].transpose(0, 1).reshape(90, 64)  # row: 0..9
    grid = torch.cat([means, by_class]).reshape(-1, 1, 8, 8).clamp(0, 1)
    plots.image_grid(
        grid.numpy(),
        run.figure("naive-bayes-samples"),
        "Naive Bayes as a generator: class means (top row), then samples x ~ N(μ_y, diag σ²_y)",
        nrow=10,
        col_labels=[str(k) for k in range(10)],
    )
    return metrics


@dataclass
class PixelCnnConfig:
    num_epochs: int = param(100, ge=1)  # passes over the binarised training digits
    batch_size: int = param(64, ge=1)  # digits per step
    lr: float = param(2e-3, gt=0)  # Adam learning rate
    channels: int = param(32, ge=1)  # feature maps per masked layer
    num_layers: int = param(4, ge=1)  # masked convolutions (one of type A, then B)
    threshold: float = param(0.5, gt=0, lt=1)  # a pixel is 1 when its grey level exceeds this
    num_samples: int = param(50, ge=1)  # digits drawn pixel by pixel


@experiment(
    "pixelcnn",
    unit=4,
    title="PixelCNN: an autoregressive model with an exact likelihood",
    topics=("generative vs discriminative models",),
    config=PixelCnnConfig,
    quick={"num_epochs": 2, "num_samples": 10},
    tour={"num_epochs": 15},
    tour_seconds=7,
    headline=("independent_pixels_nll_nats", "test_nll_nats"),
    claims=(
        Claim(
            "the PixelCNN's exact likelihood beats independent pixels by over 2 nats a digit",
            lambda m: m["test_nll_nats"] < m["independent_pixels_nll_nats"] - 2,
        ),
    ),
)
def pixelcnn(cfg: PixelCnnConfig, run: Run) -> dict[str, float]:
    """The third family of generative models beside GANs and VAEs: p(x) = Π_i p(x_i | x_<i)
    (van den Oord et al., 2016). Masked convolutions give every pixel's conditional in one
    pass during training, so the test negative log-likelihood is exact (in nats per digit,
    against independent pixels with the training frequencies as a baseline); sampling is
    sequential, one pixel at a time in raster order."""
    digits = data.load("digits")
    X_train = (digits.train[0] > cfg.threshold).float()  # (N, 1, 8, 8) binarised
    X_test = (digits.test[0] > cfg.threshold).float()
    model = run.model(
        "pixelcnn", "pixelcnn_digits", channels=cfg.channels, num_layers=cfg.num_layers
    )
    trainer = run.trainer("pixelcnn", model, loss="bce", metrics=(), lr=cfg.lr)
    run.fit(
        trainer,
        (X_train, X_train),
        val_data=(X_test, X_test),
        num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size,
    )
    pixels = X_train[0].numel()
    # -log p(x) = Σ_i BCE(logit_i, x_i): the mean per-pixel BCE times the pixels per digit
    nll = trainer.evaluate((X_test, X_test))["loss"] * pixels
    frequency = X_train.mean(0).clamp(1e-3, 1 - 1e-3)  # (1, 8, 8) p(x_i = 1), independent pixels
    independent = (
        -(X_test * frequency.log() + (1 - X_test) * (1 - frequency).log()).sum((1, 2, 3)).mean()
    )
    generator = torch.Generator().manual_seed(run.seed)
    samples = model.eval().sample(cfg.num_samples, X_train.shape[-1], generator)
    rows = -(-cfg.num_samples // 10)
    plots.image_grid(
        torch.cat([X_test[:10], samples]).numpy(),
        run.figure("samples"),
        "Binarised test digits, then digits the PixelCNN drew one pixel at a time",
        nrow=10,
        row_labels=["test digits", "PixelCNN"] + [""] * (rows - 1),
    )
    plots.bars(
        {"independent pixels": independent.item(), "PixelCNN": nll},
        run.figure("nll"),
        "Test negative log-likelihood: modelling each pixel given the ones before it saves "
        f"{independent.item() - nll:.1f} nats a digit (lower is better)",
        "nats per digit",
    )
    return {
        "test_nll_nats": nll,
        "independent_pixels_nll_nats": independent.item(),
        "test_bits_per_pixel": nll / pixels / math.log(2),
    }
