"""Running one experiment into its folder: config.json, history.jsonl, checkpoints, figures,
metrics.json and report.html. Nothing already written is overwritten by a failing run.

Under torchrun every rank runs the experiment (its trainers share the work through DDP), and
only rank 0 writes the folder; the other ranks draw their figures into a scratch folder.
"""

import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dllab import __version__
from dllab.atomic import write_json
from dllab.config import apply_overrides, from_dict, to_dict
from dllab.engine import (
    HistoryLogger,
    ModelCheckpoint,
    Trainer,
    distributed,
    resolve_device,
    seed_everything,
)
from dllab.engine.checkpoint import has_checkpoint
from dllab.errors import CheckpointError, ConfigError, DataError, DllabError
from dllab.experiments.registry import Experiment
from dllab.models import create_model

HISTORY_FILE = "history.jsonl"
BAD_INPUT = (ConfigError, DataError, CheckpointError)
CHECKPOINT_INTERVAL_S = 10.0  # default least seconds between two `last` checkpoints of a model


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after its checkpoints were saved; names the folder to resume."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.folder = folder


def derive_seed(seed: int, name: str) -> int:
    """A seed for one named part of a run, independent of the order parts are built in."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@dataclass
class Run:
    """What an experiment function receives: its folder, device and seed, and helpers to build,
    train and draw so that every model is seeded, logged, checkpointed and resumable."""

    folder: Path
    device: torch.device
    seed: int
    quiet: bool = False
    resume: bool = False
    checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S  # least time between two `last` saves
    config: dict | None = None  # the experiment's config, saved in every checkpoint
    speed: dict = field(default_factory=dict)  # Trainer speed options for every model (compile...)
    losses: dict = field(default_factory=dict)  # model name -> its named loss, for the report

    def figure(self, name: str, suffix: str = ".png") -> Path:
        """The path for figure `name` in the run's figures/ folder (rank 0), or in a scratch
        folder on the other ranks of a torchrun."""
        scratch = Path(tempfile.gettempdir()) / f"dllab-rank{distributed.rank()}"
        path = (self.folder if distributed.is_main() else scratch) / "figures" / f"{name}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def model(self, name: str, model_name: str, **kwargs) -> nn.Module:
        """`create_model(model_name, **kwargs)`, initialised from a seed derived from the run's
        seed and `name`: the same whichever models the experiment built before it."""
        seed_everything(derive_seed(self.seed, name))
        return create_model(model_name, **kwargs)

    def trainer(self, name: str, model: nn.Module, checkpoint: bool = True, **kwargs) -> Trainer:
        """A Trainer for `model` that logs to history.jsonl and checkpoints under checkpoints/name.

        Keyword arguments go to `Trainer` (optimizer, loss, metrics, lr, schedule, callbacks...),
        over the run's speed options (`dllab run --compile --amp bf16 --channels-last`).
        """
        callbacks = [*kwargs.pop("callbacks", []), HistoryLogger(self.folder / HISTORY_FILE, name)]
        if checkpoint:
            interval = self.checkpoint_interval_s
            callbacks.append(ModelCheckpoint(self.checkpoints(name), min_interval_s=interval))
        trainer = Trainer(
            model,
            device=self.device,
            seed=derive_seed(self.seed, name),
            quiet=self.quiet,
            name=name,
            config=self.config,
            callbacks=callbacks,
            **{**self.speed, **kwargs},
        )
        self.losses[name] = getattr(trainer.task, "loss_name", None)
        return trainer

    def checkpoints(self, name: str) -> Path:
        return self.folder / "checkpoints" / name

    def fit(self, trainer: Trainer, *args, **kwargs):
        """`trainer.fit(...)`, continuing from the model's checkpoint when resuming the run."""
        folder = self.checkpoints(trainer.name)
        if self.resume and has_checkpoint(folder):
            kwargs["resume"] = folder
        return trainer.fit(*args, **kwargs)


