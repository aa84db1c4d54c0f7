"""Several runs of one experiment in one figure: their training curves overlaid, read from
each run's history records (`overlaid_runs`), so that a change of a setting or of the seed shows
as one curve beside another."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dllab.report.plots.curves import loss_curves


def overlaid_runs(
    histories: Mapping[str, Sequence[dict]],
    path: str | os.PathLike,
    title: str,
    metrics: Sequence[str] = ("loss",),
    x: str = "epoch",
) -> Path:
    """One subplot per metric, one colour per run (per run and model when a run trains several
    models): solid training lines, dashed val_ lines, as `loss_curves` draws one run.

    Args:
        histories: a label for each run (its folder, its seed...) -> its history records.
    """

    records = []
    for label, history in histories.items():
        history = [r for r in history if isinstance(r, dict)]
        models = {str(r.get("model", "run")) for r in history}
        for record in history:
            model = str(record.get("model", "run"))
            records.append({**record, "model": label if len(models) == 1 else f"{label} {model}"})
    return loss_curves(records, path, title, metrics, x=x)
