"""Data-parallel training across processes with PyTorch's DistributedDataParallel.

`torchrun --nproc_per_node=N -m dllab run NAME` starts N copies of this program with the
environment variables RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set; `init()`
joins them into one process group (NCCL between GPUs, gloo between CPUs). Each rank then reads
its own shard of every global batch, DDP averages the gradients during `backward()` (Li et al.,
2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training"), and only rank
0 writes files. Without torchrun (WORLD_SIZE unset or 1) every function here is a no-op and the
program is an ordinary single process.
"""

import os
from datetime import timedelta

import torch
import torch.distributed as dist

from dllab.engine.batches import TensorBatches
from dllab.errors import ConfigError


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    """True on rank 0 (and in a single process): the one process that logs, draws and writes."""
    return rank() == 0


def init(device: str = "auto") -> torch.device | None:
    """Join the process group torchrun describes; return this rank's device, or None alone.

    With CUDA (and `device` not "cpu") each rank takes GPU LOCAL_RANK and the NCCL backend;
    otherwise gloo on the CPU. Calling it again, or without torchrun, changes nothing.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is available here")
    use_cuda = device != "cpu" and torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPUs on this node; "
                "lower --nproc_per_node"
            )
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        dist.init_process_group(backend, timeout=timedelta(minutes=30))
    return torch.device("cuda", local) if use_cuda else torch.device("cpu")


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def teardown(wait: bool = True) -> None:
    """Leave the process group. With `wait`, every rank first meets at a barrier, so that no
    rank destroys the group while another still talks to it (gloo then aborts the process);
    a failed rank passes wait=False and leaves at once."""
    if dist.is_initialized():
        if wait and is_distributed():
            dist.barrier()
        dist.destroy_process_group()


def broadcast_object(value):
    """Rank 0's `value` on every rank (a run folder's name, for instance)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def weighted_mean(values: torch.Tensor, weight: float | torch.Tensor) -> torch.Tensor:
    """Σ_r weight_r · values_r / Σ_r weight_r over the ranks: batch means of the local shards
    -> the mean over the global batch, as one process with the whole batch would log it.
    `weight` is one number, or one per value (values of several steps in one all-reduce)."""
    if not is_distributed():
        return values
    weights = torch.as_tensor(weight, dtype=values.dtype, device=values.device).expand_as(values)
    packed = torch.cat([values * weights, weights])
    dist.all_reduce(packed)
    return packed[: len(values)] / packed[len(values) :]


class Shards:
    """This rank's shard of each global batch, weighed by its size: DDP averages the ranks'
    gradients equally, so a rank's loss is scaled by n_rank * world / n_global (a last batch of
    3 samples splits 2 + 1), and the logged means are weighted the same way (`weighted_mean`).

    Args:
        precision: whose `shard_scale` multiplies the loss before backward.
        batches: the fit's batches.
    """

    def __init__(self, precision, batches):
        self.precision, self.batches = precision, batches
        self.world = world_size()
        self.rank_samples = 0  # in the last batch, this rank's

    def samples(self, batch: tuple, index: int) -> int:
        """The samples of the global batch that `batch` (the `index`-th of its epoch) is this
        rank's shard of; without torchrun, the batch's own."""
        n = self.rank_samples = len(batch[0])
        if self.world == 1:
            return n
        batches = self.batches
        total = n * self.world  # a DataLoader's DistributedSampler pads the shards alike
        if isinstance(batches, TensorBatches):  # in memory: the last batch may be short
            total = min(batches.batch_size, batches.num_samples - index * batches.batch_size)
        self.precision.shard_scale = n * self.world / total
        return total
