"""Check one submission of one exercise in a child process with a time and a memory limit.

The child (`dllab.exercises._child`) reports each check as it starts and ends. Every check has a
wall-time limit (10 s for value checks, 60 s for those that train a network); a child that
overruns it is killed and the check fails as "did not finish". A child that dies — `os._exit`,
a segmentation fault, the kernel's out-of-memory killer — fails the check it was running with
the reason. Either way a fresh child takes the remaining checks, so one endless loop costs one
check's limit, and a whole exercise never takes longer than the sum of its checks' limits (plus
the import of the file). `sys.exit` and exceptions, MemoryError from the address-space cap
included, never kill the child: they fail their check with the traceback's last line.

A file is checked in a child forked from a forkserver that has imported the exercises once;
functions given as Python objects (`check(name, f, g)` in a notebook) are inherited by a child
forked from this process, so nothing needs to be pickled.

This isolates mistakes, not attacks: a child process with limits is not a security sandbox.
"""

import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dllab.errors import DllabError
from dllab.exercises.core import UNIT_MODULES, Exercise
from dllab.exercises.results import CheckOutcome, ExerciseResult

CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE, signal.SIGILL}


@dataclass(frozen=True)
class Limits:
    """What one child may use."""

    memory_mb: int = 1024  # address space beyond what the child holds after its imports
    time_scale: float = 1.0  # multiplies every check's time limit (> 1 on a slow machine)
    load_seconds: float = 10.0  # to import the student's file


DEFAULT_LIMITS = Limits()


class SubmissionError(DllabError):
    """The submission cannot be checked at all: the file lacks a function the stub names."""


Source = str | os.PathLike | dict[str, Callable]


def _context(source: Source):
    methods = multiprocessing.get_all_start_methods()
    if isinstance(source, dict):
        return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dllab.exercises._child", *UNIT_MODULES])
    return context


class _Child:
    """One child process and the reading end of its report pipe."""

    def __init__(self, context, exercise: Exercise, source, seed: int, todo, limits: Limits):
        from dllab.exercises import _child

        fd, self.log_path = tempfile.mkstemp(prefix="dllab-check-", suffix=".log")
        os.close(fd)
        self.conn, child_conn = context.Pipe(duplex=False)
        source = source if isinstance(source, dict) else str(source)
        args = (child_conn, exercise.name, source, seed, list(todo), limits.memory_mb)
        self.process = context.Process(
            target=_child.serve, args=(*args, self.log_path), daemon=True
        )
        self.process.start()
        child_conn.close()

    def receive(self, seconds: float):
        """The next report; "timeout" after `seconds`, "died" when the child is gone."""
        try:
            if not self.conn.poll(max(seconds, 0.0)):
                return ("timeout",)
            return self.conn.recv()
        except (EOFError, OSError):
            return ("died",)

    def death(self) -> str:
        """Why the child ended without reporting: its signal or exit code, and its last words."""
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            self.stop()
            return "the process stopped answering"
        if code < 0:
            sig = signal.Signals(-code)
            reason = f"the process was killed by {sig.name}"
            if sig in CRASH_SIGNALS:
                reason += " (a crash in native code)"
            elif sig == signal.SIGKILL:
                reason += " (out of memory?)"
        else:
            reason = f"the process exited with code {code} (os._exit?) instead of returning"
        last = self.last_words()
        return f"{reason}: {last}" if last else reason

    def last_words(self) -> str:
        try:
            lines = Path(self.log_path).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        fatal = [line for line in lines if line.startswith("Fatal Python error")]
        return (fatal or [""])[-1].strip()[:200]

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()
        Path(self.log_path).unlink(missing_ok=True)


def _failed(exercise: Exercise, i: int, message: str, seconds: float = 0.0) -> CheckOutcome:
    check = exercise.checks[i]
    return CheckOutcome(check.name, check.weight, False, message, (), seconds)


def run_exercise(
    exercise: Exercise, source: Source, seed: int = 0, limits: Limits = DEFAULT_LIMITS
) -> ExerciseResult:
    """Check `source` — a student's file, or their functions by name — in child processes.

    Raises:
        SubmissionError: the file does not define a function the exercise needs.
    """
    context = _context(source)
    outcomes: dict[int, CheckOutcome] = {}
    todo = list(range(len(exercise.checks)))
    while todo:
        child = _Child(context, exercise, source, seed, todo, limits)
        try:
            todo = _follow(child, exercise, todo, limits, outcomes)
        finally:
            child.stop()
    return ExerciseResult(exercise.name, exercise.title, [outcomes[i] for i in sorted(outcomes)])


def _follow(child: _Child, exercise: Exercise, todo: list[int], limits: Limits, outcomes) -> list:
    """Record the child's reports into `outcomes`; return the checks still to run."""
    report = child.receive(limits.load_seconds)
    if report[0] != "ready":
        if report[0] == "missing":
            names = ", ".join(report[1])
            raise SubmissionError(f"the file does not define {names} (see the exercise's stub)")
        if report[0] == "timeout":
            message = f"importing the file did not finish within {limits.load_seconds:g} s"
        elif report[0] == "died":
            message = f"importing the file ended the process: {child.death()}"
        else:
            message = report[-1]  # the import's error
        outcomes.update({i: _failed(exercise, i, message) for i in todo})
        return []
    for position, i in enumerate(todo):
        if child.receive(limits.load_seconds)[0] != "start":  # sent at once after the last
            outcomes.update({j: _failed(exercise, j, child.death()) for j in todo[position:]})
            return []
        limit = exercise.checks[i].time_limit * limits.time_scale
        started = time.perf_counter()
        report = child.receive(limit)
        seconds = time.perf_counter() - started
        if report[0] == "done":
            outcomes[i] = report[2]
            continue
        if report[0] == "timeout":
            message = f"did not finish within the time limit of {limit:g} s (an endless loop?)"
        else:
            message = child.death()
        outcomes[i] = _failed(exercise, i, message, seconds)
        return todo[position + 1 :]
    return []
