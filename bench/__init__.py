"""Benchmarks: ratios measured side by side in one run (`make bench`), never timed tests."""

import time
from pathlib import Path

from dllab.atomic import write_json
from dllab.engine import Callback

RESULTS = Path(__file__).parent / "results"


def save_results(name: str, data: dict) -> Path:
    """Write bench/results/NAME.json atomically and say where."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    print(f"wrote {path}")
    return path


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
