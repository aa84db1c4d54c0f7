"""`dllab tour`: the showcase experiments of every unit in turn, then one page over all of them.

One experiment failing is recorded on the page and in the summary; the others still run.
"""

import sys
import time
from datetime import datetime
from pathlib import Path

from dllab.errors import ConfigError
from dllab.experiments.registry import get_experiment
from dllab.experiments.runner import run_experiment

# One showcase experiment per topic group; units add theirs as they land.
SHOWCASE = (
    "perceptron-xor",
    "backprop",
    "optimizers",
    "capacity",
    "activations",
    "digits-mlp",
    "mnist1d-mlp",
)


def run_tour(
    quick: bool = True,
    out: str | None = None,
    device: str = "auto",
    quiet: bool = False,
    names: tuple[str, ...] = SHOWCASE,
) -> Path:
    """Run each showcase experiment into `out`/<name>/ and write `out`/index.html."""
    from dllab.report import render_index

    for name in names:
        get_experiment(name)  # unknown names fail before anything runs
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(out) if out else Path("runs") / f"tour-{stamp}"
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"tour folder {root} already holds files; choose another --out")
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    folders = []
    for i, name in enumerate(names, 1):
        elapsed = time.perf_counter() - started
        eta = "" if i == 1 else f", about {elapsed / (i - 1) * (len(names) - i + 1):.0f} s left"
        print(f"[{i}/{len(names)}] {name} ({elapsed:.0f} s so far{eta})", file=sys.stderr)
        folder = root / name
        folders.append(folder)
        try:
            run_experiment(name, quick=quick, out=str(folder), device=device, quiet=quiet)
        except Exception as error:  # recorded in the run's config.json and shown on the page
            print(f"  {name} failed: {error}", file=sys.stderr)
    return render_index(folders, root / "index.html", title="dllab tour")
