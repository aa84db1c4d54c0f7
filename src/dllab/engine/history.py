"""What training logs: the History of epoch and step records, and the StepLog that fills it.

A step's logged numbers (loss, metrics, clipping's gradient norm) stay tensors until the end of
the epoch, when one `torch.stack(...).tolist()` reads them all: one GPU sync an epoch instead of
one a step (`.item()`). A callback with an `on_step_end` hook needs each record as it comes, and
under torchrun every rank must join the same all-reduces: then each step is read at once.
"""

from dataclasses import dataclass, field

import torch

from dllab.engine import distributed
from dllab.engine.optim import learning_rates

STEP_ONLY = ("grad_norm", "clip_factor")  # per-step logs (also `_<optimizer>`) kept out of means
TIME_DECIMALS = 4  # an epoch record's clocks are in seconds, rounded to 0.1 ms


@dataclass
class History:
    """Per-epoch and per-step records; `history.history["loss"]` as in Keras."""

    epochs: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)

    @property
    def history(self) -> dict[str, list]:
        keys = dict.fromkeys(k for record in self.epochs for k in record)
        return {k: [record.get(k) for record in self.epochs] for k in keys}


class StepLog:
    """The steps' logged tensors, kept unread, then read into `history.steps` and summed (each
    value times its batch size) into the epoch's means. A number logged on only some steps (a
    lazy regulariser's, every k-th step) is averaged over the samples of those steps."""

    def __init__(self):
        self.history = History()
        self.sums: dict[str, tuple[float, int]] = {}  # this epoch's (Σ value·n, Σ n) per key
        self.clipping: dict[str, torch.Tensor] = {}  # the running step's gradient norms
        self.unread: list[tuple] = []  # (epoch, step, samples, rank's weight, logs) per step
        self.step_hooks: list = []
        self.read_every_step = False
        self.last_batch_size = 0  # samples of the last step's (global) batch

    def start(self, step_hooks: list) -> None:
        """A fit starts; `step_hooks(trainer, record)` want every step's record as it comes."""
        self.step_hooks = step_hooks
        self.read_every_step = bool(step_hooks) or distributed.is_distributed()
        self.clipping = {}

    def add(self, trainer, n: int, logs: dict[str, torch.Tensor]) -> None:
        """One step's logs, from a batch of `n` samples (over all ranks), detached so that no
        step's graph outlives it while its record waits to be read."""
        if self.clipping:
            logs, self.clipping = {**logs, **self.clipping}, {}
        logs = {k: v.detach() for k, v in logs.items()}
        self.last_batch_size = n
        weight = trainer.shards.rank_samples  # this rank's part of the n
        self.unread.append((trainer.epoch + 1, trainer.step, n, weight, logs))
        if self.read_every_step:
            self.read()
            for hook in self.step_hooks:
                hook(trainer, self.history.steps[-1])

    def read(self) -> None:
        """The unread steps -> records and sums, in one read (under torchrun one all-reduce of
        the shards' means, each weighted by its shard's size)."""
        if not self.unread:
            return
        unread, self.unread = self.unread, []
        values = torch.stack([v for *_, logs in unread for v in logs.values()])  # promoted
        if distributed.is_distributed():
            weights = [w for *_, w, logs in unread for _ in logs]
            values = distributed.weighted_mean(values, values.new_tensor(weights))
        values = iter(values.tolist())
        sums, steps = self.sums, self.history.steps
        for epoch, step, n, _, logs in unread:
            record = {"epoch": epoch, "step": step}
            for key in logs:
                record[key] = value = next(values)
                if not key.startswith(STEP_ONLY):
                    total, samples = sums.get(key, (0.0, 0))
                    sums[key] = (total + value * n, samples + n)
            steps.append(record)

    def end_epoch(self, trainer) -> dict:
        """The finished epoch's record, kept in the history: counters, time, learning rates,
        the means of its steps' logs over its samples, and the validation numbers."""
        self.read()
        sums, self.sums = self.sums, {}
        record = {
            "epoch": trainer.epoch,
            "step": trainer.step,
            "time": round(trainer.train_time, TIME_DECIMALS),
        }
        means = {key: total / samples for key, (total, samples) in sums.items()}
        record |= {**learning_rates(trainer.optimizers), **means}
        if trainer.compile_time is not None and trainer.epoch == 1:
            record["compile_time"] = round(trainer.compile_time, TIME_DECIMALS)
        if trainer.val_data is not None:
            record |= {f"val_{k}": v for k, v in trainer.evaluate(trainer.val_data).items()}
        self.history.epochs.append(record)
        return record
