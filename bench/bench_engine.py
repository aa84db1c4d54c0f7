"""Engine overhead and hardware efficiency: `Trainer.fit` against a hand-written PyTorch loop.

Every figure is measured side by side in one run: the sides take turns (A, B, B, A, A, B...),
so that machine load hits them alike, and the median over the rounds is reported, wall and CPU
time, with the load average before and after. Threads: 1 unless a table says otherwise.

- overhead: the Trainer against the minimal loop one writes by hand (shuffle, slice, forward,
  loss, backward, step), on copies of the same model with the same optimizer, memory layout,
  data and batch order, so that their losses agree and only the engine differs (logging,
  callbacks, the divergence guard). Cases: the notes' Keras CIFAR CNN on 32x32x3 images, the
  digits MLP, an LSTM on the adding problem. Target: at most 1.05x.
- defaults: the Trainer's defaults (channels_last for CNNs on the CPU, fused Adam) against the
  textbook loop (NCHW, `torch.optim.Adam` as constructed by default).
- layout: channels_last against NCHW for a CNN of each unit (classifiers, an autoencoder, a
  GAN generator), the evidence for the Trainer's default.
- threads: the Trainer's epoch time with 1 and 2 threads.
- efficiency: achieved FLOP/s of the CNN's training step (forward + backward FLOPs counted by
  torch's FlopCounterMode; the optimizer's elementwise work is not counted) against the fp32
  matmul throughput of a 2048x2048 `torch.mm` timed in the same rounds on the same threads,
  for each speed idea (the last fp32 one, the fused ReLU -> BatchNorm -> MaxPool stages of
  dllab.engine.fusion, is the Trainer's path); where the step's time goes (convolution and
  matmul kernels against the memory-bound rest, by torch.profiler); then one full epoch of
  10,000 images through `Trainer.fit`, in fp32 (fuse="auto", the default, and fuse=False) and
  with bf16 autocast, timed as Keras times its epochs (bench.EpochTimer). Target: at least 50%
  of the matmul peak.

Writes bench/results/engine.json.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from bench import EpochTimer, save_results
from dllab import data
from dllab.engine import Trainer, make_optimizer, seed_everything
from dllab.engine.fusion import fuse_stages
from dllab.engine.prepare import has_image_convolutions
from dllab.engine.speed import flush_denormals, set_threads
from dllab.models import create_model
from dllab.models.registry import model_entry

ROOT = Path(__file__).parents[1]  # where `bench` imports from
ROUNDS = 15
CPU = torch.device("cpu")
SEED = 0
LOSSES = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}


def cases() -> dict:
    """name -> (model builder, (X, y), loss, batch_size); each about 0.02-0.2 s an epoch."""
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


def side_by_side(sides: dict, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Run each side's callable once per round, taking turns, after one warm-up round.

    Returns:
        side -> {"wall_s": median wall seconds, "cpu_s": median CPU seconds, "values": what the
        callable returned in each timed round}.
    """
    names = list(sides)
    samples = {name: [] for name in names}
    values = {name: [] for name in names}
    for round_ in range(rounds + 1):
        for name in names if round_ % 2 else names[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            value = sides[name]()
            if round_ > 0:
                samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
                values[name].append(value)
    return {
        name: {
            "wall_s": statistics.median(s[0] for s in samples[name]),
            "cpu_s": statistics.median(s[1] for s in samples[name]),
            "values": values[name],
        }
        for name in names
    }


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


def trainer_against_loop(build, train_data, loss: str, batch_size: int, textbook: bool) -> dict:
    """Seconds per epoch of the Trainer and of the plain loop on twin models, and their loss gap.

    textbook=False gives the loop the Trainer's optimizer (`make_optimizer`), memory layout and
    denormal flushing, which leaves only the engine's overhead; textbook=True gives it
    `torch.optim.Adam`'s defaults and the NCHW layout, as a tutorial would.
    """
    seed_everything(SEED)
    model = build()
    twin = build()
    twin.load_state_dict(model.state_dict())
    X, y = (torch.as_tensor(t) for t in train_data)
    trainer = Trainer(model, "adam", loss, metrics=(), lr=1e-3, device="cpu", seed=SEED, quiet=True)
    if textbook:
        opt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    else:
        opt = make_optimizer("adam", twin.parameters(), 1e-3, 0.0)
        twin = fuse_stages(twin, "auto", CPU, torch.float32)  # as the Trainer does
        if trainer.channels_last:
            twin = twin.to(memory_format=torch.channels_last)
            X = X.contiguous(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(SEED)

    def run_trainer():
        trainer.fit((X, y), num_epochs=1, batch_size=batch_size)
        return trainer.history.epochs[-1]["loss"]

    def run_plain():
        with nullcontext() if textbook else flush_denormals():  # as the Trainer trains
            return plain_epoch(twin, opt, X, y, LOSSES[loss], batch_size, generator)

    timed = side_by_side({"trainer": run_trainer, "plain": run_plain})
    row = {f"{side}_{k}": v[k] for side, v in timed.items() for k in ("wall_s", "cpu_s")}
    row["ratio"] = row["trainer_wall_s"] / row["plain_wall_s"]
    row["cpu_ratio"] = row["trainer_cpu_s"] / row["plain_cpu_s"]
    row["last_loss_gap"] = abs(timed["trainer"]["values"][-1] - timed["plain"]["values"][-1])
    return row


def print_ratio_table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    header = f"{'case':16s} {'trainer s':>10s} {'loop s':>9s} {'ratio':>7s} {'cpu ratio':>10s}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        print(
            f"{name:16s} {row['trainer_wall_s']:10.4f} {row['plain_wall_s']:9.4f}"
            f" {row['ratio']:6.3f}x {row['cpu_ratio']:9.3f}x",
            flush=True,
        )


def epoch_on(threads: int, trainer: Trainer, train_data, batch_size: int):
    """A callable training `trainer` one more epoch on `threads` threads."""

    def run() -> None:
        set_threads(threads)
        trainer.fit(train_data, num_epochs=1, batch_size=batch_size)

    return run


def threads_table(rounds: int = 5) -> dict:
    """The Trainer's seconds per epoch on 1 and 2 threads, alternating the thread count."""
    rows = {}
    print("\nthreads: Trainer seconds per epoch (median wall)")
    for name, (build, train_data, loss, batch_size) in cases().items():
        seed_everything(SEED)
        trainer = Trainer(build(), "adam", loss, lr=1e-3, device="cpu", seed=SEED, quiet=True)
        sides = {str(n): epoch_on(n, trainer, train_data, batch_size) for n in (1, 2)}
        timed = side_by_side(sides, rounds)
        set_threads(1)
        row = {f"{n}_thread_s": timed[n]["wall_s"] for n in ("1", "2")}
        row["speedup_2_over_1"] = row["1_thread_s"] / row["2_thread_s"]
        rows[name] = row
        print(
            f"{name:16s} 1 thread {row['1_thread_s']:.4f}  2 threads {row['2_thread_s']:.4f}"
            f"  (2 threads {row['speedup_2_over_1']:.2f}x as fast)",
            flush=True,
        )
    return rows


# One epoch of the Keras CNN on 1,024 images after a warm-up epoch, in a fresh process (OpenMP
# reads its wait policy once, when torch loads it), through the Keras bench's own timing.
WAIT_POLICY_SCRIPT = """
import json, sys
from bench.bench_keras import dllab_last_epoch
from dllab.engine.speed import set_threads
set_threads(int(sys.argv[1]))
print(json.dumps(dllab_last_epoch("cifar_cnn", 1024, 32, {})[0]))
"""


def wait_policy_table() -> dict:
    """Seconds per epoch (1,024 images) of the Keras CIFAR CNN on 1 and 2 threads, with OpenMP's
    waiting threads spinning (ACTIVE) or sleeping (PASSIVE), on idle cores and
    beside a busy process (a Python loop, as another program would be), each in a fresh process
    since OpenMP reads its wait policy once."""
    rows = {}
    print("\nOpenMP wait policy: seconds per epoch of the Keras CNN, 1,024 images")
    for neighbour in ("idle", "busy"):
        busy = None
        if neighbour == "busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for policy in ("ACTIVE", "PASSIVE"):
                env = {**os.environ, "OMP_WAIT_POLICY": policy}
                for threads in (1, 2):
                    command = [sys.executable, "-c", WAIT_POLICY_SCRIPT, str(threads)]
                    done = subprocess.run(
                        command, env=env, cwd=ROOT, capture_output=True, text=True
                    )
                    seconds = json.loads(done.stdout.strip().splitlines()[-1])
                    rows[f"{neighbour}, {policy}, {threads} thread(s)"] = seconds
                    print(
                        f"{neighbour:5s} {policy:8s} {threads} thread(s) {seconds:8.3f} s",
                        flush=True,
                    )
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return rows


LAYOUT_MODELS = (
    "digits_cnn",
    "keras_cifar_cnn",
    "resnet20",
    "googlenet_small",
    "conv_autoencoder_digits",
    "dcgan_generator_32",
)


def layout_step(name: str, channels_last: bool, batch_size: int = 32, steps: int = 3):
    """A callable training `steps` Adam steps of registered model `name` on random inputs of its
    example shape, in NCHW or channels_last (the loss is the outputs' mean square)."""
    seed_everything(SEED)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model(name).to(memory_format=layout)
    X = torch.randn(batch_size, *model_entry(name).input_shape)
    X = X.contiguous(memory_format=layout) if X.dim() == 4 else X
    opt = make_optimizer("adam", model.parameters(), 1e-3, 0.0)

    def run() -> None:
        for _ in range(steps):
            loss = model(X).square().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return run


def layout_table(rounds: int = 7) -> dict:
    """channels_last against NCHW for CNNs of every unit (why the Trainer picks it for them)."""
    print("\nlayout: channels_last / NCHW seconds per training step, batch 32")
    rows = {}
    for name in LAYOUT_MODELS:
        sides = {layout: layout_step(name, layout == "cl") for layout in ("nchw", "cl")}
        timed = side_by_side(sides, rounds)
        rows[name] = {
            "nchw_s": timed["nchw"]["wall_s"],
            "channels_last_s": timed["cl"]["wall_s"],
            "ratio": timed["cl"]["wall_s"] / timed["nchw"]["wall_s"],
            "cpu_ratio": timed["cl"]["cpu_s"] / timed["nchw"]["cpu_s"],
        }
        print(
            f"{name:26s} {rows[name]['ratio']:6.3f}x (cpu {rows[name]['cpu_ratio']:.3f}x)",
            flush=True,
        )
    return rows


def matmul_seconds(n: int = 2048):
    """A timed callable: one n x n fp32 matmul (2n³ FLOPs) through torch.mm (MKL sgemm)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: torch.mm(a, b)


def cnn_step(variant: str, batch_size: int = 32, steps: int = 20):
    """(a callable training `steps` steps of the Keras CIFAR CNN, FLOPs per step) for one speed
    idea: layout NCHW or channels_last, Adam for-loop or fused, flush denormals, the fused
    ReLU -> BatchNorm -> MaxPool stages (dllab.engine.fusion; otherwise layer by layer), bf16
    autocast, torch.compile (inductor; compiled here, its time reported apart)."""
    seed_everything(SEED)
    channels_last = "nchw" not in variant
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model("keras_cifar_cnn").to(memory_format=layout)
    model = fuse_stages(model, "fused stages" in variant, CPU, torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused="fused" in variant)
    X = torch.randn(steps * batch_size, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (len(X),))
    forward = torch.compile(model) if "compile" in variant else model
    dtype = torch.bfloat16 if "bf16" in variant else None

    def step(i: int, net: torch.nn.Module = forward) -> None:
        batch = slice(i * batch_size, (i + 1) * batch_size)
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(net(X[batch]), y[batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    started = time.perf_counter()
    step(0)  # warm-up (and compilation)
    warmup = time.perf_counter() - started
    with FlopCounterMode(display=False) as counter:
        step(1, model)  # the FLOPs of the eager model (the same for every variant)
    flush = "flush" in variant

    def run() -> None:
        torch.set_flush_denormal(flush)
        for i in range(steps):
            step(i)
        torch.set_flush_denormal(False)

    return run, counter.get_total_flops(), warmup


EFFICIENCY_VARIANTS = (
    "nchw, adam",
    "channels_last, adam",
    "channels_last, fused adam",
    "channels_last, fused adam, flush denormals",
    "channels_last, fused adam, flush denormals, fused stages",
    "channels_last, fused adam, compile",
    "channels_last, fused adam, bf16 autocast",
)
# on 2 threads: layer by layer, and the Trainer's path (the fused kernel's OpenMP threads)
TWO_THREAD_VARIANTS = (*EFFICIENCY_VARIANTS[:3], EFFICIENCY_VARIANTS[4])


def efficiency_table(
    threads: int, variants=EFFICIENCY_VARIANTS, rounds: int = 7, steps: int = 20
) -> dict:
    """GFLOP/s of each speed idea's training step against the matmul peak, side by side."""
    set_threads(threads)
    sides = {"matmul": matmul_seconds()}
    flops, warmups = {}, {}
    for variant in variants:
        sides[variant], flops[variant], warmups[variant] = cnn_step(variant, steps=steps)
    timed = side_by_side(sides, rounds)
    peak = 2 * 2048**3 / timed["matmul"]["wall_s"] / 1e9
    print(f"\nefficiency, {threads} thread(s): Keras CIFAR CNN training step, batch 32")
    print(f"fp32 matmul peak (2048x2048 torch.mm, median): {peak:.1f} GFLOP/s")
    width = max(map(len, variants))
    header = f"{'variant':{width}s} {'ms/step':>8s} {'GFLOP/s':>8s} {'of peak':>8s}"
    print(header)
    print("-" * len(header))
    rows = {"matmul_gflops": peak}
    for variant in variants:
        seconds = timed[variant]["wall_s"] / steps
        achieved = flops[variant] / seconds / 1e9
        rows[variant] = {
            "step_s": seconds,
            "step_cpu_s": timed[variant]["cpu_s"] / steps,
            "step_gflop": flops[variant] / 1e9,
            "step_gflops": achieved,
            "fraction_of_fp32_peak": achieved / peak,
            "first_step_s": warmups[variant],
        }
        note = f"  (compile {warmups[variant]:.1f} s apart)" if "compile" in variant else ""
        print(
            f"{variant:{width}s} {seconds * 1e3:8.2f} {achieved:8.1f} {achieved / peak:7.0%}{note}",
            flush=True,
        )
    set_threads(1)
    return rows


MATMUL_OPS = ("convolution", "mm", "addmm", "linear")  # aten ops whose FLOPs are counted


def step_split(variant: str = "channels_last, fused adam, flush denormals", steps: int = 20):
    """Where a training step's time goes, layer by layer: the convolution and matrix-multiply
    kernels (forward and backward), whose FLOPs the efficiency table counts, against everything
    else (batch norm, ReLU, pooling, the optimizer: passes over memory with few FLOPs), by
    torch.profiler's self CPU time of each aten op (the case for the fused stages, whose C
    kernel the profiler would not see as an aten op)."""
    run, flops, _ = cnn_step(variant, steps=steps)
    run()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    times = {
        e.key: e.self_cpu_time_total for e in prof.key_averages() if e.key.startswith("aten::")
    }
    matmul = sum(t for k, t in times.items() if any(op in k for op in MATMUL_OPS))
    total = sum(times.values())
    matmul_gflops = flops * steps / (matmul * 1e-6) / 1e9
    top = sorted(times.items(), key=lambda kv: -kv[1])[:6]
    print(
        f"\nstep split ({variant}): convolutions and matmuls {matmul / total:.0%} of the aten time"
        f" at {matmul_gflops:.0f} GFLOP/s; the rest {1 - matmul / total:.0%}. Largest ops:"
    )
    for name, t in top:
        print(f"  {name:44s} {t / steps / 1e3:6.2f} ms/step ({t / total:.0%})")
    return {
        "matmul_fraction": matmul / total,
        "matmul_gflops": matmul_gflops,
        "ops_ms_per_step": {k: t / steps / 1e3 for k, t in top},
    }


def full_epoch(
    amp: str | None = None,
    fuse: bool | str = "auto",
    threads: int = 1,
    n: int = 10_000,
    rounds: int = 3,
):
    """One epoch of 10,000 32x32x3 images, batch 32, Adam, through `Trainer.fit` with its
    defaults (and `amp`, `fuse`), timed against the fp32 matmul peak in the same rounds. The
    epoch is timed as Keras times its own (EpochTimer); the whole fit call, with its one-time
    move of the data to channels_last, is reported beside it."""
    set_threads(threads)
    g = torch.Generator().manual_seed(0)
    train_data = (torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g))
    seed_everything(SEED)
    model = create_model("keras_cifar_cnn")
    options = {"metrics": (), "lr": 1e-3, "device": "cpu", "seed": SEED, "quiet": True}
    timer = EpochTimer()
    trainer = Trainer(model, "adam", amp=amp, fuse=fuse, callbacks=[timer], **options)

    def epoch():
        trainer.fit(train_data, num_epochs=1, batch_size=32)
        return timer.times[-1]

    _, step_flops, _ = cnn_step("channels_last, fused adam")
    timed = side_by_side({"matmul": matmul_seconds(), "epoch": epoch}, rounds)
    peak = 2 * 2048**3 / timed["matmul"]["wall_s"] / 1e9
    epochs = timed["epoch"]["values"]
    seconds, cpu_seconds = (statistics.median(t[i] for t in epochs) for i in (0, 1))
    achieved = step_flops * (n / 32) / seconds / 1e9
    row = {
        "epoch_s": seconds,
        "epoch_cpu_s": cpu_seconds,
        "fit_s": timed["epoch"]["wall_s"],
        "gflops": achieved,
        "matmul_gflops": peak,
        "fraction_of_fp32_peak": achieved / peak,
        "channels_last": trainer.channels_last,
        "amp": amp,
        "fuse": fuse,
        "optimizer": type(trainer.optimizer).__name__,
        "fused": bool(trainer.optimizer.defaults.get("fused")),
    }
    print(
        f"\none Trainer.fit epoch, {n} images, batch 32, Adam, {threads} thread(s), defaults"
        f" (channels_last={trainer.channels_last}, amp={amp}, fuse={fuse!r}): {seconds:.2f} s,"
        f" fit's setup apart ({timed['epoch']['wall_s']:.2f} s with it)"
        f" = {achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the {peak:.1f} GFLOP/s"
        " fp32 matmul peak",
        flush=True,
    )
    set_threads(1)
    return row


