"""Random states and exact resume: `seed_everything`, the training state a checkpoint holds
beside the weights, and the data order.

A run stopped at any step (Ctrl-C, a crash after the last checkpoint) and resumed from its
checkpoint ends bit-identical to an uninterrupted run: the checkpoint holds the counters, the
optimizers and schedules, every stateful callback, the task's own state, the history, and the
random states, including the data order's at the start of the epoch in progress, so that a
resumed epoch replays its permutation and skips the batches already done.
"""

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from dllab.engine.checkpoint import load_checkpoint, load_weights
from dllab.engine.history import History
from dllab.engine.live import LivePlot
from dllab.engine.progress import ProgressBar
from dllab.errors import CheckpointError

CHECKPOINT_FORMAT = 1


class DataOrder:
    """The generator that shuffles the batches, its state when the epoch in progress began, and
    how many of that epoch's batches are done."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start: torch.Tensor | None = None
        self.batches_done = 0

    def epoch(self, batches) -> Iterator[tuple[torch.Tensor, ...]]:
        """This epoch's batches not done yet: a new epoch draws its order, a resumed one
        replays it and skips the batches done."""
        if self.batches_done == 0:
            self.epoch_start = self.generator.get_state()
        else:
            self.generator.set_state(self.epoch_start)
        return batches.epoch(skip=self.batches_done)


def training_state(trainer) -> dict:
    """Everything but the weights, as tensors and plain values."""
    trainer.log.read()
    rng = {"torch": torch.get_rng_state(), "data": trainer.order.generator.get_state()}
    if trainer.order.epoch_start is not None:
        rng["epoch_start"] = trainer.order.epoch_start
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "format": CHECKPOINT_FORMAT,
        "name": trainer.name,
        "config": trainer.config,
        "epoch": trainer.epoch,
        "step": trainer.step,
        "batch_in_epoch": trainer.order.batches_done,
        "epoch_sums": dict(trainer.log.sums),
        "train_time": trainer.train_time,
        "optimizers": {k: o.state_dict() for k, o in trainer.optimizers.items()},
        "optimizer_classes": {k: type(o).__name__ for k, o in trainer.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in trainer.schedulers.items()},
        "callbacks": {key: c.state_dict() for key, c in stateful(trainer.callbacks)},
        "rng": rng,
        "task": trainer.task.state_dict(),
        "history": {"epochs": trainer.history.epochs, "steps": trainer.history.steps},
    }


def stateful(callbacks: list) -> list[tuple[str, object]]:
    """(key, callback), numbered without the displays (progress bar, live plot), which only
    some fits (and ranks) have."""
    kept = (c for c in callbacks if not isinstance(c, ProgressBar | LivePlot))
    return [(f"{i}:{type(c).__name__}", c) for i, c in enumerate(kept)]


def restore(trainer, folder: str | Path, tag: str, restore_rng: bool) -> None:
    """Load the checkpoint in `folder` into `trainer` (see `Trainer.load`)."""
    weights, state = load_checkpoint(Path(folder), tag)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{folder}: not a dllab checkpoint (format {state.get('format')})")
    check_optimizers(trainer.optimizers, folder, state)
    load_weights(trainer.model, weights)
    try:
        for key, opt in trainer.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        for key, scheduler in trainer.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][key])
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{folder}: optimizer state does not fit: {error}") from None
    for key, callback in stateful(trainer.callbacks):
        saved = state["callbacks"].get(key)
        if saved is not None:
            callback.load_state_dict(saved)
    trainer.epoch, trainer.step = state["epoch"], state["step"]
    trainer.order.batches_done = state["batch_in_epoch"]
    trainer.log.sums = _epoch_sums(state["epoch_sums"])
    trainer.train_time = state["train_time"]
    trainer.log.history = History(list(state["history"]["epochs"]), list(state["history"]["steps"]))
    if restore_rng:
        _restore_rng(trainer, state)


def _epoch_sums(saved: dict) -> dict[str, tuple[float, int]]:
    """The running epoch's (Σ value·n, Σ n) per key; a checkpoint written before each key
    counted its own samples holds Σ value·n per key and one "_count" for all."""
    if "_count" not in saved:
        return {key: tuple(pair) for key, pair in saved.items()}
    count = saved["_count"]
    return {key: (total, count) for key, total in saved.items() if key != "_count"}


def _restore_rng(trainer, state: dict) -> None:
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    trainer.order.generator.set_state(rng["data"])
    trainer.order.epoch_start = rng.get("epoch_start")
    trainer.task.load_state_dict(state.get("task", {}))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def check_optimizers(optimizers: dict, folder: str | Path, state: dict) -> None:
    """Refuse a checkpoint of other optimizers before anything is loaded: torch would take
    Adam's state into SGD and fail at the next step (KeyError: 'momentum')."""
    classes = state.get("optimizer_classes", {})  # absent in checkpoints before 2026-12
    for key, opt in optimizers.items():
        saved = state.get("optimizers", {}).get(key)
        ours = type(opt).__name__
        theirs = classes.get(key)
        if theirs is None and saved is not None:  # the settings each optimizer keeps
            groups = saved.get("param_groups") or [{}]
            same = set(groups[0]) == set(opt.state_dict()["param_groups"][0])
            theirs = ours if same else "another optimizer"
        if saved is None or theirs != ours:
            what = "" if key == "main" else f" {key!r}"
            raise CheckpointError(
                f"{folder}: the checkpoint's optimizer{what} is {theirs or 'missing'}, this "
                f"Trainer's is {ours}; build the Trainer with the same optimizer to load it"
            )


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (initialisation of models built after this call)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
