"""One training stage of a Keras-style CNN, (conv bias) -> ReLU -> BatchNorm2d -> MaxPool2d, as
the PyTorch custom operator `dllab::relu_bn_maxpool`, run by the C kernel in
csrc/relu_bn_maxpool.c. `dllab.engine.fusion` decides where a model's layers run through it.

Batch norm, ReLU and pooling do few FLOPs but each is a pass over the largest tensors of a
small CNN, a large share of its CPU training step (bench_engine's step split). Eager PyTorch
makes about six such passes forward and eight backward per stage; torch.compile fuses them but
still builds the pooling's full-size gradient. The kernel reads the full-size input once each way:

- forward: batch norm's output y = α x + β, with α = γ / sqrt(σ² + ε), has the sign of γ, so
  each k x k window's maximum of y sits where sign(γ) relu(x) is largest. One pass applies the
  ReLU on the fly, sums relu(x) and relu(x)² per channel (in double) and finds those maxima;
  then y is computed at the maxima only. Neither relu(x) nor y is stored at full size.
- backward: the pooling's input gradient g is the pooled gradient at each window's maximum and
  0 elsewhere, so the sums Σg and Σ g x̂ that batch norm's backward needs (Ioffe & Szegedy,
  2015, §3) run over the pooled positions only. Then one pass writes
  dx = relu'(x) ⊙ (α g - α Σg / M - α x̂ Σ(g x̂) / M),  x̂ = (x - μ) / sqrt(σ² + ε),  M = B H W.

A convolution just before the ReLU runs without its bias (`lead`), which the kernel adds on the
fly and whose gradient, the sum of dx, it returns from the same pass. When that convolution is
a network's first layer (its input needs no gradient; stride 1, no padding), the same pass also
gives its weight gradient, the sum over pixels of dx times the input patch, one image row of dx
at a time: dx is never written and oneDNN's backward for that layer never runs.

The operator is functional, as aten's `_native_batch_norm_legit_functional` is: it returns the
running statistics after the batch instead of updating its inputs (torch.library gives no
autograd formula to an operator that mutates them), and the caller copies them back. Its
backward is a second operator, `dllab::relu_bn_maxpool_backward`, which has no derivative of its
own: differentiating through it (a gradient penalty, `create_graph=True`) raises an error
instead of silently dropping the second-order terms.
"""

import ctypes
import functools

import torch
from torch import Tensor

from dllab.kernels.build import library

CL = torch.channels_last
CHANNEL_BLOCK = 16  # BLOCK in the C source: channels go through it 16 at a time
POINTER, INT, DOUBLE = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
# The C functions' parameters in order, each with its C type (tensors are passed as pointers).
SIGNATURES = {
    "relu_bn_maxpool_forward": {
        **{"x": POINTER, "B": INT, "H": INT, "W": INT, "C": INT},
        **{"lead": POINTER, "weight": POINTER, "bias": POINTER, "eps": DOUBLE, "k": INT},
        **{"running_mean": POINTER, "running_var": POINTER, "momentum": DOUBLE},
        **{"threads": ctypes.c_int, "pooled": POINTER, "argmax": POINTER, "xmax": POINTER},
        **{"mean": POINTER, "invstd": POINTER},
    },
    "relu_bn_maxpool_backward": {
        **{"x": POINTER, "B": INT, "H": INT, "W": INT, "C": INT},
        **{"lead": POINTER, "weight": POINTER, "mean": POINTER, "invstd": POINTER, "k": INT},
        **{"dpooled": POINTER, "argmax": POINTER, "xmax": POINTER, "threads": ctypes.c_int},
        **{"dx": POINTER, "dlead": POINTER, "dweight": POINTER, "dbias": POINTER},
        **{"source": POINTER, "Cin": INT, "KH": INT, "KW": INT, "dconv": POINTER},
    },
}
NO_SECOND_DERIVATIVE = (
    "the fused ReLU-BN-MaxPool stage has no second derivative; train with fuse=False for"
    " gradient penalties and other double backward passes"
)


@functools.cache
def native() -> ctypes.CDLL | None:
    """The compiled library with its C signatures, or None where it cannot be built and loaded."""
    lib = library("relu_bn_maxpool")
    if lib is not None:
        for name, parameters in SIGNATURES.items():
            getattr(lib, name).argtypes = list(parameters.values())
    return lib


