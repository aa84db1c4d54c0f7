"""The bundled digits (fixed stratified split) and MNIST-1D (built once, then read from cache)."""

import random

import numpy as np
import pytest
import torch

import dllab.data.mnist1d as mnist1d_module
from dllab.data import load


def test_digits_shapes_range_and_fixed_split():
    ds = load("digits")
    assert {k: len(v[0]) for k, v in ds.splits().items()} == {
        "train": 1257,
        "val": 180,
        "test": 360,
    }
    X, y = ds.train
    assert X.shape == (1257, 1, 8, 8) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert torch.bincount(ds.test[1]).tolist() == pytest.approx([36] * 10, abs=1)  # stratified
    again = load("digits")
    assert all(torch.equal(a, b) for a, b in zip(ds.test, again.test))
    assert torch.equal(ds.val[0], again.val[0])


def test_digits_flatten():
    ds = load("digits", flatten=True)
    assert ds.train[0].shape == (1257, 64)
    assert torch.equal(ds.train[0], load("digits").train[0].reshape(-1, 64))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path))
    return tmp_path / mnist1d_module.CACHE_FILE


@pytest.mark.slow
def test_mnist1d_builds_once_then_reads_the_cache(cache, monkeypatch):
    random.seed(5)
    np.random.seed(5)
    before = random.random(), np.random.rand()
    random.seed(5)
    np.random.seed(5)
    ds = load("mnist1d")
    assert (random.random(), np.random.rand()) == before  # global RNGs left as found
    assert cache.is_file()
    assert ds.train[0].shape == (4000, 1, 40) and ds.test[0].shape == (1000, 1, 40)
    assert ds.train[0].dtype == torch.float32 and ds.num_classes == 10
    assert torch.bincount(ds.train[1]).min() > 300

    def no_build():
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(mnist1d_module, "_build", no_build)
    cached = load("mnist1d", n_val=500, flatten=True)
    assert cached.train[0].shape == (3500, 40) and cached.val[0].shape == (500, 40)
    assert torch.equal(cached.train[0], ds.train[0][:3500, 0])
    assert torch.equal(cached.test[1], ds.test[1])


def test_mnist1d_rebuilds_a_corrupt_cache(cache, monkeypatch):
    built = []

    def small_build():
        built.append(1)
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((20, 40)), np.arange(20) % 10
        return {"x": x, "y": y, "x_test": x[:10], "y_test": y[:10]}

    monkeypatch.setattr(mnist1d_module, "_build", small_build)
    cache.write_bytes(b"PK\x03\x04 not really a zip")
    assert load("mnist1d").train[0].shape == (20, 1, 40) and built == [1]
    assert load("mnist1d").test[0].shape == (10, 1, 40) and built == [1]  # cache rewritten
    assert list(cache.parent.iterdir()) == [cache]  # no temporary file left behind


@pytest.mark.slow
def test_the_shuffled_twin_reorders_every_signal_the_same_way_and_keeps_its_values():
    from dllab.data.mnist1d import spatial_permutation

    plain = load("mnist1d", flatten=True)
    twin = load("mnist1d", flatten=True, shuffle=True, shuffle_seed=3)
    order = torch.as_tensor(spatial_permutation(40, 3))
    assert sorted(order.tolist()) == list(range(40)) and order.tolist() != list(range(40))
    for (X, y), (X_twin, y_twin) in ((plain.train, twin.train), (plain.test, twin.test)):
        assert torch.equal(X[:, order], X_twin) and torch.equal(y, y_twin)
    again = load("mnist1d", flatten=True, shuffle=True, shuffle_seed=3)
    assert torch.equal(again.train[0], twin.train[0])  # the seed fixes the order
