"""Unit V experiments: autoencoders (dense, convolutional, denoising, sparse), the variational
autoencoder, and what they are used for: compression, denoising, inpainting, anomaly detection."""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from torch import nn

from dllab import data
from dllab.config import param
from dllab.engine import EarlyStopping, Reconstruction
from dllab.engine.autoencoding import (
    ELBO,
    AdversarialAutoencoding,
    BidirectionalGAN,
    Denoising,
    Sparse,
    VAEGANTask,
    corrupt,
)
from dllab.engine.gan import GAN, GANTask, set_adam_betas
from dllab.errors import ConfigError
from dllab.experiments.common import classifier_features, scoring_classifier
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run, derive_seed
from dllab.metrics import feature_frechet_distance, linear_probe_accuracy, psnr, roc_auc
from dllab.report import plots

UNIT = 5


@dataclass
class AEData:
    name: Literal["digits", "mnist1d"] = "digits"  # 8x8 images in [0, 1] or 40-step signals


def _load(name: str) -> data.Dataset:
    """The digits' own train/val/test split, or MNIST-1D with 500 training signals for val."""
    return data.load("digits") if name == "digits" else data.load("mnist1d", n_val=500)


def _fit(run: Run, name: str, model: nn.Module, task, ds, num_epochs: int, lr: float):
    """Adam with a cosine schedule on the inputs alone; keeps the weights of the best val loss."""
    trainer = run.trainer(
        name,
        model,
        checkpoint=False,
        optimizer="adam",
        loss=task,
        lr=lr,
        schedule="cosine",
        callbacks=[EarlyStopping("val_loss", patience=num_epochs)],
    )
    run.fit(trainer, ds.train[0], val_data=ds.val[0], num_epochs=num_epochs, batch_size=64)
    return trainer.model.eval()


@torch.no_grad()
def reconstruction_mse(model: nn.Module, X: torch.Tensor) -> float:
    """Mean squared error per pixel (or time step) of model(X) against X."""
    return F.mse_loss(model.eval()(X), X).item()


def _pca(X_train: torch.Tensor, k: int) -> PCA:
    return PCA(k, random_state=0).fit(X_train.flatten(1).numpy())


def _pca_reconstruct(pca: PCA, X: torch.Tensor) -> torch.Tensor:
    flat = pca.inverse_transform(pca.transform(X.flatten(1).numpy()))  # (N, D)
    return torch.as_tensor(flat, dtype=X.dtype).reshape(X.shape)


@dataclass
class CompressionConfig:
    data: AEData = field(default_factory=AEData)
    latent_dims: tuple[int, ...] = param((2, 4, 8, 16, 32), ge=1)  # code sizes k compared
    num_hiddens: tuple[int, ...] = param((512, 256, 128), ge=1)  # the dense AE's encoder widths
    noise_levels: tuple[float, ...] = param((0.0, 0.1, 0.2), ge=0)  # input noise (x data std)
    num_epochs: int = param(150, ge=1)  # per dense AE
    conv_epochs: int = param(60, ge=1)  # per convolutional AE
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule
    plain_baseline: bool = True  # also train a plain dense AE (random start, no noise)


def _pca_started_ae(cfg: CompressionConfig, run: Run, ds, k: int, pca: PCA):
    """The dense AE with a linear path started at PCA, trained with each Gaussian input-noise
    level (a regulariser, Bishop, 1995); the level with the lowest validation MSE is kept."""
    X_train, X_val = ds.train[0], ds.val[0]
    std = X_train.std().item()
    best = None
    for level in cfg.noise_levels:
        name = f"ae-k{k}-noise{level:g}"
        model = run.model(
            name,
            f"autoencoder_{cfg.data.name}",
            latent_dim=k,
            num_hiddens=cfg.num_hiddens,
            linear_path=True,
        )
        model.init_from_pca(torch.tensor(pca.components_), torch.tensor(pca.mean_))
        task = Denoising("gaussian", level * std) if level > 0 else Reconstruction()
        model = _fit(run, name, model, task, ds, cfg.num_epochs, cfg.lr)
        val = reconstruction_mse(model, X_val)
        if best is None or val < best[0]:
            best = (val, level, model)
    return best[2], best[1]


