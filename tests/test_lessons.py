"""A run says whether it shows its lesson: its claims checked in config.json and on its page;
a quick run that misses one says so on stdout, on its page and on every figure; `--showcase`
runs the tour's settings for one experiment."""

import json

import pytest
from PIL import Image

from dllab.cli import main
from dllab.experiments import catalog, registry
from dllab.experiments.registry import Claim
from dllab.report import render
from dllab.report.plots.stamp import is_marked


@pytest.fixture
def backprop_claims(monkeypatch):
    """Give `backprop` (a run of one second) the claims a test asks for."""

    def set_claims(*claims):
        entry = catalog.get_experiment("backprop")
        changed = entry.__class__(**{**entry.__dict__, "claims": claims})
        monkeypatch.setitem(registry._EXPERIMENTS, "backprop", changed)

    return set_claims


def figures_of(folder):
    return sorted((folder / "figures").glob("*.png")) + sorted(
        (folder / "report_figures").glob("*.png")
    )


def test_a_quick_run_that_misses_its_lesson_says_so_everywhere(backprop_claims, tmp_path, capsys):
    backprop_claims(
        Claim("the loss falls", lambda m: m["loss_after"] < m["loss_before"]),
        Claim("something this run cannot show", lambda m: m["loss_after"] > 10),
    )
    out = tmp_path / "run"
    assert main(["run", "backprop", "--quick", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "shows  the loss falls" in text and "MISSES something" in text
    assert "quick settings: not enough training to show the lesson" in text
    assert "dllab run backprop --showcase does" in text
    meta = json.loads((out / "config.json").read_text())
    assert [c["holds"] for c in meta["claims"]] == [True, False]
    assert meta["lesson"] == {
        "shown": False, "quick": True, "advice": "dllab run backprop --showcase"
    }  # fmt: skip
    figures = figures_of(out)
    assert figures and all(is_marked(f) for f in figures)
    page = (out / "report.html").read_text()
    assert "Quick settings: not enough training to show the lesson" in page
    assert "✗ something this run cannot show" in page and "✓ the loss falls" in page
    sizes = [Image.open(f).size for f in figures]
    render(out)  # rendering again marks nothing twice
    assert [Image.open(f).size for f in figures] == sizes


def test_a_quick_run_that_shows_its_lesson_is_not_marked(backprop_claims, tmp_path, capsys):
    backprop_claims(Claim("the loss falls", lambda m: m["loss_after"] < m["loss_before"]))
    out = tmp_path / "run"
    assert main(["run", "backprop", "--quick", "--quiet", "--out", str(out)]) == 0
    assert "quick settings" not in capsys.readouterr().out
    assert not any(is_marked(f) for f in figures_of(out))
    assert "Quick settings" not in (out / "report.html").read_text()


def test_showcase_runs_the_tours_settings_for_one_experiment(tmp_path, monkeypatch):
    entry = catalog.get_experiment("backprop")
    changed = entry.__class__(**{**entry.__dict__, "tour": {"lr": 0.25}})
    monkeypatch.setitem(registry._EXPERIMENTS, "backprop", changed)
    out = tmp_path / "run"
    assert main(["run", "backprop", "--showcase", "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["quick"] is True and meta["config"]["lr"] == 0.25
    assert meta["lesson"]["advice"] == "dllab run backprop"  # the full config, from here


def test_showcase_of_an_experiment_the_tour_leaves_out_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["run", "copy-task", "--showcase", "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "the tour does not show 'copy-task'" in err
    assert not (tmp_path / "run").exists()
