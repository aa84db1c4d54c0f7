"""Curves over a run or a sweep: training and validation metrics per epoch or step read from
history records (`loss_curves`), and labelled (x, y) series with optional ± std bands
(`lines`)."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from dllab.report.plots.style import COLORS, LINE, _figure, _save, _style, is_number, plain


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


def loss_curves(
    history: Sequence[dict],
    path: str | os.PathLike,
    title: str,
    metrics: Sequence[str] = ("loss",),
    x: str = "epoch",
    log_y: bool = False,
) -> Path:
    """One subplot per metric, one colour per model: solid training line, dashed val_ line.

    Long step-level curves (> 200 points) are drawn faint with a moving average on top.
    """

    if x not in ("epoch", "step"):
        raise ValueError(f"x must be 'epoch' or 'step', not {x!r}")
    records = [r for r in history if isinstance(r, dict)]
    models = list(dict.fromkeys(str(r.get("model", "run")) for r in records))
    has_val = any(f"val_{metric}" in r for r in records for metric in metrics)
    parts = {"train": "train" if has_val else "", "val": "val"}
    fig, axes = _figure(title, len(metrics), ncols=2)
    for ax, metric in zip(axes, metrics):
        for i, model in enumerate(models):
            color = COLORS[i % len(COLORS)]
            name = plain(model) if len(models) > 1 else ""
            train = _series(records, model, metric, x)
            if train is not None and train.shape[1] > 200:
                window = train.shape[1] // 50
                ax.plot(*train, color=color, alpha=0.25, lw=0.8)
                kernel = np.full(window, 1 / window)
                train = np.stack([train[0, window - 1 :], np.convolve(train[1], kernel, "valid")])
            val = _series(records, model, f"val_{metric}", x)
            val_style = {"ls": "--", "mfc": "white"}
            for xy, style, part in ((train, {}, "train"), (val, val_style, "val")):
                if xy is not None:
                    marker = "o" if xy.shape[1] <= 30 else None  # one epoch is still a point
                    label = f"{name} {parts[part]}".strip() or part
                    ax.plot(*xy, color=color, marker=marker, label=label, **LINE, **style)
        if not ax.lines:
            ax.text(0.5, 0.5, f"no '{metric}' in history", transform=ax.transAxes, ha="center")
        if len(metrics) > 1:
            ax.set_title(metric.replace("_", " "), fontsize=11)
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        xlabel = "epoch" if x == "epoch" else "training step"
        ylabel = metric.replace("_", " ")
        _style(ax, xlabel, ylabel, log_y=log_y and bool(ax.lines), legend=False)
    # One legend for the figure: the same models and lines appear in every subplot.
    entries = {}
    for ax in axes:
        entries |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    if len(entries) > 1:
        fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=9)
    return _save(fig, path)


def lines(
    series: Mapping[str, tuple],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    log_y: bool = False,
    hline: tuple[float, str] | None = None,
) -> Path:
    """One line per labelled series, for sweeps and comparisons.

    Args:
        series: label -> (x, y), or (x, y, std) to shade y ± std (e.g. over seeds).
        hline: (value, label) drawn as a dashed horizontal reference line.
    """

    fig, (ax,) = _figure(title, size=(6.4, 4.2))
    for i, (label, xy) in enumerate(series.items()):
        x, y = np.asarray(xy[0], dtype=float), np.asarray(xy[1], dtype=float)
        color = COLORS[i % len(COLORS)]
        ax.plot(x, y, color=color, marker="o" if len(x) <= 30 else None, label=label, **LINE)
        if len(xy) == 3:
            std = np.asarray(xy[2], dtype=float)
            ax.fill_between(x, y - std, y + std, color=color, alpha=0.2, lw=0)
    if hline is not None:
        ax.axhline(hline[0], color="0.3", ls="--", lw=1.2, label=hline[1])
    _style(ax, xlabel, ylabel, log_x, log_y)
    return _save(fig, path)
