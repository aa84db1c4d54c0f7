"""Unit II exercises on training a CNN: batch normalization (Ioffe & Szegedy, 2015, Alg. 1),
inverted dropout (Srivastava et al., 2014), mixup (Zhang et al., 2018) and cutmix (Yun et al.,
2019), and ResNet's shortcuts (He et al., 2015, §3.3).

References: the NumPy engine's `BatchNorm1D/2D` and `Dropout`, `dllab.data.augment`'s mixup and
cutmix, and `dllab.models.resnet`'s shortcut and basic block, behind thin adapters.
"""

import numpy as np

from dllab import scratch
from dllab.exercises.adapters import loaded, weight_bias_backward
from dllab.exercises.core import Hint, exercise
from dllab.exercises.expect import (
    Fail,
    as_array,
    expect,
    expect_close,
    expect_gradient,
    recognised,
    unpack,
    upstream,
    weighted_loss,
)

# --------------------------------------------------------------------- batch normalization


def _batchnorm_layer(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    cls = scratch.BatchNorm2D if x.ndim == 4 else scratch.BatchNorm1D
    layer = cls(x.shape[1], eps=eps, momentum=momentum)
    statistics = {"running_mean": running_mean, "running_var": running_var}
    return loaded(layer, weight=gamma, bias=beta, **statistics)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    layer = _batchnorm_layer(x, gamma, beta, running_mean, running_var, momentum, eps)
    layer.training = training
    y = layer.forward(x)
    return y, layer.buffers["running_mean"], layer.buffers["running_var"]


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    C = len(gamma)
    layer = _batchnorm_layer(x, gamma, np.zeros(C), np.zeros(C), np.ones(C), eps=eps)
    return weight_bias_backward(layer, x, dout)


batchnorm = exercise(
    "batchnorm",
    unit=2,
    topic="normalization",
    title="Batch normalization, forward and backward, with running statistics",
    functions=("batchnorm_forward", "batchnorm_backward"),
    reference={"batchnorm_forward": batchnorm_forward, "batchnorm_backward": batchnorm_backward},
    hints=[
        Hint(
            "biased-running-var",
            "The running variance stores the unbiased estimate, as torch does: update it with "
            "var · n / (n - 1), n the number of values per channel; normalise with the biased one.",
        ),
        Hint(
            "per-position",
            "For images the statistics are per channel: average over the batch and both spatial "
            "axes (0, 2, 3), not over the batch alone at each position.",
        ),
        Hint(
            "backward-no-stats",
            "μ and σ² depend on x too. In training dx = (1/σ)·(dx̂ - mean(dx̂) - x̂·mean(dx̂ ⊙ x̂)), "
            "with dx̂ = γ·dout and the means per channel; γ·dout/σ alone leaves out those paths.",
        ),
    ],
    stub='''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization (Ioffe & Szegedy, 2015, Algorithm 1), like torch.nn.BatchNorm1d/2d.

    In training, normalise every channel with the mean μ and the (biased) variance σ² of its
    values in the batch (over the batch axis, and the spatial axes of images):
    x̂ = (x - μ) / √(σ² + ε), y = γ·x̂ + β. Then update the running estimates:
    running = (1 - momentum)·running + momentum·batch value, where the batch's variance is stored
    unbiased (times n / (n - 1), n the number of values per channel). In evaluation
    (training=False), normalise with the running estimates instead and leave them unchanged.

    Args:
        x: (B, C) or (B, C, H, W).  gamma, beta: (C,) scale and shift.
        running_mean, running_var: (C,) the running estimates.  training: True or False.

    Returns:
        (y, running_mean_new, running_var_new): y shaped like x, the estimates (C,).
    """
    raise NotImplementedError


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """The backward pass of batchnorm_forward in training mode, given dout = dL/dy.

    μ and σ² are computed from x, so the gradient reaches x through x̂ directly and through μ
    and σ² as well.

    Returns:
        (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (C,).
    """
    raise NotImplementedError
''',
)

BN_SHAPES = [(2, 3), (7, 4), (64, 1), (2, 3, 4, 5), (5, 2, 3, 3)]


def _bn_case(rng, shape):
    C = shape[1]
    x = 3 + 2 * rng.standard_normal(shape)
    return (
        x,
        rng.uniform(0.5, 2, C),
        rng.standard_normal(C),
        rng.standard_normal(C),
        rng.uniform(0.5, 2, C),
    )


def _bn_forward(s, x, gamma, beta, mean, var, training, momentum=0.1):
    names = ("y", "running_mean_new", "running_var_new")
    got = unpack(
        s.batchnorm_forward(x, gamma, beta, mean, var, training, momentum, 1e-5),
        "batchnorm_forward",
        names,
    )
    C = (x.shape[1],)
    return (
        as_array(got[0], "y", x.shape),
        as_array(got[1], names[1], C),
        as_array(got[2], names[2], C),
    )


@batchnorm.check("training forward on vectors and images", weight=2)
def _(s, rng):
    for shape in BN_SHAPES:
        x, gamma, beta, mean, var = _bn_case(rng, shape)
        want = batchnorm_forward(x, gamma, beta, mean, var, True)[0]
        mistakes = {}
        if x.ndim == 4:
            mu, sd = x.mean(0), np.sqrt(x.var(0) + 1e-5)  # per (c, h, w): the mistake
            mistakes["per-position"] = gamma[:, None, None] * (x - mu) / sd + beta[:, None, None]
        got = _bn_forward(s, x, gamma, beta, mean, var, True)[0]
        expect_close(got, want, f"y for x {shape}", mistakes=mistakes)


@batchnorm.check("outputs have mean 0 and variance 1 per channel")
def _(s, rng):
    for shape in BN_SHAPES:
        x, _, _, mean, var = _bn_case(rng, shape)
        C = shape[1]
        y = _bn_forward(s, x, np.ones(C), np.zeros(C), mean, var, True)[0]
        axes = (0, *range(2, len(shape)))
        expect(
            np.allclose(y.mean(axis=axes), 0, atol=1e-7)
            and np.allclose(y.var(axis=axes), 1, atol=1e-3),
            f"with γ = 1 and β = 0 the channels of y {shape} have means "
            f"{y.mean(axis=axes).round(3)} and variances {y.var(axis=axes).round(3)}, "
            "expected 0 and 1",
        )


@batchnorm.check("running statistics are updated in training")
def _(s, rng):
    for shape in BN_SHAPES:
        x, gamma, beta, mean, var = _bn_case(rng, shape)
        momentum = float(rng.uniform(0.05, 0.5))
        _, want_mean, want_var = batchnorm_forward(x, gamma, beta, mean, var, True, momentum)
        _, got_mean, got_var = _bn_forward(s, x, gamma, beta, mean, var, True, momentum)
        expect_close(got_mean, want_mean, "running_mean_new")
        axes = (0, *range(2, len(shape)))
        biased = (1 - momentum) * var + momentum * x.var(axis=axes)
        expect_close(got_var, want_var, "running_var_new", mistakes={"biased-running-var": biased})


@batchnorm.check("evaluation normalises with the running statistics")
def _(s, rng):
    for shape in BN_SHAPES:
        x, gamma, beta, mean, var = _bn_case(rng, shape)
        want = batchnorm_forward(x, gamma, beta, mean, var, False)
        got = _bn_forward(s, x, gamma, beta, mean, var, False)
        expect_close(got[0], want[0], f"y in evaluation for x {shape}")
        expect_close(got[1], mean, "running_mean_new in evaluation (unchanged)")
        expect_close(got[2], var, "running_var_new in evaluation (unchanged)")


def _bn_grads(s, g, x, gamma):
    return unpack(
        s.batchnorm_backward(g, x, gamma, 1e-5), "batchnorm_backward", ("dx", "dgamma", "dbeta")
    )


@batchnorm.check("backward pass", weight=2)
def _(s, rng):
    for shape in BN_SHAPES:
        x, gamma, beta, _, _ = _bn_case(rng, shape)
        g = upstream(rng, shape)
        dx, dgamma, dbeta = batchnorm_backward(g, x, gamma)
        got = _bn_grads(s, g, x, gamma)
        expect_close(got[2], dbeta, "dbeta")
        expect_close(got[1], dgamma, "dgamma")
        axes = (0, *range(2, len(shape)))
        bshape = (1, -1) + (1,) * (len(shape) - 2)
        no_stats = g * gamma.reshape(bshape) / np.sqrt(x.var(axis=axes).reshape(bshape) + 1e-5)
        expect_close(got[0], dx, f"dx for x {shape}", mistakes={"backward-no-stats": no_stats})


def _training_output(x, gamma, beta):
    C = len(gamma)
    return batchnorm_forward(x, gamma, beta, np.zeros(C), np.ones(C), True)[0]


@batchnorm.check("gradients match finite differences")
def _(s, rng):
    x, gamma, beta, mean, var = _bn_case(rng, (3, 2, 2, 3))
    g = upstream(rng, x.shape)
    dx, dgamma, dbeta = _bn_grads(s, g, x, gamma)
    loss = weighted_loss(_training_output, g, x, gamma, beta)
    expect_gradient(dx, loss, x, "dx")
    expect_gradient(dgamma, loss, gamma, "dgamma")
    expect_gradient(dbeta, loss, beta, "dbeta")


# ---------------------------------------------------------------------- inverted dropout


def dropout_forward(x, p, training, rng):
    layer = scratch.Dropout(p, rng)
    layer.training = training
    y = layer.forward(x)
    return y, np.ones_like(x) if layer.mask is None else layer.mask


def dropout_backward(dout, mask):
    layer = scratch.Dropout()
    layer.mask = mask  # what the forward pass keeps
    return layer.backward(dout)


dropout = exercise(
    "dropout",
    unit=2,
    topic="dropout",
    title="Inverted dropout",
    functions=("dropout_forward", "dropout_backward"),
    reference={"dropout_forward": dropout_forward, "dropout_backward": dropout_backward},
    hints=[
        Hint(
            "no-rescale",
            "Your dropout lowers the mean activation by the factor 1 - p. Inverted dropout "
            "divides the units it keeps by 1 - p, so the expected activation stays x and "
            "evaluation needs no change.",
        ),
        Hint(
            "keep-p",
            "You drop a fraction 1 - p of the units: p is the probability of dropping a unit, "
            "not of keeping it.",
        ),
        Hint(
            "eval-drops",
            "Dropout only acts in training. With training=False it is the identity: y = x and "
            "the mask is all ones.",
        ),
    ],
    stub='''
def dropout_forward(x, p, training, rng):
    """Inverted dropout (Srivastava et al., 2014): in training, drop each unit with probability
    p (set it to 0) and divide the kept ones by 1 - p; in evaluation, change nothing.

    Args:
        x: activations (any shape).  p: the probability of dropping a unit, in [0, 1].
        training: True or False.  rng: a numpy.random.Generator to draw the mask from.

    Returns:
        (y, mask): y = x ⊙ mask, and the mask of multipliers (0 or 1 / (1 - p); all ones in
        evaluation), both shaped like x. With p = 1 every unit is dropped (no division by 0).
    """
    raise NotImplementedError


def dropout_backward(dout, mask):
    """The backward pass of dropout_forward: dL/dx given dout = dL/dy and the forward's mask."""
    raise NotImplementedError
''',
)


def _dropout(s, x, p, training, rng):
    y, mask = unpack(s.dropout_forward(x, p, training, rng), "dropout_forward", ("y", "mask"))
    return as_array(y, "y", x.shape), as_array(mask, "mask", x.shape)


def _dropped(y: np.ndarray) -> float:
    return float((y == 0).mean())


@dropout.check("kept units are divided by 1 - p, dropped ones are 0")
def _(s, rng):
    for p in (0.2, 0.5, 0.7):
        x = rng.uniform(1, 2, (64, 33))
        y, mask = _dropout(s, x, p, True, rng)
        ratio = y / x
        scaled = np.isclose(ratio, 0) | np.isclose(ratio, 1 / (1 - p))
        if not scaled.all():
            hints = recognised(
                ratio, {"no-rescale": lambda r: (np.isclose(r, 0) | np.isclose(r, 1)).all()}
            )
            raise Fail(
                f"with p = {p} an output is {y[~scaled][0]:.4g} for the input "
                f"{x[~scaled][0]:.4g}: expected 0 or the input / {1 - p:g}",
                hints,
            )
        expect_close(y, x * mask, "y (it should equal x ⊙ mask)")


@dropout.check("a fraction p of the units is dropped", weight=2)
def _(s, rng):
    n = 40_000
    for p in (0.2, 0.7):
        y, _ = _dropout(s, rng.uniform(1, 2, (200, 200)), p, True, rng)
        fraction, tolerance = _dropped(y), 5 * np.sqrt(p * (1 - p) / n)  # 5 standard deviations
        hints = ("keep-p",) if abs(fraction - (1 - p)) < tolerance else ()
        expect(
            abs(fraction - p) < tolerance,
            f"with p = {p} your dropout drops {fraction:.3f} of "
            f"the units, expected {p} ± {tolerance:.3f}",
            hints,
        )


@dropout.check("the expected activation is kept")
def _(s, rng):
    p, x = 0.4, np.ones((200, 200))
    y, _ = _dropout(s, x, p, True, rng)
    tolerance = 5 * np.sqrt(p / (1 - p) / x.size)  # 5 standard deviations of the mean
    hints = ("no-rescale",) if abs(y.mean() - (1 - p)) < tolerance else ()
    expect(
        abs(y.mean() - 1) < tolerance,
        f"with p = {p} the mean output for inputs of 1 is "
        f"{y.mean():.4f}, expected 1 ± {tolerance:.4f}",
        hints,
    )


@dropout.check("evaluation is the identity")
def _(s, rng):
    x = rng.standard_normal((8, 5))
    y, mask = _dropout(s, x, 0.5, False, rng)
    hints = ("eval-drops",) if _dropped(y) > 0 else ()
    expect(
        np.allclose(y, x) and np.allclose(mask, 1),
        "with training=False, dropout changed its input (or returned a mask that is not all ones)",
        hints,
    )


@dropout.check("backward multiplies by the forward's mask")
def _(s, rng):
    x = rng.uniform(1, 2, (16, 9))
    _, mask = _dropout(s, x, 0.3, True, rng)
    g = upstream(rng, x.shape)
    expect_close(s.dropout_backward(g, mask), dropout_backward(g, mask), "dL/dx")


@dropout.check("p = 0 keeps every unit, p = 1 drops every unit without NaN")
def _(s, rng):
    x = rng.uniform(1, 2, (10, 10))
    expect_close(_dropout(s, x, 0.0, True, rng)[0], x, "y with p = 0")
    expect_close(_dropout(s, x, 1.0, True, rng)[0], np.zeros_like(x), "y with p = 1")


# --------------------------------------------------------------------- mixup and cutmix


def _torch_mixing(function, x, y, perm, **options):
    """`dllab.data.augment`'s mixup or cutmix on arrays, with its labels as soft labels."""
    import torch

    from dllab.data.augment import mixing

    K = y.shape[1]
    generator = torch.Generator().manual_seed(int(options.pop("seed", 0)))
    labels = torch.as_tensor(np.asarray(y).argmax(1))
    mixed, y_a, y_b, lam = getattr(mixing, function)(
        torch.as_tensor(np.asarray(x)), labels, generator, perm=torch.as_tensor(perm), **options
    )
    onehot = np.eye(K)
    y_mix = float(lam) * onehot[y_a.numpy()] + (1 - float(lam)) * onehot[y_b.numpy()]
    return mixed.numpy(), y_mix


def mixup(x, y, perm, lam):
    return _torch_mixing("mixup", x, y, perm, lam=lam)


def cutmix(x, y, perm, box):
    """Paste with the reference's own box mask and mix the labels by the kept area."""
    import torch

    from dllab.data.augment.mixing import _box_mask

    top, left, height, width = box
    H, W = x.shape[2:]
    low, high = torch.tensor([[top, left]]), torch.tensor([[top + height, left + width]])
    mask = _box_mask(low, high, (H, W)).numpy()  # (1, 1, H, W)
    kept = 1 - height * width / (H * W)
    return np.where(mask, x[perm], x), kept * y + (1 - kept) * y[perm]


mixing_exercise = exercise(
    "mixup-cutmix",
    unit=2,
    topic="data augmentation",
    title="Mixup and cutmix with their label mixing",
    functions=("mixup", "cutmix"),
    reference={"mixup": mixup, "cutmix": cutmix},
    hints=[
        Hint(
            "mixup-swapped",
            "λ weighs the example itself: x' = λ·x + (1 - λ)·x[perm], and the labels mix with "
            "the same weights, y' = λ·y + (1 - λ)·y[perm].",
        ),
        Hint(
            "cutmix-label-weight",
            "The label of the image itself keeps the weight of the area it keeps: "
            "λ = 1 - (box area) / (H·W) on y, and the box's share on y[perm].",
        ),
        Hint(
            "box-transposed",
            "The box covers rows top .. top + height - 1 and columns left .. left + width - 1: "
            "height counts rows (the H axis, 2), width counts columns (the W axis, 3).",
        ),
    ],
    stub='''
def mixup(x, y, perm, lam):
    """Mixup (Zhang et al., 2018): each example mixed with a partner, labels alike.

    x' = λ·x + (1 - λ)·x[perm] and y' = λ·y + (1 - λ)·y[perm].

    Args:
        x: (B, C, H, W) images.  y: (B, K) one-hot (or soft) labels.
        perm: (B,) the partner of each example.  lam: λ in [0, 1].

    Returns:
        (x_mix, y_mix): (B, C, H, W) and (B, K).
    """
    raise NotImplementedError


def cutmix(x, y, perm, box):
    """CutMix (Yun et al., 2019): a box of each partner image pasted into the image.

    box = (top, left, height, width): rows top .. top + height - 1 and columns left ..
    left + width - 1 of every image (all channels) are replaced by those of x[perm]. The labels
    mix by area: λ = 1 - height·width / (H·W) is the share of the image itself that remains,
    y' = λ·y + (1 - λ)·y[perm].

    Returns:
        (x_mix, y_mix): (B, C, H, W) and (B, K).
    """
    raise NotImplementedError
''',
)


def _mixing_case(rng):
    B, K = int(rng.choice([2, 5, 8])), 4
    H, W = int(rng.integers(5, 10)), int(rng.integers(5, 10))
    x = rng.uniform(0, 1, (B, 3, H, W))
    y = np.eye(K)[rng.integers(0, K, B)]
    perm = np.roll(np.arange(B), int(rng.integers(1, B)))  # every example gets another partner
    return x, y, perm


def _mixed(s, function, *args):
    x, y = args[0], args[1]
    got = unpack(getattr(s, function)(*args), function, ("x_mix", "y_mix"))
    return as_array(got[0], "x_mix", x.shape), as_array(got[1], "y_mix", y.shape)


@mixing_exercise.check("mixup mixes inputs and labels with λ", weight=2)
def _(s, rng):
    for _ in range(4):
        x, y, perm = _mixing_case(rng)
        lam = float(rng.uniform(0.05, 0.95))
        want_x, want_y = mixup(x, y, perm, lam)
        got_x, got_y = _mixed(s, "mixup", x, y, perm, lam)
        swapped = mixup(x, y, perm, 1 - lam)
        expect_close(
            got_x, want_x, f"x_mix with λ = {lam:.3f}", mistakes={"mixup-swapped": swapped[0]}
        )
        expect_close(
            got_y, want_y, f"y_mix with λ = {lam:.3f}", mistakes={"mixup-swapped": swapped[1]}
        )


def _reference_box(x, y, perm, rng) -> tuple[int, int, int, int]:
    """The box `dllab.data.augment.cutmix` draws, read off the pixels it changed."""
    lam = float(rng.uniform(0.3, 0.9))
    mixed, _ = _torch_mixing("cutmix", x, y, perm, lam=lam, seed=rng.integers(2**31))
    rows, cols = np.nonzero((mixed != x).any(axis=(0, 1)))  # (H, W): inside the box
    if len(rows) == 0:
        return 0, 0, 0, 0
    return int(rows.min()), int(cols.min()), int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1


@mixing_exercise.check("cutmix pastes the partner's box", weight=2)
def _(s, rng):
    for _ in range(4):
        x, y, perm = _mixing_case(rng)
        box = _reference_box(x, y, perm, rng)
        want_x, _ = cutmix(x, y, perm, box)
        mistakes = {}
        if box[2] != box[3]:  # height and width swapped
            mistakes["box-transposed"] = cutmix(x, y, perm, (box[0], box[1], box[3], box[2]))[0]
        expect_close(
            _mixed(s, "cutmix", x, y, perm, box)[0],
            want_x,
            f"x_mix for the box {box} (top, left, height, width)",
            mistakes=mistakes,
        )


@mixing_exercise.check("cutmix mixes the labels by the kept area")
def _(s, rng):
    for _ in range(4):
        x, y, perm = _mixing_case(rng)
        box = _reference_box(x, y, perm, rng)
        _, want_y = cutmix(x, y, perm, box)
        kept = 1 - box[2] * box[3] / (x.shape[2] * x.shape[3])
        swapped = (1 - kept) * y + kept * y[perm]
        expect_close(
            _mixed(s, "cutmix", x, y, perm, box)[1],
            want_y,
            f"y_mix for the box {box}",
            mistakes={"cutmix-label-weight": swapped},
        )


@mixing_exercise.check("λ = 1 and an empty box leave the batch unchanged")
def _(s, rng):
    x, y, perm = _mixing_case(rng)
    for function, arg in (("mixup", 1.0), ("cutmix", (0, 0, 0, 0))):
        got_x, got_y = _mixed(s, function, x, y, perm, arg)
        expect_close(got_x, x, f"x_mix of {function} with nothing mixed in")
        expect_close(got_y, y, f"y_mix of {function} with nothing mixed in")


# --------------------------------------------------------------------- residual shortcut


def shortcut(x, out_channels, stride, option, W=None):
    import torch

    from dllab.models.resnet import make_shortcut

    kind = "B" if option == "identity" else option
    module = make_shortcut(kind, x.shape[1], out_channels, stride, dims=2)
    if module is None:  # the shapes match: the identity
        return np.array(x, dtype=np.float64)
    module = module.double().eval()
    if option == "B":  # the projection W_s x: the 1x1 convolution, its batch norm made neutral
        conv, bn = module
        conv.weight.data.copy_(torch.as_tensor(W))
        bn.eps = 0.0
    with torch.no_grad():
        return module(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()


def residual_output_shape(in_shape, out_channels, stride):
    import torch

    from dllab.models.resnet import BasicBlock

    block = BasicBlock(in_shape[1], out_channels, stride).eval()
    with torch.no_grad():
        return tuple(block(torch.zeros(in_shape)).shape)


residual = exercise(
    "residual-shortcut",
    unit=2,
    topic="ResNet",
    title="A residual block's shortcut and its output shape",
    functions=("shortcut", "residual_output_shape"),
    reference={"shortcut": shortcut, "residual_output_shape": residual_output_shape},
    hints=[
        Hint(
            "pad-front",
            "Option A appends the zero channels after the input's channels: output channels "
            "0 .. C - 1 are the (subsampled) input, C .. out_channels - 1 are zeros.",
        ),
        Hint(
            "no-subsample",
            "The main path's first convolution has the stride, so the shortcut must halve the "
            "map too: option A keeps every stride-th pixel (x[:, :, ::s, ::s]), option B's 1x1 "
            "convolution has that stride.",
        ),
        Hint(
            "output-size-floor",
            "A 3x3 convolution with padding 1 and stride s gives ⌊(H - 1) / s⌋ + 1 = ⌈H / s⌉ "
            "rows: odd sizes round up, not down.",
        ),
    ],
    stub='''
def shortcut(x, out_channels, stride, option, W=None):
    """The shortcut of a residual block (He et al., 2015, §3.3), which the block adds to its
    main path F(x): y = F(x) + shortcut(x).

    When the stride is 1 and the channels do not change, every option is the identity.
    Otherwise
        option "A": keep every stride-th row and column of x, then append zero channels
                    until there are out_channels (no parameters);
        option "B": a 1x1 convolution with weights W (out_channels, C, 1, 1) and the stride,
                    no bias (the projection W_s x).

    Args:
        x: (B, C, H, W).  out_channels: the block's output channels.  stride: 1 or 2.
        option: "identity", "A" or "B".  W: option B's weights.

    Returns:
        (B, out_channels, H', W') with H' = ⌈H / stride⌉ (W' alike), the main path's shape.
    """
    raise NotImplementedError


def residual_output_shape(in_shape, out_channels, stride):
    """The output shape of a basic residual block (two 3x3 convolutions with padding 1, the
    first with the stride) on inputs of in_shape = (B, C, H, W), as a tuple of 4 ints."""
    raise NotImplementedError
''',
)

SHORTCUT_CASES = [(2, 3, 8, 8, 6, 2), (1, 4, 7, 5, 8, 2), (3, 2, 5, 6, 2, 1), (2, 2, 4, 4, 5, 1)]


def _shortcut_check(option: str, weight: int) -> None:
    @residual.check(f"option {option}", weight=weight)
    def _(s, rng):
        for B, C, H, W_, out, stride in SHORTCUT_CASES:
            x = rng.standard_normal((B, C, H, W_))
            W = rng.standard_normal((out, C, 1, 1)) if option == "B" else None
            want = shortcut(x, out, stride, option, W)
            mistakes = {
                "no-subsample": lambda got, H=H, H_out=want.shape[2]: got.shape[2] == H != H_out
            }
            if option == "A" and out > C:
                front = np.concatenate(
                    [np.zeros((B, out - C, *want.shape[2:])), want[:, :C]], axis=1
                )
                mistakes["pad-front"] = front
            got = s.shortcut(x, out, stride, option, W)
            expect_close(
                got,
                want,
                f"option {option} for x {x.shape}, {out} output channels, stride {stride}",
                mistakes=mistakes,
            )


@residual.check("identity when the shapes match")
def _(s, rng):
    x = rng.standard_normal((2, 3, 5, 4))
    for option in ("identity", "A", "B"):
        W = rng.standard_normal((3, 3, 1, 1))
        expect_close(
            s.shortcut(x, 3, 1, option, W), x, f"option {option} with stride 1 and 3 -> 3 channels"
        )


_shortcut_check("A", 2)
_shortcut_check("B", 2)


@residual.check("the block's output shape", weight=2)
def _(s, rng):
    for B, C, H, W_, out, stride in [*SHORTCUT_CASES, (1, 3, 9, 9, 4, 2), (2, 1, 1, 3, 2, 2)]:
        want = residual_output_shape((B, C, H, W_), out, stride)
        got = s.residual_output_shape((B, C, H, W_), out, stride)
        floor = (B, out, H // stride, W_ // stride)
        got = tuple(int(n) for n in as_array(got, "the shape", (4,)))
        hints = ("output-size-floor",) if got == floor != want else ()
        expect(
            got == want,
            f"for inputs {(B, C, H, W_)}, {out} channels and stride {stride} the "
            f"output shape is {want}, not {got}",
            hints,
        )
