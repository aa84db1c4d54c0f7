"""The Dataset checks and the registry's `load`: one-line errors for bad data and bad options."""

import json
import math

import pytest
import torch

from dllab.data import Dataset, list_datasets, load
from dllab.data.base import split_off
from dllab.errors import ConfigError, DataError

EXPECTED = {
    "xor", "xnor", "and", "or", "circles", "moons", "spirals", "blobs", "ring8", "ring8_unit",
    "grid25",
    "digits", "mnist1d", "mnist", "fashion_mnist", "cifar10", "adding", "copy", "parity",
    "mackey_glass", "chars", "python_tags", "imdb",
}  # fmt: skip


def split(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(n, 2), torch.zeros(n, dtype=torch.int64)


def test_every_dataset_is_registered():
    assert set(list_datasets()) == EXPECTED


@pytest.mark.parametrize(
    "train, message",
    [
        ((torch.tensor([[0.0, math.nan]]), torch.tensor([0])), "NaN or Inf"),
        ((torch.tensor([[0.0, math.inf]]), torch.tensor([0])), "NaN or Inf"),
        ((torch.zeros(1, 2), torch.tensor([math.nan])), "targets contain NaN"),
        ((torch.zeros(2, 2), torch.tensor([0, 2])), "labels must lie in [0, 1], found 0..2"),
        ((torch.zeros(2, 2), torch.tensor([-1, 0])), "labels must lie in [0, 1]"),
        ((torch.zeros(3, 2), torch.tensor([0, 1])), "3 inputs but 2 targets"),
        ((torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64)), "empty"),
    ],
)
def test_bad_data_is_one_line_data_error(train, message):
    classes = None if train[1].is_floating_point() else ("a", "b")
    with pytest.raises(DataError) as error:
        Dataset("toy", train=train, test=split(), classes=classes)
    assert message in str(error.value)
    assert str(error.value).startswith("toy/train: ")
    assert "\n" not in str(error.value)


def test_token_inputs_are_checked_against_the_vocab():
    ids = torch.tensor([[0, 1, 5]])
    with pytest.raises(DataError, match=r"token ids must lie in \[0, 2\], found 0..5"):
        Dataset("text", train=(ids, ids), test=(ids, ids), vocab=("a", "b", "c"))
    with pytest.raises(DataError, match="must be integer ids"):
        Dataset("text", train=(ids.float(), ids), test=(ids, ids), vocab=tuple("abcdef"))


def test_describe_is_json_ready():
    ds = Dataset("toy", train=split(4), val=split(2), test=split(3), classes=("a", "b"))
    described = json.loads(json.dumps(ds.describe()))
    assert described["splits"] == {"train": 4, "val": 2, "test": 3}
    assert described["input_shape"] == [2] and described["classes"] == ["a", "b"]


def test_unknown_dataset_names_the_closest():
    with pytest.raises(ConfigError, match="unknown dataset 'spiral'; did you mean 'spirals'"):
        load("spiral")


def test_unknown_option_is_a_config_error_listing_the_options():
    with pytest.raises(ConfigError, match=r"dataset 'xor' takes no option noize \(it takes: "):
        load("xor", noize=0.1)


def test_common_options_reach_only_the_loaders_that_take_them():
    ds = load("xor", seed=3, dir="/nowhere", download=False)  # xor reads no files
    assert len(ds.train[0]) == 4
    assert load("digits", seed=1).describe() == load("digits", seed=2).describe()


def test_split_off_carves_the_end_of_train():
    X, y = torch.arange(10.0)[:, None], torch.arange(10)
    (X_train, _), (X_val, y_val) = split_off("toy", (X, y), 3)
    assert X_train.shape == (7, 1) and y_val.tolist() == [7, 8, 9]
    assert split_off("toy", (X, y), 0)[1] is None
    with pytest.raises(ConfigError, match="leaves no training data"):
        split_off("toy", (X, y), 10)
    with pytest.raises(ConfigError, match="n_val must be at least 0"):
        split_off("toy", (X, y), -1)