def available() -> bool:
    """Whether the operator can run here (building the kernel on first call)."""
    return native() is not None


def _call(function: str, **arguments) -> None:
    """Call the C `function` with its arguments by name; a tensor goes as its data pointer."""
    if arguments.keys() != SIGNATURES[function].keys():
        raise TypeError(f"{function} takes {', '.join(SIGNATURES[function])}")
    values = (arguments[name] for name in SIGNATURES[function])  # in the C order
    getattr(native(), function)(*(v.data_ptr() if isinstance(v, Tensor) else v for v in values))


def _check_layout(x: Tensor, k: int, per_channel: list[Tensor]) -> None:
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


def _check_convolution(x: Tensor, source: Tensor | None, conv_weight: Tensor | None) -> None:
    """Refuse a convolution input and weight that could not have made x (stride 1, no
    padding): the kernel reads source's patches under each of x's pixels."""
    if source is None or conv_weight is None:
        raise ValueError("the fused stage needs both the convolution's input and its weight")
    B, C, H, W = x.shape
    Cin, KH, KW = conv_weight.shape[1:]
    if not (source.dtype == torch.float32 and source.is_contiguous(memory_format=CL)):
        raise ValueError("the fused stage needs the convolution's input float32 channels-last")
    if conv_weight.shape[0] != C or source.shape != (B, Cin, H + KH - 1, W + KW - 1):
        raise ValueError(
            f"a {tuple(conv_weight.shape)} kernel over a {tuple(source.shape)} input, stride 1"
            f" and no padding, does not make {tuple(x.shape)}"
        )


