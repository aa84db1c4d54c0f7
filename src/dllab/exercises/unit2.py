"""Unit II exercises on convolution and pooling (LeCun et al., 1998; Lin et al., 2014, "Network
In Network", global average pooling), on NCHW arrays.

The references are the NumPy engine's `Conv2D`, `MaxPool2D`, `AvgPool2D` and `GlobalAvgPool`
behind thin adapters (max pooling breaks ties as torch does: the first maximum of a window).
"""

import numpy as np

from dllab import scratch
from dllab.exercises.adapters import backward, loaded, weight_bias_backward
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import (
    as_array,
    expect,
    expect_close,
    expect_gradient,
    unpack,
    upstream,
    weighted_loss,
)

# ------------------------------------------------------------------- convolution forward


def _conv_layer(W, b, stride, padding) -> scratch.Conv2D:
    O, C, kH, kW = W.shape
    return loaded(scratch.Conv2D(C, O, (kH, kW), stride, padding), weight=W, bias=b)


def conv2d_forward(x, W, b, stride=1, padding=0):
    return _conv_layer(W, b, stride, padding).forward(x)


def conv2d_backward(dout, x, W, stride=1, padding=0):
    return weight_bias_backward(_conv_layer(W, np.zeros(len(W)), stride, padding), x, dout)


CONV_DOC = """    Args:
        x: (B, C, H, W) images.  W: (O, C, kH, kW) kernels.  b: (O,) biases.
        stride: the step between two windows.  padding: zeros added on every side.
"""

conv_forward = exercise(
    "conv2d-forward",
    unit=2,
    topic="convolution",
    title="2-D convolution forward with stride and padding",
    functions=("conv2d_forward",),
    reference={"conv2d_forward": conv2d_forward},
    hints=[
        Hint(
            "flipped-kernel",
            "Your output is the true convolution, with the kernel flipped. CNN layers compute "
            "the cross-correlation: out = Σ W[o, c, i, j] · x_pad[b, c, s·r + i, s·q + j], "
            "no flip (torch.nn.Conv2d does the same).",
        ),
        Hint(
            "output-size",
            "The output has ⌊(H + 2·padding - kH) / stride⌋ + 1 rows and likewise for columns: "
            "pad first, then count the window positions that fit, one every `stride`.",
        ),
    ],
    stub=f'''
def conv2d_forward(x, W, b, stride=1, padding=0):
    """A 2-D convolution layer's forward pass, like torch.nn.Conv2d (a cross-correlation).

    Pad x with `padding` zeros on every side. Each output value out[b, o, r, q] is the sum, over
    the input channels c and the kernel positions (i, j), of W[o, c, i, j] times the padded
    input at row stride·r + i and column stride·q + j, plus b[o].

{CONV_DOC}
    Returns:
        out: (B, O, H_out, W_out) with H_out = (H + 2·padding - kH) // stride + 1 (W_out alike).
    """
    raise NotImplementedError
''',
)

CONV_CASES = [  # B, C, H, W, O, kH, kW, stride, padding
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 3, 2, 1),
    (1, 2, 8, 9, 3, 1, 1, 1, 0),
    (3, 1, 9, 7, 2, 2, 3, 3, 2),
    (2, 2, 6, 6, 2, 5, 5, 1, 2),
]


def _conv_case(rng, B, C, H, W_, O, kH, kW, stride, padding):
    x, W, b = (
        rng.standard_normal((B, C, H, W_)),
        rng.standard_normal((O, C, kH, kW)),
        rng.standard_normal(O),
    )
    return x, W, b, stride, padding


@conv_forward.check("values on random shapes, stride and padding", weight=3)
def _(s, rng):
    for case in CONV_CASES:
        x, W, b, stride, padding = _conv_case(rng, *case)
        want = conv2d_forward(x, W, b, stride, padding)
        mistakes = {
            "flipped-kernel": conv2d_forward(x, W[:, :, ::-1, ::-1], b, stride, padding),
            "output-size": lambda got, want=want: got.shape != want.shape,
        }
        got = s.conv2d_forward(x, W, b, stride, padding)
        expect_close(
            got,
            want,
            f"the output for x {x.shape}, W {W.shape}, stride {stride}, padding {padding}",
            mistakes=mistakes,
        )


