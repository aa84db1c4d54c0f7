"""The Python API, for notebooks and scripts: `run` an experiment exactly as `dllab run` does
(the same runner, folder and files) and get a `RunResult`; `load_run` reads a finished run's
folder into the same object.

    import dllab
    result = dllab.run("gan-2d", quick=True, seed=0, settings={"data.name": "grid25"})
    result.metrics["modes_captured"], result.claims, result.figures, result.history_frame()

In Jupyter a RunResult shows as its title, the lessons its metrics show or miss, its headline
metrics beside the published ones, and its figures; `print(result)` gives what the CLI prints.
"""

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dllab.errors import ConfigError


@dataclass(frozen=True)
class RunResult:
    """A run folder's saved files, read once: its `meta` (config.json: the experiment, its
    config, seed, claims...), `metrics` (metrics.json) and history.jsonl's `records`."""

    folder: Path
    meta: dict
    metrics: dict[str, float]
    records: list[dict]

    @property
    def experiment(self) -> str:
        return str(self.meta.get("experiment", ""))

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.experiment))

    @property
    def config(self) -> dict:
        """The experiment's settings as it ran (nested configs as dicts)."""
        return self.meta.get("config", {})

    @property
    def claims(self) -> list[dict]:
        """The experiment's lessons, `{"text", "holds"}` each: whether this run shows it."""
        return self.meta.get("claims", [])

    @property
    def history(self) -> list[dict]:
        """One record per epoch of every model the run trained (its name under "model")."""
        return [r for r in self.records if r.get("kind", "epoch") == "epoch"]

    @property
    def steps(self) -> list[dict]:
        """One record per optimizer step."""
        return [r for r in self.records if r.get("kind") == "step"]

    @property
    def figures(self) -> list[Path]:
        """The figure files: the training curves first, then the experiment's own."""
        return [self.folder / path for path in self._page().figures()]

    def history_frame(self, kind: str = "epoch"):
        """The history as a pandas DataFrame, one row per epoch (or per step: `kind="step"`).

        Raises:
            ImportError: when pandas is not installed, saying how to install it.
        """
        if kind not in ("epoch", "step"):
            raise ConfigError(f"kind must be 'epoch' or 'step', got {kind!r}")
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "history_frame() needs pandas: pip install pandas (or the notebooks extra: "
                "pip install 'dllab[notebooks]'); .history gives the same records as dicts"
            ) from None
        return pandas.DataFrame(self.history if kind == "epoch" else self.steps)

    def _page(self):
        from dllab.report.html import RunFolder

        return RunFolder(self.folder, self.meta, self.metrics, self.records, [])

    def __str__(self) -> str:
        from dllab.experiments.runner import summary_text

        return summary_text(self.folder, self.metrics, self.meta)

    def _repr_html_(self) -> str:
        from dllab.report.html import fragment

        return fragment(self._page())


def run(
    name: str,
    *,
    quick: bool = False,
    showcase: bool = False,
    seed: int | None = None,
    settings: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    quiet: bool = False,
    device: str = "auto",
    threads: int | None = None,
    resume: str | Path | None = None,
) -> RunResult:
    """Run experiment `name` as `dllab run` does and return its result.

    Args:
        quick: the seconds-long config (`--quick`; the lesson may not show yet).
        showcase: the tour's settings for this experiment (`--showcase`): about as fast, and
            the lesson shows. Neither: the full (default) config.
        seed: for initialisation, data order and dropout (default 0).
        settings: `{"lr": 0.01, "data.name": "ring8"}`, each turned into the `--set key=value`
            the CLI takes and checked the same way.
        out: the run folder (default runs/NAME-<timestamp>/); it must be new or empty.
        quiet: no progress display.
        threads: torch's CPU threads (`--threads`; default one).
        resume: continue the interrupted run in that folder, with its own settings and seed.

    Raises:
        ConfigError: an unknown experiment or setting, or a bad value (naming the key and the
            ones allowed), before any folder is made.
    """
    from dllab.engine.speed import set_threads
    from dllab.experiments.runner import RunInterrupted, run_experiment

    if quick and showcase:
        raise ConfigError(
            "quick and showcase exclude each other: showcase is the quick config "
            "with the tour's settings"
        )
    if threads is not None:
        set_threads(threads)
    try:
        folder = run_experiment(
            name,
            quick=quick,
            showcase=showcase,
            overrides=tuple(_assignment(key, value) for key, value in (settings or {}).items()),
            seed=seed,
            device=device,
            out=None if out is None else str(out),
            resume=None if resume is None else str(resume),
            quiet=quiet,
        )
    except RunInterrupted as stop:
        print(
            f"interrupted; continue with: dllab.run({name!r}, resume={str(stop.folder)!r})",
            file=sys.stderr,
        )
        raise
    return load_run(folder)


def _assignment(key: object, value: object) -> str:
    """`key=value` as `--set` takes it: `true`, `none`, `(8,16)`; strings as they are."""
    from dllab.config import value_text

    if not isinstance(key, str):
        raise ConfigError(f"a setting's key is its dotted name, like 'data.name'; got {key!r}")
    return f"{key}={value if isinstance(value, str) else value_text(value)}"


def load_run(folder: str | Path) -> RunResult:
    """The finished (or failed) run in `folder` as a RunResult.

    Raises:
        ConfigError: when `folder` is no run folder (it has no readable config.json).
    """
    from dllab.report.html import read_run

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder} is not a run folder (it has no config.json)")
    run = read_run(folder)
    if not run.config:
        raise ConfigError(f"{folder} is not a readable run folder: {'; '.join(run.notes)}")
    return RunResult(folder, run.config, run.metrics, run.history)
