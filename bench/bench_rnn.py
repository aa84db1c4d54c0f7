"""Recurrent networks on the CPU (issue 5): what one training step costs, and the two targets.

1. One forward + backward pass over the adding problem's batch (B = 64, T = 200, D = 2,
   H = 128) for the fused LSTM (oneDNN on and off), GRU and RNN, the explicit cells of
   `dllab.nn.recurrent` (a Python loop), the same step functions scripted by TorchScript, and
   (at T = 50, the unrolled graph compiles slowly) torch.compile. The profiler splits each
   fused pass into ATen-kernel time and everything else, and counts kernel calls: PyTorch
   runs the LSTM on CPU as one oneDNN kernel over the whole sequence (`mkldnn_rnn_layer`),
   but has no oneDNN GRU, so the GRU runs step by step (a matmul, a cat and pointwise ops
   per step, forward and backward).
2. `mnist1d-gru` (default config): test accuracy and training time (target >= 98% in <= 60 s).
3. `adding-problem` at T = 200 (default config otherwise): test MSE and training time per cell
   (target: LSTM and GRU < 0.01 within 5 minutes each, tanh RNN > 0.1).

    python -m bench rnn      # writes bench/results/rnn.json
"""

import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from dllab.experiments import run_experiment
from dllab.nn.recurrent import gru_step, lstm_step, make_recurrent

B, T, D, H = 64, 200, 2, 128
T_COMPILE = 50
REPEATS = 3
RESULTS = Path(__file__).parent / "results" / "rnn.json"


def scan(step, gi: torch.Tensor, state, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    """The recurrence of `step` over gi (B, T, G*H) with no per-step bookkeeping: (B, T, H)."""
    hs = []
    for t in range(gi.shape[1]):
        state = step(gi[:, t], state, weight_hh, bias_hh)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(hs, dim=1)


@torch.jit.script
def scripted_gru(gi: torch.Tensor, h: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor):
    hs = []
    for t in range(gi.shape[1]):
        h = gru_step(gi[:, t], h, weight_hh, bias_hh)
        hs.append(h)
    return torch.stack(hs, dim=1)


@torch.jit.script
def scripted_lstm(
    gi: torch.Tensor, h: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor
):
    state = (h, torch.zeros_like(h))
    hs = []
    for t in range(gi.shape[1]):
        state = lstm_step(gi[:, t], state, weight_hh, bias_hh)
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


def seconds_per_pass(forward, x: torch.Tensor) -> float:
    """Median wall time of forward + backward after one warm-up pass."""
    forward(x).sum().backward()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        forward(x).sum().backward()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def kernel_split(forward, x: torch.Tensor) -> dict:
    """ATen-kernel share of one profiled forward + backward, and the number of kernel calls."""
    forward(x).sum().backward()
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        forward(x).sum().backward()
    wall = time.perf_counter() - started
    events = prof.key_averages()
    kernel = sum(e.self_cpu_time_total for e in events) / 1e6
    calls = sum(e.count for e in events if e.key.startswith("aten::"))
    top = max(events, key=lambda e: e.self_cpu_time_total)
    return {"kernel_share": kernel / wall, "aten_calls": calls, "top_kernel": top.key}


def fused(cell: str, **kwargs):
    module = make_recurrent(cell, D, H, **kwargs)
    return lambda x: module(x)[0]


def step_costs() -> dict:
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
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            rows[name] = {"ms_per_pass": 1e3 * seconds_per_pass(forward, x)}
            if name.startswith("fused"):
                rows[name].update(kernel_split(forward, x))
    return rows


def compile_costs() -> dict:
    """Eager vs torch.compile of the GRU scan at T_COMPILE steps (compile time reported)."""
    torch.manual_seed(0)
    x = torch.randn(B, T_COMPILE, D)
    eager = looped("gru", scan_eager_gru)
    rows = {"scan GRU, eager": {"ms_per_pass": 1e3 * seconds_per_pass(eager, x)}}
    rows["fused GRU"] = {"ms_per_pass": 1e3 * seconds_per_pass(fused("gru"), x)}
    rows["fused LSTM (oneDNN)"] = {"ms_per_pass": 1e3 * seconds_per_pass(fused("lstm"), x)}
    try:
        compiled = torch.compile(eager)
        started = time.perf_counter()
        compiled(x).sum().backward()
        rows["scan GRU, torch.compile"] = {
            "compile_s": time.perf_counter() - started,
            "ms_per_pass": 1e3 * seconds_per_pass(compiled, x),
        }
    except Exception as error:  # no C++ compiler, unsupported platform: report, do not fail
        rows["scan GRU, torch.compile"] = {"error": f"{type(error).__name__}: {error}"[:200]}
    return rows


def experiment(name: str, overrides: tuple[str, ...] = ()) -> tuple[dict, float, float]:
    """An experiment's metrics, with the wall and CPU seconds of the whole run."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        folder = run_experiment(name, overrides=overrides, out=f"{tmp}/run", quiet=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return json.loads((folder / "metrics.json").read_text()), wall, cpu


def main() -> None:
    conditions = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }
    print(f"torch {conditions['torch']}, {conditions['threads']} threads")
    costs = step_costs()
    base = costs["fused LSTM (oneDNN)"]["ms_per_pass"]
    print(f"\nforward + backward, B={B} T={T} D={D} H={H} (ms; x = relative to the fused LSTM)")
    for name, row in costs.items():
        split = ""
        if "kernel_share" in row:
            split = f"  kernels {row['kernel_share']:.0%}, {row['aten_calls']} ATen calls"
            split += f", top {row['top_kernel']}"
        print(
            f"  {name:30s} {row['ms_per_pass']:8.1f} ms  {row['ms_per_pass'] / base:5.2f}x{split}"
        )
    compiled = compile_costs()
    print(f"\nforward + backward at T={T_COMPILE} (torch.compile unrolls the loop)")
    for name, row in compiled.items():
        if "error" in row:
            print(f"  {name:30s} unavailable: {row['error']}")
            continue
        extra = f"  (compile {row['compile_s']:.0f} s)" if "compile_s" in row else ""
        print(f"  {name:30s} {row['ms_per_pass']:8.1f} ms{extra}")

    mnist, wall, cpu = experiment("mnist1d-gru")
    print(
        f"\nmnist1d-gru: test accuracy {mnist['test_accuracy']:.3f} (target >= 0.98, published "
        f"GRU 0.91), training {mnist['train_time_s']:.0f} s (target <= 60 s); run {wall:.0f} s "
        f"wall, {cpu:.0f} s CPU"
    )
    adding, wall, cpu = experiment("adding-problem", ("T=200", "sweep=200"))
    print(f"\nadding problem, T = 200 (baseline MSE {adding['baseline_mse']:.3f}):")
    for cell in ("rnn", "lstm", "gru"):
        print(
            f"  {cell:5s} test MSE {adding[f'test_mse_{cell}']:.4f}, "
            f"training {adding[f'train_time_s_{cell}']:.0f} s"
        )
    print(f"  (run {wall:.0f} s wall, {cpu:.0f} s CPU)")
    RESULTS.parent.mkdir(exist_ok=True)
    results = {
        "conditions": conditions,
        "step_costs": costs,
        "compile": compiled,
        "mnist1d_gru": mnist,
        "adding_T200": adding,
    }
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