@conv_forward.check("output shape (H + 2p - k) // s + 1")
def _(s, rng):
    for H, k, stride, padding in [(10, 3, 3, 0), (11, 4, 2, 1), (5, 5, 1, 0), (7, 2, 4, 2)]:
        x, W, b = (
            rng.standard_normal((1, 1, H, H + 1)),
            rng.standard_normal((2, 1, k, k)),
            np.zeros(2),
        )
        want = conv2d_forward(x, W, b, stride, padding).shape
        got = as_array(s.conv2d_forward(x, W, b, stride, padding), "the output").shape
        expect(
            got == want,
            f"for x {x.shape}, a {k}x{k} kernel, stride {stride} and padding "
            f"{padding} the output has shape {got}, expected {want}",
            ("output-size",),
        )


@conv_forward.check("a 1x1 kernel mixes channels at every pixel")
def _(s, rng):
    x, W, b = (
        rng.standard_normal((2, 3, 4, 5)),
        rng.standard_normal((4, 3, 1, 1)),
        rng.standard_normal(4),
    )
    want = np.einsum("bchw,oc->bohw", x, W[:, :, 0, 0]) + b[:, None, None]  # (B, O, H, W)
    expect_close(s.conv2d_forward(x, W, b, 1, 0), want, "the output of a 1x1 convolution")


# ------------------------------------------------------------------ convolution backward

conv_backward = exercise(
    "conv2d-backward",
    unit=2,
    topic="convolution",
    title="2-D convolution backward",
    functions=("conv2d_backward",),
    reference={"conv2d_backward": conv2d_backward},
    hints=[
        Hint(
            "bias-not-summed",
            "Each bias is added at every position of every image: its gradient sums dout over "
            "the batch and both spatial axes, db[o] = Σ_b Σ_r Σ_q dout[b, o, r, q].",
        ),
        Hint(
            "weight-not-summed",
            "The same kernel slides over every image of the batch: dW sums the contributions of "
            "all B images (not their mean, not the first image alone).",
        ),
        Hint(
            "padding-not-cropped",
            "Your dx has the padded input's shape. The padding is not an input: cut the "
            "padding rows and columns off the gradient of the padded x.",
        ),
    ],
    stub='''
def conv2d_backward(dout, x, W, stride=1, padding=0):
    """The backward pass of conv2d_forward: the gradients of x, W and b given dout = dL/dout.

    Every output value out[b, o, r, q] = Σ W[o, c, i, j] · x_pad[b, c, stride·r + i,
    stride·q + j] + b[o] sends dout[b, o, r, q] back to each weight and each input pixel that
    took part in it, multiplied by the other factor; sum what arrives.

    Args:
        dout: (B, O, H_out, W_out) the gradient of the loss with respect to the output.
        x: (B, C, H, W) the forward pass's images.  W: (O, C, kH, kW) its kernels.
        stride, padding: as in the forward pass.

    Returns:
        (dx, dW, db): (B, C, H, W), (O, C, kH, kW) and (O,).
    """
    raise NotImplementedError
''',
)


def _conv_grads(s, dout, x, W, stride, padding):
    names = ("dx", "dW", "db")
    return unpack(s.conv2d_backward(dout, x, W, stride, padding), "conv2d_backward", names)


def _conv_backward_case(rng, case):
    x, W, b, stride, padding = _conv_case(rng, *case)
    g = upstream(rng, conv2d_forward(x, W, b, stride, padding).shape)
    return g, x, W, stride, padding


@conv_backward.check("weight gradient dW", weight=2)
def _(s, rng):
    for case in CONV_CASES:
        g, x, W, stride, padding = _conv_backward_case(rng, case)
        want = conv2d_backward(g, x, W, stride, padding)[1]
        first = conv2d_backward(g[:1], x[:1], W, stride, padding)[1]
        mistakes = {
            "weight-not-summed": [first, want / len(x)] if len(x) > 1 else [],
        }
        got = _conv_grads(s, g, x, W, stride, padding)[1]
        expect_close(got, want, f"dW for x {x.shape}, stride {stride}", mistakes=mistakes)