@experiment(
    "ae-compression",
    unit=UNIT,
    title="Autoencoders vs PCA: reconstruction error against code size",
    topics=("autoencoder", "convolutional autoencoder", "compression and reconstruction"),
    config=CompressionConfig,
    quick={
        "latent_dims": (2,),
        "num_hiddens": (32,),
        "noise_levels": (0.1,),
        "num_epochs": 3,
        "conv_epochs": 2,
        "plain_baseline": False,
    },
    implements=(
        "dllab.models.autoencoder.DenseAutoencoder",
        "dllab.models.autoencoder.ConvAutoencoder",
    ),
    headline=("pca_mse_k2", "ae_mse_k2"),
)
def ae_compression(cfg: CompressionConfig, run: Run) -> dict[str, float]:
    """A dense autoencoder, a convolutional one and PCA each compress the data to k numbers and
    reconstruct it; test MSE against k, and the compression ratio D / k. PCA finds the best
    linear k-dimensional subspace; a non-linear autoencoder can only match it if training finds
    a solution at least as good. A plain AE (random start) beats PCA at small k but not at
    k = 32, where PCA keeps almost everything and gradient descent on a deep net stops short of
    that. So the AE here has a linear path started at PCA beside its MLPs (z = C(x - m) + f(x),
    x_hat = Cᵀz + m + g(z)), trained with Gaussian input noise whose level is chosen on the
    validation set: it starts from PCA's solution and improves on it."""
    ds = _load(cfg.data.name)
    X_train, X_test = ds.train[0], ds.test[0]
    D = X_train[0].numel()
    metrics, curves = {}, {"PCA": ([], []), "dense AE (PCA start)": ([], []), "conv AE": ([], [])}
    if cfg.plain_baseline:
        curves["plain dense AE"] = ([], [])
    shown = {}
    for k in cfg.latent_dims:
        pca = _pca(X_train, k)
        pca_recon = _pca_reconstruct(pca, X_test)
        ae, level = _pca_started_ae(cfg, run, ds, k, pca)
        conv = run.model(f"conv-k{k}", f"conv_autoencoder_{cfg.data.name}", latent_dim=k)
        conv = _fit(run, f"conv-k{k}", conv, Reconstruction(), ds, cfg.conv_epochs, cfg.lr)
        results = {
            "PCA": F.mse_loss(pca_recon, X_test).item(),
            "dense AE (PCA start)": reconstruction_mse(ae, X_test),
            "conv AE": reconstruction_mse(conv, X_test),
        }
        if cfg.plain_baseline:
            plain = run.model(f"plain-k{k}", f"autoencoder_{cfg.data.name}", latent_dim=k)
            plain = _fit(run, f"plain-k{k}", plain, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
            results["plain dense AE"] = reconstruction_mse(plain, X_test)
            metrics[f"plain_ae_mse_k{k}"] = results["plain dense AE"]
        for label, value in results.items():
            curves[label][0].append(k)
            curves[label][1].append(value)
        metrics[f"pca_mse_k{k}"] = results["PCA"]
        metrics[f"ae_mse_k{k}"] = results["dense AE (PCA start)"]
        metrics[f"conv_ae_mse_k{k}"] = results["conv AE"]
        metrics[f"ae_pca_ratio_k{k}"] = metrics[f"ae_mse_k{k}"] / metrics[f"pca_mse_k{k}"]
        metrics[f"ae_noise_k{k}"] = level
        metrics[f"compression_ratio_k{k}"] = D / k
        with torch.no_grad():
            shown[k] = (pca_recon[:8], ae(X_test[:8]), conv(X_test[:8]))
    plots.lines(
        curves,
        run.figure("mse_vs_code_size"),
        f"{cfg.data.name}: test reconstruction error against code size (D = {D})",
        "code size k (compression ratio D/k)",
        "test MSE per value",
        log_x=True,
        log_y=True,
    )
    _draw_reconstructions(run, cfg.data.name, X_test[:8], shown)
    return metrics


def _draw_reconstructions(run: Run, dataset: str, X: torch.Tensor, shown: dict) -> None:
    """Originals and their PCA / dense AE / conv AE reconstructions for each k."""
    if dataset == "digits":
        rows, labels = [X], ["original"]
        for k, (pca, ae, conv) in shown.items():
            rows += [pca, ae, conv]
            labels += [f"PCA k={k}", f"AE k={k}", f"conv k={k}"]
        plots.image_grid(
            torch.cat(rows).numpy(),
            run.figure("reconstructions"),
            "Test digits and their reconstructions",
            nrow=len(X),
            row_labels=labels,
        )
        return
    k = min(shown)
    steps = np.arange(X.shape[-1])
    series = {"original": (steps, X[0, 0].numpy())}
    for label, recon in zip(("PCA", "dense AE", "conv AE"), shown[k]):
        series[f"{label}, k={k}"] = (steps, recon[0, 0].numpy())
    plots.lines(
        series,
        run.figure("reconstructions"),
        f"A test signal and its reconstructions from k = {k} numbers",
        "time step",
        "signal value",
    )


@dataclass
class DenoisingConfig:
    kinds: tuple[str, ...] = ("gaussian", "masking", "salt_pepper")  # one DAE trained per kind
    train_levels: tuple[float, ...] = param((0.3, 0.3, 0.2), ge=0)  # training level per kind
    test_levels: tuple[float, ...] = param((0.1, 0.2, 0.3, 0.5), ge=0)  # PSNR measured at
    num_epochs: int = param(100, ge=1)
    lr: float = param(1e-3, gt=0)


@experiment(
    "denoising",
    unit=UNIT,
    title="Denoising autoencoders: Gaussian, masking and salt-and-pepper noise",
    topics=("denoising autoencoder",),
    config=DenoisingConfig,
    quick={"num_epochs": 4, "test_levels": (0.5,), "lr": 3e-3},
    implements=("dllab.engine.autoencoding.Denoising", "dllab.engine.autoencoding.corrupt"),
    headline=("psnr_noisy_gaussian_50", "psnr_denoised_gaussian_50"),
)
def denoising(cfg: DenoisingConfig, run: Run) -> dict[str, float]:
    """A denoising autoencoder (Vincent et al., 2008) learns to map a corrupted digit back to the
    clean one: one per noise type (Gaussian, masking, salt-and-pepper), trained on freshly
    corrupted copies and scored by PSNR of noisy and denoised test digits at several levels."""
    if len(cfg.kinds) != len(cfg.train_levels):
        raise ConfigError("denoising: give one train_levels entry per noise kind")
    ds = _load("digits")
    X_test = ds.test[0]
    metrics, curves, rows, labels = {}, {}, [X_test[:10]], ["clean"]
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "test-noise"))
    for kind, train_level in zip(cfg.kinds, cfg.train_levels):
        model = run.model(f"dae-{kind}", "autoencoder_digits", latent_dim=32)
        model = _fit(
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
                labels += [f"{kind} {level:g}", "denoised"]
        curves[f"{kind}: noisy"] = (cfg.test_levels, noisy_psnr)
        curves[f"{kind}: denoised"] = (cfg.test_levels, clean_psnr)
    plots.image_grid(
        torch.cat(rows).numpy(),
        run.figure("noisy_clean_denoised"),
        "Clean, corrupted and denoised test digits",
        nrow=10,
        row_labels=labels,
    )
    plots.lines(
        curves,
        run.figure("psnr_vs_noise"),
        "PSNR of noisy and denoised test digits",
        "noise level (Gaussian σ, or fraction of pixels hit)",
        "PSNR (dB, higher is better)",
    )
    return metrics


@dataclass
class VAEConfig:
    latent_dim: int = param(2, ge=1)  # 2 draws the latent map directly
    beta: float = param(1.0, ge=0)  # weight of the KL term (β-VAE; 1 is the ELBO)
    num_epochs: int = param(150, ge=1)
    lr: float = param(1e-3, gt=0)


@experiment(
    "vae",
    unit=UNIT,
    title="Variational autoencoder on the digits: samples, traversals, latent map, ELBO",
    topics=("variational autoencoder",),
    config=VAEConfig,
    quick={"num_epochs": 5, "lr": 3e-3},
    implements=("dllab.models.vae.VAE", "dllab.engine.autoencoding.ELBO"),
    headline="test_elbo",
)
def vae(cfg: VAEConfig, run: Run) -> dict[str, float]:
    """A VAE (Kingma & Welling, 2014) maximises the evidence lower bound
    ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) with Bernoulli pixels; the test ELBO is
    reported in nats with its reconstruction and KL parts. New digits are decoded from prior
    samples z ~ N(0, I); traversals move one code coordinate; interpolation walks between the
    codes of two test digits; the 2-D map shows the means μ(x) coloured by class."""
    ds = _load("digits")
    X_test, y_test = ds.test
    model = run.model("vae", "vae_digits", latent_dim=cfg.latent_dim)
    model = _fit(run, "vae", model, ELBO(cfg.beta), ds, cfg.num_epochs, cfg.lr)
    torch.manual_seed(derive_seed(run.seed, "test-elbo"))  # one z sample per test digit
    with torch.no_grad():
        _, test = ELBO(beta=1.0).compute(model, (X_test,))
        mu = model.encode(X_test)[0]  # (N, k)
        generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
        samples = model.sample(40, generator)
        steps = torch.linspace(-2.5, 2.5, 10)
        dims = min(cfg.latent_dim, 8)
        z = torch.zeros(dims, 10, cfg.latent_dim)
        z[torch.arange(dims), :, torch.arange(dims)] = steps  # row d moves coordinate d
        traversals = model.mean(model.decode(z.reshape(-1, cfg.latent_dim)))
        first = torch.stack([(y_test == d).nonzero()[0, 0] for d in range(10)])  # (10,)
        a, b = mu[first[[0, 1, 3]]], mu[first[[7, 8, 5]]]  # (3, k): 0->7, 1->8, 3->5
        t = torch.linspace(0, 1, 10)[None, :, None]  # (1, 10, 1)
        path = (1 - t) * a[:, None] + t * b[:, None]  # (3, 10, k)
        path = model.mean(model.decode(path.reshape(-1, cfg.latent_dim)))  # (30, 1, 8, 8)
    plots.image_grid(samples.numpy(), run.figure("samples"), "VAE samples: decoded z ~ N(0, I)")
    plots.image_grid(
        traversals.numpy(),
        run.figure("latent_traversals"),
        "Latent traversals: one code coordinate from -2.5 to 2.5, the others 0",
        nrow=10,
        row_labels=[f"$z_{d + 1}$" for d in range(dims)],
    )
    plots.image_grid(
        path.numpy(),
        run.figure("interpolation"),
        "Interpolation between the codes μ(x) of two test digits",
        nrow=10,
        row_labels=["0 → 7", "1 → 8", "3 → 5"],
    )
    plots.scatter_2d(
        mu[:, :2].numpy(),
        y_test.numpy(),
        run.figure("latent_map"),
        "Test digits' code means μ(x), coloured by class",
        "$\\mu_1$",
        "$\\mu_2$",
    )
    return {
        "test_elbo": test["elbo"].item(),
        "test_recon": test["recon"].item(),
        "test_kl": test["kl"].item(),
        "test_mse": F.mse_loss(model.reconstruct(X_test), X_test).item(),
    }


@dataclass
class SparseConfig:
    latent_dim: int = param(100, ge=1)  # over-complete: more code units than 64 pixels
    kl_weight: float = param(0.5, ge=0)  # β on Σ KL(ρ || ρ̂_j)
    rho: float = param(0.05, gt=0, lt=1)  # target mean activation of a code unit
    l1_weight: float = param(1e-3, ge=0)  # weight on the L1 activity penalty
    num_epochs: int = param(150, ge=1)
    lr: float = param(3e-3, gt=0)


@experiment(
    "sparse-ae",
    unit=UNIT,
    title="Sparse autoencoders: KL to a target activation and L1 activity penalty",
    topics=("sparse autoencoder",),
    config=SparseConfig,
    quick={"num_epochs": 4},
    implements=("dllab.engine.autoencoding.Sparse", "dllab.engine.autoencoding.sparsity_kl"),
    headline=("fraction_active_plain", "fraction_active_kl"),
)
def sparse_ae(cfg: SparseConfig, run: Run) -> dict[str, float]:
    """An over-complete 64-100-64 autoencoder with a sigmoid code, trained plainly, with the KL
    sparsity penalty Σ_j KL(ρ || ρ̂_j) (Ng, 2011) and with an L1 activity penalty: histograms of
    the code activations on test digits, and each code unit's encoder weights drawn as an 8x8
    image (the sparse ones learn localised strokes)."""
    ds = _load("digits")
    X_test = ds.test[0]
    tasks = {
        "plain": Reconstruction(),
        "KL sparse": Sparse("kl", cfg.kl_weight, cfg.rho),
        "L1 sparse": Sparse("l1", cfg.l1_weight),
    }
    metrics, activations, features = {}, {}, []
    for label, task in tasks.items():
        key = label.split()[0].lower()
        model = run.model(f"sparse-{key}", "sparse_autoencoder_digits", latent_dim=cfg.latent_dim)
        model = _fit(run, f"sparse-{key}", model, task, ds, cfg.num_epochs, cfg.lr)
        with torch.no_grad():
            h = model.encode(X_test)  # (N, k)
        activations[label] = h.numpy()
        W = model.encoder.net[-1].weight.detach()[:20]  # (20, 64): first 20 units' weights
        low, high = W.min(1, keepdim=True).values, W.max(1, keepdim=True).values
        features.append(((W - low) / (high - low)).reshape(-1, 1, 8, 8))
        metrics[f"mean_activation_{key}"] = h.mean().item()
        metrics[f"fraction_active_{key}"] = (h > 0.1).float().mean().item()
        metrics[f"test_mse_{key}"] = reconstruction_mse(model, X_test)
    plots.histograms(
        activations,
        run.figure("code_activations"),
        "Code activations on test digits (sigmoid units)",
        "activation h_j",
        log_y=True,
    )
    plots.image_grid(
        torch.cat(features).numpy(),
        run.figure("features"),
        "Encoder weights of 20 code units, each scaled to [0, 1]",
        nrow=20,
        row_labels=list(tasks),
    )
    return metrics


@dataclass
class ConvAEConfig:
    latent_dim: int = param(8, ge=1)
    num_epochs: int = param(100, ge=1)
    lr: float = param(1e-3, gt=0)


@experiment(
    "conv-ae",
    unit=UNIT,
    title="A convolutional autoencoder against a dense one of the same code size",
    topics=("convolutional autoencoder", "autoencoder"),
    config=ConvAEConfig,
    quick={"num_epochs": 3, "lr": 3e-3},
    implements=("dllab.models.autoencoder.ConvAutoencoder",),
    headline=("dense_test_mse", "conv_test_mse"),
)
def conv_ae(cfg: ConvAEConfig, run: Run) -> dict[str, float]:
    """Strided convolutions down to a k-number code and transposed convolutions back up
    (Masci et al., 2011) against the 64-256-128-k dense autoencoder: test MSE, parameters, and
    reconstructions side by side."""
    ds = _load("digits")
    X_test = ds.test[0]
    rows, metrics = [X_test[:10]], {}
    for key, name in (("conv", "conv_autoencoder_digits"), ("dense", "autoencoder_digits")):
        model = run.model(f"{key}-ae", name, latent_dim=cfg.latent_dim)
        model = _fit(run, f"{key}-ae", model, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
        metrics[f"{key}_test_mse"] = reconstruction_mse(model, X_test)
        metrics[f"{key}_parameters"] = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            rows.append(model(X_test[:10]))
    plots.image_grid(
        torch.cat(rows).numpy(),
        run.figure("reconstructions"),
        f"Test digits and their reconstructions from k = {cfg.latent_dim} numbers",
        nrow=10,
        row_labels=["original", "conv AE", "dense AE"],
    )
    return metrics


@dataclass
class AnomalyConfig:
    normal_classes: tuple[int, ...] = param((0, 1, 2, 3, 4), ge=0, le=9)  # trained on these
    latent_dim: int = param(8, ge=1)
    num_epochs: int = param(100, ge=1)
    lr: float = param(1e-3, gt=0)


@experiment(
    "anomaly-detection",
    unit=UNIT,
    title="Anomaly detection by reconstruction error",
    topics=("autoencoder", "compression and reconstruction"),
    config=AnomalyConfig,
    quick={"num_epochs": 6, "lr": 3e-3},
    implements=("dllab.metrics.roc_auc",),
    headline="roc_auc",
)
def anomaly_detection(cfg: AnomalyConfig, run: Run) -> dict[str, float]:
    """An autoencoder trained only on some digit classes reconstructs those well and the others
    badly: its per-digit reconstruction error scores held-out classes as anomalies, measured by
    the area under the ROC curve (0.5 = chance, 1 = perfect)."""
    if not 0 < len(set(cfg.normal_classes)) < 10:
        raise ConfigError("anomaly-detection: normal_classes must leave some classes out")
    full = _load("digits")
    normal = torch.tensor(cfg.normal_classes)

    def keep(split):
        X, y = split
        return X[torch.isin(y, normal)], y[torch.isin(y, normal)]

    ds = data.Dataset("digits-normal", keep(full.train), keep(full.test), val=keep(full.val))
    model = run.model("ae", "autoencoder_digits", latent_dim=cfg.latent_dim)
    model = _fit(run, "ae", model, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
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
    latent_dim: int = param(32, ge=1)
    num_epochs: int = param(100, ge=1)
    lr: float = param(1e-3, gt=0)


@experiment(
    "inpainting",
    unit=UNIT,
    title="Inpainting: a convolutional encoder-decoder fills erased squares",
    topics=("convolutional autoencoder", "denoising autoencoder"),
    config=InpaintingConfig,
    quick={"num_epochs": 4, "copies": 1, "lr": 3e-3},
    implements=("dllab.experiments.unit5.erase_squares",),
    headline=("masked_mse_mean_fill", "masked_mse"),
)
def inpainting(cfg: InpaintingConfig, run: Run) -> dict[str, float]:
    """A convolutional encoder-decoder (a context encoder without the adversarial term, Pathak
    et al., 2016) learns to fill a randomly erased square of each digit from its surroundings;
    its error inside the hole is compared with filling the hole by the mean training image."""
    ds = _load("digits")
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


@dataclass
class AdversarialConfig:
    latent_dim: int = param(8, ge=1)  # code size k
    num_epochs: int = param(100, ge=1)
    lr: float = param(1e-3, gt=0)  # Adam for both networks
    adversarial_weight: float = param(0.3, ge=0)  # of the adversarial term (AAE, VAE-GAN)


def _adversarial_run(cfg: AdversarialConfig, run: Run, key: str, model_name: str, task):
    """Train a hybrid on the digits, then probe its codes and draw samples and reconstructions."""
    ds = _load("digits")
    (X_train, y_train), (X_test, y_test) = ds.train, ds.test
    model = run.model(key, model_name, latent_dim=cfg.latent_dim)
    trainer = run.trainer(key, model, checkpoint=False, optimizer="adam", loss=task, lr=cfg.lr)
    set_adam_betas(trainer.optimizers.values())  # β1 = 0.5 for adversarial training
    run.fit(trainer, X_train, num_epochs=cfg.num_epochs, batch_size=64)
    model.eval()
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
    with torch.no_grad():
        encode = model.encode if model_name != "ali_digits" else lambda x: model.encode(x, False)
        codes_train, codes_test = encode(X_train), encode(X_test)  # (N, k)
        samples = model.decode(torch.randn(30, cfg.latent_dim, generator=generator))
        recon = model.decode(codes_test)
    probe = linear_probe_accuracy(codes_train, y_train, codes_test, y_test)
    pixels = linear_probe_accuracy(X_train.flatten(1), y_train, X_test.flatten(1), y_test)
    plots.image_grid(
        torch.cat([samples, X_test[:10], recon[:10]]).numpy(),
        run.figure("samples_and_reconstructions"),
        f"{key}: samples G(z), z ~ N(0, I) (rows 1-3); test digits and G(E(x)) (rows 4-5)",
        nrow=10,
        row_labels=["samples", "", "", "test x", "G(E(x))"],
    )
    plots.scatter_2d(
        codes_test[:, :2].numpy(),
        y_test.numpy(),
        run.figure("codes"),
        f"{key}: the first two code coordinates of test digits, by class",
    )
    return {
        "linear_probe_accuracy": probe,
        "linear_probe_accuracy_pixels": pixels,
        "test_recon_mse": F.mse_loss(recon, X_test).item(),
        "code_mean_abs": codes_test.mean(0).abs().mean().item(),
        "code_std": codes_test.std(0).mean().item(),
    }


@experiment(
    "aae",
    unit=UNIT,
    title="Adversarial autoencoder: a discriminator matches the codes to N(0, I)",
    topics=("adversarial autoencoder",),
    config=AdversarialConfig,
    quick={"num_epochs": 3},
    implements=(
        "dllab.models.hybrid.AdversarialAutoencoder",
        "dllab.engine.autoencoding.AdversarialAutoencoding",
    ),
    headline="linear_probe_accuracy",
)
def aae(cfg: AdversarialConfig, run: Run) -> dict[str, float]:
    """An adversarial autoencoder (Makhzani et al., 2016) reconstructs digits while a
    discriminator on the code pushes the distribution of E(x) towards the prior N(0, I), so
    decoding prior samples gives digits. The codes' linear-probe accuracy measures how much
    class information they keep (raw pixels as the reference)."""
    task = AdversarialAutoencoding(cfg.adversarial_weight)
    return _adversarial_run(cfg, run, "aae", "aae_digits", task)


@dataclass
class BiGANConfig(AdversarialConfig):
    lr: float = param(2e-4, gt=0)  # BiGAN's Adam rate (Donahue et al., 2017, §4)


@experiment(
    "bigan",
    unit=UNIT,
    title="BiGAN: a GAN that also learns the inverse mapping E(x)",
    topics=("BiGAN/ALI",),
    config=BiGANConfig,
    quick={"num_epochs": 3},
    implements=("dllab.models.hybrid.BiGAN", "dllab.engine.autoencoding.BidirectionalGAN"),
    headline="linear_probe_accuracy",
)
def bigan(cfg: BiGANConfig, run: Run) -> dict[str, float]:
    """BiGAN (Donahue et al., 2017): the discriminator sees pairs (x, E(x)) and (G(z), z); at
    the optimum E inverts G, though no reconstruction loss is ever computed. Samples,
    reconstructions G(E(x)) and the linear-probe accuracy of E(x)."""
    return _adversarial_run(cfg, run, "bigan", "bigan_digits", BidirectionalGAN())


@experiment(
    "ali",
    unit=UNIT,
    title="ALI: adversarially learned inference with a Gaussian encoder",
    topics=("BiGAN/ALI",),
    config=BiGANConfig,
    quick={"num_epochs": 3},
    implements=("dllab.models.hybrid.BiGAN",),
    headline="linear_probe_accuracy",
)
def ali(cfg: BiGANConfig, run: Run) -> dict[str, float]:
    """ALI (Dumoulin et al., 2017) is BiGAN with a stochastic encoder q(z|x) = N(μ(x), σ²(x)),
    sampled by reparameterisation; codes are probed at their means μ(x)."""
    return _adversarial_run(cfg, run, "ali", "ali_digits", BidirectionalGAN())


@experiment(
    "vae-gan",
    unit=UNIT,
    title="VAE-GAN: reconstruction measured in a discriminator's features",
    topics=("VAE-GAN", "variational autoencoder"),
    config=AdversarialConfig,
    quick={"num_epochs": 3},
    implements=("dllab.models.hybrid.VAEGAN", "dllab.engine.autoencoding.VAEGANTask"),
    headline="linear_probe_accuracy",
)
def vae_gan(cfg: AdversarialConfig, run: Run) -> dict[str, float]:
    """The VAE-GAN (Larsen et al., 2016) replaces the VAE's pixel-wise likelihood by a distance
    between discriminator features, and trains the decoder as a GAN generator as well: sharper
    samples than a VAE's. Samples, reconstructions and the codes' linear-probe accuracy."""
    return _adversarial_run(
        cfg, run, "vae-gan", "vaegan_digits", VAEGANTask(cfg.adversarial_weight)
    )


@dataclass
class AEvsGANConfig:
    latent_dim: int = param(8, ge=1)  # code / noise size of every model
    num_epochs: int = param(150, ge=1)  # per model
    lr: float = param(5e-4, gt=0)
    num_samples: int = param(1000, ge=20)  # generated digits scored by classifier FID
    classifier_epochs: int = param(20, ge=1)  # the digits CNN whose features FID uses


@experiment(
    "ae-vs-gan",
    unit=UNIT,
    title="AE, VAE, GAN and VAE-GAN side by side: sample quality and reconstruction",
    topics=("VAE-GAN", "variational autoencoder", "autoencoder"),
    config=AEvsGANConfig,
    quick={"num_epochs": 3, "num_samples": 200, "classifier_epochs": 2},
    implements=("dllab.experiments.unit5.ae_vs_gan",),
    headline=("classifier_fid_vae", "classifier_fid_vaegan"),
)
def ae_vs_gan(cfg: AEvsGANConfig, run: Run) -> dict[str, float]:
    """The notes' VAE-versus-GAN table with measured numbers: an autoencoder (sampled from a
    Gaussian fitted to its codes, as it has no prior of its own), a VAE, a GAN and a VAE-GAN
    trained on the same digits with the same code size. Samples side by side; classifier FID of
    samples against test digits (lower is better; real training digits give the floor); test
    reconstruction MSE for the models that have an encoder (a GAN has none)."""
    ds = _load("digits")
    (X_train, _), X_test = ds.train, ds.test[0]
    k = cfg.latent_dim
    generator = torch.Generator().manual_seed(derive_seed(run.seed, "samples"))
    z = torch.randn(cfg.num_samples, k, generator=generator)
    samples, recon = {}, {}

    ae = run.model("ae", "autoencoder_digits", latent_dim=k)
    ae = _fit(run, "ae", ae, Reconstruction(), ds, cfg.num_epochs, cfg.lr)
    vae = run.model("vae", "vae_digits", latent_dim=k)
    vae = _fit(run, "vae", vae, ELBO(), ds, cfg.num_epochs, cfg.lr)
    with torch.no_grad():
        codes = ae.encode(X_train)  # (N, k): sample N(mean, cov) of the codes
        L = torch.linalg.cholesky(torch.cov(codes.T) + 1e-5 * torch.eye(k))
        samples["AE"] = ae.decode(codes.mean(0) + z @ L.T)
        recon["AE"] = ae(X_test)
        samples["VAE"] = vae.mean(vae.decode(z))
        recon["VAE"] = vae.reconstruct(X_test)
    G = run.model("gan-G", "gan_generator_digits", latent_dim=k)
    D = run.model("gan-D", "gan_discriminator_digits")
    gan = GAN(G, D, k)
    trainer = run.trainer("gan", gan, checkpoint=False, optimizer="adam", loss=GANTask(), lr=cfg.lr)
    run.fit(trainer, X_train, num_epochs=cfg.num_epochs, batch_size=64)
    samples["GAN"] = gan.sample(z)
    vaegan = run.model("vae-gan", "vaegan_digits", latent_dim=k)
    trainer = run.trainer(
        "vae-gan", vaegan, checkpoint=False, optimizer="adam", loss=VAEGANTask(), lr=cfg.lr
    )
    set_adam_betas(trainer.optimizers.values())
    run.fit(trainer, X_train, num_epochs=cfg.num_epochs, batch_size=64)
    with torch.no_grad():
        vaegan.eval()
        samples["VAE-GAN"] = vaegan.decode(z)
        recon["VAE-GAN"] = vaegan.decode(vaegan.encode(X_test))

    classifier, _ = scoring_classifier(run, ds, cfg.classifier_epochs)
    h_test = classifier_features(classifier, X_test)[0]
    metrics = {
        "real_classifier_fid": feature_frechet_distance(
            classifier_features(classifier, X_train)[0], h_test
        )
    }
    for name, X in samples.items():
        key = name.lower().replace("-", "")
        metrics[f"classifier_fid_{key}"] = feature_frechet_distance(
            classifier_features(classifier, X)[0], h_test
        )
        if name in recon:
            metrics[f"recon_mse_{key}"] = F.mse_loss(recon[name], X_test).item()
    plots.image_grid(
        torch.cat([X[:12] for X in samples.values()]).numpy(),
        run.figure("samples"),
        "Samples from each model (same noise z for all)",
        nrow=12,
        row_labels=list(samples),
    )
    plots.bars(
        {name: metrics[f"classifier_fid_{name.lower().replace('-', '')}"] for name in samples},
        run.figure("classifier_fid"),
        "Classifier FID of samples vs test digits (lower is better)",
        "classifier FID",
        reference=(metrics["real_classifier_fid"], "real training digits"),
    )
    plots.bars(
        {name: metrics[f"recon_mse_{name.lower().replace('-', '')}"] for name in recon},
        run.figure("reconstruction_mse"),
        "Test reconstruction MSE (a GAN has no encoder)",
        "MSE per pixel",
    )
    return metrics
