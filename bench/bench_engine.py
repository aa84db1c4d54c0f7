"""Engine overhead and hardware efficiency: `Trainer.fit` against a hand-written PyTorch loop.

Both sides train copies of the same initial model with Adam on the same data in the same batch
order (the Trainer's seeded permutation, replayed by the plain loop), so their losses agree to
the last bit and only the engine differs: logging, callbacks, the divergence guard. Cases: the
notes' Keras CIFAR CNN on synthetic 32x32x3 images, the digits MLP, an LSTM on the adding
problem. Each round trains one epoch with each side in turn (alternating, so machine load hits
both alike); the median over rounds is reported, wall and CPU time. Then:

- threads: the Trainer's epoch time with 1 and 2 threads for each case;
- hardware efficiency: FLOP/s of the CNN's training step (FLOPs counted by torch's
  FlopCounterMode) against the fp32 matmul throughput measured on the same threads.

Writes bench/results/engine.json.
"""

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from dllab import data
from dllab.engine import Trainer, seed_everything
from dllab.models import create_model

ROUNDS = 9
SEED = 0
OUT = Path(__file__).parent / "results" / "engine.json"


def cases() -> dict:
    """name -> (model builder, (X, y), loss, batch_size); each about 0.1-0.5 s an epoch."""
    g = torch.Generator().manual_seed(0)
    images = torch.randn(256, 3, 32, 32, generator=g)
    digits = data.load("digits").train
    X_add, y_add = data.load("adding", n=1024, n_test=1, T=50).train
    return {
        "keras_cifar_cnn": (
            lambda: create_model("keras_cifar_cnn"),
            (images, torch.randint(0, 10, (256,), generator=g)),
            "cross_entropy",
            32,
        ),
        "digits_mlp": (lambda: create_model("digits_mlp"), digits, "cross_entropy", 32),
        "lstm_adding": (lambda: create_model("lstm"), (X_add, y_add), "mse", 64),
    }


LOSSES = {"cross_entropy": F.cross_entropy, "mse": lambda y_hat, y: F.mse_loss(y_hat, y)}


def plain_epoch(model, opt, X, y, loss_fn, batch_size: int, generator) -> float:
    """The loop one writes by hand: shuffle, slice, forward, loss, backward, step."""
    model.train()
    perm = torch.randperm(len(X), generator=generator)
    X, y = X[perm], y[perm]
    total = torch.zeros(())
    for i in range(0, len(X), batch_size):
        loss = loss_fn(model(X[i : i + batch_size]), y[i : i + batch_size])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach() * len(X[i : i + batch_size])
    return (total / len(X)).item()


def compare(build, train_data, loss: str, batch_size: int) -> dict:
    """Median seconds per epoch of the Trainer and of the plain loop, and their loss gap."""
    seed_everything(SEED)
    model = build()
    twin = build()
    twin.load_state_dict(model.state_dict())
    X, y = (torch.as_tensor(t) for t in train_data)
    trainer = Trainer(model, "adam", loss, metrics=(), lr=1e-3, device="cpu", seed=SEED, quiet=True)
    opt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    times = {"trainer": [], "plain": []}
    gaps = []

    def run_trainer():
        trainer.fit((X, y), num_epochs=trainer.epoch + 1, batch_size=batch_size)
        return trainer.history.epochs[-1]["loss"]

    def run_plain():
        return plain_epoch(twin, opt, X, y, LOSSES[loss], batch_size, generator)

    sides = {"trainer": run_trainer, "plain": run_plain}
    for round_ in range(ROUNDS + 1):  # round 0 warms up and is not counted
        order = list(sides) if round_ % 2 else list(reversed(sides))  # who goes first alternates
        losses = {}
        for side in order:
            wall, cpu = time.perf_counter(), time.process_time()
            losses[side] = sides[side]()
            if round_ > 0:
                times[side].append((time.perf_counter() - wall, time.process_time() - cpu))
        gaps.append(abs(losses["trainer"] - losses["plain"]))
    row = {}
    for side, samples in times.items():
        row[f"{side}_s"] = statistics.median(s[0] for s in samples)
        row[f"{side}_cpu_s"] = statistics.median(s[1] for s in samples)
    row["ratio"] = row["trainer_s"] / row["plain_s"]
    row["max_loss_gap"] = max(gaps)
    return row


