"""The look shared by every figure: one size family, line widths, the titled figure with its
subplots (a `matplotlib.figure.Figure`, never pyplot), axis labels, ticks, grids and legends,
category ticks, the atomic PNG write, and the two helpers that read values from saved data
(`is_number`, `plain`).

Every figure is between `MIN_WIDTH` and `MAX_WIDTH` inches wide (770 to 1060 pixels) and at
most `MAX_HEIGHT` tall, so that the index page's cards show each at one scale where its text
stays legible. Axes follow the same rules everywhere: integer ticks for epochs, steps and
lengths; plain numbers (0.2, 0.5, 1) on a log axis that spans little, never "2x10^0" minor
labels; no log axis over fewer than three values; legends beside the plot, never over data.
"""

import os
import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from dllab.atomic import write_atomic

DPI = 110
PANEL_SIZE = (4.8, 3.6)  # inches per subplot, shrunk to fit MAX_WIDTH
MIN_WIDTH, MAX_WIDTH, MAX_HEIGHT = 7.0, 9.6, 10.0  # inches: one size family for the cards
LINE = {"lw": 1.8, "ms": 4}  # line width and marker size of every curve
COLORS = colormaps["tab10"].colors  # class k is drawn in COLORS[k]


def _figure(
    title: str, n: int = 1, ncols: int = 3, size: tuple[float, float] = PANEL_SIZE, **subplot_kw
) -> tuple[Figure, list[Axes]]:
    """A titled figure with `n` subplots laid out in rows of at most `ncols`, sized within the
    size family (`MIN_WIDTH` to `MAX_WIDTH` wide, at most `MAX_HEIGHT` tall)."""

    ncols = max(1, min(n, ncols))
    nrows = -(-n // ncols)
    width, height = size[0] * ncols, size[1] * nrows + 0.4
    scale = min(1.0, MAX_WIDTH / width, MAX_HEIGHT / height)
    width, height = max(MIN_WIDTH, width * scale), height * scale
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False, **subplot_kw).flat)
    for ax in axes[n:]:
        fig.delaxes(ax)
    fig.suptitle(_wrap(title, width), fontsize=13, fontweight="bold")
    return fig, axes[:n]


def _wrap(title: str, width_in: float) -> str:
    """A title too long for the figure's width, broken into lines (about 9 bold characters of
    13 points to an inch)."""

    return "\n".join(textwrap.wrap(title, max(30, int(width_in * 9)))) if title else title


def _style(
    ax: Axes,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    log_y: bool = False,
    grid: bool = True,
    legend: bool = True,
) -> None:
    """Axis labels, scales and ticks (see the module docstring), a light grid, and a legend
    beside the plot when there is more than one series."""

    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    x_values = _line_values(ax, 0) if not ax.containers else np.zeros(0)  # bars: categories
    distinct = np.unique(x_values)
    log_x = log_x and len(distinct) >= 3
    if log_x:
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis, x_values)
    if 0 < len(distinct) <= 8:  # a sweep over a few settings: a tick at each of them
        ax.set_xticks(distinct, [f"{v:g}" for v in distinct])
        ax.xaxis.set_minor_formatter(NullFormatter())
    elif not log_x and len(x_values) and np.all(x_values == np.round(x_values)):  # epochs...
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    if log_y:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis, _line_values(ax, 1))
    if grid:
        ax.grid(alpha=0.3)
    if legend and len(ax.get_legend_handles_labels()[1]) > 1:
        legend_beside(ax)


def legend_beside(ax: Axes, **kwargs) -> None:
    """The axes' legend to their right, where it cannot hide data."""

    ax.legend(fontsize=9, markerscale=1.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), **kwargs)


def _line_values(ax: Axes, which: int) -> np.ndarray:
    """Every finite x (which=0) or y (which=1) value of the axes' lines in data coordinates
    (not reference lines such as `axhline`, which span the axes)."""

    data = [
        np.asarray(line.get_data()[which], dtype=float)
        for line in ax.lines
        if line.get_transform() == ax.transData
    ]
    values = np.concatenate(data) if data else np.zeros(0)
    return values[np.isfinite(values)]


def _plain_log_ticks(axis, values: np.ndarray) -> None:
    """On a log axis that spans less than three decades, ticks at 1, 2 and 5 per decade written
    as plain numbers (0.2, 0.5, 1); never labelled minor ticks."""

    axis.set_minor_formatter(NullFormatter())
    values = values[values > 0]
    if len(values) and np.log10(values.max() / values.min()) < 3:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _category_axis(ax: Axes, names: list[str]) -> None:
    """One tick per category, slanted when the names are too long for their slots."""

    ax.set_xticks(np.arange(len(names)), names)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    room = 9 * width_in / max(len(names), 1)  # characters of 10 points that fit in a slot
    if max((len(line) for name in names for line in name.split("\n")), default=0) > room:
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
