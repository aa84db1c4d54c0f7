"""Run pages and the tour index, written from a run folder's saved files and nothing else.

A page opens from disk with no network: inline CSS, no scripts, relative links only, and every
piece of text escaped. A missing or corrupt file makes the page say so instead of failing.
"""

import base64
import html
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from dllab.atomic import write_atomic
from dllab.errors import DataError
from dllab.report import plots
from dllab.report.plots.glossary import LOSS_UNITS
from dllab.syllabus import UNITS, roman

CURVES = Path("report_figures") / "training_curves.png"  # drawn by `render` from history.jsonl
OWN_CURVES = Path("figures") / "training_curves.png"  # an experiment's own, shown first instead
MARKER = "<!-- a dllab report page -->"  # in every page; `dllab report --out` replaces only these

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 max-width:1250px;margin:0 auto;padding:1.2rem 1.5rem 3rem;color:#1d1f23;line-height:1.45}
h1{font-size:1.8rem;margin:.3rem 0}h2{margin-top:2rem;border-bottom:2px solid #d0d4da}
h3{margin:.2rem 0 .4rem}.sub{color:#555;margin:0 0 .8rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.95rem}
th,td{border-bottom:1px solid #dde1e6;padding:.28rem .8rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f1f3f5;padding:0 .25rem;border-radius:3px;font-size:.9em}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:.8rem;font-size:.85rem;
 font-weight:600;background:#eceff1;color:#455a64}
.badge.ok{background:#dff3e4;color:#17632a}.badge.failed{background:#fbe1e1;color:#9b1c1c}
.error{border-left:6px solid #c62828;background:#fdecea;padding:.7rem 1rem;margin:.8rem 0;
 font-size:1.05rem}
.warn{border-left:6px solid #d89b00;background:#fff6dc;padding:.5rem 1rem;margin:.8rem 0}
.warn ul{margin:.2rem 0;padding-left:1.2rem}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1rem}
.card .figures{grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:.7rem}
figure{margin:0;border:1px solid #e3e6ea;border-radius:6px;padding:.5rem;background:#fff}
figure img{width:100%;height:auto;display:block}
img[src$=".gif"]{image-rendering:pixelated}
figcaption{font-size:.88rem;color:#444;margin-top:.3rem}
.card{border:1px solid #d0d4da;border-radius:8px;padding:.9rem 1.2rem;margin:1rem 0;
 background:#fafbfc}
.links a{margin-right:1.2rem}
.lessons{list-style:none;padding-left:.4rem}.shown{color:#17632a}.missed{color:#9b1c1c}
"""


@dataclass
class RunFolder:
    """What one run folder holds, read leniently; `notes` says what was missing or corrupt."""

    dir: Path
    config: dict
    metrics: dict
    history: list[dict]
    notes: list[str]

    @property
    def title(self) -> str:
        return str(self.config.get("title") or self.config.get("experiment") or self.dir.name)

    @property
    def status(self) -> str:
        return str(self.config.get("status", "unknown"))

    @property
    def unit(self) -> int | None:
        unit = self.config.get("unit")
        return unit if type(unit) is int and unit in UNITS else None

    @property
    def references(self) -> dict:
        refs = self.config.get("references")
        return refs if isinstance(refs, dict) else {}

    def figures(self) -> list[Path]:
        """Figure files relative to the run folder: training curves first, then figures/."""

        saved = sorted((self.dir / "figures").glob("*.png")) + sorted(
            (self.dir / "figures").glob("*.gif")
        )
        own = [p for p in saved if p == self.dir / OWN_CURVES]
        curves = [self.dir / CURVES] if (self.dir / CURVES).is_file() else own
        saved = [p for p in saved if p not in own]
        return [p.relative_to(self.dir) for p in curves + saved]


def _read_json(path: Path, notes: list[str]) -> dict:
    """The JSON object in `path`, or {} with a note saying why not."""

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        notes.append(f"{path.name} is missing")
        return {}
    except json.JSONDecodeError as e:
        notes.append(f"{path.name} is corrupt (line {e.lineno}, column {e.colno}: {e.msg})")
        return {}
    except (OSError, UnicodeDecodeError) as e:
        notes.append(f"{path.name} is unreadable ({e})")
        return {}
    if not isinstance(value, dict):
        notes.append(f"{path.name} is corrupt (a JSON {type(value).__name__}, not an object)")
        return {}
    return value


def _read_history(path: Path, notes: list[str]) -> list[dict]:
    """The records of history.jsonl (none for a run that trains nothing); malformed lines are
    skipped and counted in `notes`."""

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records, bad = [], 0
    for line in filter(None, map(str.strip, text.splitlines())):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    if bad:
        notes.append(f"{path.name}: {bad} malformed line{'s' * (bad > 1)} skipped")
    return records


def read_run(run_dir: str | os.PathLike) -> RunFolder:
    """Read a run folder's config, metrics and history.

    Raises:
        DataError: if `run_dir` is not a folder.
    """

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist")
    notes: list[str] = []
    config = _read_json(run_dir / "config.json", notes)
    metrics = _read_json(run_dir / "metrics.json", notes)
    history = _read_history(run_dir / "history.jsonl", notes)
    return RunFolder(run_dir, config, metrics, history, notes)


def _model(record: dict) -> str:
    return str(record.get("model", "run"))


def _curve_choice(history: list[dict]) -> tuple[list[str], str]:
    """The metrics a history's curves show (loss first, at most four; none without history) and
    their x axis: epochs when there are a few, else steps (a quick run may be one epoch)."""

    epochs = Counter(_model(r) for r in history if r.get("kind", "epoch") == "epoch")
    has_steps = any(r.get("kind") == "step" for r in history)
    x = "step" if has_steps and max(epochs.values(), default=0) < 3 else "epoch"
    return plots.curve_metrics(history), x


def _draw_training_curves(run: RunFolder) -> None:
    """Plot every metric of history.jsonl (loss first, val_ dashed) into report_figures/. An
    experiment that draws its own (figures/training_curves.png) keeps it instead."""

    if (run.dir / OWN_CURVES).is_file():
        (run.dir / CURVES).unlink(missing_ok=True)
        return
    metrics, x = _curve_choice(run.history)
    if metrics:
        title = f"Training curves: {plots.plain(run.title)}"
        units = {"loss": _loss_unit(run)} if _loss_unit(run) else {}
        plots.loss_curves(run.history, run.dir / CURVES, title, metrics, x=x, units=units)
    else:  # no history (any more): no stale curves either
        (run.dir / CURVES).unlink(missing_ok=True)


def _loss_unit(run: RunFolder) -> str | None:
    """What the runs' shared loss measures ("cross-entropy (nats)"), when its models agree."""

    losses = run.config.get("losses")
    named = set(losses.values()) if isinstance(losses, dict) else set()
    return LOSS_UNITS.get(named.pop()) if len(named) == 1 else None


# ---- HTML pieces: every function returns markup with all text already escaped ----


def _e(value: object) -> str:
    return html.escape(str(value))


def _href(target: Path, base: Path) -> str:
    """A relative, URL-quoted link from folder `base` to `target`."""

    return _e(quote(Path(os.path.relpath(target.resolve(), base.resolve())).as_posix()))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "—" if value is None else str(value)


def _duration(seconds: object) -> str:
    if not plots.is_number(seconds):
        return "—"
    minutes, s = divmod(float(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {s:.0f} s" if minutes else f"{s:.1f} s"


def _table(header: list[str] | None, rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table from escaped cells; columns in `numeric` align right."""

    def tr(cells: list[str], tag: str) -> str:
        css = [' class="num"' if i in numeric else "" for i in range(len(cells))]
        return "<tr>" + "".join(f"<{tag}{a}>{c}</{tag}>" for a, c in zip(css, cells)) + "</tr>\n"

    head = f"<thead>{tr(header, 'th')}</thead>\n" if header else ""
    return f"<table>\n{head}<tbody>\n{''.join(tr(row, 'td') for row in rows)}</tbody>\n</table>"


def _badge(status: str) -> str:
    css = status if status in ("ok", "failed") else "other"
    return f'<span class="badge {css}">{_e(status)}</span>'


def _quick_warning(run: RunFolder) -> str | None:
    """For a quick run whose metrics miss a claim: the sentence that says so and what to run."""

    lesson = run.config.get("lesson")
    if not isinstance(lesson, dict) or not lesson.get("quick") or lesson.get("shown"):
        return None
    return (
        "Quick settings: not enough training to show the lesson. "
        f"{lesson.get('advice', 'The default config')} shows it."
    )


def _mark_figures(run: RunFolder) -> None:
    """Put the quick warning under every figure of the run (once: marking is idempotent)."""

    warning = _quick_warning(run)
    if warning is not None:
        for figure in run.figures():
            plots.mark(run.dir / figure, warning)


def _lessons(run: RunFolder) -> str:
    """The experiment's claims and whether this run's metrics show each."""

    claims = run.config.get("claims")
    if not isinstance(claims, list) or not claims:
        return ""
    items = "".join(
        f'<li class="{"shown" if c.get("holds") else "missed"}">'
        f"{'✓' if c.get('holds') else '✗'} {_e(c.get('text', ''))}</li>"
        for c in claims
        if isinstance(c, dict)
    )
    return f'<p><strong>What this run shows:</strong></p><ul class="lessons">{items}</ul>\n'


def _lesson_count(run: RunFolder) -> str:
    """ "✓ 2 of 2" (or ✗) for the index: how many of the run's claims its metrics show."""

    claims = [c for c in run.config.get("claims") or [] if isinstance(c, dict)]
    if not claims:
        return "—"
    shown = sum(bool(c.get("holds")) for c in claims)
    mark = (
        '<span class="shown">✓</span>' if shown == len(claims) else '<span class="missed">✗</span>'
    )
    return f"{mark} {shown} of {len(claims)}"


def _alerts(run: RunFolder) -> str:
    """The failed run's error, the quick run's warning, and the notes about missing or corrupt
    files."""

    out = ""
    if run.status == "failed":
        error = run.config.get("error") or "no error message was saved"
        out += f'<div class="error"><strong>Run failed:</strong> {_e(error)}</div>\n'
    if _quick_warning(run):
        out += f'<div class="warn">{_e(_quick_warning(run))}</div>\n'
    if run.notes:
        items = "".join(f"<li>{_e(note)}</li>" for note in run.notes)
        out += (
            f'<div class="warn"><strong>Problems reading this run:</strong><ul>{items}</ul></div>\n'
        )
    return out


def _reference(ref: object) -> tuple[object, str]:
    """(value, source) of one entry of config["references"]."""

    if isinstance(ref, dict):
        return ref.get("value"), str(ref.get("source", ""))
    return (ref, "") if plots.is_number(ref) else (None, str(ref))


def _metrics_table(run: RunFolder, names: list[str] | None = None) -> str:
    """Our number beside the published reference and its source, where there is one: for the
    metrics `names` (default: every metric and every reference)."""

    refs = run.references
    if names is None:
        names = list(run.metrics) + [name for name in refs if name not in run.metrics]
    refs = {name: ref for name, ref in refs.items() if name in names}
    if not names:
        return "<p>No metrics were saved.</p>"
    rows = []
    for name in names:
        row = [f"<code>{_e(name)}</code>", _e(_fmt(run.metrics.get(name)))]
        if refs:
            value, source = _reference(refs[name]) if name in refs else (None, "")
            row += [_e(_fmt(value)), _e(source)]
        rows.append(row)
    header = ["metric", "this run"] + (["published", "source"] if refs else [])
    return _table(header, rows, numeric={1, 2})


def _caption(figure: Path) -> str:
    words = figure.stem.replace("_", " ").replace("-", " ").strip()
    caption = words[:1].upper() + words[1:]
    return caption + (" (animation)" if figure.suffix == ".gif" else "")


def _figures(run: RunFolder, base: Path | None) -> str:
    """Every figure of the run as a captioned image linking to the full-size file; with no
    `base`, embedded as a data URI instead (a page that needs no run folder: a notebook's)."""

    figures = run.figures()
    if not figures:
        return "<p>No figures were saved.</p>"
    items = []
    for figure in figures:
        caption = _e(_caption(figure))
        if base is None:
            image = f'<img src="{_data_uri(run.dir / figure)}" alt="{caption}" {_FIT}>'
        else:
            src = _href(run.dir / figure, base)
            image = f'<a href="{src}"><img src="{src}" alt="{caption}"></a>'
        items.append(f"<figure>{image}<figcaption>{caption}</figcaption></figure>")
    return '<div class="figures">\n' + "\n".join(items) + "\n</div>"


_FIT = 'style="max-width:100%;height:auto"'  # an embedded image, where no stylesheet applies


def _data_uri(path: Path) -> str:
    kind = "gif" if path.suffix == ".gif" else "png"
    return f"data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _unit_line(run: RunFolder) -> str:
    parts = []
    if run.unit is not None:
        parts.append(f"Unit {roman(run.unit)} · {_e(UNITS[run.unit])}")
    if run.config.get("experiment"):
        parts.append(f"experiment <code>{_e(run.config['experiment'])}</code>")
    parts.append(f"duration {_duration(run.config.get('duration_s'))}")
    return f'<p class="sub">{" · ".join(parts)} · {_badge(run.status)}</p>'


def _about(run: RunFolder) -> str:
    """Description and syllabus topics."""

    out = ""
    if run.config.get("description"):
        out += f"<p>{_e(run.config['description'])}</p>\n"
    topics = run.config.get("topics")
    if isinstance(topics, list) and topics:
        out += "<p><strong>Topics:</strong></p><ul>"
        out += "".join(f"<li>{_e(topic)}</li>" for topic in topics) + "</ul>\n"
    return out


def _flatten(config: dict, prefix: str = ""):
    for key, value in config.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _run_details(run: RunFolder) -> str:
    """When, where and how the run ran, its history, and its configuration."""

    c = run.config
    counts = Counter(_model(r) for r in run.history)
    history = f"{len(run.history)} records" + "".join(f"; {m}: {n}" for m, n in counts.items())
    facts = {
        "folder": run.dir.name,
        "quick": c.get("quick"),
        "seed": c.get("seed"),
        "device": c.get("device"),
        "started": c.get("started"),
        "finished": c.get("finished"),
        "duration": _duration(c.get("duration_s")),
        "dllab version": c.get("dllab_version"),
        "history": history,
    }
    out = "<h2>Run</h2>\n" + _table(None, [[_e(k), _e(_fmt(v))] for k, v in facts.items()])
    config = c.get("config")
    if isinstance(config, dict) and config:
        rows = [[f"<code>{_e(k)}</code>", _e(_fmt(v))] for k, v in _flatten(config)]
        out += "\n<h2>Configuration</h2>\n" + _table(["setting", "value"], rows)
    return out


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n{MARKER}\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def is_dllab_page(path: Path) -> bool:
    """Whether the file at `path` is a page dllab wrote (it carries MARKER near its start)."""
    try:
        with open(path, "rb") as f:
            return MARKER.encode() in f.read(200)
    except OSError:
        return False


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def render(run_dir: str | os.PathLike) -> Path:
    """Write `run_dir/report.html` (and the training curves it shows); return its path.

    Raises:
        DataError: if `run_dir` is not a folder.
    """

    run = read_run(run_dir)
    _draw_training_curves(run)
    _mark_figures(run)
    body = "\n".join(
        [
            f"<h1>{_e(run.title)}</h1>",
            _unit_line(run),
            _alerts(run),
            _about(run),
            _lessons(run),
            "<h2>Metrics</h2>",
            _metrics_table(run),
            "<h2>Figures</h2>",
            _figures(run, run.dir),
            _run_details(run),
        ]
    )
    return _write(run.dir / "report.html", _page(run.title, body))


def fragment(run: RunFolder) -> str:
    """One run as HTML for a notebook's output: title, unit and status, the quick run's
    warning, what the experiment shows and the lessons its metrics show or miss, the headline
    metrics (and those with a published number) beside the published ones, and the figures
    embedded as data URIs, so that a saved notebook shows them without the run folder. No
    stylesheet: it would restyle the whole notebook."""

    headline = _headline_names(run)
    names = headline + [name for name in run.references if name not in headline]
    parts = [f"<h3>{_e(run.title)}</h3>", _unit_line(run), _alerts(run), _about(run)]
    parts += [_lessons(run), _metrics_table(run, names), _figures(run, None)]
    return '<div class="dllab-run">\n' + "\n".join(parts) + "\n</div>"


def _headline_names(run: RunFolder) -> list[str]:
    """The experiment's headline metrics (e.g. a baseline and ours), else the first metric with a
    published reference, else the first metric."""

    chosen = run.config.get("headline") or []
    chosen = [chosen] if isinstance(chosen, str) else chosen  # runs written before 2026-11
    names = [name for name in chosen if name in run.metrics]
    referenced = [name for name in run.references if name in run.metrics]
    return names or referenced[:1] or list(run.metrics)[:1]


def _headline(run: RunFolder) -> str:
    """The headline metrics in one line, each with its reference."""

    return " · ".join(_headline_metric(run, name) for name in _headline_names(run)) or "—"


def _headline_metric(run: RunFolder, name: str) -> str:
    text = f"<code>{_e(name)}</code> {_e(_fmt(run.metrics[name]))}"
    if name in run.references:
        text += f" (published {_e(_fmt(_reference(run.references[name])[0]))})"
    return text


def _card(run: RunFolder, anchor: str, base: Path, differing: list[tuple[str, object]]) -> str:
    report = _href(run.dir / "report.html", base)
    links = (
        f'<p class="links"><a href="{report}">full report</a>'
        f'<a href="{_href(run.dir, base)}/">run folder</a></p>'
    )
    parts = [f'<h3><a href="{report}">{_e(run.title)}</a></h3>', _unit_line(run)]
    parts += [_identity_line(run, differing), _alerts(run)]
    parts += [_about(run), _lessons(run)]
    parts += [_figures(run, base), _metrics_table(run), links]
    return f'<section class="card" id="{anchor}">\n' + "\n".join(parts) + "\n</section>"


def _experiment(run: RunFolder) -> str:
    return str(run.config.get("experiment") or run.dir.name)


def _index_title(runs: list[RunFolder]) -> str:
    """What the page holds: `2 runs of digits-mlp: <its title>`, or `3 runs: vae, xor, gan-2d`."""

    names = list(dict.fromkeys(_experiment(run) for run in runs))
    count = f"{len(runs)} run{'s' * (len(runs) != 1)}"
    if len(names) == 1:
        return f"{count} of {names[0]}: {runs[0].title}"
    return f"{count}: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}"


def _differing_settings(runs: list[RunFolder]) -> list[list[tuple[str, object]]]:
    """For each run, the settings whose values differ among the runs of its experiment."""

    flat = [dict(_flatten(run.config.get("config") or {})) for run in runs]
    differing = []
    for run, settings in zip(runs, flat):
        peers = [f for other, f in zip(runs, flat) if _experiment(other) == _experiment(run)]
        keys = dict.fromkeys(key for f in peers for key in f)
        differ = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in peers}) > 1]
        differing.append([(key, settings.get(key)) for key in differ])
    return differing


def _identity_line(run: RunFolder, differing: list[tuple[str, object]]) -> str:
    """Which run this is: its folder, its seed and the settings that set it apart."""

    parts = [f"<code>{_e(run.dir)}</code>", f"seed {_e(_fmt(run.config.get('seed')))}"]
    parts += [f"<code>{_e(key)}={_e(_fmt(value))}</code>" for key, value in differing]
    return f'<p class="sub">{" · ".join(parts)}</p>'


def _overlaid_curves(runs: list[RunFolder], out_path: Path) -> str:
    """The training curves of several runs of one experiment in one figure, drawn beside the
    page into <page name>_figures/; no figure for runs of different experiments."""

    if len(runs) < 2 or len({_experiment(run) for run in runs}) > 1:
        return ""
    metrics, x = _curve_choice([record for run in runs for record in run.history])
    if not metrics:
        return ""
    names = [run.dir.name for run in runs]
    labels = names if len(set(names)) == len(names) else [str(run.dir) for run in runs]
    histories = {plots.plain(label): run.history for label, run in zip(labels, runs)}
    path = out_path.parent / f"{out_path.stem}_figures" / CURVES.name
    title = f"Training curves of {len(runs)} runs: {plots.plain(runs[0].title)}"
    plots.overlaid_runs(histories, path, title, metrics, x=x)
    src, caption = _href(path, out_path.parent), "Training curves, one colour per run"
    return (
        f'<h2>Training curves</h2>\n<div class="figures"><figure><a href="{src}"><img src="{src}" '
        f'alt="{caption}"></a><figcaption>{caption}</figcaption></figure></div>'
    )


def exercises_section(exercises: list[dict]) -> str:
    """The index page's "Exercises" section: the exercises by unit, from plain rows
    ({"name", "unit", "topic", "title", "points"}, as `dllab exercise list --json` gives them)."""

    parts = [
        '<h2 id="exercises">Exercises</h2>',
        '<p class="sub">Stubs to fill in and check: <code>dllab exercise start NAME</code>, then '
        "<code>dllab exercise check NAME</code> (or <code>check(NAME, ...)</code> in a "
        "notebook).</p>",
    ]
    for unit, unit_title in UNITS.items():
        rows = [
            [f"<code>{_e(x['name'])}</code>", _e(x["topic"]), _e(x["title"]), _e(x["points"])]
            for x in exercises
            if x["unit"] == unit
        ]
        if rows:
            parts.append(f"<h3>Unit {roman(unit)} · {_e(unit_title)}</h3>")
            parts.append(_table(["exercise", "topic", "what you write", "points"], rows, {3}))
    return "\n".join(parts)


def render_index(
    run_dirs: list[str | os.PathLike],
    out_path: str | os.PathLike,
    title: str | None = None,
    exercises: list[dict] = (),
) -> Path:
    """Write one page over many runs: a summary table, the runs' training curves overlaid when
    they are runs of one experiment, then one section per syllabus unit with a card per run
    (its folder, seed and the settings that differ from the other runs of its experiment;
    figures, metrics, links to its report.html and folder). Runs keep their given order within
    a unit; call `render` on each run first so the report links resolve. The title says what
    the page holds unless given. `exercises` (rows as in `exercises_section`) adds the section
    listing them by unit.

    Raises:
        DataError: if one of `run_dirs` is not a folder.
    """

    out_path = Path(out_path)
    base = out_path.parent
    runs = [read_run(d) for d in run_dirs]
    title = title or _index_title(runs)
    anchors = [f"run-{i + 1}" for i in range(len(runs))]
    differing = _differing_settings(runs)
    repeated = {t for t, n in Counter(run.title for run in runs).items() if n > 1}
    summary = [
        [
            f'<a href="#{anchor}">{_e(run.title)}'
            + (f" ({_e(run.dir.name)})" if run.title in repeated else "")
            + "</a>",
            roman(run.unit) if run.unit else "—",
            _badge(run.status),
            _duration(run.config.get("duration_s")),
            _lesson_count(run),
            _headline(run),
        ]
        for run, anchor in zip(runs, anchors)
    ]
    failed = sum(run.status == "failed" for run in runs)
    header = ["experiment", "unit", "status", "duration", "lessons shown", "headline metric"]
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{len(runs)} runs, {failed} failed</p>',
        _table(header, summary, {3}),
        _overlaid_curves(runs, out_path),
    ]
    for unit in [*UNITS, None]:
        members = [(i, run) for i, run in enumerate(runs) if run.unit == unit]
        if members:
            heading = "Other runs" if unit is None else f"Unit {roman(unit)} · {UNITS[unit]}"
            section_id = "unit-other" if unit is None else f"unit-{unit}"
            body.append(f'<h2 id="{section_id}">{_e(heading)}</h2>')
            body += [_card(run, anchors[i], base, differing[i]) for i, run in members]
    if exercises:
        body.append(exercises_section(list(exercises)))
    return _write(out_path, _page(title, "\n".join(body)))
