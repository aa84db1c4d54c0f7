"""The runs folder as the web lab sees it, and the queue that runs experiments as child processes.

A run is a folder with a config.json, made by the lab or by the CLI: the direct children of the
runs folder, and the runs inside a tour's folder (whose id is `TOUR~NAME`). Every run the lab
starts is `python -m dllab run NAME --out FOLDER ...` in its own process, so that the lab and
the CLI share one code path and a crashing run never takes the server down. The queue runs
them one at a time (or `workers` at once); Stop sends SIGINT, as Ctrl-C does, and the run saves
and can be resumed.

A run whose config.json still says "running" while no process runs it (the server or the run
was killed) is shown as interrupted, and can be resumed.
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
FINAL = ("ok", "failed")  # statuses a run keeps; "interrupted" can be resumed
NESTED = "~"  # joins a tour folder and a run inside it into one id


@dataclass
class Job:
    """One child process the queue runs (or will run)."""

    id: str
    folder: Path
    argv: list[str]
    state: str = "queued"  # queued, running, done, cancelled
    process: subprocess.Popen | None = None
    returncode: int | None = None
    stderr: str = ""  # its last lines: what went wrong when it ended before writing its folder
    stop_requested: bool = False


@dataclass
class RunInfo:
    """What the pages show about one run folder."""

    id: str
    folder: Path
    config: dict
    status: str  # as saved, except: queued, or interrupted for a dead "running" run
    metrics: dict = field(default_factory=dict)

    @property
    def experiment(self) -> str:
        return str(self.config.get("experiment") or "")

    @property
    def title(self) -> str:
        return str(self.config.get("title") or self.experiment or self.id)

    @property
    def mode(self) -> str:
        if not self.config:
            return ""
        return "quick" if self.config.get("quick") else "full"

    @property
    def started(self) -> str:
        return str(self.config.get("started") or "")

    @property
    def resumable(self) -> bool:
        return self.status in ("interrupted", "failed") and bool(self.config.get("experiment"))

    def headline(self) -> list[tuple[str, object]]:
        """The experiment's headline metrics (or its first metric) with their values."""
        names = self.config.get("headline") or []
        names = [names] if isinstance(names, str) else names
        chosen = [n for n in names if n in self.metrics] or list(self.metrics)[:1]
        return [(name, self.metrics[name]) for name in chosen]


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def child_argv(
    folder: Path,
    name: str,
    mode: str,
    seed: int,
    overrides: list[str],
    checkpoint_interval_s: float,
) -> list[str]:
    """The command that runs experiment `name` into `folder`: the CLI's own."""
    flags = {"quick": ["--quick"], "showcase": ["--showcase"], "full": []}[mode]
    sets = [item for o in overrides for item in ("--set", o)]
    into = ["--out", str(folder), "--quiet", "--seed", str(seed)]
    return [*_run_command(name, checkpoint_interval_s), *into, *flags, *sets]


def resume_argv(folder: Path, name: str, checkpoint_interval_s: float) -> list[str]:
    """The command that continues the interrupted run of experiment `name` in `folder`."""
    return [*_run_command(name, checkpoint_interval_s), "--resume", str(folder), "--quiet"]


def _run_command(name: str, checkpoint_interval_s: float) -> list[str]:
    every = ["--checkpoint-interval", f"{checkpoint_interval_s:g}"]
    return [sys.executable, "-m", "dllab", "run", name, *every]


