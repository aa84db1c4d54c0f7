"""Autoencoders as compressors: dense and convolutional autoencoders against PCA (Hinton &
Salakhutdinov, 2006), sparse codes (Ng, 2011), and conv vs dense at one code size."""

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from dllab.config import param
from dllab.engine import Reconstruction
from dllab.experiments.registry import Claim, experiment
from dllab.experiments.runner import Run
from dllab.experiments.unit5.shared import (
    UNIT,
    AEData,
    fit_autoencoder,
    fit_pca,
    load_ae_data,
    pca_reconstruct,
    reconstruction_mse,
)
from dllab.models.autoencoder import Denoising, Sparse
from dllab.report import plots


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
        model = fit_autoencoder(run, name, model, task, ds, cfg.num_epochs, cfg.lr)
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
    tour={
        "latent_dims": (2, 8, 32),
        "num_hiddens": (256, 128),
        "num_epochs": 40,
        "conv_epochs": 10,
    },
    tour_seconds=17,
    headline=("pca_mse_k2", "ae_mse_k2"),
    claims=(
        Claim(
            "the PCA-started autoencoder reconstructs at least as well as PCA at every k",
            lambda m: all(v <= 1.0 for k, v in m.items() if k.startswith("ae_pca_ratio_k")),
        ),
        Claim(
            "a larger code reconstructs better",
            lambda m: m["pca_mse_k8"] < m["pca_mse_k2"] and m["ae_mse_k8"] < m["ae_mse_k2"],
        ),
    ),
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
    ds = load_ae_data(cfg.data.name)
    X_train, X_test = ds.train[0], ds.test[0]
    D = X_train[0].numel()
    metrics, curves = {}, {"PCA": ([], []), "dense AE (PCA start)": ([], []), "conv AE": ([], [])}
    if cfg.plain_baseline:
        curves["plain dense AE"] = ([], [])
    shown = {}
    for k in cfg.latent_dims:
        pca = fit_pca(X_train, k)
        pca_recon = pca_reconstruct(pca, X_test)
        ae, level = _pca_started_ae(cfg, run, ds, k, pca)
        conv = run.model(f"conv-k{k}", f"conv_autoencoder_{cfg.data.name}", latent_dim=k)
        conv = fit_autoencoder(
            run, f"conv-k{k}", conv, Reconstruction(), ds, cfg.conv_epochs, cfg.lr
        )
        results = {
            "PCA": F.mse_loss(pca_recon, X_test).item(),
            "dense AE (PCA start)": reconstruction_mse(ae, X_test),
            "conv AE": reconstruction_mse(conv, X_test),
        }
        if cfg.plain_baseline:
            plain = run.model(f"plain-k{k}", f"autoencoder_{cfg.data.name}", latent_dim=k)
            plain = fit_autoencoder(
                run, f"plain-k{k}", plain, Reconstruction(), ds, cfg.num_epochs, cfg.lr
            )
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
    keys = {"PCA": "pca", "dense AE (PCA start)": "dense ae", "conv AE": "conv ae"}
    lines = {label: plots.Line(*xy, key=keys.get(label, "ae")) for label, xy in curves.items()}
    at_most_pca = all(metrics[f"ae_pca_ratio_k{k}"] <= 1.0 for k in cfg.latent_dims)
    plots.lines(
        lines,
        run.figure("mse_vs_code_size"),
        f"{cfg.data.name} (D = {D}): the error falls as the code grows"
        + ("; the PCA-started autoencoder never does worse than PCA" if at_most_pca else ""),
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
            "Test digits and their reconstructions from k numbers: the larger k, the sharper",
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
class SparseConfig:
    latent_dim: int = param(100, ge=1)  # over-complete: more code units than 64 pixels
    kl_weight: float = param(0.5, ge=0)  # β on Σ KL(ρ || ρ̂_j)
    rho: float = param(0.05, gt=0, lt=1)  # target mean activation of a code unit
    l1_weight: float = param(1e-3, ge=0)  # weight on the L1 activity penalty
    num_epochs: int = param(150, ge=1)  # per autoencoder
    lr: float = param(3e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "sparse-ae",
    unit=UNIT,
    title="Sparse autoencoders: KL to a target activation and L1 activity penalty",
    topics=("sparse autoencoder",),
    config=SparseConfig,
    quick={"num_epochs": 4},
    headline=("fraction_active_plain", "fraction_active_kl"),
)
def sparse_ae(cfg: SparseConfig, run: Run) -> dict[str, float]:
    """An over-complete 64-100-64 autoencoder with a sigmoid code, trained plainly, with the KL
    sparsity penalty Σ_j KL(ρ || ρ̂_j) (Ng, 2011) and with an L1 activity penalty: histograms of
    the code activations on test digits, and each code unit's encoder weights drawn as an 8x8
    image (the sparse ones learn localised strokes)."""
    ds = load_ae_data("digits")
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
        model = fit_autoencoder(run, f"sparse-{key}", model, task, ds, cfg.num_epochs, cfg.lr)
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
    latent_dim: int = param(8, ge=1)  # code size k of both autoencoders
    num_epochs: int = param(100, ge=1)  # per autoencoder
    lr: float = param(1e-3, gt=0)  # Adam, cosine schedule


@experiment(
    "conv-ae",
    unit=UNIT,
    title="A convolutional autoencoder against a dense one of the same code size",
    topics=("convolutional autoencoder", "autoencoder"),
    config=ConvAEConfig,
    quick={"num_epochs": 3, "lr": 3e-3},
    headline=("dense_test_mse", "conv_test_mse"),
)
def conv_ae(cfg: ConvAEConfig, run: Run) -> dict[str, float]:
    """Strided convolutions down to a k-number code and transposed convolutions back up
    (Masci et al., 2011) against the 64-256-128-k dense autoencoder: test MSE, parameters, and
    reconstructions side by side."""
    ds = load_ae_data("digits")
    X_test = ds.test[0]
    rows, metrics = [X_test[:10]], {}
    for key, name in (("conv", "conv_autoencoder_digits"), ("dense", "autoencoder_digits")):
        model = run.model(f"{key}-ae", name, latent_dim=cfg.latent_dim)
        model = fit_autoencoder(
            run, f"{key}-ae", model, Reconstruction(), ds, cfg.num_epochs, cfg.lr
        )
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
