"""Diagrams: a small fully connected network drawn as the board sketch, a labelled circle
per unit and a labelled line per weight (`network_diagram`), e.g. the 2-2-1 network of the
backpropagation walkthrough with every activation, weight and gradient written on it."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle

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

    gap, spacing, radius = 3.2, 1.8, 0.8  # between layers, between units, of a unit
    tallest = max(len(units) for units in layers)
    fig, (ax,) = _figure(title, size=(gap * len(layers) + 1, spacing * tallest + 1.0))
    ax.set_axis_off()
    ax.set_aspect("equal")

    def position(layer: int, unit: int) -> tuple[float, float]:
        count = len(layers[layer])
        return gap * layer, spacing * ((count - 1) / 2 - unit)

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
            ax.add_patch(Circle((x, y), radius, fc=np.clip(fill, 0, 1), ec="k", zorder=2))
            ax.text(x, y, text, fontsize=8.5, ha="center", va="center", zorder=3)
        if layer < len(layer_names):
            ax.text(
                gap * layer,
                -spacing * tallest / 2 - 0.2,
                layer_names[layer],
                fontsize=11,
                ha="center",
                va="top",
                fontweight="bold",
            )
    ax.set_xlim(-radius - 0.6, gap * (len(layers) - 1) + radius + 0.6)
    ax.set_ylim(-spacing * tallest / 2 - 0.9, spacing * tallest / 2 + 0.1)
    return _save(fig, path)
