"""Benchmarks: ratios measured side by side in one run (`make bench`), never timed tests."""

import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from dllab.atomic import write_json
from dllab.engine import Callback

RESULTS = Path(__file__).parent / "results"


def _cpu() -> dict:
    """The CPU's model and instruction-set flags, from /proc/cpuinfo where there is one."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {"model": platform.processor(), "flags": []}
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    return {"model": fields.get("model name", ""), "flags": fields.get("flags", "").split()}


def _commit() -> str:
    """The checkout's commit, with '+changes' when files differ from it ('' outside git)."""
    try:
        run = lambda *a: subprocess.run(a, capture_output=True, text=True, cwd=RESULTS.parent)  # noqa: E731
        commit = run("git", "rev-parse", "HEAD").stdout.strip()
        dirty = run("git", "status", "--porcelain", "--untracked-files=no").stdout.strip()
    except OSError:
        return ""
    return commit + ("+changes" if commit and dirty else "")


def machine() -> dict:
    """Where and when a result was measured: what makes two result files comparable."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _cpu(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "commit": _commit(),
    }


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of the mean over seeds (NaN for one value), as the papers'
    tables report them."""
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(se)


def save_results(name: str, data: dict, quiet: bool = False) -> Path:
    """Write bench/results/NAME.json atomically, with the machine it was measured on, and say
    where. The files are committed: the README's measured figures come from them."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"machine": machine(), **data})
    if not quiet:
        print(f"wrote {path}")
    return path


def paper_setup_result_name(setup: str, epochs: int) -> str:
    """The NAME of `bench gan --setup SETUP --epochs EPOCHS`'s result file: one a budget, so
    that a bench run for another budget neither discards nor overwrites it."""
    return f"gan_{setup}_{epochs}ep"


def load_saved(name: str) -> dict | None:
    """bench/results/NAME.json as `save_results` wrote it, or None if there is none."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


class EpochTimer(Callback):
    """Each epoch's own (wall, CPU) seconds, in `times`: from the end of `fit`'s one-time setup
    (moving the data to the device and layout), or the end of the previous epoch, to the end of
    this one. Keras' epoch callbacks time its epochs the same way (bench_keras)."""

    def __init__(self):
        self.times: list[tuple[float, float]] = []

    def on_fit_start(self, trainer) -> None:
        self.started = time.perf_counter(), time.process_time()

    def on_epoch_end(self, trainer, record: dict) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.times.append((wall - self.started[0], cpu - self.started[1]))
        self.started = wall, cpu
