"""A Keras-style CNN stage, ReLU -> BatchNorm2d -> MaxPool2d, trained as one fused CPU kernel.

Batch norm, ReLU and pooling do few FLOPs but each is a pass over the largest tensors of a
small CNN: half of a CPU training step of the Keras CIFAR CNN (bench_engine's step split).
Eager PyTorch makes about six such passes forward and eight backward per stage; torch.compile
fuses them but still builds the pooling's full-size gradient, and measures no faster here. The
kernel in csrc/relu_bn_maxpool.c reads the full-size input once each way:

- forward: batch norm's output y = α x + β, with α = γ / sqrt(σ² + ε), has the sign of γ, so
  each k x k window's maximum of y sits where sign(γ) relu(x) is largest. One pass applies the
  ReLU on the fly, sums relu(x) and relu(x)² per channel (in double) and finds those maxima;
  then y is computed at the maxima only. Neither relu(x) nor y is stored at full size.
- backward: the pooling's input gradient g is the pooled gradient at each window's maximum and
  0 elsewhere, so the sums Σg and Σ g x̂ that batch norm's backward needs (Ioffe & Szegedy,
  2015, §3) run over the pooled positions only. Then one pass writes
  dx = relu'(x) ⊙ (α g - α Σg / M - α x̂ Σ(g x̂) / M),  x̂ = (x - μ) / sqrt(σ² + ε),  M = B H W.

`FusedSequential` is an nn.Sequential that runs each such run of three layers through the
kernel when it applies (training, float32 channels-last CPU input, channels a multiple of 16,
pooling kernel = stride, no padding, no hooks) and layer by layer otherwise: the same modules,
the same state_dict, the same numbers up to float rounding (tests/test_fused.py: as close to
float64 as PyTorch's own float32 layers). Without a C compiler it is a plain nn.Sequential.
"""

import ctypes
import functools

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

from dllab.nn.native import library

CHANNEL_BLOCK = 16  # BLOCK in the C source: channels go through it 16 at a time
POINTER = ctypes.c_void_p
INT = ctypes.c_int64
SIGNATURES = {
    # x, B, H, W, C, weight, bias, eps, k, running_mean, running_var, momentum, threads,
    # pooled, argmax, xmax, mean, invstd
    "relu_bn_maxpool_forward": [POINTER, INT, INT, INT, INT, POINTER, POINTER, ctypes.c_double]
    + [INT, POINTER, POINTER, ctypes.c_double, ctypes.c_int]
    + [POINTER] * 5,
    # x, B, H, W, C, weight, mean, invstd, k, dpooled, argmax, xmax, threads, dx, dweight, dbias
    "relu_bn_maxpool_backward": [POINTER, INT, INT, INT, INT, POINTER, POINTER, POINTER, INT]
    + [POINTER] * 3
    + [ctypes.c_int]
    + [POINTER] * 3,
}


@functools.cache
def kernels() -> ctypes.CDLL | None:
    """The compiled relu_bn_maxpool library with its C signatures, or None without a compiler."""
    lib = library("relu_bn_maxpool")
    if lib is not None:
        for name, argtypes in SIGNATURES.items():
            getattr(lib, name).argtypes = argtypes
    return lib


def _check_layout(x: torch.Tensor, k: int) -> None:
    """Refuse what the kernel would read out of bounds (it sees raw pointers, not shapes)."""
    B, C, H, W = x.shape
    if not (x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)):
        raise ValueError("the fused stage needs a float32 channels-last tensor")
    if C % CHANNEL_BLOCK or min(H, W) < k or not 1 <= k <= 15:
        raise ValueError(
            f"the fused stage needs channels in blocks of {CHANNEL_BLOCK} and 1 <= k <= 15 no"
            f" larger than the image; got C={C}, {H}x{W}, k={k}"
        )


def _pointers(*tensors: torch.Tensor) -> list[int]:
    return [t.data_ptr() for t in tensors]


