"""Charts of values by category or bin: a matrix as colour (`heatmap`, e.g. a confusion
matrix; `heatmap_grid`, several matrices on one colour scale, e.g. |dL/dh_t| over time and
training for each recurrent cell), labelled bars (`bars`, `grouped_bars`, with error bars and
published numbers beside ours) and overlaid histograms (`histograms`)."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm, to_rgba
from matplotlib.ticker import MaxNLocator

from dllab.report.plots.palette import NEUTRAL, PUBLISHED, color_of, colors_for
from dllab.report.plots.style import _category_axis, _figure, _save, _style, legend_beside


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
    """A (rows, cols) matrix as colour, e.g. a confusion matrix.

    Args:
        log: logarithmic colour scale; values <= 0 are left blank.
        x, y: coordinates of the columns and rows (default 0, 1, ...), e.g. the training steps
            at which each row was recorded.
        origin: "lower" puts row 0 at the bottom; "upper" at the top, as in a confusion matrix.
        annotate: write each cell's value in it (for small matrices such as confusion matrices).
    """

    matrix = np.asarray(matrix, dtype=float)  # (rows, cols)
    x, y = _coordinates(matrix, x), _coordinates(matrix.T, y)
    norm = LogNorm() if log and np.any(matrix > 0) else None
    matrix = np.ma.masked_less_equal(matrix, 0) if norm is not None else matrix
    fig, (ax,) = _figure(title, size=(6.4, 4.4))
    mesh = ax.pcolormesh(x, y, matrix, shading="nearest", cmap="viridis", norm=norm)
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    _matrix_axes(ax, x, y, origin)
    if annotate:
        integers = np.all(matrix == np.round(matrix))
        dark = np.ma.filled(mesh.norm(matrix), 0) < 0.5  # (rows, cols): white text on dark
        for (i, j), value in np.ndenumerate(np.ma.filled(matrix, np.nan)):
            text = f"{value:.0f}" if integers else f"{value:.2g}"
            color = "white" if dark[i, j] else "black"
            ax.text(x[j], y[i], text, ha="center", va="center", fontsize=8, color=color)
    _style(ax, xlabel, ylabel, grid=False)
    return _save(fig, path)


def heatmap_grid(
    panels: Mapping[str, tuple[np.ndarray, Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str,
    ncols: int = 2,
) -> Path:
    """Several matrices on ONE logarithmic colour scale with one colour bar, so that the same
    colour means the same value in every panel (e.g. |dL/dh_t| of four recurrent cells).

    Args:
        panels: title -> (matrix (rows, cols), x (cols,), y (rows,)); values <= 0 are blank.
    """

    positive = [np.asarray(m, dtype=float) for m, _, _ in panels.values()]
    positive = np.concatenate([m[m > 0].ravel() for m in positive] + [np.ones(1)])
    norm = LogNorm(vmin=positive.min(), vmax=positive.max())
    fig, axes = _figure(title, len(panels), ncols=ncols, sharex=True, sharey=True)
    for ax, (name, (matrix, x, y)) in zip(axes, panels.items()):
        matrix = np.ma.masked_less_equal(np.asarray(matrix, dtype=float), 0)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        mesh = ax.pcolormesh(x, y, matrix, shading="nearest", cmap="viridis", norm=norm)
        _matrix_axes(ax, x, y, "lower")
        ax.set_title(name, fontsize=11)
        _style(ax, xlabel if ax in axes[-ncols:] else "", ylabel if ax in axes[::ncols] else "")
        ax.grid(False)
    fig.colorbar(mesh, ax=axes, label=colorbar_label, shrink=0.9)
    return _save(fig, path)


def _coordinates(matrix: np.ndarray, coords: Sequence[float] | None) -> np.ndarray:
    """The columns' coordinates (default 0, 1, ...)."""

    return np.arange(matrix.shape[1]) if coords is None else np.asarray(coords, dtype=float)


def _matrix_axes(ax, x: np.ndarray, y: np.ndarray, origin: str) -> None:
    """Every row or column labelled when there are few (classes); integer ticks otherwise."""

    for axis, coords in ((ax.xaxis, x), (ax.yaxis, y)):
        if len(coords) <= 12:
            axis.set_ticks(coords)
        elif np.all(coords == np.round(coords)):  # time steps, training steps: no 2.5 ticks
            axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    if origin == "upper":
        ax.invert_yaxis()


