"""A Keras-style CNN stage, (Conv2d) -> ReLU -> BatchNorm2d -> MaxPool2d, trained with one fused
CPU kernel after the convolution.

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

A convolution just before the ReLU runs without its bias, which the kernel adds on the fly and
whose gradient, the sum of dx, it returns from the same pass: oneDNN's own bias gradient costs
a quarter of the first convolution's backward in the Keras CIFAR CNN. When that convolution is
a network's first layer (its input needs no gradient; stride 1, no padding), the same pass also
gives its weight gradient, the sum over pixels of dx times the input patch, one image row of dx
at a time: dx is never written and oneDNN's backward for that layer never runs. On the Keras
CNN the fused stages take a training step from 11.9-13.4 ms to 8.4-9.2 ms (bench_engine's
efficiency table), of which the first layer's weight gradient is 0.8 ms.

`FusedSequential` is an nn.Sequential that runs each such run of layers through the kernel when
it applies (training, float32 channels-last CPU input, no autocast, channels a multiple of 16,
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

CL = torch.channels_last
CHANNEL_BLOCK = 16  # BLOCK in the C source: channels go through it 16 at a time
POINTER = ctypes.c_void_p
INT = ctypes.c_int64
SIGNATURES = {
    # x, B, H, W, C, lead, weight, bias, eps, k, running_mean, running_var, momentum, threads,
    # pooled, argmax, xmax, mean, invstd
    "relu_bn_maxpool_forward": [POINTER, INT, INT, INT, INT, POINTER, POINTER, POINTER]
    + [ctypes.c_double, INT, POINTER, POINTER, ctypes.c_double, ctypes.c_int]
    + [POINTER] * 5,
    # x, B, H, W, C, lead, weight, mean, invstd, k, dpooled, argmax, xmax, threads,
    # dx, dlead, dweight, dbias, source, Cin, KH, KW, dconv
    "relu_bn_maxpool_backward": [POINTER, INT, INT, INT, INT, POINTER, POINTER, POINTER]
    + [POINTER, INT, POINTER, POINTER, POINTER, ctypes.c_int]
    + [POINTER] * 5
    + [INT] * 3
    + [POINTER],
}


@functools.cache
def kernels() -> ctypes.CDLL | None:
    """The compiled relu_bn_maxpool library with its C signatures, or None without a compiler."""
    lib = library("relu_bn_maxpool")
    if lib is not None:
        for name, argtypes in SIGNATURES.items():
            getattr(lib, name).argtypes = argtypes
    return lib


def _check_layout(x: torch.Tensor, k: int, per_channel: list[torch.Tensor]) -> None:
    """Refuse what the kernel would read out of bounds (it sees raw pointers, not shapes)."""
    B, C, H, W = x.shape
    if not (x.dtype == torch.float32 and x.is_contiguous(memory_format=CL)):
        raise ValueError("the fused stage needs a float32 channels-last tensor")
    for t in per_channel:
        if not (t.dtype == torch.float32 and t.is_contiguous() and t.shape == (C,)):
            raise ValueError(f"the fused stage needs float32 vectors of {C} values per channel")
    if C % CHANNEL_BLOCK or min(H, W) < k or not 1 <= k <= 15:
        raise ValueError(
            f"the fused stage needs channels in blocks of {CHANNEL_BLOCK} and 1 <= k <= 15 no"
            f" larger than the image; got C={C}, {H}x{W}, k={k}"
        )


def _check_convolution(x: torch.Tensor, source: torch.Tensor, weight: torch.Tensor) -> None:
    """Refuse a convolution input and weight that could not have made x (stride 1, no
    padding): the kernel reads source's patches under each of x's pixels."""
    if source is None or weight is None:
        raise ValueError("the fused stage needs both the convolution's input and its weight")
    B, C, H, W = x.shape
    Cin, KH, KW = weight.shape[1:]
    if not (source.dtype == torch.float32 and source.is_contiguous(memory_format=CL)):
        raise ValueError("the fused stage needs the convolution's input float32 channels-last")
    if weight.shape[0] != C or source.shape != (B, Cin, H + KH - 1, W + KW - 1):
        raise ValueError(
            f"a {tuple(weight.shape)} kernel over a {tuple(source.shape)} input, stride 1 and"
            f" no padding, does not make {tuple(x.shape)}"
        )


def _pointers(*tensors: torch.Tensor) -> list[int]:
    return [t.data_ptr() for t in tensors]


class ReluBatchNormMaxPool(torch.autograd.Function):
    """maxpool_k(batch_norm(relu(x + lead))) in training mode, x (B, C, H, W) float32
    channels-last and lead (C,) (a convolution's bias) -> (B, C, H//k, W//k). Neither x + lead
    nor the ReLU is stored: x itself is left as it is. Moves `running` = (running_mean,
    running_var), when given, towards the batch's statistics by `momentum`, as batch norm's
    own kernel does. Given x = conv2d(source, conv_weight) (source (B, Cin, H + KH - 1,
    W + KW - 1) channels-last, conv_weight (C, Cin, KH, KW)), the backward pass returns
    conv_weight's gradient and none for x."""

    @staticmethod
    def forward(
        ctx, x, lead, weight, bias, running, momentum: float, eps: float, k: int,
        source=None, conv_weight=None,
    ):  # fmt: skip
        _check_layout(x, k, [lead, weight, bias, *(running or ())])
        if source is not None or conv_weight is not None:
            _check_convolution(x, source, conv_weight)
        B, C, H, W = x.shape
        pooled, xmax = torch.empty(2, B, H // k, W // k, C).permute(0, 1, 4, 2, 3)  # NHWC
        argmax = torch.empty(B, H // k, W // k, C, dtype=torch.uint8).permute(0, 3, 1, 2)
        stats = torch.empty(2, C)  # mean, 1 / sqrt(var + eps)
        kernels().relu_bn_maxpool_forward(
            x.data_ptr(), B, H, W, C, *_pointers(lead, weight, bias), eps, k,
            *(_pointers(*running) if running else (None, None)), momentum,
            torch.get_num_threads(), *_pointers(pooled, argmax, xmax),
            stats.data_ptr(), stats.data_ptr() + 4 * C,
        )  # fmt: skip
        ctx.save_for_backward(x, lead, weight, stats, argmax, xmax, source)
        ctx.k, ctx.kernel_size = k, None if conv_weight is None else conv_weight.shape
        return pooled

    @staticmethod
    def backward(ctx, dpooled):
        x, lead, weight, stats, argmax, xmax, source = ctx.saved_tensors
        B, C, H, W = x.shape
        dpooled = dpooled.contiguous(memory_format=CL)
        dparams = torch.empty(3, C)  # d lead, d weight, d bias
        if source is None:
            dx, dconv, conv = torch.empty_like(x, memory_format=CL), None, (None, 0, 0, 0, None)
        else:
            _, Cin, KH, KW = ctx.kernel_size
            dx, dconv = None, torch.empty(C, KH, KW, Cin).permute(0, 3, 1, 2)
            conv = (source.data_ptr(), Cin, KH, KW, dconv.data_ptr())
        kernels().relu_bn_maxpool_backward(
            x.data_ptr(), B, H, W, C, *_pointers(lead, weight), stats.data_ptr(),
            stats.data_ptr() + 4 * C, ctx.k, *_pointers(dpooled, argmax, xmax),
            torch.get_num_threads(), None if dx is None else dx.data_ptr(),
            *(dparams.data_ptr() + 4 * C * i for i in range(3)), *conv,
        )  # fmt: skip
        return dx, *dparams, None, None, None, None, None, dconv


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


def _stage_window(relu: nn.Module, bn: nn.Module, pool: nn.Module) -> int | None:
    """k when the three layers are a training ReLU -> BatchNorm2d -> tiling MaxPool2d."""
    if type(relu) is nn.ReLU and type(bn) is nn.BatchNorm2d and type(pool) is nn.MaxPool2d:
        return _window(pool) if bn.training else None
    return None


def _kernel_takes(x) -> bool:
    """Whether x (the stage's input, or the convolution's before it) suits the kernel."""
    return (
        type(x) is torch.Tensor
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and x.dim() == 4
        and x.is_contiguous(memory_format=CL)
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and kernels() is not None
    )


def fused_stage(x, layers: list[nn.Module]) -> tuple[int, nn.Conv2d | None, int] | None:
    """How the kernel runs the layers that start `layers` on x as they would run: (k, the
    convolution whose bias it takes or None, how many layers it replaces), or None."""
    if not _kernel_takes(x):
        return None
    conv = layers[0] if type(layers[0]) is nn.Conv2d and layers[0].bias is not None else None
    stage = layers[1:4] if conv is not None else layers[:3]
    k = _stage_window(*stage) if len(stage) == 3 else None
    channels = x.shape[1] if conv is None else conv.out_channels
    if k is None or channels % CHANNEL_BLOCK or _hooked(*stage, *([conv] if conv else [])):
        return None
    return k, conv, len(stage) + (conv is not None)


def takes_weight_gradient(conv: nn.Conv2d, source: torch.Tensor) -> bool:
    """Whether the kernel can give conv's weight gradient in place of its output gradient: conv
    (stride 1, no padding) trains on a `source` that needs no gradient, as a first layer does."""
    plain = _pair(conv.stride) == _pair(conv.dilation) == (1, 1) and conv.groups == 1
    unpadded = conv.padding in ("valid", (0, 0))
    trains = torch.is_grad_enabled() and conv.weight.requires_grad and not source.requires_grad
    return plain and unpadded and trains


def relu_batch_norm_max_pool(
    x: torch.Tensor,
    bn: nn.BatchNorm2d,
    k: int,
    lead: torch.Tensor | None = None,
    source: torch.Tensor | None = None,
    conv_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The fused stage on x (B, C, H, W) -> (B, C, H//k, W//k), with `lead` (a convolution's
    bias) added before the ReLU, updating bn's running statistics as nn.BatchNorm2d does
    (unbiased variance; momentum None is a cumulative average). Given the `source` and
    `conv_weight` of the convolution that made x (see `takes_weight_gradient`; x then made
    without autograd), the backward pass gives conv_weight's gradient instead of x's."""
    C = x.shape[1]
    lead = torch.zeros(C) if lead is None else lead
    weight = bn.weight if bn.affine else torch.ones(C)
    bias = bn.bias if bn.affine else torch.zeros(C)
    running, momentum = None, 0.0
    if bn.track_running_stats and bn.running_mean is not None:
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / bn.num_batches_tracked.item() if bn.momentum is None else bn.momentum
        running = (bn.running_mean, bn.running_var)
    return ReluBatchNormMaxPool.apply(
        x, lead, weight, bias, running, momentum, bn.eps, k, source, conv_weight
    )


class FusedSequential(nn.Sequential):
    """nn.Sequential whose (Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d trains with one fused
    CPU kernel where `fused_stage` allows, and layer by layer otherwise (see the module
    docstring)."""

    def forward(self, x):
        layers = list(self)
        i = 0
        while i < len(layers):
            plan = fused_stage(x, layers[i:]) if self.training else None
            if plan is not None:
                k, conv, length = plan
                weight_gradient = conv is not None and takes_weight_gradient(conv, x)
                with torch.set_grad_enabled(torch.is_grad_enabled() and not weight_gradient):
                    y = x if conv is None else conv._conv_forward(x, conv.weight, None)
                    y = y.contiguous(memory_format=CL)  # a conv on 1 channel gives NCHW
                if min(y.shape[2:]) >= k and y.numel() > y.shape[1]:
                    bn, lead = layers[i + length - 2], None if conv is None else conv.bias
                    conv_input = (x, conv.weight) if weight_gradient else ()
                    x = relu_batch_norm_max_pool(y, bn, k, lead, *conv_input)
                    i += length
                    continue
                # too small to pool: the layers raise their own error
            x = layers[i](x)
            i += 1
        return x