def main() -> None:
    load_before = os.getloadavg()
    print(f"load average {load_before[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
    set_threads(1)
    results = {"overhead": {}, "defaults": {}}
    for name, (build, train_data, loss, batch_size) in cases().items():
        for table, textbook in (("overhead", False), ("defaults", True)):
            results[table][name] = trainer_against_loop(
                build, train_data, loss, batch_size, textbook
            )
    print_ratio_table("engine overhead: Trainer / the same loop by hand (target <= 1.05x)",
                      results["overhead"])  # fmt: skip
    print_ratio_table("defaults: Trainer / textbook loop (NCHW, torch.optim.Adam defaults)",
                      results["defaults"])  # fmt: skip
    results["layout"] = layout_table()
    results["threads"] = threads_table()
    results["wait_policy"] = wait_policy_table()
    results["efficiency"] = {
        "1_thread": efficiency_table(1),
        "2_thread": efficiency_table(2, TWO_THREAD_VARIANTS, rounds=5),
    }
    results["step_split"] = step_split()
    results["full_epoch"] = full_epoch()
    results["full_epoch_unfused"] = full_epoch(fuse=False)
    results["full_epoch_bf16"] = full_epoch("bf16")
    gflop = results["efficiency"]["1_thread"]["nchw, adam"]["step_gflop"]
    print(f"\nFLOPs per training step (batch 32, forward + backward): {gflop:.3f} GFLOP")
    conditions = {
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "load_average_1min_before": load_before[0],
        "load_average_1min_after": os.getloadavg()[0],
        "machine": platform.machine(),
        "rounds": ROUNDS,
        "statistic": "median over rounds that alternate the sides, after one warm-up round",
        "convolution_models_get_channels_last": has_image_convolutions(
            create_model("keras_cifar_cnn")
        ),
    }
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    save_results("engine", {"conditions": conditions, "results": results})


if __name__ == "__main__":
    main()