def new_run_folder(name: str, out: str | None) -> Path:
    """`out`, or runs/NAME-<timestamp>; refuses a folder that already holds files."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = Path("runs") / f"{name}-{stamp}"
        n = 1
        while folder.exists():
            n += 1
            folder = Path("runs") / f"{name}-{stamp}-{n}"
    else:
        folder = Path(out)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigError(
                f"output folder {folder} already holds files; choose another --out (or --resume it)"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write to output folder {folder}: {error.strerror}") from None
    return folder


def check_metrics(name: str, metrics: Any) -> dict[str, float]:
    """Metrics are one flat object of finite scalars (NaN would not survive JSON)."""
    if not isinstance(metrics, dict):
        raise TypeError(f"experiment {name!r} returned {type(metrics).__name__}, not a dict")
    clean = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor):
            value = value.item()
        if not isinstance(value, bool | int | float) or not math.isfinite(value):
            raise TypeError(f"experiment {name!r}: metric {key!r} is not a finite scalar: {value}")
        clean[key] = value
    return clean


def run_experiment(
    name: str,
    *,
    quick: bool = False,
    overrides: tuple[str, ...] = (),
    seed: int | None = None,
    device: str = "auto",
    out: str | None = None,
    resume: str | None = None,
    quiet: bool = False,
    checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
    keep_failed: bool = False,
    speed: dict | None = None,
    showcase: bool = False,
) -> Path:
    """Run experiment `name` with `seed` (default 0) and return its folder (see the module
    docstring for its files). `resume` continues the unfinished run in that folder with its own
    seed and config; its `duration_s` sums the time of every part. `showcase` runs the quick
    config with the tour's settings for this experiment (then `overrides`): seconds, and the
    lesson shows.

    A run's config.json says which of its experiment's claims its metrics show; a quick run
    that does not show them all says so on its page and on every figure.

    A fresh run that fails on bad input (a ConfigError, DataError or CheckpointError raised
    inside the experiment) leaves no folder behind, unless `keep_failed` (the tour keeps it to
    show the failure). Resumed runs and other failures keep theirs, marked "failed".

    Raises:
        DllabError: bad input, found before anything is written where possible.
    """
    from dllab.experiments.catalog import get_experiment  # the units import this module

    exp = get_experiment(name)
    check_numbers(seed, checkpoint_interval_s)
    rank_device = distributed.init(device)
    if resume is not None:
        folder, meta, config = _resumable(exp, resume, overrides, seed=seed, out=out, quick=quick)
        seed, quick = meta["seed"], meta["quick"]
        meta["duration_s"] = _earlier_parts(folder, meta)
        meta.pop("error", None)  # an earlier part's
    else:
        seed = 0 if seed is None else seed
        quick = quick or showcase
        if showcase:
            config = exp.tour_config()
        else:
            config = exp.quick_config() if quick else exp.default_config()
        config = apply_overrides(config, list(overrides))
    run_device = rank_device or resolve_device(device)
    main = distributed.is_main()
    if resume is None:
        folder = distributed.broadcast_object(new_run_folder(name, out) if main else None)
        meta = _metadata(exp, config, quick, seed, run_device)
    meta["part_started"] = time.time()  # how long a killed part ran: until its last write
    if main:
        write_json(folder / "config.json", {**meta, "status": "running"})
    started = time.perf_counter()
    speed = speed or {}
    run = Run(
        folder,
        run_device,
        seed,
        quiet=quiet,
        resume=resume is not None,
        checkpoint_interval_s=checkpoint_interval_s,
        config=to_dict(config),
        speed=speed,
    )
    try:
        seed_everything(seed)
        metrics = check_metrics(name, exp.fn(config, run))
        meta["losses"] = run.losses
        meta["claims"] = exp.check_claims(metrics)
        meta["lesson"] = _lesson(exp, quick, meta["claims"], showcase)
    except KeyboardInterrupt:
        if main:
            _finish(folder, meta, started, "interrupted", "stopped by Ctrl-C")
        raise RunInterrupted(folder) from None
    except Exception as error:
        if not main:
            raise
        if isinstance(error, BAD_INPUT) and resume is None and not keep_failed:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        message = (
            str(error) if isinstance(error, DllabError) else f"{type(error).__name__}: {error}"
        )
        _finish(folder, meta, started, "failed", message)
        raise
    if main:
        write_json(folder / "metrics.json", metrics)
        _finish(folder, meta, started, "ok")
    distributed.barrier()  # the other ranks return once rank 0's files are written
    return folder


def summary_text(folder: Path, metrics: dict, meta: dict) -> str:
    """What `dllab run` prints when a run ends (and a `RunResult` prints as): the folder, every
    metric, each claim shown or missed, and the warning of a quick run that misses one."""
    lines = [f"{meta.get('experiment', folder.name)}: {folder}"]
    for key, value in metrics.items():
        lines.append(
            f"  {key:<36} {value:.4g}" if isinstance(value, float) else f"  {key:<36} {value}"
        )
    for claim in meta.get("claims", []):
        lines.append(f"  {'shows' if claim['holds'] else 'MISSES':<6} {claim['text']}")
    lesson = meta.get("lesson", {})
    if lesson.get("quick") and not lesson.get("shown"):
        lines.append(
            f"quick settings: not enough training to show the lesson; {lesson['advice']} does"
        )
    return "\n".join(lines)


def _metadata(exp: Experiment, config, quick: bool, seed: int, device: torch.device) -> dict:
    return {
        "experiment": exp.name,
        "unit": exp.unit,
        "title": exp.title,
        "topics": list(exp.topics),
        "description": exp.description,
        "quick": quick,
        "seed": seed,
        "device": str(device),
        "world_size": distributed.world_size(),
        "started": datetime.now().isoformat(timespec="seconds"),
        "dllab_version": __version__,
        "torch_version": torch.__version__,
        "config": to_dict(config),
        "references": {k: asdict(r) for k, r in exp.references.items()},
        "headline": list(exp.headline),
    }


def _lesson(exp: Experiment, quick: bool, claims: list[dict], showcase: bool) -> dict:
    """Whether the run shows its lesson (every claim holds), and the command that shows it
    when it does not: the tour's settings when the tour has them, else the full config."""
    shown = bool(claims) and all(claim["holds"] for claim in claims)
    if exp.tour is not None and not showcase:
        advice = f"dllab run {exp.name} --showcase"
    else:
        advice = f"dllab run {exp.name}"
    return {"shown": shown, "quick": quick, "advice": advice}


