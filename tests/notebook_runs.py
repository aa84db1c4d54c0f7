"""Executing the notebooks for the tests: each top to bottom in a fresh kernel (nbclient), in quick
mode as committed, in a folder of its own; a cell that raises fails the run.

The runs start in the background when the test session starts (see conftest.py), one at a
time beside the rest of the suite, whose torch runs on one thread and leaves the second core
free; two at a time when only the notebook tests were chosen. The tests then wait for them.
"""

import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
CELL_TIMEOUT_S = 900  # a limit for a hung kernel, not a speed requirement


@dataclass
class Executed:
    name: str
    notebook: object | None  # the executed nbformat notebook, None when a cell failed
    error: str  # nbclient's message for the failing cell ("" when none failed)
    seconds: float
    ended: float  # time.perf_counter() when it ended


def execute(name: str, cache: str) -> Executed:
    """Run notebooks/NAME.ipynb in a new kernel with DLLAB_CACHE=`cache`, in a new folder."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"dllab-notebook-{name}-") as folder:
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        )
        try:
            client.execute(env={**os.environ, "DLLAB_CACHE": cache})
        except CellExecutionError as error:
            notebook, message = None, str(error)
        else:
            message = ""
    ended = time.perf_counter()
    return Executed(name, notebook, message, ended - started, ended)


class NotebookRuns:
    """The six notebooks' runs, started at once and awaited one by one."""

    def __init__(self, names: list[str], workers: int):
        self.cache = tempfile.TemporaryDirectory(prefix="dllab-notebook-cache-")
        self.started = time.perf_counter()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notebook")
        self.workers = workers
        self.futures: dict[str, Future] = {
            name: self.pool.submit(execute, name, self.cache.name) for name in names
        }

    def result(self, name: str) -> Executed:
        return self.futures[name].result()

    def summary(self) -> str:
        """Each finished run's seconds and the wall time of all of them."""
        done = [f.result() for f in self.futures.values() if f.done() and not f.exception()]
        if not done:
            return ""
        each = ", ".join(f"{run.name} {run.seconds:.0f} s" for run in done)
        wall = max(run.ended for run in done) - self.started
        return (
            f"notebooks ({self.workers} at a time, beside the rest of the suite when it ran): "
            f"{each}; {sum(run.seconds for run in done):.0f} s in all, the last ended "
            f"{wall:.0f} s after the first started"
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.cache.cleanup()
