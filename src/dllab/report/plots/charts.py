"""Charts of values by category or bin: a matrix as colour (`heatmap`, e.g. a confusion
matrix or |dL/dh_t| over time and training), labelled bars (`bars`, `grouped_bars`) and
overlaid histograms (`histograms`)."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm, to_rgba
from matplotlib.ticker import MaxNLocator

from dllab.report.plots.style import COLORS, _category_axis, _figure, _save, _style


def heatmap(
    matrix: np.ndarray,
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str,
    log: bool = False,
    x: Sequence[float] | None = None,
    y: Sequence[float] | None = None,
    origin: str = "lower",
    annotate: bool = False,
) -> Path:
    """A (rows, cols) matrix as colour, e.g. |dL/dh_t| with time t across and training step up.

    Args:
        log: logarithmic colour scale; values <= 0 are left blank.
        x, y: coordinates of the columns and rows (default 0, 1, ...), e.g. the training steps
            at which each row was recorded.
        origin: "lower" puts row 0 at the bottom; "upper" at the top, as in a confusion matrix.
        annotate: write each cell's value in it (for small matrices such as confusion matrices).
    """

    matrix = np.asarray(matrix, dtype=float)  # (rows, cols)
    x = np.arange(matrix.shape[1]) if x is None else np.asarray(x, dtype=float)
    y = np.arange(matrix.shape[0]) if y is None else np.asarray(y, dtype=float)
    norm = None
    if log and np.any(matrix > 0):
        matrix = np.ma.masked_less_equal(matrix, 0)
        norm = LogNorm()
    fig, (ax,) = _figure(title, size=(6.4, 4.4))
    mesh = ax.pcolormesh(x, y, matrix, shading="nearest", cmap="viridis", norm=norm)
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    for axis, coords in ((ax.xaxis, x), (ax.yaxis, y)):
        if len(coords) <= 12:  # few rows or columns (classes): label every one
            axis.set_ticks(coords)
        elif np.all(coords == np.round(coords)):  # time steps, training steps: no 2.5 ticks
            axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    if origin == "upper":
        ax.invert_yaxis()
    if annotate:
        integers = np.all(matrix == np.round(matrix))
        dark = np.ma.filled(mesh.norm(matrix), 0) < 0.5  # (rows, cols): white text on dark
        for (i, j), value in np.ndenumerate(np.ma.filled(matrix, np.nan)):
            text = f"{value:.0f}" if integers else f"{value:.2g}"
            color = "white" if dark[i, j] else "black"
            ax.text(x[j], y[i], text, ha="center", va="center", fontsize=8, color=color)
    _style(ax, xlabel, ylabel, grid=False)
    return _save(fig, path)


def bars(
    values: Mapping[str, float],
    path: str | os.PathLike,
    title: str,
    ylabel: str,
    reference: tuple[float, str] | None = None,
) -> Path:
    """One labelled bar per entry, its value written on top; `reference` = (value, label) is a
    dashed line across (e.g. a published number)."""

    names = [str(name) for name in values]
    fig, (ax,) = _figure(title, size=(max(4.8, 0.9 * len(names) + 2), 4.2))
    colors = [COLORS[i % len(COLORS)] for i in range(len(names))]
    heights = np.asarray(list(values.values()), dtype=float)
    container = ax.bar(np.arange(len(names)), heights, color=colors)
    ax.bar_label(container, fmt="{:.3g}", padding=2, fontsize=9)
    ax.margins(y=0.15)
    if reference is not None:
        ax.axhline(reference[0], color="0.3", ls="--", lw=1.2, label=reference[1])
        ax.legend(fontsize=9)
    _category_axis(ax, names)
    _style(ax, "", ylabel)
    ax.grid(axis="x", visible=False)
    return _save(fig, path)


def grouped_bars(
    series: Mapping[str, Sequence[float]],
    categories: Sequence[str],
    path: str | os.PathLike,
    title: str,
    ylabel: str,
) -> Path:
    """Bars side by side in each category, one colour per series (e.g. every gradient by the
    chain rule beside the same gradient by autograd).

    Args:
        series: label -> one value per category.
    """

    names = [str(name) for name in categories]
    width = 0.8 / max(len(series), 1)  # the series of one category share 0.8 of a tick
    fig, (ax,) = _figure(title, size=(max(4.8, 0.3 * len(names) * len(series) + 2), 4.2))
    for i, (label, values) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * width
        heights = np.asarray(values, dtype=float)  # (len(categories),)
        color = COLORS[i % len(COLORS)]
        ax.bar(np.arange(len(names)) + offset, heights, width, color=color, label=label)
    ax.axhline(0, color="0.3", lw=0.8)
    _category_axis(ax, names)
    _style(ax, "", ylabel)
    ax.grid(axis="x", visible=False)
    return _save(fig, path)


def histograms(
    data: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    bins: int = 40,
    density: bool = False,
    log_y: bool = False,
) -> Path:
    """Overlaid histograms on shared bins, one per label (NaN/Inf values are left out)."""

    arrays = {label: np.asarray(v, dtype=float).ravel() for label, v in data.items()}
    arrays = {label: v[np.isfinite(v)] for label, v in arrays.items()}
    edges = np.histogram_bin_edges(np.concatenate([np.zeros(0), *arrays.values()]), bins=bins)
    fig, (ax,) = _figure(title, size=(6.4, 4.2))
    for i, (label, v) in enumerate(arrays.items()):
        color = COLORS[i % len(COLORS)]
        face = to_rgba(color, 0.3)
        ax.hist(
            v, edges, density=density, histtype="stepfilled", fc=face, ec=color, lw=1.5, label=label
        )
    _style(ax, xlabel, "density" if density else "count", log_y=log_y)
    return _save(fig, path)
