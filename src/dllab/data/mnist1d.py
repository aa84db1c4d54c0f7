"""MNIST-1D (Greydanus, 2020; Greydanus & Kobak, ICML 2024, "Scaling Down Deep Learning").

Generated locally: the `mnist1d` package builds the benchmark from ten 1-D digit templates
with random padding, shear, translation and noise. We call `make_dataset(get_dataset_args())`
with the package's default arguments (5000 signals of length 40, seed 42, split 4000 train /
1000 test, as in the paper), never its download path. The build takes about two seconds; the
arrays are then cached as an .npz file (no pickle) in `cache_dir()`; a corrupt cache is rebuilt.
"""

import random
import warnings
import zipfile
from pathlib import Path

import numpy as np

from dllab.atomic import write_atomic
from dllab.cache import cache_dir
from dllab.data.base import Dataset, as_tensors, register_dataset, split_off

CACHE_FILE = "mnist1d-default-args.npz"
KEYS = ("x", "y", "x_test", "y_test")  # the mnist1d package's own names


def _build() -> dict[str, np.ndarray]:
    """Run the mnist1d generator with its default arguments, leaving the global RNGs as found."""
    from mnist1d.data import get_dataset_args, make_dataset  # imported here: it loads matplotlib

    saved = random.getstate(), np.random.get_state()  # make_dataset reseeds both globally
    try:
        data = make_dataset(get_dataset_args())
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    return {k: data[k] for k in KEYS}


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None if the file is missing, unreadable or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    for x, y in ((arrays["x"], arrays["y"]), (arrays["x_test"], arrays["y_test"])):
        if x.ndim != 2 or y.shape != (len(x),) or x.dtype.kind != "f" or y.dtype.kind not in "iu":
            return None
    return arrays


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as out:  # a file object, so numpy adds no ".npz" to the name
        np.savez(out, **arrays)


def _arrays() -> dict[str, np.ndarray]:
    """The MNIST-1D arrays, from the cache when it is intact, else built and cached."""
    path = cache_dir() / CACHE_FILE
    arrays = _read_cache(path)
    if arrays is None:
        arrays = _build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, lambda tmp: _save(tmp, arrays))
        except OSError as error:
            warnings.warn(f"mnist1d: could not cache the dataset at {path}: {error}", stacklevel=3)
    return arrays


def spatial_permutation(length: int, seed: int) -> np.ndarray:
    """The fixed order in which `mnist1d(shuffle=True)` puts the `length` positions."""
    return np.random.default_rng(seed).permutation(length)


@register_dataset("mnist1d")
def mnist1d(
    n_val: int = 0, flatten: bool = False, shuffle: bool = False, shuffle_seed: int = 0
) -> Dataset:
    """MNIST-1D: X (N, 1, 40) float32 signals (or (N, 40) with `flatten`), y digits (N,).

    Args:
        n_val: signals carved off the end of the 4000 training ones as a validation split;
            0 keeps the paper's 4000/1000 split.
        flatten: drop the channel axis, for MLPs.
        shuffle: the paper's "shuffled" twin: every signal's 40 positions put in one fixed
            random order (`spatial_permutation(40, shuffle_seed)`, the same for train and
            test), which keeps every value and destroys which values are neighbours.
    """
    arrays = _arrays()
    x, x_test = arrays["x"], arrays["x_test"]  # (N, 40)
    if shuffle:
        order = spatial_permutation(x.shape[1], shuffle_seed)
        x, x_test = x[:, order], x_test[:, order]
    shape = (-1, x.shape[1]) if flatten else (-1, 1, x.shape[1])
    train = as_tensors(x.reshape(shape), arrays["y"])
    test = as_tensors(x_test.reshape(shape), arrays["y_test"])
    train, val = split_off("mnist1d", train, n_val)
    classes = tuple(str(d) for d in range(10))
    return Dataset("mnist1d", train=train, val=val, test=test, classes=classes)
