"""Batches for the training loop: in-memory tensors by slicing, or any DataLoader.

Small datasets live on the device as tensors. Each epoch shuffles them with one gather
(`X[perm]`) and then yields views (`X[i:i + B]`): no per-sample Python, no collate. Above
WHOLE_GATHER_BYTES each batch gathers its own rows instead (`X[perm[i:i + B]]`): no second copy
of a large dataset, and the rows are warm in cache for the step that uses them. Image tensors
are stored once in the layout the model wants (channels_last for CNNs on the CPU), which the
gathers (`take_rows`) and the slices keep.
"""

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dllab.errors import ConfigError, DataError

Batch = tuple[torch.Tensor, ...]
# Up to this size an epoch is shuffled with one gather; one per batch costs a few microseconds
# a step, 7% of a digits-MLP epoch, while a whole 120 MB CIFAR subset copied every epoch costs
# 2-3% of a CNN's (bench/bench_engine.py).
WHOLE_GATHER_BYTES = 32 << 20


class TensorBatches:
    """Mini-batches of in-memory tensors in a seeded random order.

    Args:
        tensors: tensors with the same first (sample) dimension, already on the device.
        batch_size: samples per batch; None or >= N gives full-batch gradient descent.
        shuffle: draw a new permutation from `generator` every epoch.
        generator: the CPU generator that fixes the data order (saved in checkpoints).
        shard: (rank, world_size): this process keeps every world_size-th sample of each
            permuted epoch, so the ranks of a DistributedDataParallel run split each batch.
    """

    def __init__(
        self,
        tensors: Batch,
        batch_size: int | None,
        shuffle: bool,
        generator: torch.Generator | None,
        shard: tuple[int, int] = (0, 1),
    ):
        self.tensors = tensors
        self.num_samples = len(tensors[0])
        self.rank, self.world_size = shard
        size = self.num_samples if batch_size is None else min(batch_size, self.num_samples)
        self.batch_size = size  # global batch size, summed over ranks
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return -(-self.num_samples // self.batch_size)

    def epoch(self, skip: int = 0) -> Iterator[Batch]:
        """Yield this epoch's batches, leaving out the first `skip` (when resuming mid-epoch)."""
        tensors, order = self.tensors, None
        distinct = {id(t): t for t in tensors}  # an autoencoder's (X, X) is one tensor
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=self.generator)
            order = order.to(tensors[0].device)
            if sum(t.nbytes for t in distinct.values()) <= WHOLE_GATHER_BYTES:
                shuffled = {key: take_rows(t, order) for key, t in distinct.items()}
                tensors, order = tuple(shuffled[id(t)] for t in tensors), None
        size, rank, world = self.batch_size, self.rank, self.world_size
        for start in range(skip * size, self.num_samples, size):
            rows = slice(start + rank, start + size, world)
            if order is None:
                yield tuple([t[rows] for t in tensors])
            else:
                gathered = {key: take_rows(t, order[rows]) for key, t in distinct.items()}
                yield tuple([gathered[id(t)] for t in tensors])


