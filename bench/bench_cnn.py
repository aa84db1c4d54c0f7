"""CNNs on the CPU (issue 4): the MNIST-1D target and the Keras CIFAR-10 CNN's epoch.

1. `mnist1d-cnn` (default config) over 3 seeds: test accuracy per seed and mean ± std, the CNN's
   training time (wall and process CPU) per seed; target >= 99.4% mean with <= 30 s of training
   (wall clock) each on 2 cores.
2. One epoch of `keras_cifar_cnn` on 10,000 synthetic 3x32x32 images (batch 32, Adam) through
   the Trainer and through a bare PyTorch loop (contiguous and channels-last), its FLOPs
   counted by torch's FlopCounterMode (forward + backward), and the achieved GFLOP/s against
   the machine's measured fp32 matmul throughput (2048 x 2048 products).

    python -m bench cnn      # writes bench/results/cnn.json; BENCH_THREADS=1 for one thread
"""

import json
import os
import platform
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bench import save_results
from dllab.engine import Trainer
from dllab.experiments import run_experiment
from dllab.models import create_model

SEEDS = (0, 1, 2)
TARGET_ACCURACY, TARGET_SECONDS = 0.994, 30.0
N_IMAGES, BATCH = 10_000, 32


def mnist1d_seeds() -> dict:
    """The default `mnist1d-cnn` run once per seed: the CNN's test accuracy (with its test-time
    shifts, and from one view), its training wall and CPU time, and the target verdict."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up, untimed: oneDNN builds its kernels on first use (about 5 s here)
        run_experiment("mnist1d-cnn", quick=True, out=f"{tmp}/warm-up", quiet=True)
        for seed in SEEDS:
            folder = run_experiment("mnist1d-cnn", seed=seed, out=f"{tmp}/s{seed}", quiet=True)
            m = json.loads((folder / "metrics.json").read_text())
            rows.append({"seed": seed, **m})
            print(
                f"  seed {seed}: test accuracy {m['test_accuracy']:.4f}"
                f" (one view {m['single_view_test_accuracy']:.4f}, MLP"
                f" {m['mlp_test_accuracy']:.4f}); CNN training {m['train_time_s']:.1f} s wall,"
                f" {m['train_cpu_s']:.1f} s CPU",
                flush=True,
            )
    accs = [r["test_accuracy"] for r in rows]
    walls = [r["train_time_s"] for r in rows]
    cpus = [r["train_cpu_s"] for r in rows]
    summary = {
        "test_accuracy_mean": statistics.mean(accs),
        "test_accuracy_std": statistics.stdev(accs),
        "single_view_test_accuracy_mean": statistics.mean(
            r["single_view_test_accuracy"] for r in rows
        ),
        "train_time_s_mean": statistics.mean(walls),
        "train_time_s_max": max(walls),
        "train_cpu_s_mean": statistics.mean(cpus),
        "target": f">= {TARGET_ACCURACY} mean test accuracy, <= {TARGET_SECONDS} s training each",
        "met": statistics.mean(accs) >= TARGET_ACCURACY and max(walls) <= TARGET_SECONDS,
    }
    print(
        f"  mean {summary['test_accuracy_mean']:.4f} ± {summary['test_accuracy_std']:.4f}"
        f" (one view {summary['single_view_test_accuracy_mean']:.4f}); training"
        f" {summary['train_time_s_mean']:.1f} s wall (max {summary['train_time_s_max']:.1f}),"
        f" {summary['train_cpu_s_mean']:.1f} s CPU per seed"
    )
    verdict = "MET" if summary["met"] else "NOT met"
    print(f"  target {summary['target']}: {verdict} (wall time counts; measure on idle cores)")
    return {"seeds": rows, **summary}


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - started) / 1e9


def epoch_flops(X: torch.Tensor, y: torch.Tensor) -> float:
    """Forward + backward FLOPs of one batch, times the number of batches."""
    model = create_model("keras_cifar_cnn")
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(X[:BATCH]), y[:BATCH]).backward()
    return counter.get_total_flops() * (len(X) / BATCH)


def bare_epoch(X: torch.Tensor, y: torch.Tensor, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = create_model("keras_cifar_cnn")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for i in range(0, len(X), BATCH):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(X[i : i + BATCH]), y[i : i + BATCH]).backward()
        optimizer.step()
    return time.perf_counter() - started


def trainer_epoch(X: torch.Tensor, y: torch.Tensor, channels_last: bool) -> float:
    torch.manual_seed(0)
    trainer = Trainer(
        create_model("keras_cifar_cnn"), "adam", lr=1e-3, device="cpu", quiet=True,
        channels_last=channels_last,
    )  # fmt: skip
    trainer.fit((X, y), num_epochs=1, batch_size=BATCH)
    return trainer.history.epochs[-1]["time"]


def keras_cifar_epoch() -> dict:
    g = torch.Generator().manual_seed(0)
    X = torch.rand(N_IMAGES, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (N_IMAGES,), generator=g)
    flops = epoch_flops(X, y)
    peak = matmul_gflops()
    print(f"  fp32 matmul throughput: {peak:.1f} GFLOP/s; one epoch = {flops / 1e9:.1f} GFLOP")
    result = {"epoch_gflop": flops / 1e9, "matmul_gflops": peak, "runs": {}}
    for name, fn in (("bare PyTorch", bare_epoch), ("dllab Trainer", trainer_epoch)):
        for channels_last in (False, True):
            label = f"{name}{', channels-last' if channels_last else ''}"
            seconds = fn(X, y, channels_last)
            rate = flops / seconds / 1e9
            result["runs"][label] = {"seconds": seconds, "gflops": rate, "of_peak": rate / peak}
            print(f"  {label:32s} {seconds:6.2f} s  {rate:6.1f} GFLOP/s  {rate / peak:5.1%}")
    return result


def main() -> None:
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    machine = platform.processor() or platform.machine()
    print(f"threads {threads}, {machine}, torch {torch.__version__}")
    print("1. mnist1d-cnn (default config), 3 seeds")
    mnist1d = mnist1d_seeds()
    print(f"2. keras_cifar_cnn, one epoch of {N_IMAGES} images, batch {BATCH}, Adam")
    cifar = keras_cifar_epoch()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} (other processes share these cores)")
    results = {"threads": threads, "load_average": load, "mnist1d_cnn": mnist1d}
    save_results("cnn", {**results, "keras_cifar_cnn": cifar})


if __name__ == "__main__":
    main()
