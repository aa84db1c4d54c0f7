"""Training curves redrawn in place in Jupyter after every epoch: `fit(..., live_plot=True)`.

The figure is the run page's (`dllab.report.plots.loss_curves` over the trainer's epoch
records), shown through an IPython display handle that each epoch replaces. Outside Jupyter
there is nothing to redraw: `live_plot=True` prints a one-line note and changes nothing else.
"""

import sys
import tempfile
from pathlib import Path

from dllab.engine.callbacks import Callback
from dllab.engine.progress import in_jupyter


def make_live_plot() -> "LivePlot | None":
    """A LivePlot in Jupyter; elsewhere None, after a one-line note on stderr."""
    if in_jupyter():
        return LivePlot()
    print(
        "live_plot: not in Jupyter, so nothing is drawn (trainer.history holds the curves)",
        file=sys.stderr,
    )
    return None


class LivePlot(Callback):
    """Draws the loss and metric curves (validation dashed) after each epoch, over the last
    drawing: one figure per fit, updated in place."""

    order = 60  # after the progress line

    def on_fit_start(self, trainer) -> None:
        self.handle = None

    def on_epoch_end(self, trainer, record: dict) -> None:
        from IPython.display import Image, display

        from dllab.report import plots

        records = trainer.history.epochs
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "curves.png"
            title = f"Training curves: {trainer.name}"
            plots.loss_curves(records, path, title, plots.curve_metrics(records))
            image = Image(data=path.read_bytes(), format="png")
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
