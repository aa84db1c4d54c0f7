"""Autoencoders on corrupted inputs: denoising (Vincent et al., 2008), anomaly detection by
reconstruction error, and inpainting of erased squares."""

from dataclasses import dataclass

import torch
from torch import nn

from dllab import data
from dllab.config import param
from dllab.engine import EarlyStopping, Reconstruction
from dllab.errors import ConfigError
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.experiments.unit5.shared import (
    UNIT,
    fit_autoencoder,
    load_ae_data,
)
from dllab.metrics import psnr, roc_auc
from dllab.models.autoencoder import Denoising, corrupt
from dllab.report import plots


@dataclass
class DenoisingConfig:
    kinds: tuple[str, ...] = ("gaussian", "masking", "salt_pepper")  # one DAE trained per kind
    train_levels: tuple[float, ...] = param((0.3, 0.3, 0.2), ge=0)  # training level per kind
    test_levels: tuple[float, ...] = param((0.1, 0.2, 0.3, 0.5), ge=0)  # PSNR measured at
    num_epochs: int = param(100, ge=1)  # per denoising autoencoder
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "denoising",
    unit=UNIT,
    title="Denoising autoencoders: Gaussian, masking and salt-and-pepper noise",
    topics=("denoising autoencoder",),
    config=DenoisingConfig,
    quick={"num_epochs": 4, "test_levels": (0.5,), "lr": 3e-3},
    tour={"num_epochs": 25, "test_levels": (0.1, 0.2, 0.3, 0.5)},
    tour_seconds=7,
    headline=("psnr_noisy_gaussian_50", "psnr_denoised_gaussian_50"),
    claims=(
        Claim(
            "at the strongest test noise, every autoencoder raises the PSNR by over 3 dB",
            lambda m: all(
                m[f"psnr_denoised_{k}_50"] > m[f"psnr_noisy_{k}_50"] + 3
                for k in ("gaussian", "masking", "salt_pepper")
            ),
        ),
        Claim(
            "the PSNR is measured at four noise levels or more",
            lambda m: len([k for k in m if k.startswith("psnr_noisy_gaussian_")]) >= 4,
        ),
    ),
)
def denoising(cfg: DenoisingConfig, run: Run) -> dict[str, float]:
    """A denoising autoencoder (Vincent et al., 2008) learns to map a corrupted digit back to the
    clean one: one per noise type (Gaussian, masking, salt-and-pepper), trained on freshly
    corrupted copies and scored by PSNR of noisy and denoised test digits at several levels."""
    if len(cfg.kinds) != len(cfg.train_levels):
        raise ConfigError("denoising: give one train_levels entry per noise kind")
    ds = load_ae_data("digits")
    X_test = ds.test[0]
    metrics, curves, rows, labels = {}, {}, [X_test[:10]], ["clean"]
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "test-noise"))
    for kind, train_level in zip(cfg.kinds, cfg.train_levels):
        model = run.model(f"dae-{kind}", "autoencoder_digits", latent_dim=32)
        model = fit_autoencoder(
            run, f"dae-{kind}", model, Denoising(kind, train_level), ds, cfg.num_epochs, cfg.lr
        )
        noisy_psnr, clean_psnr = [], []
        for level in cfg.test_levels:
            noisy = corrupt(X_test, kind, level, generator).clamp(0, 1)
            with torch.no_grad():
                denoised = model(noisy)
            noisy_psnr.append(psnr(noisy, X_test))
            clean_psnr.append(psnr(denoised, X_test))
            key = f"{kind}_{round(level * 100)}"
            metrics[f"psnr_noisy_{key}"] = noisy_psnr[-1]
            metrics[f"psnr_denoised_{key}"] = clean_psnr[-1]
            if level == max(cfg.test_levels):
                rows += [noisy[:10], denoised[:10]]
                labels += [f"{plots.words(kind)} {level:g}", "denoised"]
        name = plots.words(kind)
        curves[f"{name}, noisy"] = plots.Line(cfg.test_levels, noisy_psnr, key=kind, dashed=True)
        curves[f"{name}, denoised"] = plots.Line(cfg.test_levels, clean_psnr, key=kind)
    plots.image_grid(
        torch.cat(rows).numpy(),
        run.figure("noisy_clean_denoised"),
        "Clean, corrupted and denoised test digits: each autoencoder removes its own noise",
        nrow=10,
        row_labels=labels,
    )
    helps_everywhere = all(
        metrics[k.replace("noisy", "denoised")] > v
        for k, v in metrics.items()
        if k.startswith("psnr_noisy_")
    )
    plots.lines(
        curves,
        run.figure("psnr_vs_noise"),
        "Denoising raises the PSNR of test digits at every noise level (dashed: noisy input)"
        if helps_everywhere
        else "Denoising pays at strong noise; at light noise the autoencoder's own blur costs "
        "more than it removes (dashed: noisy input)",
        "noise level (Gaussian σ, or fraction of pixels hit)",
        "PSNR (dB, higher is better)",
    )
    return metrics


