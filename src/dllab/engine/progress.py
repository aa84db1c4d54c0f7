"""Progress display: a rich bar on a terminal, one plain line per epoch otherwise."""

import sys
import time

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from dllab.engine.callbacks import Callback


def format_record(record: dict, skip=("epoch", "step", "time")) -> str:
    """'loss 0.1234  accuracy 0.9700' from the scalar entries of a history record."""
    parts = []
    for key, value in record.items():
        if key in skip or "/" in key or not isinstance(value, int | float):
            continue
        parts.append(f"{key} {value:.4g}")
    return "  ".join(parts)


def progress_bar(description: str = "train", stream=None) -> "ProgressBar":
    """A live bar when `stream` (default stderr) is a terminal, else plain epoch lines."""
    stream = stream or sys.stderr
    return (LiveProgressBar if stream.isatty() else ProgressBar)(description, stream)


class ProgressBar(Callback):
    """About ten plain lines per fit: loss and metrics at the end of an epoch."""

    order = 50

    def __init__(self, description: str = "train", stream=None):
        self.description = description
        self.stream = stream or sys.stderr

    def on_epoch_end(self, trainer, record: dict) -> None:
        every = max(1, trainer.num_epochs // 10)  # at most about ten lines per fit
        if record["epoch"] % every and record["epoch"] != trainer.num_epochs:
            return
        line = f"{self.description} epoch {record['epoch']}/{trainer.num_epochs}  "
        self.write(line + format_record(record))

    def write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class LiveProgressBar(ProgressBar):
    """A rich bar with loss and throughput, refreshed about twenty times an epoch; it is the
    only display that needs every step's record, so plain output keeps the loop lean."""

    def on_fit_start(self, trainer) -> None:
        self.started = time.perf_counter()
        self.samples = 0
        self.refresh_every = max(1, trainer.steps_per_epoch // 20)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            transient=True,
        )
        total = trainer.num_epochs * trainer.steps_per_epoch
        self.task = self.progress.add_task(
            self.description, total=total, completed=trainer.step, stats=""
        )
        self.progress.start()

    def on_step_end(self, trainer, record: dict) -> None:
        self.samples += trainer.last_batch_size
        if record["step"] % self.refresh_every == 0:
            rate = self.samples / max(1e-9, time.perf_counter() - self.started)
            stats = f"epoch {record['epoch']}  loss {record['loss']:.4g}  {rate:,.0f} samples/s"
            self.progress.update(self.task, completed=record["step"], stats=stats)

    def write(self, line: str) -> None:
        self.progress.console.print(line)

    def on_fit_end(self, trainer) -> None:
        self.progress.stop()
