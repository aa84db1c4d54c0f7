"""Stub files from the package's templates: `start` writes one for a student (never over an
existing file), `release` writes every stub of a course with a README per unit and no solution.
"""

from importlib.resources import files
from pathlib import Path
from string import Template

from dllab.errors import ConfigError
from dllab.exercises.core import UNITS, Exercise, list_exercises


def _template(name: str) -> Template:
    return Template((files("dllab.exercises") / "templates" / name).read_text(encoding="utf-8"))


def render_stub(exercise: Exercise) -> str:
    """The stub's text: a header saying what to do and how to check, then the functions."""
    return _template("stub.py.tmpl").substitute(
        name=exercise.name,
        title=exercise.title,
        unit=exercise.unit,
        unit_title=UNITS[exercise.unit],
        topic=exercise.topic,
        plural="s" if len(exercise.functions) > 1 else "",
        filename=exercise.filename,
        functions=", ".join(exercise.functions),
        imports=exercise.imports,
        body=exercise.stub.strip() + "\n",
    )


def write_new(path: Path, text: str) -> Path:
    """Write `text` to a file that must not exist yet (created exclusively: no race either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; it is never overwritten") from None
    return path


def write_stub(exercise: Exercise, folder: str | Path) -> Path:
    """Write the exercise's stub into `folder`; an existing file is left as it is (ConfigError)."""
    return write_new(Path(folder) / exercise.filename, render_stub(exercise))


def release(out_dir: str | Path, unit: int | None = None) -> list[Path]:
    """Write every stub (of one unit, or all) into `out_dir`/unit-N/ with a README per unit.

    Raises:
        ConfigError: `out_dir` already holds files, or the unit does not exist.
    """
    out = Path(out_dir)
    if unit is not None and unit not in UNITS:
        raise ConfigError(f"unknown unit {unit} (known: {', '.join(map(str, UNITS))})")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already holds files; release into a new or empty folder")
    written = []
    for number in [unit] if unit is not None else list(UNITS):
        chosen = list_exercises(number)
        folder = out / f"unit-{number}"
        rows = "\n".join(
            f"| `{e.filename}` | `{e.name}`: {e.title} | {e.topic} | {e.maximum} |" for e in chosen
        )
        readme = _template("unit_readme.md.tmpl").substitute(
            unit=number, unit_title=UNITS[number], rows=rows
        )
        written.append(write_new(folder / "README.md", readme))
        written += [write_stub(e, folder) for e in chosen]
    return written
