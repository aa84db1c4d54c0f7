"""Diagrams: a small fully connected network drawn as the board sketch, a labelled circle
per unit and a labelled line per weight (`network_diagram`), e.g. the 2-2-1 network of the
backpropagation walkthrough with every activation, weight and gradient written on it."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgba

from dllab.report.plots.style import COLORS, _figure, _save


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
