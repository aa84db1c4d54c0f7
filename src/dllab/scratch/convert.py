"""Build a NumPy-engine twin of a feed-forward PyTorch model, with its weights copied across.

    net = from_torch(create_model("digits_mlp"))   # Sequential(Flatten, Dense, ReLU, Dense, ...)

The torch model's leaf modules are taken in registration order, which is the order of the
forward pass for `nn.Sequential` and for dllab's `MLP` (a `net = nn.Sequential(...)` inside).
Each leaf becomes the scratch layer of the same name and settings; `Sequential.load_torch` then
copies every parameter and buffer under torch's own names. torch is imported lazily.
"""

from collections.abc import Callable

import numpy as np

from dllab.errors import ConfigError
from dllab.scratch.layers import (
    ELU,
    Dense,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from dllab.scratch.norm import BatchNorm1D


def _flatten(module) -> Flatten:
    if (module.start_dim, module.end_dim) != (1, -1):
        raise ConfigError("only nn.Flatten() over every axis but the batch axis has a twin")
    return Flatten()


# torch class name -> (module, rng) -> the scratch layer with the same settings
_TWINS: dict[str, Callable[..., Layer]] = {
    "Linear": lambda m, rng: Dense(m.in_features, m.out_features, rng=rng),
    "Sigmoid": lambda m, rng: Sigmoid(),
    "Tanh": lambda m, rng: Tanh(),
    "ReLU": lambda m, rng: ReLU(),
    "LeakyReLU": lambda m, rng: LeakyReLU(m.negative_slope),
    "ELU": lambda m, rng: ELU(m.alpha),
    "Softmax": lambda m, rng: Softmax(m.dim),
    "Dropout": lambda m, rng: Dropout(m.p, rng=rng),
    "Flatten": lambda m, rng: _flatten(m),
    "BatchNorm1d": lambda m, rng: BatchNorm1D(m.num_features, m.eps, m.momentum),
}


def from_torch(module, rng: np.random.Generator | None = None) -> Sequential:
    """A scratch `Sequential` computing what the feed-forward torch `module` computes.

    Args:
        module: an `nn.Sequential`, or a module whose leaves run in registration order (MLP).
        rng: draws the dropout masks of the twin (its weights come from `module`).

    Returns:
        The twin, in float64, in the module's train/eval mode.

    Raises:
        ConfigError: for a layer without a scratch twin (convolutions, recurrent layers...).
    """
    from torch import nn

    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    unknown = sorted({type(m).__name__ for m in leaves} - set(_TWINS) - {"Identity"})
    if unknown:
        raise ConfigError(f"from_torch: no scratch twin for {', '.join(unknown)}")
    kept = [m for m in leaves if type(m).__name__ != "Identity"]
    rng = rng if rng is not None else np.random.default_rng()
    net = Sequential(*(_TWINS[type(m).__name__](m, rng) for m in kept))
    net.load_torch(nn.Sequential(*kept))  # the same modules, numbered as our layers
    return net.train() if module.training else net.eval()
