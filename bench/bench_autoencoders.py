"""Autoencoder vs PCA on the digits test split (issue 7's target: the AE's MSE at most 0.6x PCA's
at k = 2, 8, 16 and never worse at any k <= 32), and the VAE's test ELBO with its parts.

Runs the full `ae-compression` and `vae` experiments on one thread and prints the ratios
measured side by side in that one run; writes bench/results/autoencoders.json.
"""

import json
import tempfile
import time
from pathlib import Path

import torch

from bench import save_results
from dllab.experiments import run_experiment

TARGET_KS, TARGET_RATIO = (2, 8, 16), 0.6


def run(name: str, root: Path) -> tuple[dict, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    folder = run_experiment(name, out=str(root / name), quiet=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        ae, ae_wall, ae_cpu = run("ae-compression", Path(tmp))
        vae, vae_wall, vae_cpu = run("vae", Path(tmp))
    ks = sorted(int(key.removeprefix("pca_mse_k")) for key in ae if key.startswith("pca_mse_k"))
    print(f"{'k':>3} {'PCA MSE':>9} {'AE MSE':>9} {'AE/PCA':>7} {'plain/PCA':>9} {'conv/PCA':>8}")
    rows = {}
    for k in ks:
        pca = ae[f"pca_mse_k{k}"]
        row = {
            "pca_mse": pca,
            "ae_mse": ae[f"ae_mse_k{k}"],
            "ae_over_pca": ae[f"ae_mse_k{k}"] / pca,
            "plain_over_pca": ae.get(f"plain_ae_mse_k{k}", float("nan")) / pca,
            "conv_over_pca": ae[f"conv_ae_mse_k{k}"] / pca,
            "noise_level": ae[f"ae_noise_k{k}"],
        }
        rows[k] = row
        print(
            f"{k:>3} {pca:9.5f} {row['ae_mse']:9.5f} {row['ae_over_pca']:7.3f} "
            f"{row['plain_over_pca']:9.3f} {row['conv_over_pca']:8.3f}"
        )
    met = all(rows[k]["ae_over_pca"] <= TARGET_RATIO for k in TARGET_KS if k in rows)
    met = met and all(r["ae_over_pca"] <= 1 for r in rows.values())
    print(
        f"target (<= {TARGET_RATIO}x at k = {TARGET_KS}, <= 1x everywhere): "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        f"VAE test ELBO {vae['test_elbo']:.2f} nats = -(recon {vae['test_recon']:.2f} "
        f"+ KL {vae['test_kl']:.2f})"
    )
    print(
        f"ae-compression: {ae_wall:.0f} s wall, {ae_cpu:.0f} s CPU; "
        f"vae: {vae_wall:.0f} s wall, {vae_cpu:.0f} s CPU"
    )
    results = {
        "ae_vs_pca": rows,
        "target_met": met,
        "vae": {k: vae[k] for k in ("test_elbo", "test_recon", "test_kl")},
        "seconds": {"ae_wall": ae_wall, "ae_cpu": ae_cpu, "vae_wall": vae_wall, "vae_cpu": vae_cpu},
    }
    save_results("autoencoders", results)


if __name__ == "__main__":
    main()
