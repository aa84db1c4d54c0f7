"""Curves over a run or a sweep: training and validation metrics per epoch or step read from
history records (`loss_curves`), and labelled (x, y) series with optional ± std bands
(`lines`, one `Line` per series)."""

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dllab.report.plots.glossary import words
from dllab.report.plots.palette import colors_for
from dllab.report.plots.style import LINE, _figure, _save, _style, is_number, plain

SEED_SUFFIX = re.compile(r"-seed\d+$")  # "max-seed2": another run of "max", in its colour
NOT_METRICS = {"model", "kind", "epoch", "step", "time", "lr", "grad_norm", "clip_factor"}


@dataclass(frozen=True)
class Line:
    """One series of `lines`: y against x, with an optional ± std band (e.g. over seeds).

    `key` names the method for its colour (default: the series' label); two series with one
    key share the colour, the `dashed` one being the paired condition (noisy beside denoised,
    plain beside residual, train beside test).
    """

    x: Sequence[float]
    y: Sequence[float]
    std: Sequence[float] | None = None
    key: str | None = None
    dashed: bool = False


def _series(records: list[dict], model: str, key: str, x: str) -> np.ndarray | None:
    """(2, n) array of (x, key) for one model, sorted by x. With x="step", step records are
    preferred and epoch records (where val_ metrics live) are the fallback."""

    for kind in ("step", "epoch") if x == "step" else ("epoch",):
        points = [
            (r[x], r[key])
            for r in records
            if str(r.get("model", "run")) == model
            and r.get("kind", "epoch") == kind
            and is_number(r.get(x))
            and is_number(r.get(key))
        ]
        if points:
            xy = np.array(points, dtype=float).T  # (2, n)
            xy[~np.isfinite(xy)] = np.nan  # gaps, not a blown-up axis
            return xy[:, np.argsort(xy[0], kind="stable")]
    return None


def curve_metrics(history: Sequence[dict]) -> list[str]:
    """The metrics worth a training curve in history records: every number but the counters,
    times and learning rate, `val_x` folded into `x`; loss first, then by name, at most four."""

    names = {
        key.removeprefix("val_")
        for r in history
        for key, value in r.items()
        if key not in NOT_METRICS and is_number(value)
    }
    return sorted(names, key=lambda name: (name != "loss", name))[:4]


def _smoothed(ax, xy: np.ndarray, color: str) -> np.ndarray:
    """Draw a long step-level curve (> 200 points) faint and return its moving average."""

    window = xy.shape[1] // 50
    ax.plot(*xy, color=color, alpha=0.25, lw=0.8)
    kernel = np.full(window, 1 / window)
    return np.stack([xy[0, window - 1 :], np.convolve(xy[1], kernel, "valid")])


def loss_curves(
    history: Sequence[dict],
    path: str | os.PathLike,
    title: str,
    metrics: Sequence[str] = ("loss",),
    x: str = "epoch",
    log_y: bool = False,
    units: Mapping[str, str] | None = None,
) -> Path:
    """One subplot per metric, one colour per model: solid training line, dashed val_ line.

    Long step-level curves (> 200 points) are drawn faint with a moving average on top.

    Args:
        units: metric -> what its axis measures (e.g. {"loss": "cross-entropy (nats)"});
            other metrics are named in words from the glossary.
    """

    if x not in ("epoch", "step"):
        raise ValueError(f"x must be 'epoch' or 'step', not {x!r}")
    records = [r for r in history if isinstance(r, dict)]
    models = list(dict.fromkeys(str(r.get("model", "run")) for r in records))
    keys = {model: SEED_SUFFIX.sub("", model) for model in models}  # repeats share a colour
    colors = dict(zip(models, colors_for(keys.values())))
    has_val = any(f"val_{metric}" in r for r in records for metric in metrics)
    fig, axes = _figure(title, len(metrics), ncols=2)
    for ax, metric in zip(axes, metrics):
        for model in models:
            repeat = keys[model] != model  # labelled once, by its first run
            name = plain(words(keys[model])) if len(set(keys.values())) > 1 else ""
            train = _series(records, model, metric, x)
            if train is not None and train.shape[1] > 200:
                train = _smoothed(ax, train, colors[model])
            val = _series(records, model, f"val_{metric}", x)
            val_style = {"ls": "--", "mfc": "white"}
            for xy, style, part in ((train, {}, "training"), (val, val_style, "validation")):
                if xy is not None:
                    marker = "o" if xy.shape[1] <= 30 else None  # one epoch is still a point
                    label = f"{name}, {part}" if name and has_val else name or part
                    label = f"_{label}" if repeat else label
                    ax.plot(*xy, color=colors[model], marker=marker, label=label, **LINE, **style)
        if not ax.lines:
            ax.text(0.5, 0.5, f"no '{metric}' in history", transform=ax.transAxes, ha="center")
        name = (units or {}).get(metric) or words(metric)
        if len(metrics) > 1:
            ax.set_title(name, fontsize=11)
        xlabel = "epoch" if x == "epoch" else "training step"
        _style(ax, xlabel, name, log_y=log_y and bool(ax.lines), legend=False)
    # One legend for the figure: the same models and lines appear in every subplot.
    entries = {}
    for ax in axes:
        entries |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    if len(entries) > 1:
        fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=9)
    return _save(fig, path)


