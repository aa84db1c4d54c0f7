"""Shared test set-up: one torch thread (small models; no contention with other processes),
the Agg backend, a per-session cache folder for generated datasets (MNIST-1D), each
experiment's quick run made once per session for every test that reads it, and the notebooks'
runs, started in the background with the session (tests/notebook_runs.py)."""

import json
import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory):
    """Datasets built during the tests are cached in a temporary folder, not ~/.cache."""
    folder = tmp_path_factory.mktemp("dllab-cache")
    previous = os.environ.get("DLLAB_CACHE")
    os.environ["DLLAB_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("DLLAB_CACHE", None)
    else:
        os.environ["DLLAB_CACHE"] = previous


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory):
    """`quick_runs(name, *overrides) -> (run folder, metrics)`: the experiment's quick config
    (with `--set` overrides), run on first use and shared by every test module after that."""
    from dllab.experiments import run_experiment

    done = {}

    def get(name: str, *overrides: str) -> tuple:
        if (name, overrides) not in done:
            out = tmp_path_factory.mktemp(name)
            folder = run_experiment(name, quick=True, overrides=overrides, out=str(out), quiet=True)
            done[name, overrides] = folder, json.loads((folder / "metrics.json").read_text())
        return done[name, overrides]

    return get


# What `make test-fast` leaves out (`pytest -m "not slow"`): every test that runs an experiment
# (through the shared quick runs), starts other processes (the CLI as a subprocess, torchrun,
# the browser, child processes that grade exercises) or trains for seconds. `make test` runs all.
SLOW_FIXTURES = {"quick_runs"}
SLOW_MODULES = {
    "test_browser",
    "test_distributed",
    "test_reliability",
    "test_experiments",
    "test_walkthroughs",
    "test_bench",
    "test_readme",
    "test_lessons",
    "test_bad_input",
    "test_web_live",
    "test_notebooks",
}


def _mark_slow(items) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# ---- the notebooks: run beside the rest of the suite, their tests last ----

NOTEBOOK_RUNS = pytest.StashKey()


def _waits_for_notebooks(item) -> bool:
    return "notebook_runs" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """Mark the slow tests; the tests that wait for the notebooks' runs go last, so the rest of
    the suite runs meanwhile."""
    _mark_slow(items)
    waiting = [item for item in items if _waits_for_notebooks(item)]
    items[:] = [item for item in items if not _waits_for_notebooks(item)] + waiting


def pytest_runtestloop(session):
    """Start the chosen notebooks' runs before the first test: one at a time on the core the
    rest of the suite leaves free, two at a time when nothing else was chosen."""
    if session.config.option.collectonly:
        return None
    names = [item.callspec.params["name"] for item in session.items if _waits_for_notebooks(item)]
    if names:
        from notebook_runs import NotebookRuns

        workers = 2 if len(names) == len(session.items) else 1
        session.config.stash[NOTEBOOK_RUNS] = NotebookRuns(list(dict.fromkeys(names)), workers)
    return None


@pytest.fixture(scope="session")
def notebook_runs(request):
    """The notebooks' runs, started by `pytest_runtestloop`."""
    return request.config.stash[NOTEBOOK_RUNS]


def pytest_terminal_summary(terminalreporter, config):
    runs = config.stash.get(NOTEBOOK_RUNS, None)
    if runs is not None and runs.summary():
        terminalreporter.write_line(runs.summary())


def pytest_unconfigure(config):
    runs = config.stash.get(NOTEBOOK_RUNS, None)
    if runs is not None:
        runs.close()
