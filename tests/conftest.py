"""Shared test set-up: one torch thread (small models; no contention with other processes),
the Agg backend, and a per-session cache folder for generated datasets (MNIST-1D)."""

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory):
    """Datasets built during the tests are cached in a temporary folder, not ~/.cache."""
    folder = tmp_path_factory.mktemp("dllab-cache")
    previous = os.environ.get("DLLAB_CACHE")
    os.environ["DLLAB_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("DLLAB_CACHE", None)
    else:
        os.environ["DLLAB_CACHE"] = previous
