"""The in-memory dataset every loader returns, its checks, and the dataset registry."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dllab.errors import DataError, unknown_name_message

Split = tuple[torch.Tensor, torch.Tensor]  # (X, y)


@dataclass(frozen=True)
class Dataset:
    """Train/val/test splits held as tensors, ready to be batched by slicing.

    X is float32 with the sample axis first: (N, D) for vectors, (N, C, H, W) for images,
    (N, T, D) for sequences. y is int64 class indices (N,) for classification, or float32
    targets for regression and sequence outputs.
    """

    name: str
    train: Split
    test: Split
    val: Split | None = None
    classes: tuple[str, ...] | None = None  # class names; None for regression targets

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
            "splits": {k: len(v[0]) for k, v in self.splits().items()},
        }

    def __post_init__(self) -> None:
        for split_name, (X, y) in self.splits().items():
            check_split(f"{self.name}/{split_name}", X, y, self.num_classes)


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


def as_tensors(X: np.ndarray, y: np.ndarray, regression: bool = False) -> Split:
    """NumPy arrays -> (float32 X, int64 or float32 y) tensors."""
    X_t = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
    y_dtype = torch.float32 if regression else torch.int64
    y_t = torch.as_tensor(np.ascontiguousarray(y), dtype=y_dtype)
    return X_t, y_t


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
        raise DataError(unknown_name_message("dataset", name, list_datasets()))
    return _LOADERS[name]
