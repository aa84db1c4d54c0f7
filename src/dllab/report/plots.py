"""Figures a teacher draws on the board, drawn from saved data (history records, arrays).

Every function takes plain data and an output `path`, writes one PNG (or GIF) atomically and
returns the path. Figures are built on `matplotlib.figure.Figure` directly, never through pyplot:
no backend is selected, no global state is touched, no window opens, and threads may draw at once.
"""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, LogNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from dllab.atomic import write_atomic
from dllab.errors import DataError

DPI = 110
PANEL_SIZE = (4.8, 3.6)  # inches per subplot
LINE = {"lw": 1.8, "ms": 4}  # line width and marker size of every curve
COLORS = colormaps["tab10"].colors  # class k and model k are drawn in COLORS[k]
# P(class 1) runs from class 0's colour through white (undecided) to class 1's colour.
P1_CMAP = LinearSegmentedColormap.from_list("p_class1", [COLORS[0], "white", COLORS[1]])


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


def _scatter_classes(ax: Axes, X: np.ndarray, labels: np.ndarray | None) -> object | None:
    """Points coloured by label: up to 10 distinct labels get a legend entry each (integer class
    k in COLORS[k]); more numeric values get a colour map, returned for a colour bar."""

    X = np.asarray(X, dtype=float)  # (N, 2)
    size = float(np.clip(3000 / max(len(X), 1), 3, 40))
    edge = {"edgecolors": "k", "linewidths": 0.4} if len(X) <= 500 else {}
    if labels is None:
        ax.scatter(X[:, 0], X[:, 1], s=size, alpha=0.7, color=COLORS[0], **edge)
        return None
    labels = np.asarray(labels).ravel()  # (N,)
    values = np.unique(labels)
    if labels.dtype.kind in "iufb" and len(values) > len(COLORS):
        return ax.scatter(X[:, 0], X[:, 1], c=labels, s=size, cmap="viridis", **edge)
    integer = labels.dtype.kind in "iub" and values.min() >= 0 and values.max() < len(COLORS)
    for k, value in enumerate(values):
        color = COLORS[int(value) if integer else k % len(COLORS)]
        label = f"class {int(value)}" if integer else str(value)
        ax.scatter(*X[labels == value].T, s=size, alpha=0.8, color=color, label=label, **edge)
    return None


def decision_boundaries(
    panels: Sequence[Mapping],
    path: str | os.PathLike,
    title: str,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
) -> Path:
    """Filled class regions of a 2-D classifier with its training points, one subplot per panel.

    Args:
        panels: dicts with `title`; `xx`, `yy` (H, W) from `np.meshgrid`; `probs` either
            P(class 1) as (H, W) or (H*W,), or class probabilities (H, W, K) or (H*W, K);
            optional `X` (N, 2) and `y` (N,) integer labels.
        xlabel, ylabel: the axes' names (e.g. hidden units $h_1$, $h_2$ for a hidden layer).
    """

    fig, axes = _figure(title, len(panels))
    p1_fill, p1_axes = None, []
    for ax, panel in zip(axes, panels):
        xx, yy = np.asarray(panel["xx"], dtype=float), np.asarray(panel["yy"], dtype=float)
        probs = np.asarray(panel["probs"], dtype=float)
        if probs.size == xx.size:  # P(class 1): shade it, draw the p = 0.5 boundary
            p1 = probs.reshape(xx.shape)  # (H, W)
            levels = np.linspace(0, 1, 11)
            p1_fill = ax.contourf(xx, yy, p1, levels=levels, cmap=P1_CMAP, alpha=0.6)
            ax.contour(xx, yy, p1, levels=[0.5], colors="k", linewidths=1.5)
            p1_axes.append(ax)
        else:  # K classes: colour each point of the grid by its most likely class
            probs = probs.reshape(*xx.shape, -1)  # (H, W, K)
            k = probs.shape[-1]
            winner = probs.argmax(-1)  # (H, W)
            ax.contourf(
                xx, yy, winner, levels=np.arange(k + 1) - 0.5, colors=COLORS[:k], alpha=0.35
            )
        if panel.get("X") is not None:
            _scatter_classes(ax, panel["X"], panel.get("y"))
        ax.set_title(str(panel.get("title", "")), fontsize=11)
        _style(ax, xlabel, ylabel, grid=False)
    if p1_fill is not None:
        fig.colorbar(p1_fill, ax=p1_axes, label="P(class 1)", shrink=0.9)
    return _save(fig, path)


