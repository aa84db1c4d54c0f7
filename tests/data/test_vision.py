"""IDX and CIFAR parsers on files written here in the real formats, and their error messages."""

import gzip
import os
import pickle

import numpy as np
import pytest
import torch

from dllab.data import load
from dllab.data.vision import read_cifar_batch, read_idx
from dllab.errors import DataError


def one_line_error(call, *fragments: str) -> str:
    """Run `call`, expecting a one-line DataError containing every fragment."""
    with pytest.raises(DataError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, fmt, dtype, gz):
    array = (np.arange(60).reshape(3, 4, 5) - 20).astype(dtype)
    got = read_idx(fmt.write_idx(tmp_path / "a.idx", array, gz))
    assert got.dtype == np.dtype(dtype).newbyteorder("=") and got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, array)


def test_read_idx_errors(tmp_path, fmt):
    good = fmt.idx_bytes(np.zeros((2, 3), np.uint8))
    cases = {
        "missing": (None, "cannot read the file"),
        "truncated": (good[:-1], "truncated: dims (2, 3) need 6 data bytes, found 5"),
        "trailing": (good + b"\x00", "trailing bytes"),
        "header": (good[:9], "truncated header"),
        "magic": (b"\x01\x00" + good[2:], "wrong magic number 0x01000802"),
        "dtype": (good[:2] + b"\x07" + good[3:], "unknown IDX dtype code 0x07"),
        "no dims": (b"\x00\x00\x08\x00", "declares no dimensions"),
        "gzip": (gzip.compress(good)[:-6], "corrupt or truncated gzip data"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.idx"
        if content is not None:
            path.write_bytes(content)
        one_line_error(lambda path=path: read_idx(path), str(path), message)


def test_mnist_loader_finds_files_in_a_dir(tmp_path, fmt):
    arrays = fmt.write_mnist_folder(tmp_path, n_train=12, n_test=6)
    ds = load("mnist", dir=str(tmp_path), n_val=2)
    assert ds.train[0].shape == (10, 1, 28, 28) and ds.val[0].shape == (2, 1, 28, 28)
    assert ds.test[0].shape == (6, 1, 28, 28) and ds.train[0].dtype == torch.float32
    X_test, y_test = arrays["test"]
    np.testing.assert_allclose(ds.test[0][:, 0].numpy(), X_test / 255.0, rtol=1e-6)
    assert ds.test[1].tolist() == y_test.tolist()
    assert ds.train[0].min() >= 0.0 and ds.train[0].max() <= 1.0


def test_fashion_mnist_in_a_named_or_torchvision_subfolder(tmp_path, fmt):
    fmt.write_mnist_folder(tmp_path / "fashion_mnist")
    assert load("fashion_mnist", dir=str(tmp_path)).classes[-1] == "Ankle boot"
    fmt.write_mnist_folder(tmp_path / "tv" / "FashionMNIST" / "raw")
    assert len(load("fashion_mnist", dir=str(tmp_path / "tv")).train[0]) == 12


def test_missing_files_say_what_and_where(tmp_path, monkeypatch):
    one_line_error(
        lambda: load("mnist", dir=str(tmp_path)),
        "mnist: files not found: train-images-idx3-ubyte[.gz]",
        "t10k-labels-idx1-ubyte[.gz]",
        str(tmp_path),
        "--set data.dir=",
    )
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path / "cache"))
    one_line_error(lambda: load("cifar10"), "data_batch_1", "test_batch", str(tmp_path / "cache"))


def test_mnist_labels_out_of_range(tmp_path, fmt):
    fmt.write_mnist_folder(tmp_path)
    fmt.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 10], np.uint8))
    one_line_error(
        lambda: load("mnist", dir=str(tmp_path)),
        "t10k-labels-idx1-ubyte: labels out of range: found 0..10, expected 0..9",
    )


def test_mnist_wrong_image_shape_or_count(tmp_path, fmt):
    fmt.write_mnist_folder(tmp_path)
    fmt.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    one_line_error(lambda: load("mnist", dir=str(tmp_path)), "expected 6 integer labels")
    fmt.write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((6, 28, 27), np.uint8))
    one_line_error(lambda: load("mnist", dir=str(tmp_path)), "expected uint8 images (N, 28, 28)")


def test_read_cifar_batch_like_the_real_files(tmp_path, fmt):
    batch = fmt.cifar_batch(5)
    path = tmp_path / "data_batch_1"
    path.write_bytes(fmt.cifar_bytes(batch))
    X, y = read_cifar_batch(path)
    assert X.shape == (5, 3, 32, 32) and X.dtype == np.uint8 and y.dtype == np.int64
    assert y.tolist() == batch[b"labels"]
    np.testing.assert_array_equal(X[:, 0].reshape(5, -1), batch[b"data"][:, :1024])  # red plane


def test_read_cifar_batch_pickled_by_numpy_2(tmp_path, fmt):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(fmt.cifar_batch(3), protocol=3))
    assert read_cifar_batch(path)[0].shape == (3, 3, 32, 32)


def test_cifar10_loader(tmp_path, fmt):
    fmt.write_cifar_folder(tmp_path / "cifar-10-batches-py", n=4)
    ds = load("cifar10", dir=str(tmp_path), n_val=4)
    assert ds.train[0].shape == (16, 3, 32, 32) and ds.val[0].shape == (4, 3, 32, 32)
    assert ds.test[0].shape == (4, 3, 32, 32) and ds.classes[0] == "airplane"
    expected = fmt.cifar_batch(4, seed=5)[b"data"].reshape(4, 3, 32, 32) / 255.0
    np.testing.assert_allclose(ds.test[0].numpy(), expected, rtol=1e-6)
    same = load("cifar10", dir=str(tmp_path / "cifar-10-batches-py"), n_val=4)
    assert torch.equal(same.test[0], ds.test[0])


def test_cifar_batch_errors(tmp_path, fmt):
    def write(obj) -> str:
        path = tmp_path / "batch"
        path.write_bytes(fmt.cifar_bytes(obj) if isinstance(obj, dict) else obj)
        return path

    good = fmt.cifar_batch(3)
    cases = [
        ({**good, b"labels": [0, 1, 10]}, "labels out of range: found 0..10"),
        ({**good, b"labels": [0, 1]}, "expected 3 integer labels"),
        ({**good, b"labels": ["a", "b", "c"]}, "expected 3 integer labels"),
        ({b"labels": [0]}, "has no 'data' entry"),
        ({**good, b"data": good[b"data"][:, :100]}, "must be a uint8 array (N, 3072)"),
        ({**good, b"data": good[b"data"].astype(np.float32)}, "must be a uint8 array"),
        (fmt.cifar_bytes(good)[:-50], "not a valid CIFAR batch"),
        (b"\x80\x02]q\x00.", "a CIFAR batch is a dict, found list"),
    ]
    for content, message in cases:
        path = write(content)
        one_line_error(lambda path=path: read_cifar_batch(path), str(path), message)


class CreatesFile:
    """Unpickling this calls open(target, "w"): the file appears if the unpickler obeys."""

    def __init__(self, target: str, how: str):
        self.target, self.how = target, how

    def __reduce__(self):
        if self.how == "open":
            return (open, (self.target, "w"))
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("how", ["open", "system"])
def test_malicious_cifar_pickle_is_refused_and_runs_nothing(tmp_path, how):
    target = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": CreatesFile(str(target), how), b"labels": []}, 3))
    message = one_line_error(lambda: read_cifar_batch(path), str(path), "refused global")
    assert f".{how} (" in message  # io.open or posix.system, by name
    assert not target.exists()
