"""Recurrent networks on the CPU (issue 5): what one training step costs, and the two targets.

1. Denormals: the adding problem's loss reads the last hidden state only, so its gradient,
   carried back through T steps, decays into subnormal floats, which x86 computes on about
   100x slower. Forward + backward of the many-to-one nets at T = 200 with and without
   `flush_denormals` (FTZ/DAZ), the one change that matters most here.
2. One forward + backward pass over the adding problem's batch (B = 64, T = 200, D = 2,
   H = 64 as in the experiment; gradient at every output) for the fused LSTM (oneDNN on and
   off), GRU and RNN, the explicit cells of `dllab.nn.recurrent` (a Python loop), the same
   step functions scripted by TorchScript, and (at T = 50: the unrolled graph compiles
   slowly) torch.compile. The profiler lists the kernels behind each fused pass: PyTorch runs
   the LSTM on the CPU as two oneDNN kernels over the whole sequence (`mkldnn_rnn_layer` and
   its backward, ~70 ATen calls in all) but has no oneDNN GRU or RNN, so those run step by
   step (~18,000 ATen calls for the GRU: per step an addmm, an mm, cats, chunks and pointwise
   ops, forward and backward), and a quarter of their time is spent outside kernels.
3. One training step of the adding problem (Trainer: forward, backward, clipping, Adam) split
   into ATen-kernel time (profiler self time) and the rest (Python, autograd and dispatch).
4. The adding problem at T = 200, each cell trained by the `adding-problem` experiment with a
   step budget worth 300 s of CPU time (per-step CPU time measured above, one thread), stopping
   once solved: target LSTM and GRU test MSE < 0.01, tanh RNN > 0.1.
5. `mnist1d-gru` (default config): target >= 98% test accuracy in <= 60 s of training.

    python -m bench rnn      # writes bench/results/rnn.json

Times are CPU seconds of this process (time.process_time) beside wall seconds: on a shared
machine the wall clock also counts other people's work. One thread throughout.

Measured on the shared 2-core Xeon (load 15-25, so only the CPU times mean anything):
flushing denormals makes the many-to-one pass 4-6x faster at H = 64 (8-10x at H = 128). With
them flushed the fused GRU costs 1.3x the oneDNN LSTM at T = 200 and 2x at T = 50, where the
LSTM's fixed-size kernels shine: the LSTM step is 99% kernel time, the GRU's ~18,000 ATen
calls spend ~28% of theirs outside kernels. Explicit GRU cells do not beat the fused GRU
(eager loop 1.3x its time, TorchScript 1.15x); torch.compile of the explicit GRU runs in 0.75x
the fused GRU's time at T = 50 (still 1.5x the LSTM) after minutes of compiling.
"""

import json
import math
import os
import platform
import tempfile
import time

import torch
from torch.profiler import ProfilerActivity, profile

from bench import save_results
from dllab import data
from dllab.engine import ClipNorm, Trainer
from dllab.engine.speed import flush_denormals
from dllab.experiments import run_experiment
from dllab.experiments.unit3.memory import MemoryConfig
from dllab.models import create_model
from dllab.nn.recurrent import gru_step, lstm_step, make_recurrent

DEFAULT = MemoryConfig()  # the adding-problem experiment's defaults
B, T, D, H = DEFAULT.batch_size, 200, 2, DEFAULT.num_hiddens
T_COMPILE = 50
REPEATS = 3
BUDGET_S = 300.0  # adding problem: CPU seconds of training per cell
STEPS_PER_EPOCH = math.ceil(DEFAULT.num_train / DEFAULT.batch_size)