def trainer_epoch_seconds(build, train_data, loss: str, batch_size: int) -> float:
    seed_everything(SEED)
    trainer = Trainer(build(), "adam", loss, lr=1e-3, device="cpu", seed=SEED, quiet=True)
    trainer.fit(train_data, num_epochs=1, batch_size=batch_size)  # warm-up
    samples = []
    for epoch in range(2, 2 + ROUNDS // 2 + 1):
        start = time.perf_counter()
        trainer.fit(train_data, num_epochs=epoch, batch_size=batch_size)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def matmul_gflops(n: int = 1024, repeats: int = 10) -> float:
    """fp32 GFLOP/s of an n x n matmul (2n³ flops), the best of `repeats`."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_seconds(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cnn_step_gflops(
    channels_last: bool, batch_size: int = 32, repeats: int = 10
) -> tuple[float, float]:
    """(GFLOP per step, achieved GFLOP/s) of one training step of the Keras CIFAR CNN."""
    seed_everything(SEED)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model("keras_cifar_cnn").to(memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (batch_size,))

    def step():
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    best = min(_seconds(step) for _ in range(repeats))
    return flops / 1e9, flops / best / 1e9


def main() -> None:
    results = {"overhead": {}, "threads": {}, "efficiency": {}}
    torch.set_num_threads(1)
    header = f"{'case':16s} {'trainer s':>10s} {'plain s':>9s} {'ratio':>7s} {'cpu ratio':>10s}"
    print("engine overhead, 1 thread, median seconds per epoch")
    print(header)
    print("-" * len(header))
    for name, (build, train_data, loss, batch_size) in cases().items():
        row = compare(build, train_data, loss, batch_size)
        results["overhead"][name] = row
        cpu_ratio = row["trainer_cpu_s"] / row["plain_cpu_s"]
        print(
            f"{name:16s} {row['trainer_s']:10.4f} {row['plain_s']:9.4f} {row['ratio']:6.3f}x"
            f" {cpu_ratio:9.3f}x",
            flush=True,
        )
    print("\nthreads: Trainer seconds per epoch")
    for name, (build, train_data, loss, batch_size) in cases().items():
        row = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            row[f"{threads}_thread_s"] = trainer_epoch_seconds(build, train_data, loss, batch_size)
        row["speedup_2_over_1"] = row["1_thread_s"] / row["2_thread_s"]
        results["threads"][name] = row
        print(
            f"{name:16s} 1 thread {row['1_thread_s']:.4f}  2 threads {row['2_thread_s']:.4f}"
            f"  ({row['speedup_2_over_1']:.2f}x)",
            flush=True,
        )
    print("\nhardware efficiency: Keras CIFAR CNN training step, batch 32")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        peak = matmul_gflops()
        for channels_last in (False, True):
            gflop, achieved = cnn_step_gflops(channels_last)
            row = {
                "matmul_gflops": peak,
                "step_gflop": gflop,
                "step_gflops": achieved,
                "fraction": achieved / peak,
            }
            layout = "channels_last" if channels_last else "NCHW"
            results["efficiency"][f"{threads}_thread_{layout}"] = row
            print(
                f"{threads} thread(s), {layout:13s}: matmul {peak:6.1f} GFLOP/s; step {gflop:.3f}"
                f" GFLOP at {achieved:6.1f} GFLOP/s = {row['fraction']:.0%} of matmul",
                flush=True,
            )
    conditions = {
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.machine(),
        "rounds": ROUNDS,
        "statistic": "median seconds per epoch over alternating rounds after one warm-up",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"conditions": conditions, "results": results}, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