def take_rows(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The samples of t at `index`, in t's layout. A channels-last batch is gathered as rows of
    its NHWC view: index_select there copies whole samples, where t[index] gathers them
    element by element."""
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).index_select(0, index).permute(0, 3, 1, 2)
    return t.index_select(0, index)


def host_to_device(source: str | torch.device, target: str | torch.device) -> tuple[bool, bool]:
    """How batches travel from `source` to `target`: (pin, non_blocking).

    From the CPU to a CUDA GPU a batch in pinned (page-locked) memory is copied by DMA while the
    GPU still computes the previous step, so the loader pins and the copy does not block; any
    other pair (CPU to CPU, GPU to GPU) gains nothing from either.
    """
    to_gpu = torch.device(source).type == "cpu" and torch.device(target).type == "cuda"
    return to_gpu, to_gpu


def to_layout(t: torch.Tensor, layout: torch.memory_format | None) -> torch.Tensor:
    """4-D (B, C, H, W) tensors in `layout` (e.g. channels_last); others as they are."""
    return t if layout is None or t.dim() != 4 else t.contiguous(memory_format=layout)


def training_dtype(t: torch.Tensor, float_dtype: torch.dtype | None) -> torch.dtype:
    """The dtype a tensor trains in, as Keras casts its inputs: floats in the model's float type
    (scikit-learn's float64 arrays in float32), integers (int32 labels, uint8 IDX labels) in
    int64, which torch's losses and embeddings take; bool as it is."""
    if t.is_floating_point():
        return float_dtype or t.dtype
    if t.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
        return torch.int64
    return t.dtype


class LoaderBatches:
    """Batches from a torch DataLoader (data that does not fit in memory), moved to the device.

    For a GPU the loader is told to pin its batches (`pin_memory=True`, done in its own thread),
    and the copies are non-blocking (see `host_to_device`). Under torchrun the loader needs a
    `DistributedSampler`, whose epoch is set here so that each epoch reshuffles.
    """

    def __init__(
        self,
        loader: DataLoader,
        device: torch.device,
        layout: torch.memory_format | None = None,
        float_dtype: torch.dtype | None = None,
    ):
        self.loader = loader
        self.device = device
        self.layout = layout
        self.float_dtype = float_dtype
        pin, self.non_blocking = host_to_device("cpu", device)
        if pin:
            loader.pin_memory = True
        self.epochs_started = 0

    def __len__(self) -> int:
        return len(self.loader)

    def epoch(self, skip: int = 0) -> Iterator[Batch]:
        if hasattr(self.loader.sampler, "set_epoch"):
            self.loader.sampler.set_epoch(self.epochs_started)
        self.epochs_started += 1
        for i, batch in enumerate(self.loader):
            if i < skip:
                continue
            batch = batch if isinstance(batch, list | tuple) else (batch,)
            batch = (
                t.to(self.device, training_dtype(t, self.float_dtype), self.non_blocking)
                for t in batch
            )
            yield tuple(to_layout(t, self.layout) for t in batch)


def as_tensors(data) -> Batch:
    """(X, y) tuples of tensors or arrays, a TensorDataset, or a single X -> a tuple of tensors."""
    if isinstance(data, TensorDataset):
        return tuple(data.tensors)
    items = data if isinstance(data, list | tuple) else (data,)
    tensors = []
    for item in items:
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(np.ascontiguousarray(item))
        if not isinstance(item, torch.Tensor):
            raise DataError(f"expected tensors or arrays, got {type(item).__name__}")
        tensors.append(item)
    if len({len(t) for t in tensors}) != 1:
        raise DataError(f"inputs and targets differ in length: {[len(t) for t in tensors]}")
    if len(tensors[0]) == 0:
        raise DataError("the dataset is empty")
    return tuple(tensors)


def make_batches(
    data,
    batch_size: int | None,
    shuffle: bool,
    generator: torch.Generator | None,
    device: torch.device,
    shard: tuple[int, int] = (0, 1),
    layout: torch.memory_format | None = None,
    float_dtype: torch.dtype | None = None,
) -> TensorBatches | LoaderBatches:
    """Wrap any supported data for the loop; in-memory data is moved to `device`, cast as Keras
    casts it (`training_dtype`; floats to `float_dtype`) and images laid out in `layout`, once."""
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(data, DataLoader):
        if shard[1] > 1 and not isinstance(data.sampler, DistributedSampler):
            raise ConfigError(
                "under torchrun a DataLoader needs a DistributedSampler (tensors are sharded "
                "by dllab itself)"
            )
        return LoaderBatches(data, device, layout, float_dtype)
    tensors = tuple(
        to_layout(t.to(device, training_dtype(t, float_dtype)), layout) for t in as_tensors(data)
    )
    return TensorBatches(tensors, batch_size, shuffle, generator, shard)


def keras_training_data(train_data, y):
    """Keras' `fit(X, y)` as dllab's `fit((X, y))`."""
    if y is None:
        return train_data
    if not _is_array(y):
        raise ConfigError(
            "fit's second argument is the targets y, as in Keras' fit(X, y); pass validation "
            "data as val_data=(X, y)"
        )
    if not _is_array(train_data):
        raise ConfigError("pass the training data as fit(X, y) or fit((X, y)), not both")
    return (train_data, y)


def keras_validation_data(val_data, validation_data):
    """`val_data`, or `validation_data` as Keras names it."""
    if val_data is not None and validation_data is not None:
        raise ConfigError("give val_data or validation_data (Keras' name for it), not both")
    return val_data if val_data is not None else validation_data


def _is_array(value) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray)