def bars(
    values: Mapping[str, float],
    path: str | os.PathLike,
    title: str,
    ylabel: str,
    reference: tuple[float, str] | None = None,
    errors: Mapping[str, float] | None = None,
    published: Sequence[str] = (),
) -> Path:
    """One labelled bar per entry, its value written on top; `reference` = (value, label) is a
    dashed line across (e.g. a published number).

    Bars of named methods take their palette colours; otherwise colour encodes nothing and
    every bar is one neutral colour.

    Args:
        errors: label -> ± spread, drawn as an error bar (e.g. the std over seeds).
        published: the labels whose bars are published numbers, drawn pale and hatched beside
            ours.
    """

    names = [str(name) for name in values]
    fig, (ax,) = _figure(title, size=(max(4.8, 0.9 * len(names) + 2), 4.2))
    named = [color_of(name) for name in names if name not in published]
    palette = all(named) and len(set(named)) == len(named)
    colors = colors_for(names) if palette else [NEUTRAL] * len(names)
    heights = np.asarray(list(values.values()), dtype=float)
    spread = None if errors is None else [float(errors.get(name, 0.0)) for name in names]
    container = ax.bar(np.arange(len(names)), heights, color=colors, yerr=spread, capsize=4)
    for patch, name in zip(container.patches, names):
        if name in published:
            patch.set(facecolor=PUBLISHED, hatch="//", edgecolor="0.45")
    labels = [
        f"{h:.3g} ± {e:.2g}" if spread and e else f"{h:.3g}"
        for h, e in zip(heights, spread or [0] * len(names))
    ]
    ax.bar_label(container, labels=labels, padding=2, fontsize=9)
    ax.margins(y=0.15)
    if reference is not None:
        ax.axhline(reference[0], color="0.3", ls=":", lw=1.4, label=reference[1])
        legend_beside(ax)
    _style(ax, "", ylabel, legend=False)
    _category_axis(ax, names)
    ax.grid(axis="x", visible=False)
    return _save(fig, path)


def grouped_bars(
    series: Mapping[str, Sequence[float]],
    categories: Sequence[str],
    path: str | os.PathLike,
    title: str,
    ylabel: str,
    errors: Mapping[str, Sequence[float]] | None = None,
    published: Sequence[str] = (),
    reference: tuple[float, str] | None = None,
    keys: Mapping[str, str] | None = None,
) -> Path:
    """Bars side by side in each category, one colour per series (e.g. every gradient by the
    chain rule beside the same gradient by autograd).

    Args:
        series: label -> one value per category (NaN: no bar).
        errors: label -> one ± spread per category, drawn as error bars.
        published: the series that are published numbers, drawn pale and hatched: grey, or
            the pale hue of their key (see `keys`) beside ours.
        reference: (value, label) drawn as a dotted line across (e.g. human accuracy).
        keys: label -> the key its colour comes from; series with one key share the hue (a
            published number and ours on the same data, say).
    """

    names = [str(name) for name in categories]
    width = 0.8 / max(len(series), 1)  # the series of one category share 0.8 of a tick
    fig, (ax,) = _figure(title, size=(max(4.8, 0.3 * len(names) * len(series) + 2), 4.2))
    keyed = {label: (keys or {}).get(label) for label in series}
    ours = [label for label in series if label not in published or keyed[label]]
    colors = dict(zip(ours, colors_for(keyed[label] or label for label in ours)))
    for i, (label, values) in enumerate(series.items()):
        offset = (i - (len(series) - 1) / 2) * width
        heights = np.asarray(values, dtype=float)  # (len(categories),)
        spread = None if errors is None or label not in errors else errors[label]
        if label not in published:
            style = {"color": colors[label]}
        elif keyed[label]:  # the pale hue of its own series
            pale = to_rgba(colors[label], 0.3)
            style = {"color": pale, "hatch": "//", "edgecolor": colors[label]}
        else:
            style = {"color": PUBLISHED, "hatch": "//", "edgecolor": "0.45"}
        bars = ax.bar(
            np.arange(len(names)) + offset, heights, width, yerr=spread, capsize=3,
            label=label, **style,
        )  # fmt: skip
        if len(names) * len(series) <= 12:  # few bars: write each value on its bar
            ax.bar_label(bars, fmt="{:.3g}", padding=2, fontsize=8)
    ax.axhline(0, color="0.3", lw=0.8)
    if reference is not None:
        ax.axhline(reference[0], color="0.3", ls=":", lw=1.4, label=reference[1])
    ax.margins(y=0.12)
    _style(ax, "", ylabel, legend=False)
    _category_axis(ax, names)
    if len(series) > 1 or reference is not None:
        legend_beside(ax)
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
    for (label, v), color in zip(arrays.items(), colors_for(arrays)):
        face = to_rgba(color, 0.3)
        ax.hist(
            v, edges, density=density, histtype="stepfilled", fc=face, ec=color, lw=1.5, label=label
        )
    _style(ax, xlabel, "density" if density else "count", log_y=log_y)
    return _save(fig, path)
