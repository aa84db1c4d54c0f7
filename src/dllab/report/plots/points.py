"""Points in the plane: the class regions of a 2-D classifier under its training points
(`decision_boundaries`), and 2-D point clouds coloured by label, side by side
(`scatter_panels`) or alone (`scatter_2d`), e.g. real vs generated samples or a latent map."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap

from dllab.report.plots.style import COLORS, _figure, _save, _style

# P(class 1) runs from class 0's colour through white (undecided) to class 1's colour.
P1_CMAP = LinearSegmentedColormap.from_list("p_class1", [COLORS[0], "white", COLORS[1]])


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
        _style(ax, xlabel, ylabel, grid=False, legend=False)
    if p1_fill is not None:
        fig.colorbar(p1_fill, ax=p1_axes, label="P(class 1)", shrink=0.9)
    _figure_legend(fig, axes)
    return _save(fig, path)


def _figure_legend(fig, axes: Sequence[Axes]) -> None:
    """One legend for the figure, beside its panels: every panel draws the same classes."""

    entries = {}
    for ax in axes:
        entries |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    if len(entries) > 1:
        fig.legend(entries.values(), entries.keys(), loc="outside right center", fontsize=9)


def scatter_panels(
    panels: Sequence[Mapping],
    path: str | os.PathLike,
    title: str,
    xlabel: str = "$z_1$",
    ylabel: str = "$z_2$",
    color_label: str = "label",
    extent: float | None = None,
) -> Path:
    """2-D point clouds side by side on shared axes (e.g. real vs generated samples).

    Args:
        panels: dicts with `points` (N, 2), optional `labels` (N,) and `title`. Up to 10
            distinct labels get a legend; more numeric values get a colour bar named `color_label`.
        extent: show [-extent, extent] on both axes (points beyond are cut off), so that one
            far-spread panel does not shrink the others; default: all the points.
    """

    fig, axes = _figure(title, len(panels), sharex=True, sharey=True)
    if extent is not None:
        axes[0].set_xlim(-extent, extent)
        axes[0].set_ylim(-extent, extent)
    for ax, panel in zip(axes, panels):
        mappable = _scatter_classes(ax, panel["points"], panel.get("labels"))
        if mappable is not None:
            fig.colorbar(mappable, ax=ax, label=color_label)
        ax.set_title(str(panel.get("title", "")), fontsize=11)
        if extent is not None:  # a square plane: a circle of modes is drawn as a circle
            ax.set_aspect("equal", adjustable="box")
        _style(ax, xlabel, ylabel, legend=False)
    _figure_legend(fig, axes)
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
