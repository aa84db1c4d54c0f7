"""`make notebooks`: refresh each notebook source's exercise cells from the exercise registry, then
write its .ipynb (no outputs) from it with jupytext.

The sources are `notebooks/*.py` in jupytext's percent format. A cell whose header names an
exercise holds generated code, never written by hand:

    # %% exercise="dense-backward"      the exercise's stub: its imports and functions
    # %% check="dense-backward"         check("dense-backward", dense_forward, dense_backward)
    # %% reference="adam"               the same checks on the exercise's reference (passing)
    # %% setup="dllab"                  the first code cell of every notebook (SETUP below)

`python notebooks/build.py --check` writes nothing and exits 1 when a file is stale (the test
suite runs the same comparison).
"""

import hashlib
import re
import sys
from pathlib import Path

FOLDER = Path(__file__).parent
NAMES = ("quickstart", "unit1", "unit2", "unit3", "unit4", "unit5")
_CELL = re.compile(
    r'^# %% (exercise|check|reference|setup)="([a-z0-9-]+)"\n(.*?)(?=^# %%|\Z)', re.M | re.S
)
SETUP = """\
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

# dllab from the checkout this notebook sits in; a service that opened the notebook alone needs
# DLLAB_SOURCE set to a git URL or a wheel of dllab (`pip install dllab` gets another project).
DLLAB_SOURCE = str(Path.cwd().parent)
if importlib.util.find_spec("dllab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", DLLAB_SOURCE], check=True)
    importlib.invalidate_caches()

QUICK = True  # False: the full configs (minutes per experiment on a CPU)
"""


def sources() -> list[Path]:
    return [FOLDER / f"{name}.py" for name in NAMES]


def exercise_code(kind: str, name: str) -> str:
    """The code of a generated cell: an exercise's stub, the `check(...)` of its functions, or
    the check of its reference."""
    from dllab.exercises import get_exercise

    if kind == "setup":
        return SETUP
    exercise = get_exercise(name)
    if kind == "exercise":
        return f"{exercise.imports}\n\n\n{exercise.stub.strip()}\n"
    if kind == "reference":
        return f'check("{name}", **get_exercise("{name}").reference)\n'
    return _call("check", [f'"{name}"', *exercise.functions])


def _call(function: str, args: list[str], width: int = 100) -> str:
    """`function(args)` laid out as ruff format lays it out within `width` characters."""
    line = ", ".join(args)
    if len(function) + len(line) + 2 <= width:
        return f"{function}({line})\n"
    if len(line) + 4 <= width:
        return f"{function}(\n    {line}\n)\n"
    return f"{function}(\n" + "".join(f"    {arg},\n" for arg in args) + ")\n"


def refreshed(text: str) -> str:
    """A notebook source with every exercise and check cell regenerated."""

    def cell(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        gap = "\n\n" if kind == "exercise" else "\n"  # after a function: two blank lines
        return f'# %% {kind}="{name}"\n{exercise_code(kind, name)}{gap}'

    return _CELL.sub(cell, text).rstrip("\n") + "\n"


def exercises_in(text: str) -> list[str]:
    """The exercises whose stub cells a notebook source holds, in order."""
    return [name for kind, name, _ in _CELL.findall(text) if kind == "exercise"]


def ipynb(text: str) -> str:
    """The .ipynb of a notebook source: its cells, no outputs, jupytext's header metadata, and
    cell ids from the cells' text (nbformat's are random: every build would differ)."""
    import jupytext

    notebook = jupytext.reads(text, fmt="py:percent")
    seen: set[str] = set()
    for cell in notebook.cells:
        digest = hashlib.sha256(cell.source.encode()).hexdigest()
        cell.id = next(digest[i : i + 8] for i in range(0, 57) if digest[i : i + 8] not in seen)
        seen.add(cell.id)
    return jupytext.writes(notebook, fmt="ipynb")


def stale() -> list[Path]:
    """The files `build` would change."""
    found = []
    for source in sources():
        text = source.read_text(encoding="utf-8")
        if refreshed(text) != text:
            found.append(source)
        target = source.with_suffix(".ipynb")
        if not target.is_file() or target.read_text(encoding="utf-8") != ipynb(refreshed(text)):
            found.append(target)
    return found


def build() -> list[Path]:
    """Refresh every source and write its .ipynb; return the files changed."""
    changed = stale()
    for source in sources():
        text = refreshed(source.read_text(encoding="utf-8"))
        source.write_text(text, encoding="utf-8")
        source.with_suffix(".ipynb").write_text(ipynb(text), encoding="utf-8")
    return changed


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        files = stale()
        print("\n".join(f"stale: {path} (make notebooks)" for path in files) or "current")
        sys.exit(1 if files else 0)
    for path in build():
        print(f"wrote {path}")
