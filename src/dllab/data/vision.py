"""MNIST and Fashion-MNIST (IDX files) and CIFAR-10 (python pickle batches), read strictly.

The files come from `dir` (default `cache_dir()/<name>`), or are downloaded there with
`download=True`. The parsers trust nothing: an IDX file must have the right magic, dtype code,
dims and exact byte length (LeCun et al., "THE MNIST DATABASE", file format section); a CIFAR
batch (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images", App. A;
https://www.cs.toronto.edu/~kriz/cifar.html) is unpickled by an unpickler that can build
nothing but plain containers and numpy arrays, so a malicious file cannot run code. Every
problem is one DataError line naming the file.
"""

import gzip
import math
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np

from dllab.atomic import write_atomic
from dllab.cache import cache_dir
from dllab.data.base import Dataset, as_tensors, register_dataset, split_off
from dllab.data.download import RESOURCES, fetch
from dllab.errors import DataError

# IDX type codes -> big-endian numpy dtypes (the format's table)
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_FILES = {  # split -> (images, labels), each optionally gzipped
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}  # <dir>/<this>/raw
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

# The only globals a CIFAR pickle needs: numpy's array reconstructor (under its numpy 1 and
# numpy 2 module names), ndarray and dtype. Dicts, lists, bytes and str need no global.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if they start with the gzip magic 1f 8b."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({error.strerror})") from error
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt or truncated gzip data ({error})") from error


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into an array of its declared dtype and dims.

    Header: two zero bytes, a dtype code, the number of dims, then each dim as a big-endian
    uint32; the data follow in big-endian order and must fill the file exactly.

    Raises:
        DataError: for a missing file, wrong magic, unknown dtype code, or wrong length.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DataError(
            f"{path}: wrong magic number 0x{raw[:4].hex()} (an IDX file starts with 00 00)"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX dtype code 0x{code:02x}")
    if ndim == 0:
        raise DataError(f"{path}: the IDX header declares no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes for {ndim} dims)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected, found = math.prod(dims) * dtype.itemsize, len(raw) - header
    if found != expected:
        problem = "truncated" if found < expected else "trailing bytes"
        raise DataError(f"{path}: {problem}: dims {dims} need {expected} data bytes, found {found}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `_CIFAR_GLOBALS`, so loading can run no other code."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name} (a CIFAR batch needs only numpy arrays)"
            )
        return _CIFAR_GLOBALS[module, name]


def _field(batch: dict, key: str, path: Path):
    """batch[key], under its bytes name (the real, Python 2 pickled files) or its str name."""
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise DataError(f"{path}: the CIFAR batch has no {key!r} entry (keys: {list(batch)[:8]})")


def _check_labels(path: Path, y: np.ndarray, num_classes: int, count: int) -> None:
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != count:
        raise DataError(
            f"{path}: expected {count} integer labels, found {y.dtype} array of shape {y.shape}"
        )
    if count and (y.min() < 0 or y.max() >= num_classes):
        found = f"{y.min()}..{y.max()}"
        raise DataError(
            f"{path}: labels out of range: found {found}, expected 0..{num_classes - 1}"
        )


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch: X uint8 (N, 3, 32, 32), y int64 (N,).

    The pickle is a dict with b"data", a uint8 array (N, 3072) of rows holding the red, green
    and blue 32x32 planes, and b"labels", a list of N ints in 0..9.

    Raises:
        DataError: for a missing or corrupt file, a refused global, or wrong keys, dtype,
            shape or labels.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            batch = _CifarUnpickler(f, encoding="bytes").load()
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({error.strerror})") from error
    except Exception as error:  # corrupt bytes raise many types; none can have run code
        reason = " ".join(str(error).split())  # one line, whatever the bytes named
        message = f"{path}: not a valid CIFAR batch ({type(error).__name__}: {reason})"
        raise DataError(message) from error
    if not isinstance(batch, dict):
        raise DataError(f"{path}: a CIFAR batch is a dict, found {type(batch).__name__}")
    X = _field(batch, "data", path)
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != 3072:
        found = f"{X.dtype} {X.shape}" if isinstance(X, np.ndarray) else type(X).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array (N, 3072), found {found}")
    try:
        y = np.asarray(_field(batch, "labels", path))
    except (ValueError, TypeError) as error:
        raise DataError(f"{path}: 'labels' is not a list of ints ({error})") from error
    _check_labels(path, y, len(CIFAR_CLASSES), len(X))
    return X.reshape(-1, 3, 32, 32), y.astype(np.int64)  # (N, 3, 32, 32): R, G, B planes


def _to_unit(X: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1], with one allocation."""
    X = X.astype(np.float32)
    X /= 255.0
    return X


def _find(folders: list[Path], names: list[str], suffixes: tuple[str, ...]) -> list[Path] | None:
    """The first folder holding every name (each with any of `suffixes`), as full paths."""
    for folder in folders:
        found = [_first_file(folder, n, suffixes) for n in names]
        if all(found):
            return found
    return None


def _first_file(folder: Path, name: str, suffixes: tuple[str, ...]) -> Path | None:
    return next((folder / (name + s) for s in suffixes if (folder / (name + s)).is_file()), None)


def _locate(
    name: str,
    dir: str | None,
    download: bool,
    subfolders: tuple[str, ...],
    names: list[str],
    suffixes: tuple[str, ...],
) -> list[Path]:
    """Find the files `names` of dataset `name` in dir/<one of subfolders>, downloading them
    into dir (default cache_dir()/name) first when allowed and absent.

    Raises:
        DataError: one line naming the files expected and where to put them.
    """
    base = Path(dir).expanduser() if dir else cache_dir() / name
    folders = [base / sub for sub in subfolders]
    found = _find(folders, names, suffixes)
    if found is None and download:
        for resource in RESOURCES[name]:
            path = fetch(resource, base)
            if path.name.endswith(".tar.gz"):
                _extract(path, base)
        found = _find(folders, names, suffixes)
    if found is None:
        optional = f"[{suffixes[-1]}]" if len(suffixes) > 1 else ""
        raise DataError(
            f"{name}: files not found: {', '.join(n + optional for n in names)}; put them in "
            f"{base} (or give their folder with --set data.dir=PATH), or download them with "
            "--set data.download=true"
        )
    return found


def _extract(archive: Path, base: Path) -> None:
    """Extract the CIFAR batch files from `archive` into base/cifar-10-batches-py, then delete it.

    Only the named members are read, so no path from the archive is ever written.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            folder = base / CIFAR_FOLDER
            folder.mkdir(parents=True, exist_ok=True)
            for member in CIFAR_FILES["train"] + CIFAR_FILES["test"]:
                source = tar.extractfile(f"{CIFAR_FOLDER}/{member}")  # None if not a file
                if source is None:
                    raise tarfile.TarError(f"{CIFAR_FOLDER}/{member} is not a file")
                data = source.read()
                write_atomic(folder / member, lambda tmp, data=data: tmp.write_bytes(data))
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error) as error:
        raise DataError(f"{archive}: cannot extract the CIFAR-10 batches ({error})") from error
    archive.unlink()


