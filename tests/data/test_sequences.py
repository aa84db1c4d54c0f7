"""Sequence tasks: the adding problem's baseline, copy layout, parity, Mackey-Glass windows."""

import numpy as np
import pytest
import torch

from dllab.data import load
from dllab.data.sequences import mackey_glass_series
from dllab.errors import ConfigError


def test_adding_markers_targets_and_baseline():
    ds = load("adding", n=20_000, n_test=10, T=30, seed=0)
    X, y = ds.train
    assert X.shape == (20_000, 30, 2) and y.shape == (20_000, 1) and y.dtype == torch.float32
    values, markers = X[..., 0], X[..., 1]
    assert markers[:, :15].sum(1).eq(1).all() and markers[:, 15:].sum(1).eq(1).all()
    assert torch.allclose((values * markers).sum(1, keepdim=True), y)
    baseline = ((y - 1.0) ** 2).mean().item()  # Var(U1 + U2) = 1/6
    assert abs(baseline - 1 / 6) < 0.01


def test_copy_layout():
    T, K, S = 7, 4, 5
    ds = load("copy", n=50, n_test=5, T=T, copy_len=K, num_symbols=S, seed=1)
    X, y = ds.train
    assert X.shape == (50, T + 2 * K, S + 2) and y.shape == (50, T + 2 * K)
    assert y.dtype == torch.int64 and ds.classes == ("blank", "1", "2", "3", "4", "5")
    assert X.sum(-1).eq(1).all()  # one-hot
    ids = X.argmax(-1)
    symbols = ids[:, :K]
    assert symbols.min() >= 1 and symbols.max() <= S
    assert ids[:, K : K + T - 1].eq(0).all() and ids[:, K + T - 1].eq(S + 1).all()
    assert ids[:, K + T :].eq(0).all()
    assert y[:, : T + K].eq(0).all() and torch.equal(y[:, T + K :], symbols)


def test_parity_labels():
    X, y = load("parity", n=500, n_test=5, T=9).train
    assert X.shape == (500, 9, 1) and set(X.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(y, X.sum((1, 2)).long() % 2)


@pytest.mark.parametrize("name", ["adding", "copy", "parity"])
def test_sequences_are_seeded(name):
    a, b, c = (load(name, n=64, n_test=8, T=12, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.train[1], b.train[1])
    assert not torch.equal(a.train[0], c.train[0])


def test_mackey_glass_series_is_chaotic_and_bounded():
    series = mackey_glass_series(1000)
    assert series.shape == (1000,) and series.min() > 0.2 and series.max() < 1.5
    np.testing.assert_array_equal(series, mackey_glass_series(1000))
    assert np.abs(np.diff(series)).max() < 0.2 and series.std() > 0.15  # smooth, not settled


def test_mackey_glass_windows_and_contiguous_splits():
    ds = load("mackey_glass", length=600, window=20, horizon=3, val_fraction=0.1)
    X, y = ds.train
    assert X.shape == (420 - 23 + 1, 20, 1) and y.shape == (398, 3)
    assert len(ds.val[0]) == 60 - 23 + 1 and len(ds.test[0]) == 120 - 23 + 1
    assert torch.equal(X[1:, -1, 0], y[:-1, 0])  # each window's next value starts the next target
    series = torch.from_numpy(mackey_glass_series(600)).float()
    assert torch.equal(ds.test[1][-1], series[-3:])


def test_mackey_glass_noise_is_seeded():
    a, b = (load("mackey_glass", noise=0.01, seed=s).train[0] for s in (0, 1))
    clean = load("mackey_glass").train[0]
    assert not torch.equal(a, b) and 0.005 < (a - clean).std() < 0.015


def test_mackey_glass_too_short_is_a_config_error():
    with pytest.raises(ConfigError, match="the test stretch has 10 values"):
        load("mackey_glass", length=100, window=20, test_fraction=0.1)
