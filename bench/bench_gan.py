"""GANs (issue 6): mode coverage on the 2-D mixtures, and the conditional GAN on digits.

1. `gan-2d` (default config, `compare=false`) on ring8 and grid25, for the vanilla GAN (the
   minimax loss, the same networks without packing) and the best method (the experiment's
   default `method`), plus any other methods asked for, over 5 seeds: modes captured and the
   high-quality fraction (mean ± std), and the CPU and wall seconds of each whole run, beside
   the published tables (same data, metric and 2,500 samples; their networks train for 400
   epochs of 100,000 samples on a GPU). Target: the best method captures 8/8 and 25/25 with at
   least 90% high-quality samples on average, each run within 8 minutes of CPU.
2. `cgan-digits` (default config): the classifier's accuracy on generated digits of the
   requested class (target >= 90%) and the classifier FID beside that of real digits.

Every run uses one torch thread; BENCH_GAN_JOBS runs (default 1) train side by side in
separate processes, which changes wall time, not CPU time. BENCH_GAN_SEEDS (default 5) seeds
from BENCH_GAN_FIRST_SEED (default 0) and BENCH_GAN_METHODS (comma-separated, default
"minimax,<best>") choose the runs; BENCH_GAN_CGAN=0 skips part 2. `python -m bench gan` writes
bench/results/gan.json, another first seed gan_from_seedS.json: every run as it finishes (seed
by seed, so a stopped bench keeps whole seeds), then the summary rows. Seeds never used for
tuning: 31-40 were when gan_from_seed31.json measured them; probes have looked at seeds up to
30, and a default tuned further would need fresh seeds, from 41.

`python -m bench gan --setup pacgan [--seeds 5] [--epochs 5]` instead trains PacGAN's own
setup (`gan-2d --set setup=pacgan`: its networks, optimiser and data) for `--epochs` of its 400
epochs: the GAN and PacGAN2-4 on both mixtures, printed as mean ± standard error over the seeds
beside its Table 1 (Lin et al., 2018; 10 trials there), into bench/results/gan_pacgan_Nep.json
for N = `--epochs`: each budget has its own file. The runs already in that file are kept, not
run again: a bench stopped part-way, or asked for more `--seeds`, goes on where it stopped.
`--setup veegan` does the same for the networks VEEGAN's GAN baseline trains (the unrolled
GAN's; `--epochs` of its 128): the GAN beside VEEGAN's Table 1 (Srivastava et al., 2017), and
PacGAN2 with the same networks as the cure, into bench/results/gan_veegan_Nep.json.
"""

import argparse
import json
import multiprocessing
import os
import tempfile
import time

import numpy as np
import torch

from bench import load_saved, mean_se, paper_setup_result_name, save_results
from dllab.experiments import run_experiment
from dllab.experiments.unit4.mixtures import SETUPS, Gan2dConfig

CPU_BUDGET_S = 480.0  # per run of the best method: minutes on a laptop core
BEST = Gan2dConfig().method

# (data, method) -> published (modes captured, high-quality fraction, source), means over runs:
# VEEGAN (Srivastava et al., 2017) Table 1 and PacGAN (Lin et al., 2018) Table 1 (10 trials).
# Ours packs 4 samples, so PacGAN4 is the row beside it (PacGAN2: ring 7.9 / 95.6%, grid
# 23.8 / 91.3%).
PUBLISHED = {
    ("ring8", "minimax"): (1.0, 0.993, "VEEGAN Table 1, GAN"),
    ("grid25", "minimax"): (3.3, 0.005, "VEEGAN Table 1, GAN"),
    ("ring8", "non_saturating"): (6.3, 0.982, "PacGAN Table 1, GAN"),
    ("grid25", "non_saturating"): (17.3, 0.948, "PacGAN Table 1, GAN"),
    ("ring8", "pacgan"): (7.8, 0.959, "PacGAN Table 1, PacGAN4"),
    ("grid25", "pacgan"): (24.8, 0.936, "PacGAN Table 1, PacGAN4"),
}


