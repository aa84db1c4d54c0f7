"""The experiment registry: every quick config runs and writes its metrics and figures, every
syllabus topic is shown by an experiment, and the numbers each experiment promises hold."""

import json
import math

import pytest
from PIL import Image

from dllab.config import settings_of
from dllab.experiments import list_experiments
from dllab.syllabus import TOPICS

EXPERIMENTS = [e.name for e in list_experiments()]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_quick_config_writes_metrics_figures_and_report(quick_runs, name):
    folder, metrics = quick_runs(name)
    assert metrics and all(
        isinstance(v, int | float) and math.isfinite(v) for v in metrics.values()
    )
    if "test_accuracy" in metrics:
        assert 0 <= metrics["test_accuracy"] <= 1
    figures = sorted((folder / "figures").glob("*.png"))
    assert figures, "every experiment draws at least one figure"
    for figure in figures:
        with Image.open(figure) as image:
            assert image.width > 300 and image.height > 200
    config = json.loads((folder / "config.json").read_text())
    assert config["status"] == "ok" and config["experiment"] == name
    assert set(config["headline"]) <= set(metrics), "headline metrics must be reported"
    assert (folder / "report.html").stat().st_size > 1000


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_setting_of_every_experiment_is_documented_by_a_comment(name):
    (experiment,) = [e for e in list_experiments() if e.name == name]
    undocumented = [s.key for s in settings_of(experiment.config) if not s.comment]
    assert undocumented == [], f"add a `# comment` to these fields of {experiment.config}"


@pytest.mark.parametrize("unit", [1, 2, 3, 4, 5])
def test_every_topic_of_every_unit_has_an_experiment(unit):
    shown = {t for e in list_experiments(unit) for t in e.topics}
    assert set(TOPICS[unit]) - shown == set()


def test_docs_syllabus_map_is_current():
    from pathlib import Path

    from dllab.exercises import list_exercises
    from dllab.experiments.syllabus import syllabus_markdown

    written = (Path(__file__).parents[1] / "docs" / "syllabus.md").read_text()
    assert written == syllabus_markdown(list_experiments(), list_exercises()), (
        "docs/syllabus.md is stale: dllab list --syllabus > docs/syllabus.md"
    )


def test_perceptron_fails_xor_and_the_mlp_solves_it(quick_runs):
    _, m = quick_runs("perceptron-xor")
    assert m["perceptron_and_accuracy"] == m["perceptron_or_accuracy"] == 1.0
    assert m["perceptron_xor_accuracy"] <= 0.75 and m["perceptron_xnor_accuracy"] <= 0.75
    assert m["mlp_xor_accuracy"] == m["mlp_xnor_accuracy"] == 1.0
    assert 0 < m["mlp_xor_solved_fraction"] <= 1


def test_backprop_by_hand_equals_autograd_and_the_step_lowers_the_loss(quick_runs):
    folder, m = quick_runs("backprop")
    assert m["max_abs_error_vs_autograd"] < 1e-12
    assert m["loss_after"] < m["loss_before"]
    assert "dL/dW1" in (folder / "backprop.txt").read_text()


def test_sigmoid_gradients_vanish_towards_the_input_more_than_relu(quick_runs):
    _, m = quick_runs("activations")
    assert m["grad_ratio_first_last_sigmoid"] < 0.1 * m["grad_ratio_first_last_relu"]
    assert m["test_accuracy_relu"] > 0.8 > m["test_accuracy_sigmoid"]  # He init lets ReLU train


def test_wider_networks_fit_the_training_set_better(quick_runs):
    _, m = quick_runs("capacity")
    assert m["train_error_d2_w128"] < m["train_error_d1_w1"]


def test_the_digits_mlp_learns(quick_runs):
    _, m = quick_runs("digits-mlp")
    assert m["test_accuracy"] > 0.85


def test_every_topic_names_the_code_that_implements_it_and_that_code_exists():
    import importlib

    from dllab.syllabus import CODE

    assert set(CODE) == {topic for topics in TOPICS.values() for topic in topics}
    for topic, names in CODE.items():
        assert names, f"{topic}: no code named"
        for dotted in names:
            parts = dotted.split(".")
            for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
                try:
                    target = importlib.import_module(".".join(parts[:cut]))
                except ModuleNotFoundError:
                    continue
                for attribute in parts[cut:]:
                    target = getattr(target, attribute, None)
                    assert target is not None, f"{topic}: {dotted} does not exist"
                break
            else:
                raise AssertionError(f"{topic}: no module in {dotted}")
