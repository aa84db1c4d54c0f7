"""The look shared by every figure: page size, colours and line widths, the titled figure
with its subplots (a `matplotlib.figure.Figure`, never pyplot), axis labels, grids and legends,
category ticks, the atomic PNG write, and the two helpers that read values from saved data
(`is_number`, `plain`)."""

import os
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dllab.atomic import write_atomic

DPI = 110
PANEL_SIZE = (4.8, 3.6)  # inches per subplot
LINE = {"lw": 1.8, "ms": 4}  # line width and marker size of every curve
COLORS = colormaps["tab10"].colors  # class k and model k are drawn in COLORS[k]


def _figure(
    title: str, n: int = 1, ncols: int = 3, size: tuple[float, float] = PANEL_SIZE, **subplot_kw
) -> tuple[Figure, list[Axes]]:
    """A titled figure with `n` subplots laid out in rows of at most `ncols`."""

    ncols = max(1, min(n, ncols))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 0.4), dpi=DPI, layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False, **subplot_kw).flat)
    for ax in axes[n:]:
        fig.delaxes(ax)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig, axes[:n]


def _style(
    ax: Axes,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    log_y: bool = False,
    grid: bool = True,
    legend: bool = True,
) -> None:
    """Axis labels, scales, a light grid, and a legend when there is more than one series."""

    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if grid:
        ax.grid(alpha=0.3)
    entries = len(ax.get_legend_handles_labels()[1]) if legend else 0
    if entries > 5:  # a long legend goes beside the plot, not over the data
        ax.legend(fontsize=9, markerscale=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    elif entries > 1:
        ax.legend(fontsize=9, markerscale=1.5, framealpha=0.85)


def _category_axis(ax: Axes, names: list[str]) -> None:
    """One tick per category, slanted when there are many or long names."""

    ax.set_xticks(np.arange(len(names)), names)
    if len(names) > 4 or max(map(len, names), default=0) > 10:
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write the figure as PNG, atomically (a temporary file renamed into place)."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    return path


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def plain(text: str) -> str:
    """Text from data, safe in a figure: a lone `$` is not the start of a formula."""

    return str(text).replace("$", r"\$")
