"""The in-memory dataset every loader returns, its checks, and the dataset registry."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dllab.errors import ConfigError, DataError, unknown_name_message

Split = tuple[torch.Tensor, torch.Tensor]  # (X, y)
Sampler = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]  # (rng, n) -> X, y

# Options offered to every loader; a loader that does not declare one (digits has a fixed split,
# toy sets read no files) does not receive it. Any other undeclared option is a ConfigError.
COMMON_OPTIONS = ("seed", "dir", "download")


@dataclass(frozen=True)
class Dataset:
    """Train/val/test splits held as tensors, ready to be batched by slicing.

    X is float32 with the sample axis first: (N, D) for vectors, (N, C, H, W) for images,
    (N, T, D) for sequences, or int64 token ids (N, T) for text, whose symbols are `vocab`.
    y is int64 class indices (N,) or (N, T) for classification, or float32 targets for
    regression.
    """

    name: str
    train: Split
    test: Split
    val: Split | None = None
    classes: tuple[str, ...] | None = None  # class names; None for regression targets
    vocab: tuple[str, ...] | None = None  # the symbol of each input id; None for float inputs

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train[0].shape[1:])

    def splits(self) -> dict[str, Split]:
        named = {"train": self.train, "val": self.val, "test": self.test}
        return {k: v for k, v in named.items() if v is not None}

    def describe(self) -> dict:
        """Shapes, classes and split sizes, as a JSON-ready dict."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "target_shape": list(self.train[1].shape[1:]),
            "classes": list(self.classes) if self.classes is not None else None,
            "vocab_size": len(self.vocab) if self.vocab is not None else None,
            "splits": {k: len(v[0]) for k, v in self.splits().items()},
        }

    def __post_init__(self) -> None:
        for split_name, (X, y) in self.splits().items():
            check_split(f"{self.name}/{split_name}", X, y, self.num_classes)
            if self.vocab is not None:
                check_ids(f"{self.name}/{split_name}", X, len(self.vocab))


def check_split(where: str, X: torch.Tensor, y: torch.Tensor, num_classes: int | None) -> None:
    """Refuse empty splits, NaN/Inf inputs, mismatched lengths and labels out of range.

    Raises:
        DataError: naming `where` and what is wrong.
    """
    if len(X) == 0:
        raise DataError(f"{where}: the dataset is empty")
    if len(X) != len(y):
        raise DataError(f"{where}: {len(X)} inputs but {len(y)} targets")
    if X.is_floating_point() and not torch.isfinite(X).all():
        raise DataError(f"{where}: inputs contain NaN or Inf values")
    if y.is_floating_point() and not torch.isfinite(y).all():
        raise DataError(f"{where}: targets contain NaN or Inf values")
    if num_classes is not None and not y.is_floating_point():
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise DataError(
                f"{where}: labels must lie in [0, {num_classes - 1}], found {low}..{high}"
            )


def check_ids(where: str, X: torch.Tensor, vocab_size: int) -> None:
    """Refuse token inputs that are not integers in [0, vocab_size).

    Raises:
        DataError: naming `where` and what is wrong.
    """
    if X.is_floating_point():
        raise DataError(f"{where}: token inputs must be integer ids, found {X.dtype}")
    low, high = int(X.min()), int(X.max())
    if low < 0 or high >= vocab_size:
        raise DataError(
            f"{where}: token ids must lie in [0, {vocab_size - 1}], found {low}..{high}"
        )


def check_at_least(where: str, minimum: int, **values: float) -> None:
    """Refuse any option in `values` below `minimum`.

    Raises:
        ConfigError: naming the dataset, the option and its value.
    """
    for key, value in values.items():
        if value < minimum:
            raise ConfigError(f"{where}: {key} must be at least {minimum}, got {value}")


def as_tensors(X: np.ndarray, y: np.ndarray, regression: bool = False) -> Split:
    """NumPy arrays -> (float32 X, int64 or float32 y) tensors, sharing memory when they can."""
    X_t = torch.as_tensor(np.require(X, requirements="CW"), dtype=torch.float32)
    y_dtype = torch.float32 if regression else torch.int64
    y_t = torch.as_tensor(np.require(y, requirements="CW"), dtype=y_dtype)
    return X_t, y_t


def split_off(where: str, train: Split, n_val: int) -> tuple[Split, Split | None]:
    """Carve the last `n_val` training samples off as a validation split (None when 0).

    Raises:
        ConfigError: if `n_val` is negative or leaves no training data.
    """
    check_at_least(where, 0, n_val=n_val)
    X, y = train
    if n_val >= len(X):
        raise ConfigError(f"{where}: n_val={n_val} leaves no training data (train has {len(X)})")
    if n_val == 0:
        return train, None
    return (X[:-n_val], y[:-n_val]), (X[-n_val:], y[-n_val:])


def sampled_dataset(
    name: str,
    sample: Sampler,
    seed: int,
    sizes: tuple[int, int, int],
    classes: tuple[str, ...] | None,
) -> Dataset:
    """Draw train, val and test from `sample(rng, n)` with independent seeded generators.

    Each split has its own stream spawned from `seed`, so the test set does not change when the
    training set grows. `sizes` is (n, n_val, n_test); n_val = 0 means no validation split.
    Targets are int64 classes when `classes` is given, float32 regression targets otherwise.
    """
    n, n_val, n_test = sizes
    check_at_least(name, 1, n=n, n_test=n_test)
    check_at_least(name, 0, n_val=n_val)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    train, val, test = (
        as_tensors(*sample(rng, size), regression=classes is None) if size else None
        for rng, size in zip(rngs, sizes)
    )
    return Dataset(name, train=train, val=val, test=test, classes=classes)


_LOADERS: dict[str, Callable[..., Dataset]] = {}


def register_dataset(name: str) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Register a loader `fn(**kwargs) -> Dataset` under `name`."""

    def decorate(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if name in _LOADERS:
            raise ValueError(f"dataset {name!r} is registered twice")
        _LOADERS[name] = loader
        return loader

    return decorate


def list_datasets() -> list[str]:
    return sorted(_LOADERS)


def get_loader(name: str) -> Callable[..., Dataset]:
    if name not in _LOADERS:
        raise ConfigError(unknown_name_message("dataset", name, list_datasets()))
    return _LOADERS[name]


def load(name: str, **options) -> Dataset:
    """Build the registered dataset `name` with keyword options such as `n` or `dir`.

    The COMMON_OPTIONS reach only the loaders that declare them.

    Raises:
        ConfigError: for an unknown name or an option the loader does not take.
        DataError: for missing or corrupt data.
    """
    loader = get_loader(name)
    accepted = inspect.signature(loader).parameters
    unknown = sorted(k for k in options if k not in accepted and k not in COMMON_OPTIONS)
    if unknown:
        raise ConfigError(
            f"dataset {name!r} takes no option {', '.join(unknown)} "
            f"(it takes: {', '.join(accepted)})"
        )
    return loader(**{k: v for k, v in options.items() if k in accepted})
