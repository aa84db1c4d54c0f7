"""100 XOR networks: one vectorised `train_seeds` pass against 100 sequential Trainer runs.

Both sides train the notes' 2-2-1 tanh MLP on the XOR table with full-batch Adam (lr 0.1) and
the sigmoid cross-entropy, from the same 100 seeds, on one thread; the vectorised pass is timed
after a warm-up call (the first call imports torch.func). Both report the fraction of networks
that solved XOR, which must agree. Writes bench/results/multiseed.json.
"""

import os
import platform
import time

import torch

from bench import save_results
from dllab import data
from dllab.engine import Trainer, seed_everything
from dllab.engine.multiseed import train_seeds
from dllab.models import create_model

NUM_NETS = 100
NUM_EPOCHS = 300


def xor_mlp():
    return create_model("xor_mlp", num_hiddens=2, activation="tanh")


def vectorised(train_data) -> float:
    result = train_seeds(
        xor_mlp, range(NUM_NETS), train_data, loss="bce", lr=0.1, num_epochs=NUM_EPOCHS
    )
    return result.solved_fraction


def sequential(train_data) -> float:
    solved = 0
    for seed in range(NUM_NETS):
        seed_everything(seed)
        trainer = Trainer(xor_mlp(), "adam", "bce", lr=0.1, seed=seed, quiet=True, device="cpu")
        history = trainer.fit(train_data, num_epochs=NUM_EPOCHS, batch_size=None)
        solved += max(history.history["accuracy"]) == 1.0
    return solved / NUM_NETS


def timed(fn, *args) -> tuple[float, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    torch.set_num_threads(1)
    train_data = data.load("xor").train
    vectorised(train_data)  # warm-up: imports torch.func and its dependencies
    rows = {}
    for name, fn in (("vectorised", vectorised), ("sequential", sequential)):
        solved, wall, cpu = timed(fn, train_data)
        rows[name] = {"solved_fraction": solved, "wall_s": wall, "cpu_s": cpu}
    speedup = rows["sequential"]["wall_s"] / rows["vectorised"]["wall_s"]
    header = f"{'way':12s} {'wall s':>8s} {'cpu s':>8s} {'solved':>7s}"
    print(f"{NUM_NETS} XOR nets x {NUM_EPOCHS} full-batch Adam epochs, 1 thread", end="")
    print(f" (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        print(f"{name:12s} {row['wall_s']:8.2f} {row['cpu_s']:8.2f} {row['solved_fraction']:7.2f}")
    print(f"vectorised is {speedup:.1f}x faster (target >= 10x)")
    conditions = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.machine(),
        "num_nets": NUM_NETS,
        "num_epochs": NUM_EPOCHS,
    }
    results = {**rows, "speedup": speedup}
    save_results("multiseed", {"conditions": conditions, "results": results})


if __name__ == "__main__":
    main()
