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


class ProgressBar(Callback):
    """Loss, metrics and throughput while training; about ten plain lines when not a TTY."""

    order = 50

    def __init__(self, description: str = "train", stream=None):
        self.description = description
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.progress: Progress | None = None

    def on_fit_start(self, trainer) -> None:
        self.started = time.perf_counter()
        self.samples = 0
        self.refresh_every = max(1, trainer.steps_per_epoch // 20)
        if self.live:
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
        if self.progress is not None and record["step"] % self.refresh_every == 0:
            rate = self.samples / max(1e-9, time.perf_counter() - self.started)
            stats = f"epoch {record['epoch']}  loss {record['loss']:.4g}  {rate:,.0f} samples/s"
            self.progress.update(self.task, completed=record["step"], stats=stats)

    def on_epoch_end(self, trainer, record: dict) -> None:
        every = max(1, trainer.num_epochs // 10)  # at most about ten lines per fit
        if record["epoch"] % every and record["epoch"] != trainer.num_epochs:
            return
        line = f"{self.description} epoch {record['epoch']}/{trainer.num_epochs}  "
        line += format_record(record)
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            print(line, file=self.stream, flush=True)

    def on_fit_end(self, trainer) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
