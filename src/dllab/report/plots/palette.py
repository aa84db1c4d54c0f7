"""One colour per method or model, the same in every figure and page: "lstm" is drawn in the
same blue in each of unit III's experiments, "vae-gan" in the same purple in each of unit V's.

`colors_for(keys)` gives a figure its colours: a named key keeps its own colour unless another
series of the same figure already holds it, and everything else takes the next colour of the
cycle that the figure has not used. Series that belong together (the train and test curves of
one model, a noise type noisy and denoised) pass the same key and tell themselves apart by line
style, so a pair shares its hue and no two different things share a colour.
"""

from collections.abc import Iterable

from dllab.report.plots.glossary import canonical

BLUE, ORANGE, GREEN, RED, PURPLE = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"
BROWN, PINK, GREY, OLIVE, CYAN = "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
NAVY, TEAL, GOLD, MAROON = "#253494", "#008080", "#d4a017", "#800000"
CYCLE = (BLUE, ORANGE, GREEN, RED, PURPLE, BROWN, PINK, GREY, OLIVE, CYAN, NAVY, TEAL, GOLD, MAROON)
NEUTRAL = "#4c72b0"  # bars whose colour encodes nothing: one colour for all
PUBLISHED = "#b8bec6"  # a published number drawn beside ours

NAMED = {
    # unit I: models, optimizers, activations
    "perceptron": GREY,
    "mlp": BLUE,
    "full-batch gd": GREY,
    "mini-batch sgd": ORANGE,
    "per-sample sgd": OLIVE,
    "momentum": RED,
    "nesterov": PURPLE,
    "rmsprop": BROWN,
    "adam": BLUE,
    "sigmoid": RED,
    "tanh": ORANGE,
    "relu": BLUE,
    "leaky relu": CYAN,
    "elu": GREEN,
    "gelu": PURPLE,
    "solved": BLUE,
    "stuck": RED,
    # classical models (generative vs discriminative, baselines)
    "naive bayes": GREEN,
    "logistic regression": ORANGE,
    # unit II: pooling, normalization, architectures, depth
    "max": BLUE,
    "average": ORANGE,
    "min": PURPLE,
    "global": GREEN,
    "batch": BLUE,
    "layer": ORANGE,
    "instance": GREEN,
    "group": PURPLE,
    "none": GREY,
    "cnn": PURPLE,
    "small cnn": PURPLE,
    "vgg": ORANGE,
    "googlenet": GREEN,
    "naive googlenet": OLIVE,
    "resnet": RED,
    "plain": GREY,
    # unit III: recurrent cells, baselines
    "tanh rnn": GREY,
    "relu rnn": BROWN,
    "irnn": BROWN,
    "lstm": BLUE,
    "gru": GREEN,
    "linear ar": ORANGE,
    "last value": GREY,
    # unit IV: GAN objectives and models
    "real": "#222222",
    "minimax": RED,
    "non-saturating": ORANGE,
    "wgan-gp": PURPLE,
    "pacgan": BLUE,
    "gan": RED,
    "dcgan": RED,
    "pixelcnn": BLUE,
    # unit V: autoencoders and hybrids, corruptions
    "pca": GREY,
    "ae": BLUE,
    "dense ae": BLUE,
    "conv ae": CYAN,
    "vae": GREEN,
    "vae-gan": PURPLE,
    "aae": BROWN,
    "gaussian": BLUE,
    "masking": ORANGE,
    "salt and pepper": PURPLE,
}


def color_of(key: str) -> str | None:
    """The fixed colour of a named method or model (any spelling `canonical` knows), else None."""

    return NAMED.get(canonical(key))


def colors_for(keys: Iterable[str]) -> list[str]:
    """A colour per key for one figure: equal keys share a colour, different keys never do."""

    keys = [canonical(key) for key in keys]
    chosen: dict[str, str] = {}
    for key in dict.fromkeys(keys):  # named keys first, so that they keep their own colour
        color = NAMED.get(key)
        if color is not None and color not in chosen.values():
            chosen[key] = color
    spare = iter(c for c in CYCLE if c not in chosen.values())
    for key in dict.fromkeys(keys):
        if key not in chosen:
            chosen[key] = next(spare, GREY)
    return [chosen[key] for key in keys]
