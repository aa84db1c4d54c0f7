"""GANs (issue 6): mode coverage on the 2-D mixtures, and the conditional GAN on digits.

1. `gan-2d` (default config) on ring8 and grid25, for each method (minimax, non-saturating,
   WGAN-GP, PacGAN) and 5 seeds: modes captured, high-quality fraction and CPU seconds of the
   whole run, mean ± std over seeds. Target: the best method captures 8/8 and 25/25 with at
   least 90% high-quality samples within 2 minutes of CPU training each; the table also shows
   the vanilla GAN's collapse.
2. `cgan-digits` (default config): the classifier's accuracy on generated digits of the
   requested class (target >= 90%) and the classifier FID beside that of real digits.

One torch thread. `python -m bench gan` writes bench/results/gan.json; the environment variables
BENCH_GAN_SEEDS (default 5) and BENCH_GAN_METHODS (comma-separated) shorten it.
"""

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dllab.experiments import run_experiment
from dllab.experiments.unit4 import GAN_2D_METHODS

RESULTS = Path(__file__).parent / "results" / "gan.json"


def timed_run(name: str, overrides: tuple[str, ...], seed: int) -> tuple[dict, float]:
    """Run experiment `name` in a temporary folder: (metrics, CPU seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.process_time()
        folder = run_experiment(name, overrides=overrides, seed=seed, out=tmp, quiet=True)
        cpu = time.process_time() - started
        return json.loads((folder / "metrics.json").read_text()), cpu


def mixture_table(seeds: int, methods: list[str]) -> list[dict]:
    rows = []
    print(f"{'data':8} {'method':15} {'modes':>12} {'high quality':>14} {'CPU s':>10}")
    for dataset in ("ring8", "grid25"):
        for method in methods:
            runs = [
                timed_run(
                    "gan-2d", (f"data.name={dataset}", f"method={method}", "compare=false"), s
                )
                for s in range(seeds)
            ]
            modes = np.array([m["modes_captured"] for m, _ in runs], dtype=float)
            quality = np.array([m["high_quality_fraction"] for m, _ in runs])
            cpu = np.array([c for _, c in runs])
            row = {
                "data": dataset,
                "method": method,
                "num_modes": runs[0][0]["num_modes"],
                "modes_captured": modes.tolist(),
                "high_quality_fraction": quality.tolist(),
                "cpu_s": cpu.tolist(),
            }
            rows.append(row)
            k = row["num_modes"]
            print(
                f"{dataset:8} {method:15} {modes.mean():5.1f} ± {modes.std():3.1f}/{k}"
                f" {quality.mean():8.1%} ± {quality.std():4.1%}"
                f" {cpu.mean():7.1f} ± {cpu.std():4.1f}",
                flush=True,
            )
    return rows


def cgan_row() -> dict:
    metrics, cpu = timed_run("cgan-digits", (), 0)
    print(
        f"cgan-digits: accuracy on generated digits of the requested class "
        f"{metrics['generated_class_accuracy']:.1%} (classifier on real test digits "
        f"{metrics['classifier_test_accuracy']:.1%}); classifier FID generated "
        f"{metrics['classifier_fid']:.2f} vs real train {metrics['real_classifier_fid']:.2f}; "
        f"{cpu:.0f} CPU s"
    )
    return {**metrics, "cpu_s": cpu}


def main() -> None:
    seeds = int(os.environ.get("BENCH_GAN_SEEDS", "5"))
    methods = os.environ.get("BENCH_GAN_METHODS", ",".join(GAN_2D_METHODS)).split(",")
    torch.set_num_threads(1)
    results = {
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "threads": 1,
        "mixtures": mixture_table(seeds, methods),
        "cgan_digits": cgan_row(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
