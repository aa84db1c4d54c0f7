"""Figures a teacher draws on the board, drawn from saved data (history records, arrays).

Every function takes plain data and an output `path`, writes one PNG (or GIF) atomically and
returns the path. Figures are built on `matplotlib.figure.Figure` directly, never through pyplot:
no backend is selected, no global state is touched, no window opens, and threads may draw at once.

One module per kind of figure; `from dllab.report import plots` then `plots.lines(...)`:

- `style`: the shared look (one size family, titled figures, axes, ticks, legends, the atomic
  PNG write) and `is_number`, `plain` for values and text read from saved data;
- `palette`: one colour per method or model, the same in every figure (`colors_for`);
- `glossary`: words for the keys code uses (`words("loss_d")` is "discriminator loss");
- `curves`: `loss_curves` (training and validation metrics from history, `curve_metrics`
  choosing which), `lines` (sweeps, one `Line` per series) and `line_panels` (the same, side by
  side);
- `runs`: `overlaid_runs` (the curves of several runs of one experiment);
- `charts`: `heatmap`, `heatmap_grid`, `bars`, `grouped_bars`, `histograms`;
- `points`: `decision_boundaries`, `scatter_panels`, `scatter_2d`;
- `images`: `mosaic`, `image_grid`, `image_panels`, `signed_tiles`, `animated_gif`;
- `diagrams`: `network_diagram`;
- `stamp`: `mark`, a band under a figure that does not show its lesson (quick settings).
"""

from dllab.report.plots.charts import bars, grouped_bars, heatmap, heatmap_grid, histograms
from dllab.report.plots.curves import Line, curve_metrics, line_panels, lines, loss_curves
from dllab.report.plots.diagrams import network_diagram
from dllab.report.plots.glossary import words
from dllab.report.plots.images import (
    animated_gif,
    image_grid,
    image_panels,
    mosaic,
    signed_tiles,
)
from dllab.report.plots.points import decision_boundaries, scatter_2d, scatter_panels
from dllab.report.plots.runs import overlaid_runs
from dllab.report.plots.stamp import mark
from dllab.report.plots.style import is_number, plain

__all__ = [
    "Line",
    "animated_gif",
    "bars",
    "curve_metrics",
    "decision_boundaries",
    "grouped_bars",
    "heatmap",
    "heatmap_grid",
    "histograms",
    "image_grid",
    "image_panels",
    "is_number",
    "line_panels",
    "lines",
    "mark",
    "loss_curves",
    "mosaic",
    "network_diagram",
    "overlaid_runs",
    "plain",
    "scatter_2d",
    "scatter_panels",
    "signed_tiles",
    "words",
]