def _idx_dataset(
    name: str, dir: str | None, download: bool, n_val: int, classes: tuple[str, ...]
) -> Dataset:
    """MNIST-format IDX files -> Dataset of (N, 1, 28, 28) float32 images in [0, 1]."""
    subfolders = ("", name, f"{TORCHVISION_FOLDERS[name]}/raw")
    names = [f for pair in IDX_FILES.values() for f in pair]
    paths = dict(zip(names, _locate(name, dir, download, subfolders, names, ("", ".gz"))))
    splits = {}
    for split, (images_name, labels_name) in IDX_FILES.items():
        images_path, labels_path = paths[images_name], paths[labels_name]
        X, y = read_idx(images_path), read_idx(labels_path)
        if X.dtype != np.uint8 or X.shape[1:] != (28, 28):
            found = f"{X.dtype} {X.shape}"
            raise DataError(f"{images_path}: expected uint8 images (N, 28, 28), found {found}")
        _check_labels(labels_path, y, len(classes), len(X))
        splits[split] = as_tensors(_to_unit(X)[:, None], y)  # (N, 1, 28, 28)
    train, val = split_off(name, splits["train"], n_val)
    return Dataset(name, train=train, val=val, test=splits["test"], classes=classes)


@register_dataset("mnist")
def mnist(dir: str | None = None, download: bool = False, n_val: int = 0) -> Dataset:
    """MNIST (LeCun et al., 1998): 60000/10000 images (N, 1, 28, 28), n_val carved off train."""
    return _idx_dataset("mnist", dir, download, n_val, tuple(str(d) for d in range(10)))


@register_dataset("fashion_mnist")
def fashion_mnist(dir: str | None = None, download: bool = False, n_val: int = 0) -> Dataset:
    """Fashion-MNIST (Xiao et al., 2017): MNIST's format and sizes, ten kinds of clothing."""
    return _idx_dataset("fashion_mnist", dir, download, n_val, FASHION_CLASSES)


@register_dataset("cifar10")
def cifar10(dir: str | None = None, download: bool = False, n_val: int = 0) -> Dataset:
    """CIFAR-10: 50000/10000 colour images (N, 3, 32, 32) in [0, 1], n_val carved off train.

    `dir` may be the cifar-10-batches-py folder itself or the folder holding it.
    """
    subfolders = (CIFAR_FOLDER, "", f"cifar10/{CIFAR_FOLDER}")
    names = list(CIFAR_FILES["train"] + CIFAR_FILES["test"])
    paths = dict(zip(names, _locate("cifar10", dir, download, subfolders, names, ("",))))
    splits = {}
    for split, files in CIFAR_FILES.items():
        batches = [read_cifar_batch(paths[f]) for f in files]
        X = np.concatenate([X for X, _ in batches])  # (N, 3, 32, 32) uint8
        y = np.concatenate([y for _, y in batches])
        splits[split] = as_tensors(_to_unit(X), y)
    train, val = split_off("cifar10", splits["train"], n_val)
    return Dataset("cifar10", train=train, val=val, test=splits["test"], classes=CIFAR_CLASSES)