# PacGAN Table 1: (data, pack size m; 1 is the GAN) -> (modes, s.e., high-quality %, s.e.)
PACGAN_TABLE = {
    ("ring8", 1): (6.3, 0.5, 98.2, 0.2),
    ("ring8", 2): (7.9, 0.1, 95.6, 2.0),
    ("ring8", 3): (7.8, 0.1, 97.7, 0.3),
    ("ring8", 4): (7.8, 0.1, 95.9, 1.4),
    ("grid25", 1): (17.3, 0.8, 94.8, 0.7),
    ("grid25", 2): (23.8, 0.7, 91.3, 0.8),
    ("grid25", 3): (24.6, 0.4, 94.2, 0.4),
    ("grid25", 4): (24.8, 0.2, 93.6, 0.6),
}


def timed_run(job: tuple[str, tuple[str, ...], int]) -> tuple[dict, float, float]:
    """Run experiment `name` with `overrides` and `seed` in a temporary folder, on one thread:
    (metrics, CPU seconds, wall seconds)."""
    name, overrides, seed = job
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = time.process_time(), time.perf_counter()
        folder = run_experiment(name, overrides=overrides, seed=seed, out=tmp, quiet=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return json.loads((folder / "metrics.json").read_text()), cpu, wall


def summarise(dataset: str, method: str, runs: list) -> dict:
    """One table row (printed) from the (metrics, CPU s, wall s) of a cell's seeds."""
    modes = np.array([m["modes_captured"] for m, _, _ in runs], dtype=float)
    quality = np.array([m["high_quality_fraction"] for m, _, _ in runs])
    cpu = np.array([c for _, c, _ in runs])
    wall = np.array([w for _, _, w in runs])
    k = runs[0][0]["num_modes"]
    row = {
        "data": dataset,
        "method": method,
        "num_modes": k,
        "seeds": len(runs),
        "modes_captured": modes.tolist(),
        "high_quality_fraction": quality.tolist(),
        "cpu_s": cpu.tolist(),
        "wall_s": wall.tolist(),
    }
    published = PUBLISHED.get((dataset, method))
    reference = ""
    if published is not None:
        keys = ("modes_captured", "high_quality_fraction", "source")
        row["published"] = dict(zip(keys, published))
        reference = f"{published[0]:.1f}, {published[1]:.1%} ({published[2]})"
    if method == BEST:
        row["target_met"] = bool(
            modes.mean() == k and quality.mean() >= 0.9 and cpu.max() <= CPU_BUDGET_S
        )
        reference += "  target " + ("met" if row["target_met"] else "NOT met")
    print(
        f"{dataset:7} {method:15} {modes.mean():5.1f} ± {modes.std():3.1f}/{k:<2}"
        f" {quality.mean():7.1%} ± {quality.std():4.1%}"
        f" {cpu.mean():6.1f} ± {cpu.std():3.1f} {wall.mean():7.1f}  {reference}",
        flush=True,
    )
    return row


def cgan_row(run: dict) -> dict:
    """The conditional GAN's scores, printed beside the 90% target."""
    metrics, cpu, wall = run["metrics"], run["cpu_s"], run["wall_s"]
    accuracy = metrics["generated_class_accuracy"]
    print(
        f"cgan-digits: accuracy on generated digits of the requested class {accuracy:.1%} "
        f"(target >= 90%: {'met' if accuracy >= 0.9 else 'NOT met'}; classifier on real test "
        f"digits {metrics['classifier_test_accuracy']:.1%}); classifier FID generated "
        f"{metrics['classifier_fid']:.2f} vs real train digits {metrics['real_classifier_fid']:.2f}"
        f"; {cpu:.0f} CPU s, {wall:.0f} wall s"
    )
    return {**metrics, "cpu_s": cpu, "wall_s": wall, "target_met": accuracy >= 0.9}


# VEEGAN Table 1 (Srivastava et al., 2017): its GAN baseline, modes and high-quality %; it
# gives no standard errors (and no PacGAN row: PacGAN2 is our cure beside it).
VEEGAN_TABLE = {("ring8", 1): (1.0, None, 99.3, None), ("grid25", 1): (3.3, None, 0.5, None)}

# setup -> (its table, the pack sizes to train, the table's name)
PAPER_SETUPS = {
    "pacgan": (PACGAN_TABLE, (1, 2, 3, 4), "PacGAN Table 1, 10 trials"),
    "veegan": (VEEGAN_TABLE, (1, 2), "VEEGAN Table 1"),
}


def _published(paper: tuple | None) -> str:
    if paper is None:
        return "-"
    modes, modes_se, quality, quality_se = paper
    if modes_se is None:
        return f"{modes:.1f}, {quality:.1f}%"
    return f"{modes:.1f} ± {modes_se:.1f}, {quality:.1f} ± {quality_se:.1f}%"


def paper_setup(setup: str, seeds: int, epochs: int, workers: int) -> None:
    """A paper's table rows under its own setup (`gan-2d --set setup=...`), ours beside its.

    Each run is saved as it finishes, and runs of the same budget already in the result file are
    kept and not run again, so a bench stopped part-way, or asked for more seeds, goes on where
    it stopped (losing only the runs in progress)."""
    table, packs, source = PAPER_SETUPS[setup]
    cells = [(d, m) for d in ("ring8", "grid25") for m in packs]
    jobs = [  # seed-major, as above
        ("gan-2d", _setup_overrides(setup, d, m, epochs), s) for s in range(seeds) for d, m in cells
    ]
    name = paper_setup_result_name(setup, epochs)
    saved = load_saved(name)
    runs = saved["runs"] if saved is not None else []
    done = {(tuple(r["overrides"]), r["seed"]) for r in runs}
    if runs:
        print(f"bench/results/{name}.json holds {len(runs)} runs of {epochs} epochs: kept")
    jobs = [job for job in jobs if job[1:] not in done]
    results = {"setup": setup, "epochs": epochs, "paper_epochs": _paper_epochs(setup), "runs": runs}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for (_, overrides, seed), (metrics, cpu, wall) in pool.imap_unordered(_job_run, jobs):
            run = {"overrides": list(overrides), "seed": seed, "metrics": metrics}
            results["runs"].append({**run, "cpu_s": cpu, "wall_s": wall})
            print(f"{' '.join(overrides)} seed={seed}: {cpu:.0f} CPU s", flush=True)
            save_results(name, results, quiet=True)
    print(
        f"{setup}'s setup, {epochs} of its {results['paper_epochs']} epochs; mean ± standard "
        f"error over the seeds (worst seed)"
    )
    print(f"{'data':7} {'method':8} {'modes':>19} {'high quality':>16}   {source}")
    results["rows"] = []
    for dataset, m in cells:
        key = list(_setup_overrides(setup, dataset, m, epochs))
        runs = [r["metrics"] for r in results["runs"] if r["overrides"] == key]
        modes = np.array([r["modes_captured"] for r in runs], dtype=float)
        quality = 100 * np.array([r["high_quality_fraction"] for r in runs])
        (modes_mean, modes_se), (quality_mean, quality_se) = mean_se(modes), mean_se(quality)
        paper = table.get((dataset, m))
        method = "GAN" if m == 1 else f"PacGAN{m}"
        print(
            f"{dataset:7} {method:8} {modes_mean:5.1f} ± {modes_se:3.1f} ({modes.min():2.0f})"
            f"   {quality_mean:5.1f} ± {quality_se:3.1f}%   {_published(paper)}"
        )
        row = {"data": dataset, "method": method, "modes": modes.tolist(), "hq": quality.tolist()}
        results["rows"].append({**row, "published": paper, "source": source})
    save_results(name, results)


def _job_run(job: tuple[str, tuple[str, ...], int]) -> tuple[tuple, tuple[dict, float, float]]:
    """`timed_run(job)` beside its job, so that runs are saved in the order they finish."""
    return job, timed_run(job)


def _paper_epochs(setup: str) -> int:
    """The paper's budget in epochs of gan-2d's data.n samples."""
    return SETUPS[setup].paper_samples // Gan2dConfig().data.n


def _setup_overrides(setup: str, dataset: str, pack: int, epochs: int) -> tuple[str, ...]:
    method = ("method=non_saturating",) if pack == 1 else ("method=pacgan", f"pack={pack}")
    data = (f"data.name={dataset}", f"num_epochs={epochs}")
    return (f"setup={setup}", "compare=false", *data, *method)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench gan")
    parser.add_argument("--setup", choices=("dllab", *PAPER_SETUPS), default="dllab")
    parser.add_argument("--seeds", type=int, default=5, help="(a paper's --setup)")
    parser.add_argument(
        "--epochs", type=int, default=5, help="of the paper's (PacGAN: 400, VEEGAN: 128)"
    )
    args = parser.parse_args()
    if args.setup in PAPER_SETUPS:
        workers = int(os.environ.get("BENCH_GAN_JOBS", "1"))
        return paper_setup(args.setup, args.seeds, args.epochs, workers)
    seeds = int(os.environ.get("BENCH_GAN_SEEDS", "5"))
    first = int(os.environ.get("BENCH_GAN_FIRST_SEED", "0"))
    name = f"gan_from_seed{first}" if first else "gan"
    methods = os.environ.get("BENCH_GAN_METHODS", f"minimax,{BEST}").split(",")
    workers = int(os.environ.get("BENCH_GAN_JOBS", "1"))
    torch.set_num_threads(1)
    cells = [(d, m) for d in ("ring8", "grid25") for m in methods]
    jobs = [  # seed-major: a bench stopped early still holds whole seeds of every cell
        ("gan-2d", (f"data.name={d}", f"method={m}", "compare=false"), s)
        for s in range(first, first + seeds)
        for d, m in cells
    ]
    if os.environ.get("BENCH_GAN_CGAN", "1") != "0":
        jobs.append(("cgan-digits", (), 0))
    results = {
        "threads_per_run": 1,
        "parallel_runs": workers,
        "first_seed": first,
        "load_average_at_start": os.getloadavg()[0],
        "runs": [],
    }
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for job, (metrics, cpu, wall) in zip(jobs, pool.imap(timed_run, jobs)):
            experiment, overrides, seed = job
            run = {"experiment": experiment, "overrides": list(overrides), "seed": seed}
            results["runs"].append({**run, "metrics": metrics, "cpu_s": cpu, "wall_s": wall})
            print(f"{experiment} {' '.join(overrides)} seed={seed}: {cpu:.0f} CPU s", flush=True)
            save_results(name, results, quiet=True)  # partial results survive a stop
    print(
        f"{'data':7} {'method':15} {'modes':>13} {'high quality':>15} {'CPU s':>12} {'wall s':>7}"
        "  published (modes, HQ)"
    )
    results["mixtures"] = []
    for dataset, method in cells:
        key = [f"data.name={dataset}", f"method={method}"]
        runs = [
            (r["metrics"], r["cpu_s"], r["wall_s"])
            for r in results["runs"]
            if r["overrides"][:2] == key
        ]
        results["mixtures"].append(summarise(dataset, method, runs))
    cgan = [r for r in results["runs"] if r["experiment"] == "cgan-digits"]
    if cgan:
        results["cgan_digits"] = cgan_row(cgan[0])
    save_results(name, results)


if __name__ == "__main__":
    main()