@conv_backward.check("bias gradient db")
def _(s, rng):
    for case in CONV_CASES:
        g, x, W, stride, padding = _conv_backward_case(rng, case)
        got = _conv_grads(s, g, x, W, stride, padding)[2]
        sums = [g.sum(axis=(2, 3)), g.sum(axis=0), g.sum(axis=(0, 2))]  # axes left out
        if len(x) > 1:  # one image, or the batch's mean
            sums += [g[0].sum(axis=(1, 2)), g.sum(axis=(2, 3)).mean(0), g.mean(axis=(0, 2, 3))]
        mistakes = {"bias-not-summed": sums}
        expect_close(got, g.sum(axis=(0, 2, 3)), "db", mistakes=mistakes)


@conv_backward.check("input gradient dx", weight=2)
def _(s, rng):
    for case in CONV_CASES:
        g, x, W, stride, padding = _conv_backward_case(rng, case)
        padded = x.shape[:2] + tuple(n + 2 * padding for n in x.shape[2:])
        mistakes = {
            "padding-not-cropped": lambda got, p=padded, pad=padding: pad and got.shape == p
        }
        got = _conv_grads(s, g, x, W, stride, padding)[0]
        want = conv2d_backward(g, x, W, stride, padding)[0]
        expect_close(
            got, want, f"dx for x {x.shape}, stride {stride}, padding {padding}", mistakes=mistakes
        )


@conv_backward.check("gradients match finite differences", weight=2)
def _(s, rng):
    x, W, b, stride, padding = _conv_case(rng, 2, 2, 4, 5, 2, 3, 3, 2, 1)
    g = upstream(rng, conv2d_forward(x, W, b, stride, padding).shape)
    dx, dW, db = _conv_grads(s, g, x, W, stride, padding)
    loss = weighted_loss(conv2d_forward, g, x, W, b, stride, padding)
    expect_gradient(dx, loss, x, "dx")
    expect_gradient(dW, loss, W, "dW")
    expect_gradient(db, loss, b, "db")


# ------------------------------------------------------------------- max pooling backward


def maxpool_forward(x, size, stride):
    return scratch.MaxPool2D(size, stride).forward(x)


def maxpool_backward(dout, x, size, stride):
    return backward(scratch.MaxPool2D(size, stride), x, dout)


POOL_DOC = """    Args:
        x: (B, C, H, W) feature maps.  size: the window is size x size.
        stride: the step between two windows (windows overlap when stride < size).
"""

maxpool = exercise(
    "maxpool-backward",
    unit=2,
    topic="pooling",
    title="Max pooling, forward and backward",
    functions=("maxpool_forward", "maxpool_backward"),
    reference={"maxpool_forward": maxpool_forward, "maxpool_backward": maxpool_backward},
    hints=[
        Hint(
            "every-position",
            "Your gradient reaches every position of the window. Only the maximum influenced "
            "the output, so only the window's arg-max receives dout; the others get 0.",
        ),
        Hint(
            "all-ties",
            "When several values of a window tie for the maximum, only the first one (in "
            "row-major order, as np.argmax picks it and torch does) receives the gradient.",
        ),
        Hint(
            "overlap-overwrite",
            "With overlapping windows (stride < size) one input can be the maximum of several "
            "windows: add (+=) what each window sends instead of overwriting it.",
        ),
    ],
    stub=f'''
def maxpool_forward(x, size, stride):
    """Max pooling without padding: each output is the maximum of one size x size window.

{POOL_DOC}
    Returns:
        (B, C, H_out, W_out) with H_out = (H - size) // stride + 1 (W_out alike).
    """
    raise NotImplementedError


def maxpool_backward(dout, x, size, stride):
    """The backward pass of maxpool_forward: dL/dx given dout = dL/dout (B, C, H_out, W_out).

    Each window's gradient goes to the position of its maximum, the first one when several
    values tie (in row-major order within the window, as torch breaks ties).

{POOL_DOC}
    Returns:
        dx: (B, C, H, W).
    """
    raise NotImplementedError
''',
)

POOL_CASES = [
    (1, 1, 4, 4, 2, 2),
    (2, 3, 7, 5, 2, 2),
    (2, 2, 6, 6, 3, 3),
    (1, 2, 5, 5, 3, 1),
    (2, 1, 7, 7, 3, 2),
]


