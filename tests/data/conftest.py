"""Writers of small data files in the exact on-disk formats the loaders read (IDX, CIFAR)."""

import gzip
import io
import pickle
import struct
import tarfile
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dllab.data.vision import IDX_DTYPES

IDX_CODES = {np.dtype(v).str[1:]: k for k, v in IDX_DTYPES.items()}  # "u1" -> 0x08, ...


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 00 00, dtype code, ndim, big-endian uint32 dims, big-endian data."""
    code = IDX_CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did for the real CIFAR files: protocol 2, every string a
    byte string (BINSTRING), numpy's reconstructor under its numpy 1 name numpy.core."""

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin-1"))

    def save_global(self, obj, name=None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def cifar_batch(n: int, seed: int = 0, labels: list[int] | None = None) -> dict:
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"training batch 1 of 5",
        b"labels": labels if labels is not None else rng.integers(0, 10, n).tolist(),
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def cifar_bytes(batch: dict) -> bytes:
    out = io.BytesIO()
    Python2Pickler(out, protocol=2).dump(batch)
    return out.getvalue()


CIFAR_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_cifar_folder(folder: Path, n: int = 4) -> Path:
    """The six batches of cifar-10-batches-py, n images each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(CIFAR_NAMES):
        (folder / name).write_bytes(cifar_bytes(cifar_batch(n, seed=i)))
    return folder


def cifar_archive(n: int = 4) -> bytes:
    """cifar-10-python.tar.gz as published: the batches under cifar-10-batches-py/."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for i, name in enumerate(CIFAR_NAMES):
            data = cifar_bytes(cifar_batch(n, seed=i))
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def mnist_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def write_mnist_folder(folder: Path, n_train: int = 12, n_test: int = 6) -> dict:
    """The four MNIST files, train gzipped and test plain, as the loaders accept both."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train": mnist_arrays(n_train, 0), "test": mnist_arrays(n_test, 1)}
    for split, prefix, gz in (("train", "train", True), ("test", "t10k", False)):
        suffix = ".gz" if gz else ""
        X, y = arrays[split]
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", X, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", y, gz)
    return arrays


class FakeResponse(io.BytesIO):
    """What urllib.request.urlopen returns, serving bytes the test chose."""


@pytest.fixture
def serve(monkeypatch):
    """Make urllib.request.urlopen serve {url: bytes}; returns the list of urls opened."""
    opened = []

    def install(files: dict[str, bytes]) -> list[str]:
        def urlopen(url, timeout=None):
            opened.append(url)
            if url not in files:
                raise urllib.error.URLError("no route to host")
            return FakeResponse(files[url])

        monkeypatch.setattr("urllib.request.urlopen", urlopen)
        return opened

    return install


@pytest.fixture(scope="session")
def fmt() -> SimpleNamespace:
    """The file writers above, handed to tests as a fixture so no test imports conftest."""
    return SimpleNamespace(
        idx_bytes=idx_bytes,
        write_idx=write_idx,
        cifar_batch=cifar_batch,
        cifar_bytes=cifar_bytes,
        cifar_archive=cifar_archive,
        write_cifar_folder=write_cifar_folder,
        mnist_arrays=mnist_arrays,
        write_mnist_folder=write_mnist_folder,
        cifar_names=CIFAR_NAMES,
    )