def _forward_outputs(x: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Empty pooled, argmax, xmax (B, C, H//k, W//k) channels-last, and statistics (4, C)."""
    B, C, H, W = x.shape
    shape = (B, C, H // k, W // k)
    pooled, xmax = (torch.empty(shape, device=x.device, memory_format=CL) for _ in range(2))
    argmax = torch.empty(shape, dtype=torch.uint8, device=x.device, memory_format=CL)
    return pooled, argmax, xmax, x.new_empty(4, C)


@torch.library.custom_op("dllab::relu_bn_maxpool", mutates_args=(), device_types="cpu")
def relu_bn_maxpool(
    x: Tensor,
    lead: Tensor,
    weight: Tensor,
    bias: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    momentum: float,
    eps: float,
    k: int,
    source: Tensor | None = None,
    conv_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """maxpool_k(batch_norm(relu(x + lead))) in training mode; x is left as it is.

    Args:
        x: (B, C, H, W) float32 channels-last, C a multiple of 16.
        lead: (C,) added before the ReLU (a convolution's bias, or zeros).
        weight, bias: (C,) batch norm's γ and β.
        running_mean, running_var: (C,) the running statistics before the batch.
        momentum: how far the running statistics move towards the batch's (unbiased variance).
        eps: batch norm's ε.
        k: the max pool's window and stride.
        source, conv_weight: given when x = conv2d(source, conv_weight), stride 1, no padding
            (source (B, Cin, H + KH - 1, W + KW - 1) channels-last, conv_weight
            (C, Cin, KH, KW)): the backward pass then gives conv_weight's gradient and none
            for x.

    Returns:
        pooled (B, C, H//k, W//k); for the backward pass argmax (B, C, H//k, W//k) uint8, the
        position of each window's maximum, and xmax, relu(x + lead) there; statistics (4, C):
        the batch's mean and 1 / sqrt(var + ε), then the running mean and variance after it.
    """
    _check_layout(x, k, [lead, weight, bias, running_mean, running_var])
    if source is not None or conv_weight is not None:
        _check_convolution(x, source, conv_weight)
    pooled, argmax, xmax, statistics = _forward_outputs(x, k)
    statistics[2].copy_(running_mean)
    statistics[3].copy_(running_var)
    B, C, H, W = x.shape
    _call(
        "relu_bn_maxpool_forward",
        **{"x": x, "B": B, "H": H, "W": W, "C": C},
        **{"lead": lead, "weight": weight, "bias": bias, "eps": eps, "k": k},
        **{"running_mean": statistics[2], "running_var": statistics[3], "momentum": momentum},
        **{"threads": torch.get_num_threads(), "pooled": pooled, "argmax": argmax, "xmax": xmax},
        **{"mean": statistics[0], "invstd": statistics[1]},
    )
    return pooled, argmax, xmax, statistics


@relu_bn_maxpool.register_fake
def _(x, lead, weight, bias, running_mean, running_var, momentum, eps, k, source=None,
      conv_weight=None):  # fmt: skip
    return _forward_outputs(x, k)


def _backward_outputs(x: Tensor, conv_weight: Tensor | None) -> tuple[Tensor, Tensor]:
    """Empty dx (B, C, H, W), or conv_weight's gradient, channels-last; and (3, C)."""
    like = x if conv_weight is None else conv_weight
    return torch.empty_like(like, memory_format=CL), x.new_empty(3, x.shape[1])


@torch.library.custom_op("dllab::relu_bn_maxpool_backward", mutates_args=(), device_types="cpu")
def relu_bn_maxpool_backward(
    dpooled: Tensor,
    x: Tensor,
    lead: Tensor,
    weight: Tensor,
    statistics: Tensor,
    argmax: Tensor,
    xmax: Tensor,
    k: int,
    source: Tensor | None = None,
    conv_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The gradients of `relu_bn_maxpool` given dpooled (B, C, H//k, W//k), from the forward
    pass's inputs and outputs.

    Returns:
        dx (B, C, H, W), or with a `source` conv_weight's gradient (C, Cin, KH, KW); and (3, C):
        the gradients of lead, weight and bias.
    """
    if dpooled.shape != xmax.shape:
        raise ValueError(f"dpooled {tuple(dpooled.shape)} is not the pooled {tuple(xmax.shape)}")
    B, C, H, W = x.shape
    dinput, dparams = _backward_outputs(x, conv_weight)
    Cin, KH, KW = (0, 0, 0) if conv_weight is None else conv_weight.shape[1:]
    _call(
        "relu_bn_maxpool_backward",
        **{"x": x, "B": B, "H": H, "W": W, "C": C},
        **{"lead": lead, "weight": weight, "mean": statistics[0], "invstd": statistics[1]},
        **{"k": k, "dpooled": dpooled.contiguous(memory_format=CL), "argmax": argmax},
        **{"xmax": xmax, "threads": torch.get_num_threads()},
        **{"dx": None if source is not None else dinput, "dlead": dparams[0]},
        **{"dweight": dparams[1], "dbias": dparams[2], "source": source},
        **{"Cin": Cin, "KH": KH, "KW": KW, "dconv": None if source is None else dinput},
    )
    return dinput, dparams


@relu_bn_maxpool_backward.register_fake
def _(dpooled, x, lead, weight, statistics, argmax, xmax, k, source=None, conv_weight=None):
    return _backward_outputs(x, conv_weight)


def _save_for_backward(ctx, inputs: tuple, output: tuple) -> None:
    x, lead, weight, _, _, _, _, _, k, source, conv_weight = inputs
    _, argmax, xmax, statistics = output
    ctx.mark_non_differentiable(argmax, xmax, statistics)
    ctx.save_for_backward(x, lead, weight, statistics, argmax, xmax, source, conv_weight)
    ctx.k = k


def _backward(ctx, dpooled: Tensor, *_) -> tuple:
    x, lead, weight, statistics, argmax, xmax, source, conv_weight = ctx.saved_tensors
    dinput, (dlead, dweight, dbias) = relu_bn_maxpool_backward(
        dpooled, x, lead, weight, statistics, argmax, xmax, ctx.k, source, conv_weight
    )
    dx, dconv = (dinput, None) if source is None else (None, dinput)
    # x, lead, weight, bias; running_mean, running_var, momentum, eps, k, source; conv_weight
    return dx, dlead, dweight, dbias, *[None] * 6, dconv


def _no_second_derivative(ctx, *_) -> None:
    raise RuntimeError(NO_SECOND_DERIVATIVE)


relu_bn_maxpool.register_autograd(_backward, setup_context=_save_for_backward)
relu_bn_maxpool_backward.register_autograd(_no_second_derivative)
