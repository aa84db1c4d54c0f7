"""Training in Jupyter: one progress line updated in place per cell, and `live_plot=True`
redrawing the curves in one figure after every epoch; outside Jupyter, a note and no change.

A Jupyter kernel is stood in for by IPython's `display` and `get_ipython` replaced with fakes
that record what would be shown (tests/test_notebooks.py runs the real notebooks)."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from dllab.engine import Callback, Trainer, live, progress
from helpers import same_weights


class Shown:
    """A display handle: what it showed first and every update after."""

    def __init__(self, obj):
        self.versions = [obj]

    def update(self, obj, **kwargs):
        self.versions.append(obj)


@pytest.fixture
def jupyter(monkeypatch):
    """A fake kernel: `cell.execution_count` names the running cell; `shown` the outputs."""
    import IPython
    import IPython.display

    shown: list[Shown] = []

    def display(obj, **kwargs):
        shown.append(Shown(obj))
        return shown[-1]

    cell = SimpleNamespace(execution_count=1)
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(IPython, "get_ipython", lambda: cell)
    monkeypatch.setattr(progress, "in_jupyter", lambda: True)
    monkeypatch.setattr(live, "in_jupyter", lambda: True)
    monkeypatch.setattr(progress.NotebookProgressBar, "_cell_line", None)
    return SimpleNamespace(shown=shown, cell=cell)


def make_trainer(quiet=False, callbacks=()):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    return Trainer(model, lr=0.01, seed=0, quiet=quiet, callbacks=list(callbacks))


def data(n=128):
    X = torch.randn(n, 6, generator=torch.Generator().manual_seed(0))
    return X, (X[:, 0] > X[:, 1]).long()


def text(version) -> str:
    return version["text/plain"]


def test_a_fit_in_jupyter_shows_one_line_that_ends_on_its_last_epoch(jupyter):
    make_trainer().fit(*data(), num_epochs=5, batch_size=16)
    (line,) = jupyter.shown
    last = line.versions[-1]
    assert "40/40 steps" in text(last) and "epoch 5/5" in text(last)
    assert "loss" in text(last) and "lr" not in text(last).split("epoch 5/5")[1]
    assert last["text/html"].startswith("<pre") and "\x1b" not in text(last)
    assert len(line.versions) < 5 + 2  # at most twice a second and at the end, not per step


def test_the_fits_of_one_cell_share_its_line_and_the_next_cell_gets_its_own(jupyter):
    make_trainer().fit(*data(), num_epochs=2)
    make_trainer().fit(*data(), num_epochs=3)
    assert len(jupyter.shown) == 1 and "epoch 3/3" in text(jupyter.shown[0].versions[-1])
    jupyter.cell.execution_count = 2
    make_trainer().fit(*data(), num_epochs=1)
    assert len(jupyter.shown) == 2


def test_live_plot_redraws_one_figure_after_every_epoch(jupyter):
    trainer = make_trainer(quiet=True)
    trainer.fit(*data(), validation_data=data(32), num_epochs=4, live_plot=True)
    (figure,) = jupyter.shown
    assert len(figure.versions) == 4
    assert all(image.data.startswith(b"\x89PNG") for image in figure.versions)
    assert not any(isinstance(c, live.LivePlot) for c in trainer.callbacks)  # this fit's only


class CallbackKeys(Callback):
    """Records the keys of the callbacks' checkpointed state after every epoch."""

    order = 200

    def __init__(self):
        self.keys = []

    def on_epoch_end(self, trainer, record):
        self.keys.append(sorted(trainer.state_dict()["callbacks"]))


def test_live_plot_changes_neither_the_training_nor_the_checkpointed_state(jupyter):
    plain, drawn = CallbackKeys(), CallbackKeys()
    a, b = make_trainer(callbacks=[plain]), make_trainer(callbacks=[drawn])
    a.fit(*data(), num_epochs=3)
    b.fit(*data(), num_epochs=3, live_plot=True)
    assert same_weights(a, b) and a.history.epochs[-1]["loss"] == b.history.epochs[-1]["loss"]
    assert plain.keys == drawn.keys


def test_outside_jupyter_live_plot_is_a_one_line_note(capsys):
    a, b = make_trainer(quiet=True), make_trainer(quiet=True)
    a.fit(*data(), num_epochs=2)
    b.fit(*data(), num_epochs=2, live_plot=True)
    note = capsys.readouterr().err.strip().splitlines()
    assert len(note) == 1 and "not in Jupyter" in note[0]
    assert same_weights(a, b)


def test_outside_jupyter_progress_is_not_the_notebook_line():
    assert not progress.in_jupyter()
    assert not isinstance(progress.progress_bar("model"), progress.NotebookProgressBar)