def processes_running(folder: Path) -> bool:
    """Whether a `dllab run` process on this machine writes `folder` (one the CLI started, or an
    earlier server): its command line names the folder. False where /proc is not there."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    target = str(folder.resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if "run" not in words or not any("dllab" in w for w in words):
            continue
        for flag in ("--out", "--resume"):
            if flag in words[:-1]:
                given = Path(words[words.index(flag) + 1])
                if str((cwd / given).resolve()) == target:
                    return True
    return False


class RunQueue:
    """Child processes of `dllab run`, `workers` at a time, in the order they were asked for."""

    def __init__(self, workers: int = 1):
        self.jobs: dict[str, Job] = {}
        self._waiting: deque[Job] = deque()
        self._lock = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"dllab-run-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            self._waiting.append(job)
            self._lock.notify()
        return job

    def position(self, run_id: str) -> int | None:
        """1 for the next run to start, None when not waiting."""
        with self._lock:
            ids = [job.id for job in self._waiting]
        return ids.index(run_id) + 1 if run_id in ids else None

    def active(self, run_id: str) -> Job | None:
        """The queued or running job of `run_id`, if any."""
        job = self.jobs.get(run_id)
        return job if job is not None and job.state in ("queued", "running") else None

    def stop(self, run_id: str) -> bool:
        """Cancel a waiting run (its empty folder goes) or send SIGINT to a running one, which
        saves its checkpoints and ends "interrupted". False when it is neither."""
        with self._lock:
            job = self.jobs.get(run_id)
            if job is None:
                return False
            if job.state == "queued":
                self._waiting.remove(job)
                job.state = "cancelled"
                if job.folder.is_dir() and not any(job.folder.iterdir()):
                    job.folder.rmdir()
                return True
            if job.state != "running" or job.process is None:
                return False
            job.stop_requested = True
            job.process.send_signal(signal.SIGINT)
            return True

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._waiting.popleft()
                job.state = "running"
                job.process = subprocess.Popen(
                    job.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # Ctrl-C on the server reaches it through close()
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            _, err = job.process.communicate()
            job.stderr = err.decode(errors="replace")[-4000:]
            job.returncode = job.process.returncode
            job.state = "done"

    def close(self, timeout: float = 30.0) -> None:
        """Drop the waiting runs, and stop the running ones as Ctrl-C would: they save."""
        with self._lock:
            self._closed = True
            for job in self._waiting:
                job.state = "cancelled"
                if job.folder.is_dir() and not any(job.folder.iterdir()):
                    job.folder.rmdir()
            self._waiting.clear()
            running = [j for j in self.jobs.values() if j.state == "running" and j.process]
            self._lock.notify_all()
        for job in running:
            job.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for job in running:
            try:
                job.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                job.process.kill()


class RunStore:
    """The run folders under `root`, read from their files (cached by modification time)."""

    def __init__(self, root: Path, queue: RunQueue):
        self.root, self.queue = root, queue
        self._cache: dict[Path, tuple[float, dict]] = {}

    def folders(self) -> dict[str, Path]:
        """Every run by id: folders with a config.json (or a job of the queue), and the runs in
        a tour's folder. Hidden folders and symlinks are not runs."""
        found: dict[str, Path] = {}
        for child in sorted(self._children(self.root)):
            if (child / "config.json").is_file() or child.name in self.queue.jobs:
                found[child.name] = child
                continue
            for inner in sorted(self._children(child)):
                if (inner / "config.json").is_file():
                    found.setdefault(f"{child.name}{NESTED}{inner.name}", inner)
        return found

    @staticmethod
    def _children(folder: Path) -> list[Path]:
        try:
            entries = list(folder.iterdir())
        except OSError:
            return []
        return [
            p for p in entries if not p.name.startswith(".") and p.is_dir() and not p.is_symlink()
        ]

    def folder(self, run_id: str) -> Path | None:
        """The folder of run `run_id`: only ids that `folders` lists (or the queue's jobs)."""
        if run_id in self.queue.jobs:
            return self.queue.jobs[run_id].folder
        return self.folders().get(run_id)

    def read(self, path: Path) -> dict:
        """A JSON file's object ({} when missing or corrupt), re-read when it changed."""
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return {}
        cached = self._cache.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, _read_json(path))
            self._cache[path] = cached
        return cached[1]

    def info(self, run_id: str) -> RunInfo | None:
        folder = self.folder(run_id)
        if folder is None:
            return None
        config = self.read(folder / "config.json")
        metrics = self.read(folder / "metrics.json")
        return RunInfo(run_id, folder, config, self.status(run_id, config), metrics)

    def status(self, run_id: str, config: dict) -> str:
        """The saved status, except: "queued" while waiting, "starting" before the child wrote
        its config.json, "interrupted" for a "running" run that no process runs any more."""
        job = self.queue.active(run_id)
        if job is not None and job.state == "queued":
            return "queued"
        saved = str(config.get("status") or "")
        if job is not None:  # ours, running
            return saved or "starting"
        job = self.queue.jobs.get(run_id)
        if not saved:
            return "failed" if job is not None else "unknown"
        if saved == "running" and not processes_running(self.folder(run_id) or Path()):
            return "interrupted"
        return saved

    def all(self) -> list[RunInfo]:
        """Every run, the newest first."""
        runs = [self.info(run_id) for run_id in self.folders()]
        runs = [run for run in runs if run is not None]
        return sorted(runs, key=lambda r: (r.started or "9999", r.id), reverse=True)

    def new_folder(self, name: str, wanted: str = "") -> Path:
        """A fresh folder for a run of experiment `name`: `wanted`, else NAME-<timestamp>."""
        if wanted:
            folder = self.root / wanted
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            folder, n = self.root / f"{name}-{stamp}", 1
            while folder.exists() or folder.name in self.queue.jobs:
                n += 1
                folder = self.root / f"{name}-{stamp}-{n}"
        folder.mkdir(parents=True)
        return folder

    def durations(self) -> dict[tuple[str, bool], float]:
        """(experiment, quick) -> the median duration in seconds of its finished runs here."""
        seconds: dict[tuple[str, bool], list[float]] = {}
        for run in self.all():
            d = run.config.get("duration_s")
            if run.status == "ok" and type(d) in (int, float):
                seconds.setdefault((run.experiment, bool(run.config.get("quick"))), []).append(d)
        return {key: statistics.median(values) for key, values in seconds.items()}

    def expected_seconds(self, run: RunInfo) -> float | None:
        """How long `run` should take: the median of the finished runs of its experiment with
        the same config and quick flag; None when there are none."""
        same = [
            other.config["duration_s"]
            for other in self.all()
            if other.id != run.id
            and other.status == "ok"
            and other.experiment == run.experiment
            and other.config.get("config") == run.config.get("config")
            and type(other.config.get("duration_s")) in (int, float)
        ]
        return statistics.median(same) if same else None
