"""The child process of a check run (see `dllab.exercises.runner`): its output goes to a log
file, its address space is capped at what it holds plus `memory_mb`, then it loads the student's
file (or takes the functions a forked child inherited), runs the checks it is given and reports
each over `conn`: ("ready",) | ("load_error", message) | ("missing", names), then
("start", i) and ("done", i, CheckOutcome) per check.

The forkserver preloads this module and the unit modules (numpy, torch, the exercises), so every
child starts warm.
"""

import faulthandler
import os
import sys

import torch
from threadpoolctl import threadpool_limits

from dllab.exercises.checking import run_check
from dllab.exercises.core import get_exercise
from dllab.exercises.submission import LoadError, Submission, load_file


def address_space_bytes() -> int | None:
    """This process's current virtual memory size, from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def limit_memory(memory_mb: int) -> None:
    """Cap the address space at its current size plus `memory_mb` (RLIMIT_AS): a larger
    allocation raises MemoryError in the student's code instead of exhausting the machine."""
    import resource

    current = address_space_bytes()
    if current is None:
        return  # no /proc (macOS): no cap, where RLIMIT_AS is not enforced anyway
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = current + memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _quiet(log_path: str) -> None:
    """Send everything the student prints, and crash reports, to the log file."""
    log = open(log_path, "w", buffering=1)  # noqa: SIM115 (lives as long as the process)
    for fd in (1, 2):
        os.dup2(log.fileno(), fd)
    sys.stdout = sys.stderr = log
    faulthandler.enable(log)


def serve(conn, name: str, source, seed: int, indices: list[int], memory_mb: int, log_path: str):
    """Run checks `indices` of exercise `name` on `source` (a file path or a dict of functions)."""
    _quiet(log_path)
    torch.set_num_threads(1)
    threadpool_limits(1)
    exercise = get_exercise(name)
    limit_memory(memory_mb)
    if isinstance(source, dict):
        functions = source
    else:
        try:
            functions, missing = load_file(source, exercise)
        except LoadError as error:
            conn.send(("load_error", str(error)))
            return
        if missing:
            conn.send(("missing", missing))
            return
    conn.send(("ready",))
    submission = Submission(functions)
    for i in indices:
        conn.send(("start", i))
        conn.send(("done", i, run_check(exercise, exercise.checks[i], submission, seed)))
    conn.close()
