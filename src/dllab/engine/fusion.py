"""Kernel fusion, a Trainer option (`Trainer(fuse="auto" | True | False)`): each run of layers
(Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d in an nn.Sequential trains through the native
operator `dllab::relu_bn_maxpool` (dllab/kernels/relu_bn_maxpool.py: the maths), which makes one
pass over the convolution's output forward and one backward where PyTorch's layers make about
six and eight. The ReLU -> BatchNorm order is the Keras CNN's (`keras_cifar_cnn`), where a
Conv2D applies its activation inside the layer.

`fuse_stages` swaps each nn.Sequential holding such a run for a `FusedSequential` holding the
same layers under the same names: the parameters, buffers and state_dict are the plain model's,
so checkpoints load into the plain model and back. A FusedSequential runs a stage through the
kernel where it applies (training, float32 channels-last CPU input, no autocast or
torch.compile, channels a multiple of 16, pooling kernel = stride, no padding, no hooks) and
layer by layer otherwise, with the same numbers up to float rounding (tests/test_fused.py: as
close to float64 as PyTorch's own float32 layers).
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

from dllab.errors import ConfigError
from dllab.kernels import relu_bn_maxpool as kernel
from dllab.kernels.build import has_avx512

CHANNELS_LAST = torch.channels_last


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _window(pool: nn.Module) -> int | None:
    """The side k of a max pool that tiles its input with k x k windows (kernel = stride, no
    padding or dilation, floor mode), else None."""
    if type(pool) is not nn.MaxPool2d:
        return None
    (k, k2), stride = _pair(pool.kernel_size), _pair(pool.stride)
    tiles = k == k2 == stride[0] == stride[1] and _pair(pool.padding) == (0, 0)
    plain = _pair(pool.dilation) == (1, 1) and not pool.ceil_mode and not pool.return_indices
    return k if tiles and plain and k <= 15 else None  # argmax is a uint8


def stage_length(layers: list[nn.Module]) -> int:
    """How many of `layers`, from the first, make a stage the kernel can run: 4 for Conv2d
    (with a bias) -> ReLU -> BatchNorm2d -> tiling MaxPool2d, 3 without the convolution, else 0."""
    conv = type(layers[0]) is nn.Conv2d and layers[0].bias is not None
    stage = layers[1:4] if conv else layers[:3]
    if len(stage) < 3 or _window(stage[2]) is None:
        return 0
    relu, bn = stage[:2]
    if type(relu) is not nn.ReLU or type(bn) is not nn.BatchNorm2d:
        return 0
    return 0 if bn.num_features % kernel.CHANNEL_BLOCK else 3 + conv


def _holds_stage(module: nn.Module) -> bool:
    """Whether `module` is an nn.Sequential (or FusedSequential) holding a stage."""
    layers = list(module) if type(module) in (nn.Sequential, FusedSequential) else []
    return any(stage_length(layers[i:]) for i in range(len(layers)))


def _hooked(*layers: nn.Module) -> bool:
    """Whether running `layers` as one kernel would skip a forward hook someone registered."""
    global_hooks = module_hooks._global_forward_hooks or module_hooks._global_forward_pre_hooks
    return bool(global_hooks) or any(m._forward_hooks or m._forward_pre_hooks for m in layers)


def _kernel_takes(x) -> bool:
    """Whether x (the stage's input, or the convolution's before it) suits the kernel."""
    return (
        type(x) is torch.Tensor
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and x.dim() == 4
        and x.is_contiguous(memory_format=CHANNELS_LAST)
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and kernel.available()
    )


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
    tracked = bn.track_running_stats and bn.running_mean is not None
    momentum = 0.0
    if tracked:
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / bn.num_batches_tracked.item() if bn.momentum is None else bn.momentum
    pooled, _, _, statistics = kernel.relu_bn_maxpool(
        x,
        torch.zeros(C) if lead is None else lead,
        bn.weight if bn.affine else torch.ones(C),
        bn.bias if bn.affine else torch.zeros(C),
        bn.running_mean if tracked else torch.zeros(C),
        bn.running_var if tracked else torch.ones(C),
        momentum,
        bn.eps,
        k,
        source,
        conv_weight,
    )
    if tracked:
        bn.running_mean.copy_(statistics[2])
        bn.running_var.copy_(statistics[3])
    return pooled


def _run_stage(x: torch.Tensor, stage: list[nn.Module]) -> torch.Tensor | None:
    """The stage's layers on x through the kernel, or None when the kernel cannot take them
    here (then they run one by one)."""
    conv = stage[0] if len(stage) == 4 else None
    bn, k = stage[-2], _window(stage[-1])
    if not (_kernel_takes(x) and bn.training) or _hooked(*stage):
        return None
    weight_gradient = conv is not None and takes_weight_gradient(conv, x)
    with torch.set_grad_enabled(torch.is_grad_enabled() and not weight_gradient):
        y = x if conv is None else conv._conv_forward(x, conv.weight, None)
        y = y.contiguous(memory_format=CHANNELS_LAST)  # a conv on 1 channel gives NCHW
    if y.shape[1] != bn.num_features or min(y.shape[2:]) < k or y.numel() == y.shape[1]:
        return None  # the layers raise their own error
    lead = None if conv is None else conv.bias
    conv_input = (x, conv.weight) if weight_gradient else ()
    return relu_batch_norm_max_pool(y, bn, k, lead, *conv_input)


class FusedSequential(nn.Sequential):
    """nn.Sequential whose (Conv2d ->) ReLU -> BatchNorm2d -> MaxPool2d stages train through
    the fused kernel where it applies, and layer by layer otherwise (see the module docstring)."""

    def forward(self, x):
        layers, i = list(self), 0
        while i < len(layers):
            length = stage_length(layers[i:])
            y = _run_stage(x, layers[i : i + length]) if length else None
            x, i = (layers[i](x), i + 1) if y is None else (y, i + length)
        return x


def _unavailable(device: torch.device, dtype: torch.dtype) -> str | None:
    """Why the kernel cannot train a model on `device` in `dtype`, or None when it can."""
    if device.type != "cpu":
        return f"the fused kernel runs on the CPU, not on {device.type}"
    if dtype != torch.float32:
        return f"the fused kernel computes in float32, not in {dtype}"
    if not kernel.available():
        return "the fused kernel could not be built and loaded here (see the warning)"
    return None


def _restack(module: nn.Module, fused: bool) -> nn.Module:
    """`module` with, in place, each nn.Sequential holding a stage as a FusedSequential (fused)
    and each FusedSequential as an nn.Sequential (not fused), holding the same layers."""
    for name, child in module.named_children():
        swapped = _restack(child, fused)
        if swapped is not child:
            setattr(module, name, swapped)
    wanted = FusedSequential if fused and _holds_stage(module) else nn.Sequential
    if type(module) not in (nn.Sequential, FusedSequential) or type(module) is wanted:
        return module
    container = wanted(OrderedDict(module._modules))  # the same layers under the same names
    container.training = module.training
    return container


def fuse_stages(
    model: nn.Module, fuse: bool | str, device: torch.device, dtype: torch.dtype
) -> nn.Module:
    """`model` set to train its stages through the fused kernel, or layer by layer.

    Only a plain nn.Sequential is swapped (a subclass may have a forward of its own), in place;
    an unfused model is left as it is, and a fused one is turned back with fuse=False.

    Args:
        model: any nn.Module, on `device`, its floating-point parameters in `dtype`.
        fuse: "auto" (fuse on a CPU with AVX-512, in float32, when the kernel builds and
            loads: on narrower vectors the plain layers can be faster, `python -m bench
            engine`), True (wherever the kernel runs; an error where it cannot), or False
            (layer by layer).

    Returns:
        The model to train: `model` itself, or a new FusedSequential (or nn.Sequential) holding
        its layers when `model` is the container swapped.

    Raises:
        ConfigError: `fuse` is another value, or True where the kernel cannot run.
    """
    if not (isinstance(fuse, bool) or fuse == "auto"):
        raise ConfigError(f"fuse must be 'auto', True or False, not {fuse!r}")
    if fuse is False or not any(_holds_stage(m) for m in model.modules()):
        return _restack(model, fused=False)
    reason = _unavailable(device, dtype)
    if reason is not None and fuse is True:
        raise ConfigError(f"fuse=True, but {reason}; use fuse='auto' or False")
    return _restack(model, fused=reason is None and (fuse is True or has_avx512()))
