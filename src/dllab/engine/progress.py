"""Progress display: a rich bar on a terminal, one line updated in place in Jupyter, about ten
plain lines per fit otherwise."""

import io
import sys
import time

from rich.console import Console
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


def in_jupyter() -> bool:
    """Whether this process is a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), as rich
    detects it."""
    return Console(file=io.StringIO()).is_jupyter


def progress_bar(description: str = "train", stream=None) -> "ProgressBar":
    """A live bar when `stream` (default stderr) is a terminal, one line updated in place in
    Jupyter, else plain epoch lines."""
    if stream is None and in_jupyter():
        return NotebookProgressBar(description)
    stream = stream or sys.stderr
    return (LiveProgressBar if stream.isatty() else ProgressBar)(description, stream)


def _bar(description: str, console: Console | None = None, bar_width: int = 40) -> Progress:
    """The bar's columns: description, bar, steps done, time left, then the latest numbers."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=bar_width),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
        console=console,
        transient=True,
    )


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
        self.progress = _bar(self.description)
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


class NotebookProgressBar(ProgressBar):
    """In Jupyter: rich's bar as one output line, redrawn in place (an IPython display handle)
    at most twice a second, with the last epoch's numbers, and once more when the fit ends.
    The fits of one cell (an experiment may train many models) share the line, which ends
    showing the last."""

    WIDTH = 200  # characters of the line (it scrolls sideways where the cell is narrower)
    INTERVAL_S = 0.5  # least time between two redraws during a fit
    _cell_line: tuple[int, object] | None = None  # (the cell's execution count, its handle)

    def __init__(self, description: str = "train"):
        super().__init__(description)
        self.handle = None

    def on_fit_start(self, trainer) -> None:
        self.console = Console(
            file=io.StringIO(),
            width=self.WIDTH,
            record=True,
            force_jupyter=False,  # rendered here, shown by `draw`
            color_system="truecolor",
        )
        self.progress = _bar(self.description, self.console, bar_width=30)
        total = trainer.num_epochs * trainer.steps_per_epoch
        self.task = self.progress.add_task(
            self.description, total=total, completed=trainer.step, stats=""
        )
        self.handle = self._line()
        self.drawn = time.perf_counter()  # the line shows the last fit's end until a redraw

    def on_step_end(self, trainer, record: dict) -> None:
        if time.perf_counter() - self.drawn >= self.INTERVAL_S:
            self.progress.update(self.task, completed=record["step"])
            self.draw()

    def on_epoch_end(self, trainer, record: dict) -> None:
        numbers = format_record(record, skip=("epoch", "step", "time", "lr"))
        stats = f"epoch {record['epoch']}/{trainer.num_epochs}  {numbers}"
        self.progress.update(self.task, completed=record["step"], stats=stats)
        if time.perf_counter() - self.drawn >= self.INTERVAL_S:
            self.draw()

    def on_fit_end(self, trainer) -> None:
        self.progress.update(self.task, completed=trainer.step)
        self.draw()

    def draw(self) -> None:
        """Render the bar with rich (text and HTML) and replace the line's output with it."""
        from rich.jupyter import JUPYTER_HTML_FORMAT

        self.console.print(self.progress.get_renderable())
        text = self.console.export_text(clear=False)
        html = self.console.export_html(inline_styles=True, code_format=JUPYTER_HTML_FORMAT)
        self.handle.update({"text/plain": text, "text/html": html}, raw=True)
        self.drawn = time.perf_counter()

    @classmethod
    def _line(cls):
        """The display handle of this cell's progress line, made on the cell's first fit."""
        from IPython import get_ipython
        from IPython.display import display

        cell = get_ipython().execution_count
        if cls._cell_line is None or cls._cell_line[0] != cell:
            handle = display({"text/plain": ""}, raw=True, display_id=True)
            NotebookProgressBar._cell_line = (cell, handle)
        return cls._cell_line[1]