def timed(fn, repeats: int = REPEATS) -> tuple[float, float]:
    """Median CPU and wall seconds of fn() after three warm-up calls (TorchScript's profiling
    executor optimises a function only after two profiled calls)."""
    for _ in range(3):
        fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return sorted(cpu)[repeats // 2], sorted(wall)[repeats // 2]


# ---- 1. denormals ------------------------------------------------------------------------------


def denormal_costs() -> dict:
    """Forward + backward of the many-to-one nets (loss on h_T only), FTZ off and on."""
    x, y = torch.randn(B, T, D), torch.randn(B, 1)
    rows = {}
    for cell in ("rnn", "lstm", "gru"):
        torch.manual_seed(0)
        model = create_model(cell, num_hiddens=H)

        def step(model=model):
            torch.nn.functional.mse_loss(model(x), y).backward()

        off = timed(step)[0]
        with flush_denormals():
            on = timed(step)[0]
        rows[cell] = {"cpu_ms_denormals": 1e3 * off, "cpu_ms_flushed": 1e3 * on}
    return rows


# ---- 2. one pass, fused and explicit -------------------------------------------------------------


def scan(step, gi: torch.Tensor, state, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    """The recurrence of `step` over gi (B, T, G*H) with no per-step bookkeeping: (B, T, H)."""
    hs = []
    for gi_t in gi.unbind(1):  # not gi[:, t]: see dllab.nn.recurrent._scan
        state = step(gi_t, state, weight_hh, bias_hh)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(hs, dim=1)


@torch.jit.script
def scripted_gru(gi: torch.Tensor, h: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    hs = []
    for gi_t in gi.unbind(1):
        h = gru_step(gi_t, h, weight_hh, bias_hh)
        hs.append(h)
    return torch.stack(hs, dim=1)


@torch.jit.script
def scripted_lstm(
    gi: torch.Tensor, h: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor
):
    state = (h, torch.zeros_like(h))
    hs = []
    for gi_t in gi.unbind(1):
        state = lstm_step(gi_t, state, weight_hh, bias_hh)
        hs.append(state[0])
    return torch.stack(hs, dim=1)


def looped(cell: str, run):
    """A module-like callable x -> (B, T, H) that projects the inputs once, then runs `run`."""
    fused = make_recurrent(cell, D, H)  # only for its parameters

    def forward(x):
        gi = torch.nn.functional.linear(x, fused.weight_ih_l0, fused.bias_ih_l0)  # (B, T, GH)
        h = x.new_zeros(x.shape[0], H)  # h_0 (the LSTM's runs add c_0 = 0)
        return run(gi, h, fused.weight_hh_l0, fused.bias_hh_l0)

    return forward


def scan_eager_lstm(gi, h, w, b):
    return scan(lstm_step, gi, (h, torch.zeros_like(h)), w, b)


def scan_eager_gru(gi, h, w, b):
    return scan(gru_step, gi, h, w, b)


def fused(cell: str, **kwargs):
    module = make_recurrent(cell, D, H, **kwargs)
    return lambda x: module(x)[0]


def kernels(fn) -> dict:
    """Profile one call of fn(): ATen-kernel share of the wall time, the number of kernel
    calls, and the three kernels with the most self time (name, calls, ms)."""
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        fn()
        wall = time.perf_counter() - started
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    kernel = sum(e.self_cpu_time_total for e in events) / 1e6
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:3]
    return {
        "kernel_share": kernel / wall,
        "aten_calls": sum(e.count for e in events),
        "top_kernels": [(e.key, e.count, round(e.self_cpu_time_total / 1e3, 1)) for e in top],
    }


def pass_costs() -> dict:
    torch.manual_seed(0)
    x = torch.randn(B, T, D)
    variants = {
        "fused LSTM (oneDNN)": (fused("lstm"), True),
        "fused LSTM (oneDNN off)": (fused("lstm"), False),
        "fused GRU": (fused("gru"), True),
        "fused tanh RNN": (fused("rnn"), True),
        "explicit LSTM (Python loop)": (fused("lstm", fused=False), True),
        "explicit GRU (Python loop)": (fused("gru", fused=False), True),
        "scan LSTM, eager": (looped("lstm", scan_eager_lstm), True),
        "scan GRU, eager": (looped("gru", scan_eager_gru), True),
        "scan LSTM, TorchScript": (looped("lstm", scripted_lstm), True),
        "scan GRU, TorchScript": (looped("gru", scripted_gru), True),
    }
    rows = {}
    for name, (forward, mkldnn) in variants.items():
        with torch.backends.mkldnn.flags(enabled=mkldnn), flush_denormals():
            cpu, wall = timed(lambda f=forward: f(x).sum().backward())
            rows[name] = {"cpu_ms": 1e3 * cpu, "wall_ms": 1e3 * wall}
            if name.startswith("fused"):
                rows[name].update(kernels(lambda f=forward: f(x).sum().backward()))
    return rows


def compile_costs() -> dict:
    """Eager vs torch.compile of the GRU scan at T_COMPILE steps (compile time reported)."""
    torch.manual_seed(0)
    x = torch.randn(B, T_COMPILE, D)
    eager = looped("gru", scan_eager_gru)
    candidates = {
        "scan GRU, eager": eager,
        "fused GRU": fused("gru"),
        "fused LSTM (oneDNN)": fused("lstm"),
    }
    rows = {
        name: {"cpu_ms": 1e3 * timed(lambda f=f: f(x).sum().backward())[0]}
        for name, f in candidates.items()
    }
    try:
        compiled = torch.compile(eager)
        started = time.perf_counter()
        compiled(x).sum().backward()
        compile_s = time.perf_counter() - started
        cpu = timed(lambda: compiled(x).sum().backward())[0]
        rows["scan GRU, torch.compile"] = {"compile_s": compile_s, "cpu_ms": 1e3 * cpu}
    except Exception as error:  # no C++ compiler, unsupported platform: report, do not fail
        rows["scan GRU, torch.compile"] = {"error": f"{type(error).__name__}: {error}"[:200]}
    return rows


# ---- 3. one training step ------------------------------------------------------------------------


def training_steps() -> dict:
    """One Trainer step (forward, backward, clip, Adam) per cell: CPU time and kernel share."""
    X, y = data.load("adding", n=B, n_test=1, T=T).train
    rows = {}
    for cell in ("rnn", "lstm", "gru"):
        torch.manual_seed(0)
        model = create_model(cell, num_hiddens=H)
        clip = ClipNorm(DEFAULT.clip)
        trainer = Trainer(model, loss="mse", lr=DEFAULT.lr, grad_clip=clip, quiet=True)
        trainer.fit((X, y), num_epochs=1, batch_size=B)  # builds the optimizer state

        def step(trainer=trainer):
            trainer.task.training_step(trainer, (X, y))

        with flush_denormals():
            cpu, wall = timed(step)
            rows[cell] = {"cpu_ms": 1e3 * cpu, "wall_ms": 1e3 * wall, **kernels(step)}
    return rows


# ---- 4. and 5. the targets -----------------------------------------------------------------------


def experiment(name: str, overrides: tuple[str, ...] = ()) -> tuple[dict, float, float]:
    """An experiment's metrics, with the wall and CPU seconds of the whole run."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        folder = run_experiment(name, overrides=overrides, out=f"{tmp}/run", quiet=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return json.loads((folder / "metrics.json").read_text()), wall, cpu


def adding_targets(step_cpu_ms: dict[str, float]) -> dict:
    """Train each cell at T = 200 with a step budget worth BUDGET_S CPU seconds."""
    rows = {}
    for cell in ("rnn", "lstm", "gru"):
        budget_steps = BUDGET_S / (step_cpu_ms[cell] / 1e3)
        epochs = max(1, math.floor(budget_steps / STEPS_PER_EPOCH))
        overrides = ("T=200", "sweep=()", f"cells=({cell},)", f"num_epochs={epochs}")
        metrics, wall, cpu = experiment("adding-problem", overrides)
        mse = metrics[f"test_mse_{cell}"]
        met = mse > 0.1 if cell == "rnn" else mse < 0.01 and cpu <= BUDGET_S * 1.1
        rows[cell] = {
            "test_mse": mse,
            "budget_steps": epochs * STEPS_PER_EPOCH,
            "steps": metrics[f"train_steps_{cell}"],
            "steps_to_solve": metrics.get(f"steps_to_solve_{cell}"),
            "train_wall_s": metrics[f"train_time_s_{cell}"],
            "run_wall_s": wall,
            "run_cpu_s": cpu,
            "met": met,
        }
    return rows


def main() -> None:
    torch.set_num_threads(1)
    conditions = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "load_average": os.getloadavg(),
    }
    print(f"torch {conditions['torch']}, {conditions['threads']} thread, load {os.getloadavg()}")

    denormals = denormal_costs()
    print(f"\n1. many-to-one forward + backward, B={B} T={T} H={H} (CPU ms per pass)")
    for cell, row in denormals.items():
        off, on = row["cpu_ms_denormals"], row["cpu_ms_flushed"]
        print(f"  {cell:5s} denormals {off:7.1f}   flushed to zero {on:7.1f}   {off / on:5.1f}x")

    costs = pass_costs()
    base = costs["fused LSTM (oneDNN)"]["cpu_ms"]
    print(f"\n2. forward + backward, B={B} T={T} D={D} H={H} (CPU ms; x = relative to fused LSTM)")
    for name, row in costs.items():
        print(f"  {name:30s} {row['cpu_ms']:8.1f} ms  {row['cpu_ms'] / base:5.2f}x")
        if "top_kernels" in row:
            top = ", ".join(f"{k} x{n} {ms:.0f} ms" for k, n, ms in row["top_kernels"])
            print(f"      {row['aten_calls']} ATen calls; top: {top}")
    compiled = compile_costs()
    print(f"  at T={T_COMPILE} (torch.compile unrolls the loop):")
    for name, row in compiled.items():
        if "error" in row:
            print(f"  {name:30s} unavailable: {row['error']}")
            continue
        extra = f"  (compile {row['compile_s']:.0f} s wall)" if "compile_s" in row else ""
        print(f"  {name:30s} {row['cpu_ms']:8.1f} ms{extra}")

    steps = training_steps()
    print(f"\n3. one training step at T={T} (Trainer: forward, backward, clip, Adam; FTZ on)")
    for cell, row in steps.items():
        print(
            f"  {cell:5s} {row['cpu_ms']:7.1f} ms CPU: kernels {row['kernel_share']:.0%}, Python/"
            f"autograd/dispatch {1 - row['kernel_share']:.0%} ({row['aten_calls']} ATen calls)"
        )

    adding = adding_targets({cell: row["cpu_ms"] for cell, row in steps.items()})
    print(f"\n4. adding problem, T = 200: step budget worth {BUDGET_S:.0f} s CPU, stop once solved")
    print("  (baseline MSE 0.167; target LSTM and GRU < 0.01, tanh RNN > 0.1)")
    for cell, row in adding.items():
        solved = row["steps_to_solve"]
        print(
            f"  {cell:5s} test MSE {row['test_mse']:.4f}  steps {row['steps']}/"
            f"{row['budget_steps']}  solved at {solved if solved else '-'}  "
            f"train {row['train_wall_s']:.0f} s wall, run {row['run_cpu_s']:.0f} s CPU  "
            f"{'met' if row['met'] else 'NOT met'}"
        )

    mnist, wall, cpu = experiment("mnist1d-gru")
    accurate = mnist["test_accuracy"] >= 0.98
    met = {"wall": accurate and mnist["train_time_s"] <= 60, "cpu": accurate and cpu <= 60}
    print(
        f"\n5. mnist1d-gru: test accuracy {mnist['test_accuracy']:.3f} (target >= 0.98, published "
        f"GRU 0.91); training {mnist['train_time_s']:.0f} s wall, whole run {cpu:.0f} s CPU "
        f"(target <= 60 s): {'met' if met['wall'] else 'NOT met'} on the wall clock, "
        f"{'met' if met['cpu'] else 'NOT met'} in CPU time"
    )
    results = {
        "conditions": conditions,
        "denormals": denormals,
        "pass_costs": costs,
        "compile": compiled,
        "training_steps": steps,
        "adding_T200": adding,
        "mnist1d_gru": {**mnist, "run_wall_s": wall, "run_cpu_s": cpu, "met": met},
    }
    save_results("rnn", results)


if __name__ == "__main__":
    main()
