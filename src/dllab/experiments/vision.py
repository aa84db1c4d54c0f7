"""Pieces the unit II (CNN) experiments share: training a classifier with label smoothing and
in-step augmentation, class subsets, CIFAR-shaped synthetic data, pretrained weights in
torchvision's layout, and feature maps."""

import pickle
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from dllab import data
from dllab.data import Dataset
from dllab.data.augment import Compose, Transform, augmentation, shift
from dllab.engine import Augmented, Supervised, Trainer
from dllab.engine.checkpoint import load_weights
from dllab.errors import CheckpointError
from dllab.experiments.common import train_classifier
from dllab.experiments.runner import Run


def fit_classifier(
    run: Run,
    name: str,
    model: nn.Module,
    dataset: Dataset,
    *,
    num_epochs: int,
    batch_size: int,
    augment: tuple[str | Transform, ...] = (),
    mix: str | None = None,
    label_smoothing: float = 0.0,
    **trainer_kwargs,
) -> tuple[Trainer, dict[str, float]]:
    """`train_classifier` with cross-entropy, optional label smoothing (Szegedy et al., 2016,
    §7), and augmentations (names or transforms, then mixup/cutmix) inside each training step."""
    loss = partial(F.cross_entropy, label_smoothing=label_smoothing)
    loss.__name__ = "cross_entropy"
    task = Supervised(loss)
    if augment or mix:
        transforms = [augmentation(a) if isinstance(a, str) else a for a in augment]
        transform = Compose(transforms) if transforms else None
        task = Augmented(task, transform, mix=mix)
    return train_classifier(
        run, name, model, dataset, num_epochs=num_epochs, batch_size=batch_size, loss=task,
        **trainer_kwargs,
    )  # fmt: skip


def subset(dataset: Dataset, classes: tuple[int, ...], per_class: int | None = None) -> Dataset:
    """Only `classes` (relabelled 0..k-1), at most `per_class` training samples of each."""

    def keep(split, limit):
        if split is None:
            return None
        X, y = split
        lookup = torch.full((max(int(y.max()), *classes) + 1,), -1, dtype=torch.long)
        lookup[list(classes)] = torch.arange(len(classes))
        y = lookup[y]  # (N,) new labels, -1 for the classes left out
        chosen = y >= 0
        if limit is not None:  # the first `limit` samples of each class, in the split's order
            onehot = F.one_hot(y.clamp(min=0), len(classes)) * chosen[:, None]  # (N, k)
            rank = onehot.cumsum(0).gather(1, y.clamp(min=0)[:, None])[:, 0]  # (N,)
            chosen &= rank <= limit
        return X[chosen], y[chosen]

    names = [dataset.classes[c] for c in classes] if dataset.classes else None
    return Dataset(
        f"{dataset.name}[{','.join(map(str, classes))}]",
        keep(dataset.train, per_class),
        keep(dataset.test, None),
        keep(dataset.val, None),
        names,
    )


def synthetic_cifar(num_train: int, num_test: int, seed: int = 0) -> Dataset:
    """CIFAR-10-shaped data (3x32x32 in [0, 1], 10 classes) that a CNN can learn: each class is
    a smooth random colour pattern, each image that pattern shifted, dimmed and noised."""
    g = torch.Generator().manual_seed(seed)
    patterns = F.interpolate(torch.rand(10, 3, 8, 8, generator=g), size=32, mode="bicubic")

    def split(n):
        y = torch.randint(0, 10, (n,), generator=g)
        shifts = torch.randint(-4, 5, (n, 2), generator=g)
        X = shift(patterns[y], shifts, fill="circular")  # (n, 3, 32, 32)
        X = X * (0.6 + 0.4 * torch.rand(n, 1, 1, 1, generator=g))
        X = X + 0.15 * torch.randn(X.shape, generator=g)
        return X.clamp(0, 1), y

    classes = ["airplane", "automobile", "bird", "cat", "deer"]
    classes += ["dog", "frog", "horse", "ship", "truck"]
    return Dataset("synthetic-cifar10", split(num_train), split(num_test), None, classes)


def load_images(source: str, dir: str, num_synthetic: int, download: bool = False) -> Dataset:
    """Real CIFAR-10 from `dir`, downloaded there first with `download` (a DataError names what
    is missing), or synthetic stand-ins."""
    if source == "synthetic":
        return synthetic_cifar(num_synthetic, max(num_synthetic // 5, 100))
    return data.load("cifar10", dir=dir or None, download=download)


def read_weight_file(path: str) -> dict[str, torch.Tensor]:
    """A state dict from a safetensors file or a weights-only torch file (torchvision's .pth).

    Raises:
        CheckpointError: missing, unreadable or unsafe files, in one line.
    """
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"no weight file {file}")
    try:
        if file.suffix == ".safetensors":
            return load_file(str(file))
        weights = torch.load(file, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError(f"refused {file}: it holds objects other than tensors") from None
    except (OSError, RuntimeError, EOFError, SafetensorError) as error:
        raise CheckpointError(f"cannot read weights {file}: {error}") from None
    if not isinstance(weights, dict) or not all(
        isinstance(v, torch.Tensor) for v in weights.values()
    ):
        raise CheckpointError(f"{file} is not a state dict of tensors")
    return weights


HEADS = ("fc.", "classifier.6.", "aux1.fc2.", "aux2.fc2.")  # torchvision's last layers


def load_pretrained(model: nn.Module, path: str) -> None:
    """Load torchvision-layout weights (e.g. ImageNet ResNet/VGG/GoogLeNet) for fine-tuning.

    The classifier's last layer keeps its fresh initialisation when its shape differs (1000
    ImageNet classes vs this task's); every other key and shape must agree (`load_weights`).
    """
    weights = read_weight_file(path)
    own = model.state_dict()
    for key, value in own.items():
        if key.startswith(HEADS) and key in weights and weights[key].shape != value.shape:
            weights[key] = value
    load_weights(model, weights)


def first_conv(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv2d))


@torch.no_grad()
def first_feature_maps(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The first ConvBlock's maps after its activation, before pooling.  X (N, C, H, W)."""
    model.eval()
    block = model.features[0]
    for part in ("conv", "norm", "act"):
        if part in block._modules:
            X = block._modules[part](X)
    return X  # (N, C', H, W)


def unit_range(x: torch.Tensor) -> torch.Tensor:
    """Each map scaled to [0, 1] on its own, for display.  x: (..., H, W)."""
    low = x.amin((-2, -1), keepdim=True)
    high = x.amax((-2, -1), keepdim=True)
    return (x - low) / (high - low).clamp(min=1e-8)
