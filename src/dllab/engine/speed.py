"""CPU and precision settings of the Trainer: the CPU thread count, denormals flushed to zero,
and automatic mixed precision (its `amp=` option).

Mixed precision (Micikevicius et al., 2018, "Mixed Precision Training") runs the forward pass
in bfloat16 or float16 under `torch.autocast` while the weights and optimizer stay float32;
float16 has a narrow exponent, so on CUDA its loss is multiplied by a running scale before
backward (GradScaler) and the gradients divided by it before clipping and the step (§3.2).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch

from dllab.errors import ConfigError

DEFAULT_THREADS = 1  # see set_threads
MAX_THREADS = 1024
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # torch's own start-up settings


class Threads:
    """Whether the thread count was chosen, and torch's count when dllab was imported (read
    only: importing dllab changes nothing)."""

    chosen = False
    at_import = torch.get_num_threads()


def set_threads(n: int) -> None:
    """torch's intra-op CPU threads, for the CLI's `--threads` and the Python API alike.

    The syllabus' models are small: a second thread gains them little on an idle machine and
    costs them many times over when another program keeps a core busy, because OpenMP's threads
    spin while they wait for each other at every operation; sleeping threads
    (OMP_WAIT_POLICY=PASSIVE) cut that cost but lose the idle gain. Hence DEFAULT_THREADS = 1
    (`python -m bench engine`, its "threads" and "wait policy" tables, measures both).

    Raises:
        ConfigError: for a count below 1 or above MAX_THREADS.
    """
    if not 1 <= n <= MAX_THREADS:
        raise ConfigError(f"the thread count (--threads) must be 1 to {MAX_THREADS}, got {n}")
    torch.set_num_threads(n)
    Threads.chosen = True


def default_threads() -> None:
    """DEFAULT_THREADS, set when the first `fit` starts, unless the program chose a count: by
    `set_threads`, by `torch.set_num_threads` to another count than torch started with, or by
    OMP_NUM_THREADS / MKL_NUM_THREADS."""
    if Threads.chosen:
        return
    chosen_elsewhere = torch.get_num_threads() != Threads.at_import
    if not chosen_elsewhere and not any(os.environ.get(v) for v in THREAD_VARIABLES):
        torch.set_num_threads(DEFAULT_THREADS)
    Threads.chosen = True


def denormals_flushed() -> bool:
    """Whether this thread's CPU arithmetic currently reads and writes subnormals as zero."""
    return (torch.tensor([1e-40]) * 1.0).item() == 0.0


@contextmanager
def flush_denormals() -> Iterator[bool]:
    """Inside the block the CPU reads and writes subnormal floats (|x| < 1.2e-38) as zero
    (FTZ/DAZ), as TensorFlow's CPU kernels do by default; the Trainer trains inside it.

    x86 arithmetic on subnormals is slow, and training makes them: a many-to-one loss sends
    its gradient in at the last step only, and carried back through T steps it shrinks
    geometrically into the subnormal range, where forward + backward of an LSTM or GRU on
    the adding problem at T = 200 takes 4-10x longer (bench/bench_rnn.py). Zeroing values
    below 1e-38 changes no result. The setting is per thread: torch's intra-op worker threads
    keep theirs. Yields whether the CPU supports it; afterwards the previous setting returns.
    """
    before = denormals_flushed()
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(before)


AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
NO_AUTOCAST = nullcontext()  # reusable: one object for every step


def uses_grad_scaler(amp: str | None, device_type: str) -> bool:
    """Loss scaling is for float16 on CUDA only: bfloat16 has float32's exponent range, and
    the CPU does not train in float16."""
    return amp == "fp16" and device_type == "cuda"


class Precision:
    """Autocast and loss scaling: fp16's on CUDA, and under torchrun a rank's share of the
    global batch (`shard_scale`, set by `distributed.Shards`); with `amp=None` in one process
    every method is a no-op."""

    def __init__(self, amp: str | None, device: torch.device):
        if amp is not None and amp not in AMP_DTYPES:
            raise ConfigError(f"unknown amp {amp!r} (use None, 'bf16' or 'fp16')")
        if amp == "fp16" and device.type != "cuda":
            raise ConfigError("amp='fp16' needs a CUDA GPU; on the CPU use amp='bf16'")
        self.amp, self.device_type = amp, device.type
        self.scaler = torch.amp.GradScaler("cuda") if uses_grad_scaler(amp, device.type) else None
        self.shard_scale = 1.0

    def autocast(self):
        if self.amp is None:
            return NO_AUTOCAST
        return torch.autocast(self.device_type, dtype=AMP_DTYPES[self.amp])

    def backward(self, loss: torch.Tensor) -> None:
        if self.shard_scale != 1.0:
            loss = loss * self.shard_scale
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """True gradients before clipping (and the divergence guard on their norm)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
        else:  # skips the step when the scaled gradients overflowed, then adapts the scale
            self.scaler.step(optimizer)
            self.scaler.update()
