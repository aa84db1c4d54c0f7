"""Figures a teacher draws on the board, drawn from saved data (history records, arrays).

Every function takes plain data and an output `path`, writes one PNG (or GIF) atomically and
returns the path. Figures are built on `matplotlib.figure.Figure` directly, never through pyplot:
no backend is selected, no global state is touched, no window opens, and threads may draw at once.

One module per kind of figure; `from dllab.report import plots` then `plots.lines(...)`:

- `style`: the shared look (sizes, colours, titled figures, axes, legends, the atomic PNG write)
  and `is_number`, `plain` for values and text read from saved data;
- `curves`: `loss_curves` (training and validation metrics from history), `lines` (sweeps);
- `runs`: `overlaid_runs` (the curves of several runs of one experiment);
- `charts`: `heatmap`, `bars`, `grouped_bars`, `histograms`;
- `points`: `decision_boundaries`, `scatter_panels`, `scatter_2d`;
- `images`: `mosaic`, `image_grid`, `animated_gif`;
- `diagrams`: `network_diagram`.
"""

from dllab.report.plots.charts import bars, grouped_bars, heatmap, histograms
from dllab.report.plots.curves import lines, loss_curves
from dllab.report.plots.diagrams import network_diagram
from dllab.report.plots.images import animated_gif, image_grid, mosaic
from dllab.report.plots.points import decision_boundaries, scatter_2d, scatter_panels
from dllab.report.plots.runs import overlaid_runs
from dllab.report.plots.style import is_number, plain

__all__ = [
    "animated_gif",
    "bars",
    "decision_boundaries",
    "grouped_bars",
    "heatmap",
    "histograms",
    "image_grid",
    "is_number",
    "lines",
    "loss_curves",
    "mosaic",
    "network_diagram",
    "overlaid_runs",
    "plain",
    "scatter_2d",
    "scatter_panels",
]