def check_numbers(seed: int | None, checkpoint_interval_s: float) -> None:
    """The run's numeric flags, before anything is written: a seed torch takes (64 bits), and
    a finite, non-negative checkpoint interval."""
    if seed is not None and (type(seed) is not int or not 0 <= seed < 2**64):
        raise ConfigError(f"--seed must be from 0 to 2**64 - 1, got {seed}")
    if not (math.isfinite(checkpoint_interval_s) and checkpoint_interval_s >= 0):
        raise ConfigError(
            f"--checkpoint-interval must be a finite number >= 0 (seconds), got "
            f"{checkpoint_interval_s}"
        )


def _finish(folder: Path, meta: dict, started: float, status: str, error: str = "") -> None:
    meta = {**meta, "status": status, "finished": datetime.now().isoformat(timespec="seconds")}
    earlier = meta.pop("duration_s", 0.0)  # the parts before this one, when resuming
    meta["duration_s"] = round(earlier + time.perf_counter() - started, 2)
    meta.pop("part_started", None)
    if error:
        meta["error"] = error
    write_json(folder / "config.json", meta)
    from dllab.report import render

    render(folder)


def _resumable(
    exp: Experiment,
    resume: str,
    overrides: tuple[str, ...],
    seed: int | None,
    out: str | None,
    quick: bool,
):
    """The folder, saved metadata and config of the unfinished run `resume` to continue.

    Raises:
        ConfigError: for flags that would change the run, a folder of another experiment or of
            a finished run, or one without a complete config.json.
    """
    folder = Path(resume)
    given = {"--set": bool(overrides), "--seed": seed is not None, "--out": out is not None}
    flags = [flag for flag, value in {**given, "--quick": quick}.items() if value]
    if flags:
        raise ConfigError(
            f"--resume continues a run with its saved config, seed and folder; drop {flags[0]}"
        )
    try:
        meta = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError(f"--resume {folder}: no readable config.json there") from None
    if not isinstance(meta, dict) or meta.get("experiment") != exp.name:
        what = meta.get("experiment") if isinstance(meta, dict) else None
        raise ConfigError(f"--resume {folder}: that folder is a run of {what!r}")
    if meta.get("status") == "ok":
        raise ConfigError(
            f"--resume {folder}: that run has finished (status ok); there is nothing to resume"
        )
    missing = [key for key in ("seed", "quick", "config") if key not in meta]
    if missing or not isinstance(meta["config"], dict):
        lacks = ", ".join(missing) or "a config object"
        raise ConfigError(f"--resume {folder}: the config.json there lacks {lacks}")
    check_numbers(meta["seed"], 0.0)
    return folder, meta, from_dict(exp.config, meta["config"])


def _earlier_parts(folder: Path, meta: dict) -> float:
    """Seconds the run's earlier parts took: the sum each wrote when it ended, plus, for a part
    killed before it could (its status still "running"), its start to the folder's last write."""
    seconds = meta.get("duration_s")
    seconds = seconds if type(seconds) in (int, float) else 0.0
    if meta.get("status") == "running" and "part_started" in meta:
        last_write = max(p.stat().st_mtime for p in folder.rglob("*") if p.is_file())
        seconds += max(0.0, last_write - meta["part_started"])
    return seconds