def lines(
    series: Mapping[str, tuple | Line],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    log_y: bool = False,
    hline: tuple[float, str] | None = None,
    diverged: Mapping[str, float] | None = None,
) -> Path:
    """One line per labelled series, for sweeps and comparisons, each method in its colour.

    Args:
        series: label -> `Line`, or a tuple (x, y) or (x, y, std) to shade y ± std.
        hline: (value, label) drawn as a dotted horizontal reference line.
        diverged: label -> x at which that series blew up (NaN or inf), drawn as an arrow
            leaving the top of the plot there.
    """

    return line_panels(
        {"": series}, path, title, xlabel, ylabel, log_x, log_y, {"": hline}, diverged
    )


def line_panels(
    panels: Mapping[str, Mapping[str, tuple | Line]],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabels: str | Sequence[str],
    log_x: bool = False,
    log_y: bool = False,
    hlines: Mapping[str, tuple[float, str] | None] | None = None,
    diverged: Mapping[str, float] | None = None,
    sharey: bool = False,
) -> Path:
    """`lines` side by side: one subplot per panel title, one legend for the figure, and a
    series keeps its colour in every panel.

    Args:
        panels: panel title -> {label: `Line` or (x, y[, std])}.
        ylabels: one y label for every panel, or one per panel.
        hlines: panel title -> (value, label) of its reference line.
        diverged: label -> x at which that series blew up (see `lines`).
    """

    panels = {
        name: {label: s if isinstance(s, Line) else Line(*s) for label, s in series.items()}
        for name, series in panels.items()
    }
    keys = {label: s.key or label for series in panels.values() for label, s in series.items()}
    colors = dict(zip(keys, colors_for(keys.values())))
    ylabels = [ylabels] * len(panels) if isinstance(ylabels, str) else list(ylabels)
    size = (6.4, 4.2) if len(panels) == 1 else (4.8, 3.8)
    ncols = len(panels) if len(panels) <= 3 else 2
    fig, axes = _figure(title, len(panels), ncols=ncols, size=size, sharey=sharey)
    if sharey:  # the y label once, on the left
        ylabels = ylabels[:1] + [""] * (len(ylabels) - 1)
    for ax, (name, series), ylabel in zip(axes, panels.items(), ylabels):
        for label, s in series.items():
            _draw_line(ax, s, label, colors[label])
        hline = (hlines or {}).get(name)
        if hline is not None:
            ax.axhline(hline[0], color="0.3", ls=":", lw=1.4, label=hline[1])
        for label, x in (diverged or {}).items():
            if label in series:
                _divergence_arrow(ax, x, colors[label])
        if name:
            ax.set_title(name, fontsize=11)
        _style(ax, xlabel, ylabel, log_x, log_y, legend=len(panels) == 1)
    if len(panels) > 1:
        entries = {}
        for ax in axes:
            entries |= dict(zip(*reversed(ax.get_legend_handles_labels())))
        fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=9)
    return _save(fig, path)


def _draw_line(ax, s: Line, label: str, color: str) -> None:
    x, y = np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)
    style = {"ls": "--", "mfc": "white"} if s.dashed else {}
    marker = "o" if len(x) <= 30 else None
    ax.plot(x, y, color=color, marker=marker, label=label, **LINE, **style)
    if s.std is not None:
        std = np.asarray(s.std, dtype=float)
        ax.fill_between(x, y - std, y + std, color=color, alpha=0.2, lw=0)


def _divergence_arrow(ax, x: float, color: str) -> None:
    """An arrow at x leaving the top of the axes: the series went off the scale (NaN or inf)."""

    where = ("data", "axes fraction")
    arrow = {"arrowstyle": "-|>", "color": color, "lw": 2.5, "mutation_scale": 18}
    ax.annotate("", xy=(x, 1.0), xycoords=where, xytext=(x, 0.6), arrowprops=arrow)
    ax.annotate(
        f" NaN/inf at step {x:g}",
        xy=(x, 0.84),
        xycoords=where,
        ha="left",
        va="bottom",
        fontsize=9,
        color=color,
        fontweight="bold",
    )
