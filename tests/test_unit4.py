"""Unit IV experiments: their quick configs run and report what the issue promises."""

import json

import pytest

from dllab.experiments import list_experiments, run_experiment
from dllab.experiments.syllabus import TOPICS


@pytest.fixture(scope="module")
def gan_2d(tmp_path_factory):
    folder = run_experiment(
        "gan-2d", quick=True, out=str(tmp_path_factory.mktemp("gan-2d")), quiet=True
    )
    return folder, json.loads((folder / "metrics.json").read_text())


def test_gan_2d_reports_mode_coverage_of_every_method(gan_2d):
    folder, metrics = gan_2d
    assert metrics["num_modes"] == 8  # ring8 by default
    assert 0 <= metrics["modes_captured"] <= 8
    assert 0 <= metrics["high_quality_fraction"] <= 1
    assert metrics["modes_captured"] == metrics["pacgan_modes_captured"]  # the default method
    for method in ("minimax", "non_saturating", "wgan_gp"):
        assert f"{method}_modes_captured" in metrics
    for figure in ("samples-final.png", "samples-over-training.png"):
        assert (folder / "figures" / figure).is_file()
    assert (folder / "figures" / "training.gif").stat().st_size > 0


def test_gan_2d_takes_the_dataset_and_method_from_the_command_line(tmp_path):
    folder = run_experiment(
        "gan-2d",
        quick=True,
        overrides=("data.name=grid25", "method=wgan_gp", "compare=false"),
        out=str(tmp_path),
        quiet=True,
    )
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["num_modes"] == 25
    assert set(metrics) == {
        "modes_captured",
        "num_modes",
        "high_quality_fraction",
        "wgan_gp_modes_captured",
        "wgan_gp_high_quality_fraction",
    }


def test_unit4_experiments_cover_every_unit4_topic():
    covered = {t for e in list_experiments(unit=4) for t in e.topics}
    assert covered == set(TOPICS[4])


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """Every other unit IV experiment's quick config, run once: name -> (folder, metrics)."""
    runs = {}
    for name in ("cgan-digits", "generative-vs-discriminative", "lapgan", "srgan"):
        folder = run_experiment(
            name, quick=True, out=str(tmp_path_factory.mktemp(name)), quiet=True
        )
        runs[name] = folder, json.loads((folder / "metrics.json").read_text())
    return runs


def test_cgan_digits_scores_generated_digits_beside_real_ones(quick_runs):
    folder, metrics = quick_runs["cgan-digits"]
    assert 0 <= metrics["generated_class_accuracy"] <= 1
    assert metrics["real_classifier_fid"] < metrics["classifier_fid"]  # untrained G: far worse
    assert 0 <= metrics["class_entropy"] <= metrics["max_class_entropy"]
    assert (folder / "figures" / "class-accuracy.png").is_file()


def test_generative_vs_discriminative_errors_fall_with_more_data(quick_runs):
    _, metrics = quick_runs["generative-vs-discriminative"]
    for model in ("naive_bayes", "logistic_regression", "mlp"):
        assert metrics[f"{model}_error_largest"] < metrics[f"{model}_error_smallest"]
    assert metrics["naive_bayes_error_largest"] < 0.3


def test_lapgan_and_srgan_report_their_scores(quick_runs):
    _, lap = quick_runs["lapgan"]
    assert lap["classifier_fid"] > lap["real_classifier_fid"] >= 0
    _, sr = quick_runs["srgan"]
    assert 5 < sr["bicubic_psnr"] < 30
    assert {"srresnet_psnr", "srgan_psnr", "srgan_classifier_accuracy"} <= set(sr)