def mosaic(images: np.ndarray, nrow: int = 8) -> np.ndarray:
    """Images tiled `nrow` to a row with a 1-pixel white gutter, as in torchvision's `make_grid`.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W); values in [0, 1] (clipped).

    Returns:
        (rows * (H + 1) - 1, cols * (W + 1) - 1, C) floats in [0, 1]; empty tiles are white.
    """

    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    images = images.transpose(0, 2, 3, 1) if images.ndim == 4 else images[..., None]  # (N,H,W,C)
    n, h, w, c = images.shape
    if c not in (1, 3):
        raise ValueError(f"images need 1 or 3 channels, got {c}")
    ncols = min(nrow, n)
    nrows = -(-n // ncols)
    tiles = np.ones((nrows * ncols, h + 1, w + 1, c), dtype=np.float32)
    tiles[:n, :h, :w] = images
    grid = tiles.reshape(nrows, ncols, h + 1, w + 1, c).transpose(0, 2, 1, 3, 4)
    return grid.reshape(nrows * (h + 1), ncols * (w + 1), c)[:-1, :-1]


def image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    title: str,
    nrow: int = 8,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
) -> Path:
    """Images tiled in one mosaic (see `mosaic`), grey or RGB.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W); values in [0, 1] (clipped).
        nrow: images per row, as in torchvision's `make_grid`.
        row_labels: one label per row of the grid, written on the left.
        col_labels: one label per column, written on top.
    """

    grid = mosaic(images, nrow)  # (rows, cols, C)
    h, w = np.shape(images)[-2:]
    ncols, nrows = (grid.shape[1] + 1) // (w + 1), (grid.shape[0] + 1) // (h + 1)
    tile = float(np.clip(9 / ncols, 0.4, 1.3))  # inches per image
    width = ncols * tile + (1.2 if row_labels is not None else 0.3)
    height = nrows * tile + (0.9 if col_labels is not None else 0.6)
    fig, (ax,) = _figure(title, size=(width, height))
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    if row_labels is not None:
        ax.set_yticks(np.arange(nrows) * (h + 1) + (h - 1) / 2, list(row_labels)[:nrows])
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks(np.arange(ncols) * (w + 1) + (w - 1) / 2, list(col_labels)[:ncols])
    return _save(fig, path)


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


def scatter_panels(
    panels: Sequence[Mapping],
    path: str | os.PathLike,
    title: str,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
    color_label: str = "label",
) -> Path:
    """2-D point clouds side by side on shared axes (e.g. real vs generated samples).

    Args:
        panels: dicts with `points` (N, 2), optional `labels` (N,) and `title`. Up to 10
            distinct labels get a legend; more numeric values get a colour bar named `color_label`.
    """

    fig, axes = _figure(title, len(panels), sharex=True, sharey=True)
    for ax, panel in zip(axes, panels):
        mappable = _scatter_classes(ax, panel["points"], panel.get("labels"))
        if mappable is not None:
            fig.colorbar(mappable, ax=ax, label=color_label)
        ax.set_title(str(panel.get("title", "")), fontsize=11)
        _style(ax, xlabel, ylabel)
    return _save(fig, path)


def scatter_2d(
    points: np.ndarray,
    labels: np.ndarray | None,
    path: str | os.PathLike,
    title: str,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
) -> Path:
    """One 2-D point cloud, e.g. a latent map coloured by class."""

    return scatter_panels([{"points": points, "labels": labels}], path, title, xlabel, ylabel)


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


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame
    return (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)


def animated_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 5) -> Path:
    """A looping GIF from (H, W) grey or (H, W, 3) RGB frames, uint8 or floats in [0, 1].

    Pillow merges consecutive identical frames into one longer frame.
    """

    if len(frames) == 0:
        raise DataError(f"no frames to animate into {path}")
    images = [Image.fromarray(_to_uint8(frame)) for frame in frames]
    duration = round(1000 / fps)  # milliseconds per frame
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        ),
    )
    return path


def network_diagram(
    layers: Sequence[Sequence[str]],
    edges: Sequence[tuple[int, int, int, str]],
    path: str | os.PathLike,
    title: str,
    layer_names: Sequence[str] = (),
) -> Path:
    """A small fully connected network drawn as the board sketch: a labelled circle per unit
    and a labelled line per weight.

    Args:
        layers: for each layer, the text inside each unit (e.g. "h₁ = 0.59").
        edges: (layer, from_unit, to_unit, text) for each weight from `layer` to `layer + 1`.
        layer_names: a caption under each layer ("input", "hidden", "output").
    """

    width = 3.2 * len(layers) + 1
    height = 1.6 * max(len(units) for units in layers) + 1.2
    fig, (ax,) = _figure(title, size=(width, height))
    ax.set_axis_off()

    def position(layer: int, unit: int) -> tuple[float, float]:
        count = len(layers[layer])
        return 3.2 * layer, (count - 1) / 2 - unit

    for layer, source, target, text in edges:
        (x0, y0), (x1, y1) = position(layer, source), position(layer + 1, target)
        ax.plot([x0, x1], [y0, y1], color="0.55", lw=1.2, zorder=1)
        t = 0.3 if source < target else 0.62  # stagger the labels of crossing lines
        ax.text(
            x0 + t * (x1 - x0),
            y0 + t * (y1 - y0),
            text,
            fontsize=8.5,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8"},
        )
    for layer, units in enumerate(layers):
        for unit, text in enumerate(units):
            x, y = position(layer, unit)
            fill = 0.25 * np.array(to_rgba(COLORS[layer % len(COLORS)])) + 0.75  # opaque pastel
            ax.scatter([x], [y], s=5200, color=np.clip(fill, 0, 1), edgecolors="k", zorder=2)
            ax.text(x, y, text, fontsize=9, ha="center", va="center", zorder=3)
        if layer < len(layer_names):
            ax.text(
                3.2 * layer,
                -(max(len(u) for u in layers) / 2) - 0.1,
                layer_names[layer],
                fontsize=11,
                ha="center",
                va="top",
                fontweight="bold",
            )
    ax.set_xlim(-1.0, 3.2 * (len(layers) - 1) + 1.0)
    ax.margins(y=0.25)
    return _save(fig, path)
