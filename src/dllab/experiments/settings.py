"""What an experiment's settings are: every `--set` key with its type, default, quick and tour
values, allowed range and the comment that documents it in the config class.

`dllab show NAME` prints `settings_text(describe(NAME))`, `dllab run NAME --help` too, and
`dllab show NAME --json` prints `describe(NAME)`, from which the web lab builds its forms.
"""

import textwrap
from typing import Any

from dllab.config import flat_values, settings_of, type_schema, type_text
from dllab.config import value_text as text
from dllab.experiments.catalog import get_experiment
from dllab.syllabus import roman

_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def describe(name: str) -> dict:
    """Experiment `name` and its settings as plain JSON-ready data.

    Returns:
        {"name", "unit", "title", "description", "topics", "in_tour", "settings": [...]}, each
        setting {"key", "type", "schema", "default", "quick", "tour", "bounds", "comment"}:
        `type` is text (`tuple of int`), `schema` the same as data (`type_schema`), `tour` is
        None for an experiment the tour does not show.

    Raises:
        ConfigError: for an unknown experiment.
    """
    exp = get_experiment(name)
    in_tour = exp.tour is not None
    values = {
        "default": flat_values(exp.default_config()),
        "quick": flat_values(exp.quick_config()),
        "tour": flat_values(exp.tour_config()) if in_tour else {},
    }
    settings = [
        {
            "key": s.key,
            "type": type_text(s.hint),
            "schema": type_schema(s.hint),
            **{column: _plain(flat.get(s.key)) for column, flat in values.items()},
            "bounds": s.bounds,
            "comment": s.comment,
        }
        for s in settings_of(exp.config)
    ]
    return {
        "name": exp.name,
        "unit": exp.unit,
        "title": exp.title,
        "description": exp.description,
        "topics": list(exp.topics),
        "in_tour": in_tour,
        "settings": settings,
    }


def _plain(value: Any) -> Any:
    return list(map(_plain, value)) if isinstance(value, tuple) else value


def bounds_text(bounds: dict[str, float]) -> str:
    """`> 0`, `>= 0, < 1`: a setting's allowed range."""
    return ", ".join(f"{_SYMBOLS[k]} {v:g}" for k, v in bounds.items())


def settings_text(description: dict, width: int = 100) -> str:
    """`describe(...)` for a terminal: the experiment, then one row per setting (key, type,
    default, quick and tour values, range) with its comment on the line below."""
    d = description
    columns = ["key", "type", "default", "quick"] + ["tour"] * d["in_tour"] + ["range"]
    rows = [[c.upper() for c in columns]]
    for s in d["settings"]:
        values = [text(s[c]) for c in ("default", "quick", "tour") if c in columns]
        rows.append([s["key"], s["type"], *values, bounds_text(s["bounds"])])
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        f"{d['name']}: {d['title']} (unit {roman(d['unit'])})",
        "",
        *textwrap.wrap(" ".join(d["description"].split()), width),
        "",
        f"Settings (dllab run {d['name']} --set KEY=VALUE; nested keys are dotted):",
    ]
    for i, row in enumerate(rows):
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        comment = d["settings"][i - 1]["comment"] if i else ""
        lines += textwrap.wrap(comment, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    quick = "--quick runs the QUICK values"
    tour = "`dllab tour` the TOUR ones" if d["in_tour"] else "the tour does not show it"
    lines += ["", f"{quick}; {tour}."]
    return "\n".join(lines)
