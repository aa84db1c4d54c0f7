"""One epoch of the digits MLP: the NumPy engine `dllab.scratch` against the PyTorch engine.

The same 64-128-64-10 ReLU network with dropout 0.1 (the `digits-mlp` experiment's model),
built once in torch and copied to scratch with `from_torch`, trains on the 1257 digits with Adam
(lr 2e-3) and batches of 64 in both engines: `dllab.engine.Trainer` (the real engine, with its
divergence guard, history and per-step records) and `scratch.fit` (float64, hand-written
backward passes). A bare PyTorch loop (forward, loss, backward, step) shows what the Trainer's
bookkeeping costs. Each engine trains one epoch per round, in alternating rounds so machine load
hits all alike, on one thread (torch and NumPy's BLAS both); the median wall and CPU
(time.process_time) seconds per epoch are reported, and the ratio scratch / Trainer (target:
at most 2). Writes bench/results/scratch.json.
"""

import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from bench import save_results
from dllab import data, scratch
from dllab.engine import Trainer
from dllab.models import create_model

ROUNDS = 9  # alternating rounds; the median over them is reported
BATCH_SIZE = 64
LR = 2e-3
TARGET = 2.0  # scratch may be at most this many times slower than the Trainer


def engines(X: torch.Tensor, y: torch.Tensor) -> dict:
    """name -> a function training one more epoch of its own copy of the same model."""
    torch.manual_seed(0)
    model = create_model("digits_mlp", dropout=0.1)
    net = scratch.from_torch(model, rng=np.random.default_rng(0))
    bare = create_model("digits_mlp", dropout=0.1)
    bare.load_state_dict(model.state_dict())
    trainer = Trainer(model, optimizer="adam", lr=LR, quiet=True, device="cpu")
    adam = scratch.Adam(net, lr=LR)
    bare_adam = torch.optim.Adam(bare.parameters(), lr=LR)
    X_np, y_np = X.double().numpy(), y.numpy()
    rng = np.random.default_rng(0)
    generator = torch.Generator().manual_seed(0)

    def torch_trainer():
        trainer.fit((X, y), num_epochs=1, batch_size=BATCH_SIZE)

    def torch_bare_loop():
        bare.train()
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = F.cross_entropy(bare(X[batch]), y[batch])
            bare_adam.zero_grad(set_to_none=True)
            loss.backward()
            bare_adam.step()

    def scratch_fit():
        scratch.fit(net, scratch.softmax_cross_entropy, adam, X_np, y_np, 1, BATCH_SIZE, rng)

    return {
        "torch Trainer": torch_trainer,
        "torch bare loop": torch_bare_loop,
        "scratch (float64)": scratch_fit,
    }


def time_rounds(fns: dict) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per epoch of each engine, over alternating rounds."""
    for fn in fns.values():
        fn()  # warm-up epoch
    samples = {name: [] for name in fns}
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: tuple(statistics.median(s[i] for s in runs) for i in (0, 1))
        for name, runs in samples.items()
    }


def main() -> None:
    torch.set_num_threads(1)
    X, y = data.load("digits", flatten=True).train
    with threadpool_limits(1, user_api="blas"):
        times = time_rounds(engines(X, y))
    reference = times["torch Trainer"][0]
    header = f"{'engine':20s} {'ms/epoch':>9s} {'cpu ms':>8s} {'/ Trainer':>10s}"
    print(header)
    print("-" * len(header))
    rows = []
    for name, (wall, cpu) in times.items():
        ratio = wall / reference
        rows.append({"engine": name, "ms": wall * 1e3, "cpu_ms": cpu * 1e3, "ratio": ratio})
        print(f"{name:20s} {wall * 1e3:9.2f} {cpu * 1e3:8.2f} {ratio:9.2f}x", flush=True)
    ratio = times["scratch (float64)"][0] / reference
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"scratch / Trainer = {ratio:.2f}x: {verdict} the target of at most {TARGET:g}x")
    conditions = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": 1,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.machine(),
        "rounds": ROUNDS,
        "model": "digits_mlp (64-128-64-10, dropout 0.1)",
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam lr={LR}",
        "statistic": "median over alternating rounds, per epoch (1257 samples, 20 steps)",
    }
    result = {"conditions": conditions, "results": rows, "scratch_over_trainer": ratio}
    save_results("scratch", result)


if __name__ == "__main__":
    main()