def _window_sum(dcols, x_shape, size, stride):
    """Window gradients (B, C, Ho, Wo, k, k) summed back onto the input (the engine's col2im)."""
    return scratch.col2im(dcols, x_shape, (size, size), (stride, stride), (0, 0))


def _window_assign(dcols, x_shape, size, stride, only_nonzero=False):
    """The mistake of writing each window's gradient with = instead of +=: later windows
    overwrite earlier ones (the whole window, or with `only_nonzero` its non-zero entries)."""
    dx = np.zeros(x_shape)
    for r, q in np.ndindex(dcols.shape[2:4]):
        block = dx[:, :, r * stride : r * stride + size, q * stride : q * stride + size]
        window = dcols[:, :, r, q]  # (B, C, k, k)
        block[...] = np.where(window != 0, window, block) if only_nonzero else window
    return dx


def _spread(g, size):
    """dout (B, C, Ho, Wo) copied to every position of its window (B, C, Ho, Wo, k, k)."""
    return np.broadcast_to(g[..., None, None], (*g.shape, size, size))


def _maxpool_mistakes(g, x, size, stride) -> dict:
    windows = scratch.im2col(x, (size, size), (stride, stride), (0, 0))  # (B, C, Ho, Wo, k, k)
    flat = windows.reshape(*windows.shape[:4], -1)
    first = (flat.argmax(-1)[..., None] == np.arange(size * size)).reshape(windows.shape)
    ties = windows == windows.max(axis=(4, 5), keepdims=True)
    dcols = first * g[..., None, None]
    overwrites = [_window_assign(dcols, x.shape, size, stride, only) for only in (False, True)]
    return {
        "every-position": _window_sum(_spread(g, size), x.shape, size, stride),
        "all-ties": _window_sum(ties * g[..., None, None], x.shape, size, stride),
        "overlap-overwrite": overwrites,
    }


def _maxpool_backward_check(name, values, weight=1):
    @maxpool.check(name, weight=weight)
    def _(s, rng):
        for B, C, H, W, size, stride in POOL_CASES:
            x = values(rng, (B, C, H, W))
            g = upstream(rng, maxpool_forward(x, size, stride).shape)
            want = maxpool_backward(g, x, size, stride)
            mistakes = _maxpool_mistakes(g, x, size, stride)
            expect_close(
                s.maxpool_backward(g, x, size, stride),
                want,
                f"dx for x {x.shape}, size {size}, stride {stride}",
                mistakes=mistakes,
            )


@maxpool.check("forward values")
def _(s, rng):
    for B, C, H, W, size, stride in POOL_CASES:
        x = rng.standard_normal((B, C, H, W))
        expect_close(
            s.maxpool_forward(x, size, stride),
            maxpool_forward(x, size, stride),
            f"the output for x {x.shape}, size {size}, stride {stride}",
        )


_maxpool_backward_check(
    "backward on distinct values", lambda rng, shape: rng.standard_normal(shape), 2
)
_maxpool_backward_check(
    "backward with ties (small integers)",
    lambda rng, shape: rng.integers(0, 3, shape).astype(float),
    2,
)


@maxpool.check("gradient matches finite differences")
def _(s, rng):
    x = rng.permutation(np.arange(50.0)).reshape(1, 2, 5, 5) / 10  # distinct: no tie is near
    g = upstream(rng, maxpool_forward(x, 3, 2).shape)
    got = s.maxpool_backward(g, x, 3, 2)
    expect_gradient(got, weighted_loss(maxpool_forward, g, x, 3, 2), x, "dx")


# ------------------------------------------------------------ average and global pooling


def avgpool_forward(x, size, stride):
    return scratch.AvgPool2D(size, stride).forward(x)


def avgpool_backward(dout, x_shape, size, stride):
    layer = scratch.AvgPool2D(size, stride)
    layer.x_shape = tuple(x_shape)
    return layer.backward(dout)


def global_avgpool_forward(x):
    return scratch.GlobalAvgPool().forward(x)


def global_avgpool_backward(dout, x_shape):
    layer = scratch.GlobalAvgPool()
    layer.x_shape = tuple(x_shape)
    return layer.backward(dout)


