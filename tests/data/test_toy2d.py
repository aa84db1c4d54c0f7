"""Toy 2-D sets: truth tables are exact, samplers are seeded, mixtures sit on their modes."""

import numpy as np
import pytest
import torch

from dllab.data import load, mixture_modes
from dllab.errors import ConfigError

TABLES = {
    "xor": lambda a, b: a ^ b,
    "xnor": lambda a, b: 1 - (a ^ b),
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
}
SAMPLED = ["circles", "moons", "spirals", "blobs", "ring8", "ring8_unit", "grid25"]


@pytest.mark.parametrize("name", list(TABLES))
def test_truth_tables_are_exact(name):
    ds = load(name)
    X, y = ds.train
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (4, 2)
    a, b = X.long().unbind(1)
    assert torch.equal(y, TABLES[name](a, b))
    assert torch.equal(ds.test[0], X) and torch.equal(ds.test[1], y)


def test_xor_labels_and_corners():
    X, y = load("xor").train
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]


def test_jittered_copies_keep_their_corner_labels():
    X, y = load("xor", n_per_point=25, noise=0.1, seed=1).train
    assert X.shape == (100, 2)
    a, b = X.round().long().clamp(0, 1).unbind(1)
    assert torch.equal(y, a ^ b)
    assert 0.07 < (X - X.round()).std() < 0.13


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_sets_shapes_and_determinism(name):
    ds = load(name, n=300, n_val=50, n_test=100, seed=7)
    assert {k: len(v[0]) for k, v in ds.splits().items()} == {"train": 300, "val": 50, "test": 100}
    X, y = ds.train
    assert X.dtype == torch.float32 and X.shape == (300, 2) and y.dtype == torch.int64
    counts = torch.bincount(y, minlength=ds.num_classes)
    assert counts.max() - counts.min() <= 1  # balanced classes
    again = load(name, n=300, n_val=50, n_test=100, seed=7)
    other = load(name, n=300, n_val=50, n_test=100, seed=8)
    assert torch.equal(again.train[0], X) and torch.equal(again.test[1], ds.test[1])
    assert not torch.equal(other.train[0], X)


@pytest.mark.parametrize("name", SAMPLED)
def test_test_set_does_not_depend_on_training_size(name):
    assert torch.equal(load(name, n=100).test[0], load(name, n=200).test[0])


@pytest.mark.parametrize(
    "name, k, std", [("ring8", 8, 0.02), ("ring8_unit", 8, 0.01), ("grid25", 25, 0.05)]
)
def test_mixtures_sit_on_their_modes(name, k, std):
    centres, got_std = mixture_modes(name)
    assert centres.shape == (k, 2) and got_std == std
    X, y = load(name, n=5000).train
    assert len(y.unique()) == k
    offset = X.numpy() - centres[y.numpy()]
    assert np.abs(offset).max() < 6 * std
    assert abs(offset.std() - std) < 0.1 * std


def test_mode_geometry():
    ring, _ = mixture_modes("ring8")
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    unit, _ = mixture_modes("ring8_unit")  # PacGAN's ring: the same at half the scale
    np.testing.assert_allclose(unit, ring / 2)
    grid, _ = mixture_modes("grid25")
    assert sorted(set(grid[:, 0])) == [-4, -2, 0, 2, 4] and len({tuple(p) for p in grid}) == 25
    with pytest.raises(ConfigError, match="unknown mixture"):
        mixture_modes("ring9")


def test_circles_radii_and_spiral_arms():
    X, y = load("circles", noise=0.0).train
    radius = X.norm(dim=1)
    assert torch.allclose(radius[y == 0], torch.tensor(1.0)) and torch.allclose(
        radius[y == 1], torch.tensor(0.5)
    )
    ds = load("spirals", arms=3)
    assert ds.classes == ("arm0", "arm1", "arm2") and ds.train[0].norm(dim=1).max() <= 1.0


def test_counts_below_minimum_are_config_errors():
    with pytest.raises(ConfigError, match="moons: n must be at least 1, got 0"):
        load("moons", n=0)
    with pytest.raises(ConfigError, match="n_per_point"):
        load("xor", n_per_point=0)
