"""Callbacks: four hooks (fit start, step end, epoch end, fit end), as in Keras but fewer.

Callbacks run in `order` (lower first): observers, then early stopping, then the
checkpoint, so that a checkpoint holds every other callback's state for the same epoch.
Learning-rate schedules are not callbacks: the Trainer builds them with the optimizer
(`Trainer(schedule="cosine")`), before a checkpoint restores both.
"""

import json
import time
from pathlib import Path

import torch

from dllab.engine import distributed
from dllab.engine.checkpoint import save_checkpoint
from dllab.errors import ConfigError


class Callback:
    """Base callback: override any hook; stateful callbacks save their state in checkpoints."""

    order = 0

    def on_fit_start(self, trainer) -> None: ...

    def on_step_end(self, trainer, record: dict) -> None: ...

    def on_epoch_end(self, trainer, record: dict) -> None: ...

    def on_fit_end(self, trainer) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def overrides(callback: Callback, hook: str) -> bool:
    """Whether `callback` implements `hook` (the Trainer calls only hooks that do something)."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode_for(monitor: str) -> str:
    return "max" if "acc" in monitor else "min"


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs; optionally restore the best."""

    order = 10

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor)
        self.restore_best = restore_best
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer, record: dict) -> None:
        if self.monitor not in record:
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r}, not in {sorted(record)}")
        value = record[self.monitor]
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, record["epoch"], 0
            if self.restore_best:
                self.best_weights = {k: v.detach().clone() for k, v in trainer.weights().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True

    def on_fit_end(self, trainer) -> None:
        if self.restore_best and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        state = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
        if self.best_weights is not None:
            state["best_weights"] = self.best_weights
        return state

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save the full training state (`last`) and the weights where `monitor` was best (`best`).

    `last` is written at the end of an epoch once `min_interval_s` seconds have passed since the
    previous write, and always at the end of training, so that tiny epochs (one full-batch step)
    do not spend their time writing files. The best weights are kept in memory as they improve
    and written with `last`. Resume from the folder with `fit(..., resume=folder)`.
    """

    order = 100

    def __init__(self, folder: str | Path, monitor: str = "val_loss", min_interval_s: float = 10.0):
        self.folder = Path(folder)
        self.monitor = monitor
        self.mode = _mode_for(monitor)
        self.min_interval_s = min_interval_s
        self.best: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self._last_write = 0.0

    def on_fit_start(self, trainer) -> None:
        trainer.checkpoint_folder = self.folder
        self._last_write = time.monotonic()

    def on_epoch_end(self, trainer, record: dict) -> None:
        value = record.get(self.monitor)
        if value is not None and _improved(value, self.best, self.mode, 0.0):
            self.best = value
            self.best_state = {k: v.detach().clone() for k, v in trainer.weights().items()}
        finished = record["epoch"] >= trainer.num_epochs or trainer.stop_training
        if finished or time.monotonic() - self._last_write >= self.min_interval_s:
            self.write(trainer)

    def write(self, trainer) -> None:
        if self.best_state is not None and distributed.is_main():
            save_checkpoint(self.folder, "best", self.best_state, {"step": trainer.step})
            self.best_state = None
        trainer.save(self.folder, tag="last")
        self._last_write = time.monotonic()

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


class HistoryLogger(Callback):
    """Appends epoch (and step) records to a JSONL or CSV file, tagged with the model's name.

    The step records are taken from the trainer's history at the end of each epoch (and of
    the fit), one write per epoch, so the training loop need not build them as it goes. On
    resume the file is first cut back to the records the checkpoint knows, so that a resumed
    run's file equals an uninterrupted one. Under torchrun only rank 0 writes.
    """

    order = -5

    def __init__(self, path: str | Path, model_name: str = "model", steps: bool = True):
        self.path = Path(path)
        self.model_name = model_name
        self.steps = steps
        self.format = "csv" if self.path.suffix == ".csv" else "jsonl"
        self._columns: list[str] | None = None
        self._pending: list[str] = []
        self._written_step = 0  # the last step whose record is in the file
        self.enabled = True

    def on_fit_start(self, trainer) -> None:
        self.enabled = distributed.is_main()
        self._written_step = trainer.step
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "jsonl" and self.path.exists():
            self._cut_back(trainer.step)

    def _cut_back(self, step: int) -> None:
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash: after the checkpoint
                continue
            if record.get("model") != self.model_name or record.get("step", 0) <= step:
                kept.append(line)
        self.path.write_text("".join(k + "\n" for k in kept))

    def _line(self, kind: str, record: dict) -> str:
        row = {"model": self.model_name, "kind": kind, **record}
        if self.format == "jsonl":
            return json.dumps(row) + "\n"
        if self._columns is None:
            self._columns = list(row)
            if not self.path.exists() or self.path.stat().st_size == 0:
                return ",".join(self._columns) + "\n" + self._line(kind, record)
        return ",".join(str(row.get(c, "")) for c in self._columns) + "\n"

    def _take_steps(self, trainer) -> None:
        """Queue the step records made since the last write (the last ones of the history)."""
        if not (self.enabled and self.steps and self.format == "jsonl"):
            return
        steps = trainer.history.steps
        first = len(steps)
        while first > 0 and steps[first - 1]["step"] > self._written_step:
            first -= 1
        self._pending.extend(self._line("step", record) for record in steps[first:])
        self._written_step = trainer.step

    def on_epoch_end(self, trainer, record: dict) -> None:
        if self.enabled:
            self._take_steps(trainer)
            self._pending.append(self._line("epoch", record))
            self.flush()

    def on_fit_end(self, trainer) -> None:
        self._take_steps(trainer)  # the steps of an interrupted epoch
        self.flush()

    def flush(self) -> None:
        """Append the buffered lines (one write per epoch, not per step)."""
        if self._pending:
            with self.path.open("a") as f:
                f.write("".join(self._pending))
            self._pending = []


class TensorBoardLogger(Callback):
    """Writes epoch scalars for TensorBoard (install the `tensorboard` extra)."""

    def __init__(self, log_dir: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "TensorBoard logging needs: pip install 'dllab[tensorboard]'"
            ) from None
        self.writer = SummaryWriter(str(log_dir))

    def on_epoch_end(self, trainer, record: dict) -> None:
        for key, value in record.items():
            if isinstance(value, int | float) and key not in ("epoch", "step"):
                self.writer.add_scalar(key, value, record["epoch"])

    def on_fit_end(self, trainer) -> None:
        self.writer.close()


class GradientNormMonitor(Callback):
    """Per-layer gradient L2 norms, recorded into the history every `every_steps` steps
    (default: the last step of each epoch) — vanishing and exploding gradients made visible.

    Adds `grad_norm/<parameter name>` entries to the step or epoch record; runs before the
    loggers so that they write them.
    """

    order = -20

    def __init__(self, every_steps: int | None = None, weights_only: bool = True):
        self.every_steps = every_steps
        self.weights_only = weights_only

    def norms(self, model: torch.nn.Module) -> dict[str, float]:
        named = [
            (name, p.grad)
            for name, p in model.named_parameters()
            if p.grad is not None and (not self.weights_only or p.dim() > 1)
        ]
        if not named:
            return {}
        values = torch.stack([g.norm() for _, g in named]).tolist()
        return {f"grad_norm/{name}": v for (name, _), v in zip(named, values)}

    def on_step_end(self, trainer, record: dict) -> None:
        if self.every_steps and record["step"] % self.every_steps == 0:
            record.update(self.norms(trainer.model))

    def on_epoch_end(self, trainer, record: dict) -> None:
        if not self.every_steps:
            record.update(self.norms(trainer.model))
