"""Optimizers and gradient clipping for the NumPy engine, with `torch.optim`'s exact update rules.

SGD with momentum and Nesterov momentum (Sutskever et al., 2013, "On the importance of
initialization and momentum in deep learning"), RMSProp (Tieleman & Hinton, 2012, Coursera
lecture 6.5), Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization", Alg. 1), and
gradient clipping (Pascanu, Mikolov & Bengio, 2013, "On the difficulty of training recurrent
neural networks", Alg. 1). Every update is in place, so containers sharing the arrays see it.
"""

from collections.abc import Iterator, Sequence

import numpy as np

from dllab.errors import ConfigError
from dllab.scratch.layers import Layer

Layers = Layer | Sequence[Layer]


def _slots(layers: Layers) -> Iterator[tuple[tuple[int, str], np.ndarray, np.ndarray]]:
    """(key, parameter, gradient) for every parameter that has a gradient (torch skips None)."""
    for i, layer in enumerate([layers] if isinstance(layers, Layer) else layers):
        for name, param in layer.params.items():
            if name in layer.grads:
                yield (i, name), param, layer.grads[name]


class Optimizer:
    """Per-parameter state keyed by (layer index, parameter name); `step` updates in place."""

    def __init__(self, layers: Layers, lr: float, weight_decay: float = 0.0):
        if lr < 0 or weight_decay < 0:
            raise ConfigError(f"lr and weight_decay must be >= 0, got {lr} and {weight_decay}")
        self.layers, self.lr, self.weight_decay = layers, lr, weight_decay
        self.state: dict[tuple[int, str], dict] = {}

    def step(self) -> None:
        for key, param, grad in _slots(self.layers):
            if self.weight_decay:
                grad = grad + self.weight_decay * param  # L2 penalty folded in, as torch does
            self._update(param, grad, self.state.setdefault(key, {}))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """θ ← θ - lr · v with v = μ v + g (v = g on the first step); Nesterov uses g + μ v."""

    def __init__(self, layers, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(layers, lr, weight_decay)
        if nesterov and momentum <= 0:
            raise ConfigError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov

    def _update(self, param, grad, state):
        if self.momentum:
            if "buf" in state:
                state["buf"] = self.momentum * state["buf"] + grad
            else:
                state["buf"] = grad.copy()
            grad = grad + self.momentum * state["buf"] if self.nesterov else state["buf"]
        param -= self.lr * grad


class RMSProp(Optimizer):
    """s ← α s + (1 - α) g²;  θ ← θ - lr · g / (√s + ε), with optional momentum on that step."""

    def __init__(self, layers, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(layers, lr, weight_decay)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum

    def _update(self, param, grad, state):
        square_avg = state.setdefault("square_avg", np.zeros_like(param))
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad**2
        step = grad / (np.sqrt(square_avg) + self.eps)
        if self.momentum:
            buf = state.setdefault("buf", np.zeros_like(param))
            buf *= self.momentum
            buf += step
            step = buf
        param -= self.lr * step


class Adam(Optimizer):
    """Adam (Kingma & Ba, Alg. 1) in torch's arithmetic:

    m ← β₁ m + (1 - β₁) g;  v ← β₂ v + (1 - β₂) g²
    θ ← θ - (lr / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε)
    """

    def __init__(self, layers, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(layers, lr, weight_decay)
        self.betas, self.eps = betas, eps

    def _update(self, param, grad, state):
        beta1, beta2 = self.betas
        if not state:
            state.update(t=0, m=np.zeros_like(param), v=np.zeros_like(param))
        state["t"] += 1
        state["m"] *= beta1
        state["m"] += (1 - beta1) * grad
        state["v"] *= beta2
        state["v"] += (1 - beta2) * grad**2
        step_size = self.lr / (1 - beta1 ** state["t"])
        denom = np.sqrt(state["v"]) / np.sqrt(1 - beta2 ** state["t"]) + self.eps
        param -= step_size * state["m"] / denom


def clip_grad_norm(layers: Layers, max_norm: float, norm_type: float = 2.0) -> float:
    """Rescale all gradients together when their joint norm exceeds `max_norm`; return that norm.

    Pascanu et al. write g ← θ g / ‖g‖ when ‖g‖ > θ. Like `torch.nn.utils.clip_grad_norm_`, this
    multiplies by min(1, θ / (‖g‖ + 1e-6)): the 1e-6 guards against ‖g‖ = 0 and leaves the clipped
    norm a hair under θ. `norm_type` 2 is the L2 norm, 1 the L1 norm, `inf` the largest |g|.
    """
    grads = [grad for _, _, grad in _slots(layers)]
    if norm_type == np.inf:
        total = max((float(np.abs(g).max()) for g in grads), default=0.0)
    else:
        total = float(sum((np.abs(g) ** norm_type).sum() for g in grads) ** (1.0 / norm_type))
    coef = min(1.0, max_norm / (total + 1e-6))
    for grad in grads:
        grad *= coef
    return total


def clip_grad_value(layers: Layers, clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], like `clip_grad_value_`."""
    for _, _, grad in _slots(layers):
        np.clip(grad, -clip_value, clip_value, out=grad)
