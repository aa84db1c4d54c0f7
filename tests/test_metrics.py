"""Generative-model metrics: mode coverage, Fréchet distance, precision/recall, class entropy."""

import math

import numpy as np
import pytest
import torch

from dllab import data
from dllab.data import mixture_modes
from dllab.metrics import (
    class_histogram_entropy,
    feature_frechet_distance,
    frechet_distance,
    mean_over_classes,
    mode_coverage,
    precision_recall,
    precision_recall_by_class,
)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_exact_mixture_samples_cover_every_mode_with_high_quality(name):
    X = data.load(name).train[0]
    centres, std = mixture_modes(name)
    result = mode_coverage(X, centres, std)
    assert result["modes_captured"] == result["num_modes"] == len(centres)
    assert result["high_quality_fraction"] > 0.98  # 1 - exp(-4.5) = 98.9%: see the next test


def test_high_quality_fraction_is_the_3_std_disc_probability():
    X = data.load("ring8").train[0]
    centres, std = mixture_modes("ring8")
    # P(||N(0, σ²I₂)|| <= 3σ) = 1 - exp(-9/2) (a Rayleigh radius)
    expected = 1 - math.exp(-4.5)
    assert mode_coverage(X, centres, std)["high_quality_fraction"] == pytest.approx(
        expected, abs=0.005
    )


def test_samples_of_one_mode_capture_one_mode():
    centres, std = mixture_modes("grid25")
    X = torch.tensor(centres[7]) + std * torch.randn(
        500, 2, generator=torch.Generator().manual_seed(0)
    )
    result = mode_coverage(X.double(), centres, std)
    assert result["modes_captured"] == 1
    far = torch.full((10, 2), 1.0)  # between modes: low quality, no mode
    assert mode_coverage(far, centres, std) == {
        "modes_captured": 0,
        "num_modes": 25,
        "high_quality_fraction": 0.0,
    }


def test_frechet_distance_of_identical_gaussians_is_zero():
    A = torch.randn(400, 5, generator=torch.Generator().manual_seed(0))
    assert feature_frechet_distance(A, A) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form():
    # Diagonal covariances: d = ||μ1-μ2||² + Σ_i (σ1_i - σ2_i)²
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 1.0])
    expected = 1 + 4 + 0 + (1 - 2) ** 2 + (2 - 1) ** 2 + (0.5 - 1) ** 2
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)
    # A rotated pair: the distance does not depend on the basis.
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    rotated = frechet_distance(Q @ mu1, Q @ np.diag(s1) @ Q.T, Q @ mu2, Q @ np.diag(s2) @ Q.T)
    assert rotated == pytest.approx(expected)


def test_precision_recall_separate_quality_from_coverage():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(300, 2, generator=g)
    same = precision_recall(real, torch.randn(300, 2, generator=g))
    assert same["precision"] > 0.8 and same["recall"] > 0.8
    collapsed = precision_recall(real, 0.05 * torch.randn(300, 2, generator=g))  # one blob
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3
    far = precision_recall(real, torch.randn(300, 2, generator=g) + 20)
    assert far == {"precision": 0.0, "recall": 0.0}


def class_precision_recall(real, real_labels, fake, fake_labels):
    """The within-class scores averaged over the classes, as cgan-digits reports them."""
    return mean_over_classes(precision_recall_by_class(real, real_labels, fake, fake_labels))


def test_class_precision_recall_sees_collapse_inside_each_class_that_the_pooled_one_misses():
    """Ten well-separated classes; the fake set draws every class (full class accuracy) but each
    as one blob: pooled over classes the blobs still span the classes, within each the recall
    falls."""
    g = torch.Generator().manual_seed(0)
    centres = 10 * torch.randn(10, 2, generator=g)
    labels = torch.arange(400) % 10
    real = centres[labels] + torch.randn(400, 2, generator=g)
    varied = class_precision_recall(
        real, labels, centres[labels] + torch.randn(400, 2, generator=g), labels
    )
    assert varied["precision"] > 0.8 and varied["recall"] > 0.8
    blobs = centres[labels] + 0.02 * torch.randn(400, 2, generator=g)
    collapsed = class_precision_recall(real, labels, blobs, labels)
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3
    wrong_class = class_precision_recall(real, labels, blobs, (labels + 1) % 10)
    assert wrong_class["precision"] < 0.1
    by_class = precision_recall_by_class(real, labels, blobs, labels)
    assert sorted(by_class) == list(range(10))
    assert np.mean([s["recall"] for s in by_class.values()]) == collapsed["recall"]


def test_entropy_of_a_uniform_histogram_is_log_k():
    assert class_histogram_entropy(torch.arange(100) % 10, 10) == pytest.approx(math.log(10))
    assert class_histogram_entropy(torch.zeros(50), 10) == 0.0


def test_sample_diversity_is_one_for_real_data_and_zero_for_one_repeated_image():
    from dllab.metrics import sample_diversity

    real = torch.rand(200, 1, 8, 8)
    assert sample_diversity(torch.rand(300, 1, 8, 8), real) == pytest.approx(1.0, abs=0.05)
    assert sample_diversity(real[:1].repeat(50, 1, 1, 1), real) == 0.0