avgpool = exercise(
    "avg-global-pool",
    unit=2,
    topic="pooling",
    title="Average and global average pooling",
    functions=(
        "avgpool_forward",
        "avgpool_backward",
        "global_avgpool_forward",
        "global_avgpool_backward",
    ),
    reference={
        "avgpool_forward": avgpool_forward,
        "avgpool_backward": avgpool_backward,
        "global_avgpool_forward": global_avgpool_forward,
        "global_avgpool_backward": global_avgpool_backward,
    },
    hints=[
        Hint(
            "not-divided-by-area",
            "Each input of a window counts 1/(size·size) in its mean, so it receives "
            "dout / (size·size), not dout itself.",
        ),
        Hint(
            "overlap-overwrite",
            "With overlapping windows (stride < size) an input belongs to several windows: "
            "add (+=) the share of each window instead of overwriting it.",
        ),
        Hint(
            "global-not-divided",
            "Global average pooling takes the mean of H·W values, so each position receives "
            "dout / (H·W).",
        ),
    ],
    stub=f'''
def avgpool_forward(x, size, stride):
    """Average pooling without padding: each output is the mean of one size x size window.

{POOL_DOC}
    Returns:
        (B, C, H_out, W_out) with H_out = (H - size) // stride + 1 (W_out alike).
    """
    raise NotImplementedError


def avgpool_backward(dout, x_shape, size, stride):
    """The backward pass of avgpool_forward: dL/dx (of shape x_shape) given dout (B, C, H_out,
    W_out). Each input receives its share of the gradient of every window it belongs to."""
    raise NotImplementedError


def global_avgpool_forward(x):
    """Global average pooling (Lin et al., 2014): each map's mean, (B, C, H, W) -> (B, C)."""
    raise NotImplementedError


def global_avgpool_backward(dout, x_shape):
    """The backward pass of global_avgpool_forward: dL/dx (of shape x_shape) given dout (B, C)."""
    raise NotImplementedError
''',
)


@avgpool.check("average pooling forward")
def _(s, rng):
    for B, C, H, W, size, stride in POOL_CASES:
        x = rng.standard_normal((B, C, H, W))
        expect_close(
            s.avgpool_forward(x, size, stride),
            avgpool_forward(x, size, stride),
            f"the output for x {x.shape}, size {size}, stride {stride}",
        )


@avgpool.check("average pooling backward", weight=2)
def _(s, rng):
    for B, C, H, W, size, stride in POOL_CASES:
        x = rng.standard_normal((B, C, H, W))
        g = upstream(rng, avgpool_forward(x, size, stride).shape)
        want = avgpool_backward(g, x.shape, size, stride)
        mistakes = {"not-divided-by-area": _window_sum(_spread(g, size), x.shape, size, stride)}
        if stride < size:
            shares = _spread(g / size**2, size)
            mistakes["overlap-overwrite"] = _window_assign(shares, x.shape, size, stride)
        expect_close(
            s.avgpool_backward(g, x.shape, size, stride),
            want,
            f"dx for x {x.shape}, size {size}, stride {stride}",
            mistakes=mistakes,
        )


@avgpool.check("average pooling gradient matches finite differences")
def _(s, rng):
    x = rng.standard_normal((2, 1, 5, 6))
    g = upstream(rng, avgpool_forward(x, 3, 2).shape)
    got = s.avgpool_backward(g, x.shape, 3, 2)
    expect_gradient(got, weighted_loss(avgpool_forward, g, x, 3, 2), x, "dx")


@avgpool.check("global average pooling forward and backward", weight=2)
def _(s, rng):
    for shape in [(1, 1, 1, 1), (2, 3, 4, 5), (3, 2, 7, 7)]:
        x = rng.standard_normal(shape)
        expect_close(
            s.global_avgpool_forward(x), global_avgpool_forward(x), f"the output for x {shape}"
        )
        g = upstream(rng, shape[:2])
        got = s.global_avgpool_backward(g, shape)
        mistakes = {"global-not-divided": np.broadcast_to(g[:, :, None, None], shape)}
        expect_close(got, global_avgpool_backward(g, shape), f"dx for x {shape}", mistakes=mistakes)
        if shape == (2, 3, 4, 5):
            loss = weighted_loss(global_avgpool_forward, g, x)
            expect_gradient(got, loss, x, "dx of global average pooling")