class ReluBatchNormMaxPool(torch.autograd.Function):
    """maxpool_k(batch_norm(relu(x))) in training mode, x (B, C, H, W) float32 channels-last
    -> (B, C, H//k, W//k). The ReLU is applied on the fly: x itself is left as it is. Moves
    `running` = (running_mean, running_var), when given, towards the batch's statistics by
    `momentum`, as batch norm's own kernel does."""

    @staticmethod
    def forward(ctx, x, weight, bias, running, momentum: float, eps: float, k: int):
        _check_layout(x, k)
        B, C, H, W = x.shape
        pooled, xmax = torch.empty(2, B, H // k, W // k, C).permute(0, 1, 4, 2, 3)  # NHWC
        argmax = torch.empty(B, H // k, W // k, C, dtype=torch.uint8).permute(0, 3, 1, 2)
        stats = torch.empty(2, C)  # mean, 1 / sqrt(var + eps)
        kernels().relu_bn_maxpool_forward(
            x.data_ptr(), B, H, W, C, *_pointers(weight, bias), eps, k,
            *(_pointers(*running) if running else (None, None)), momentum,
            torch.get_num_threads(), *_pointers(pooled, argmax, xmax),
            stats.data_ptr(), stats.data_ptr() + 4 * C,
        )  # fmt: skip
        ctx.save_for_backward(x, weight, stats, argmax, xmax)
        ctx.k = k
        return pooled

    @staticmethod
    def backward(ctx, dpooled):
        x, weight, stats, argmax, xmax = ctx.saved_tensors
        B, C, H, W = x.shape
        dpooled = dpooled.contiguous(memory_format=torch.channels_last)
        dx = torch.empty_like(x, memory_format=torch.channels_last)
        dparams = torch.empty(2, C)  # d weight, d bias
        kernels().relu_bn_maxpool_backward(
            x.data_ptr(), B, H, W, C, weight.data_ptr(), stats.data_ptr(),
            stats.data_ptr() + 4 * C, ctx.k, *_pointers(dpooled, argmax, xmax),
            torch.get_num_threads(), dx.data_ptr(), dparams.data_ptr(),
            dparams.data_ptr() + 4 * C,
        )  # fmt: skip
        return dx, dparams[0], dparams[1], None, None, None, None


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _window(pool: nn.MaxPool2d) -> int | None:
    """The side k of a max pool that tiles its input with k x k windows (kernel = stride, no
    padding or dilation, floor mode), else None."""
    (k, k2), stride = _pair(pool.kernel_size), _pair(pool.stride)
    tiles = k == k2 == stride[0] == stride[1] and _pair(pool.padding) == (0, 0)
    plain = _pair(pool.dilation) == (1, 1) and not pool.ceil_mode and not pool.return_indices
    return k if tiles and plain and k <= 15 else None  # argmax is a uint8


def _hooked(*layers: nn.Module) -> bool:
    """Whether running `layers` as one kernel would skip a forward hook someone registered."""
    global_hooks = module_hooks._global_forward_hooks or module_hooks._global_forward_pre_hooks
    return bool(global_hooks) or any(m._forward_hooks or m._forward_pre_hooks for m in layers)


def fused_window(x, relu: nn.Module, bn: nn.Module, pool: nn.Module) -> int | None:
    """The window side k with which the kernel computes relu -> bn -> pool on x as the three
    layers would, or None when it does not apply."""
    if not (type(relu) is nn.ReLU and type(bn) is nn.BatchNorm2d and type(pool) is nn.MaxPool2d):
        return None
    k = _window(pool)
    applies = (
        k is not None
        and bn.training
        and type(x) is torch.Tensor
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and x.dim() == 4
        and x.is_contiguous(memory_format=torch.channels_last)
        and min(x.shape[2:]) >= k
        and x.numel() > x.shape[1]  # batch norm needs two values per channel
        and x.shape[1] % CHANNEL_BLOCK == 0
        and not _hooked(relu, bn, pool)
        and not torch.compiler.is_compiling()
        and kernels() is not None
    )
    return k if applies else None


def relu_batch_norm_max_pool(x: torch.Tensor, bn: nn.BatchNorm2d, k: int) -> torch.Tensor:
    """The fused stage on x (B, C, H, W) -> (B, C, H//k, W//k), updating bn's running statistics
    as nn.BatchNorm2d does (unbiased variance; momentum None is a cumulative average)."""
    C = x.shape[1]
    weight = bn.weight if bn.affine else torch.ones(C)
    bias = bn.bias if bn.affine else torch.zeros(C)
    running, momentum = None, 0.0
    if bn.track_running_stats and bn.running_mean is not None:
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / bn.num_batches_tracked.item() if bn.momentum is None else bn.momentum
        running = (bn.running_mean, bn.running_var)
    return ReluBatchNormMaxPool.apply(x, weight, bias, running, momentum, bn.eps, k)


class FusedSequential(nn.Sequential):
    """nn.Sequential whose ReLU -> BatchNorm2d -> MaxPool2d runs train as one fused
    CPU kernel where `fused_window` allows, and layer by layer otherwise (see the module
    docstring)."""

    def forward(self, x):
        layers = list(self)
        i = 0
        while i < len(layers):
            stage = layers[i : i + 3]
            k = fused_window(x, *stage) if self.training and len(stage) == 3 else None
            if k is not None:
                x = relu_batch_norm_max_pool(x, stage[1], k)
                i += 3
            else:
                x = layers[i](x)
                i += 1
        return x