@dataclass
class AnomalyConfig:
    normal_classes: tuple[int, ...] = param((0, 1, 2, 3, 4), ge=0, le=9)  # trained on these
    latent_dim: int = param(8, ge=1)  # code size k
    num_epochs: int = param(100, ge=1)  # passes over the normal training digits
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "anomaly-detection",
    unit=UNIT,
    title="Anomaly detection by reconstruction error",
    topics=("autoencoder", "compression and reconstruction"),
    config=AnomalyConfig,
    quick={"num_epochs": 6, "lr": 3e-3},
    headline="roc_auc",
)
def anomaly_detection(cfg: AnomalyConfig, run: Run) -> dict[str, float]:
    """An autoencoder trained only on some digit classes reconstructs those well and the others
    badly: its per-digit reconstruction error scores held-out classes as anomalies, measured by
    the area under the ROC curve (0.5 = chance, 1 = perfect)."""
    if not 0 < len(set(cfg.normal_classes)) < 10:
        raise ConfigError("anomaly-detection: normal_classes must leave some classes out")
    full = load_ae_data("digits")
    normal = torch.tensor(cfg.normal_classes)

    def keep(split):
        X, y = split
        return X[torch.isin(y, normal)], y[torch.isin(y, normal)]

    ds = data.Dataset("digits-normal", keep(full.train), keep(full.test), val=keep(full.val))
    model = run.model("ae", "autoencoder_digits", latent_dim=cfg.latent_dim)
    model = fit_autoencoder(run, "ae", model, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
    X_test, y_test = full.test
    with torch.no_grad():
        scores = (model(X_test) - X_test).pow(2).flatten(1).mean(1)  # (N,)
    anomalous = ~torch.isin(y_test, normal)
    auc = roc_auc(scores, anomalous)
    plots.histograms(
        {
            "normal classes": scores[~anomalous].numpy(),
            "held-out classes": scores[anomalous].numpy(),
        },
        run.figure("score_histograms"),
        f"Reconstruction error of test digits (ROC-AUC {auc:.3f})",
        "per-digit reconstruction MSE",
    )
    return {
        "roc_auc": auc,
        "mean_score_normal": scores[~anomalous].mean().item(),
        "mean_score_anomalous": scores[anomalous].mean().item(),
    }


def erase_squares(X: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A mask (N, 1, H, W) that is 1 on one random size x size square per image."""
    N, _, H, W = X.shape
    top = torch.randint(0, H - size + 1, (N, 1, 1), generator=generator)
    left = torch.randint(0, W - size + 1, (N, 1, 1), generator=generator)
    rows, cols = torch.arange(H)[None, :, None], torch.arange(W)[None, None, :]
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return inside[:, None].to(X.dtype)  # (N, 1, H, W)


@dataclass
class InpaintingConfig:
    hole: int = param(4, ge=1, le=7)  # side of the erased square, in pixels
    copies: int = param(4, ge=1)  # differently erased copies of each training digit
    latent_dim: int = param(32, ge=1)  # code size of the encoder-decoder
    num_epochs: int = param(100, ge=1)  # passes over the erased copies
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "inpainting",
    unit=UNIT,
    title="Inpainting: a convolutional encoder-decoder fills erased squares",
    topics=("convolutional autoencoder", "denoising autoencoder"),
    config=InpaintingConfig,
    quick={"num_epochs": 4, "copies": 1, "lr": 3e-3},
    headline=("masked_mse_mean_fill", "masked_mse"),
)
def inpainting(cfg: InpaintingConfig, run: Run) -> dict[str, float]:
    """A convolutional encoder-decoder (a context encoder without the adversarial term, Pathak
    et al., 2016) learns to fill a randomly erased square of each digit from its surroundings;
    its error inside the hole is compared with filling the hole by the mean training image."""
    ds = load_ae_data("digits")
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "holes"))

    def erased_pairs(X, copies):
        X = X.repeat(copies, 1, 1, 1)
        mask = erase_squares(X, cfg.hole, generator)
        return X * (1 - mask), X, mask

    train = erased_pairs(ds.train[0], cfg.copies)[:2]
    val = erased_pairs(ds.val[0], 1)[:2]
    pairs = data.Dataset("digits-holes", train, erased_pairs(ds.test[0], 1)[:2], val=val)
    model = run.model("inpainter", "conv_autoencoder_digits", latent_dim=cfg.latent_dim)
    model = _fit_pairs(run, model, pairs, cfg)
    X_in, X, mask = erased_pairs(ds.test[0], 1)
    with torch.no_grad():
        filled = X_in + mask * model(X_in)  # keep the known pixels, fill the hole
    mean_image = ds.train[0].mean(0, keepdim=True)
    by_mean = X_in + mask * mean_image
    holes = mask.sum()
    model_mse = ((filled - X) ** 2 * mask).sum() / holes
    mean_mse = ((by_mean - X) ** 2 * mask).sum() / holes
    plots.image_grid(
        torch.cat([X[:10], X_in[:10], by_mean[:10], filled[:10]]).numpy(),
        run.figure("inpainting"),
        f"Erased {cfg.hole}x{cfg.hole} squares filled by the mean image and by the network",
        nrow=10,
        row_labels=["original", "erased", "mean fill", "network"],
    )
    return {"masked_mse": model_mse.item(), "masked_mse_mean_fill": mean_mse.item()}


def _fit_pairs(run: Run, model: nn.Module, pairs: data.Dataset, cfg: InpaintingConfig):
    """Reconstruction of (erased, clean) pairs: the batch's last tensor is the target."""
    trainer = run.trainer(
        "inpainter",
        model,
        checkpoint=False,
        optimizer="adam",
        loss=Reconstruction(),
        lr=cfg.lr,
        schedule="cosine",
        callbacks=[EarlyStopping("val_loss", patience=cfg.num_epochs)],
    )
    run.fit(trainer, pairs.train, val_data=pairs.val, num_epochs=cfg.num_epochs, batch_size=64)
    return trainer.model.eval()
