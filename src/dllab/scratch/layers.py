"""The NumPy engine's base `Layer`, dense layer, activations, dropout, flatten and `Sequential`.

Every layer computes its forward pass, keeps an explicit cache, and hands back the gradient of
the loss with respect to its input given the gradient with respect to its output: the chain rule
applied layer by layer, which is backpropagation (Rumelhart, Hinton & Williams, 1986, "Learning
representations by back-propagating errors"). Dropout follows Srivastava et al. (2014, JMLR 15,
"Dropout: A Simple Way to Prevent Neural Networks from Overfitting") in its inverted form.

Parameters and buffers carry PyTorch's names and layouts, so `load_torch` / `to_torch` copy a
state dict across and `dllab.scratch.gradcheck` compares every gradient with autograd.
"""

import numpy as np

from dllab.errors import ConfigError, DataError


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^-x), computed without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def init_uniform(
    rng: np.random.Generator, fan_in: int, *shapes: tuple[int, ...]
) -> list[np.ndarray]:
    """Arrays drawn from U(-1/√fan_in, 1/√fan_in), torch's default for Linear, Conv and RNNs."""
    bound = 1.0 / np.sqrt(fan_in)
    return [rng.uniform(-bound, bound, size=shape) for shape in shapes]


class Layer:
    """Base layer: `params`/`grads`/`buffers` dicts under torch's names, train/eval, torch copies.

    `backward` overwrites `grads` (no accumulation, unlike autograd). Containers list their
    sub-layers in `children()`; their dicts then hold the children's arrays as "name.param",
    shared by reference, so optimizers and `load_torch` must update arrays in place.
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def children(self) -> dict[str, "Layer"]:
        """Sub-layers by name; leaves have none."""
        return {}

    def gather(self, attr: str) -> dict[str, np.ndarray]:
        """The children's `params`, `grads` or `buffers`, named "child.name" as in torch."""
        return {
            f"{prefix}.{name}": array
            for prefix, child in self.children().items()
            for name, array in getattr(child, attr).items()
        }

    def train(self) -> "Layer":
        self.training = True
        for child in self.children().values():
            child.train()
        return self

    def eval(self) -> "Layer":
        self.training = False
        for child in self.children().values():
            child.eval()
        return self

    def torch_key(self, name: str) -> str:
        """The torch state-dict key of one of our parameter or buffer names."""
        if "." not in name:
            return name
        prefix, rest = name.split(".", 1)
        return f"{prefix}.{self.children()[prefix].torch_key(rest)}"

    def torch_module(self, nn):
        """An equivalent freshly built `torch.nn` module (weights are copied by `to_torch`)."""
        raise ConfigError(f"{type(self).__name__} has no torch.nn equivalent")

    def load_torch(self, module) -> "Layer":
        """Copy parameters and buffers from the matching torch module, in place."""
        state = module.state_dict()
        for name, array in {**self.params, **self.buffers}.items():
            key = self.torch_key(name)
            if key not in state:
                raise ConfigError(f"{type(module).__name__} has no {key!r} for {name!r}")
            value = state[key].detach().cpu().numpy()
            if value.shape != array.shape:
                raise ConfigError(f"{key!r} has shape {value.shape}, expected {array.shape}")
            np.copyto(array, value)
        return self

    def to_torch(self):
        """A torch module holding copies of our parameters and buffers, in our dtype (float64)."""
        import torch

        module = self.torch_module(torch.nn).to(torch.float64)
        state = {
            self.torch_key(name): torch.from_numpy(np.array(array))
            for name, array in {**self.params, **self.buffers}.items()
        }
        module.load_state_dict(state)
        return module


class Dense(Layer):
    """Fully connected layer y = x Wᵀ + b over the last axis, like `torch.nn.Linear`."""

    def __init__(self, in_features: int, out_features: int, rng: np.random.Generator | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = rng if rng is not None else np.random.default_rng()
        weight, bias = init_uniform(rng, in_features, (out_features, in_features), (out_features,))
        self.params = {"weight": weight, "bias": bias}

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise DataError(f"Dense expects {self.in_features} input features, got {x.shape[-1]}")
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]  # (..., out)

    def backward(self, dout):
        x2 = self.x.reshape(-1, self.in_features)  # (N, in)
        d2 = dout.reshape(-1, self.out_features)  # (N, out)
        self.grads = {"weight": d2.T @ x2, "bias": d2.sum(0)}  # dL/dW = doutᵀ x  (out, in)
        return dout @ self.params["weight"]  # dL/dx = dout W  (..., in)

    def torch_module(self, nn):
        return nn.Linear(self.in_features, self.out_features)


class Sigmoid(Layer):
    """σ(x); dσ/dx = σ(1 - σ)."""

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)

    def torch_module(self, nn):
        return nn.Sigmoid()


class Tanh(Layer):
    """tanh(x); d tanh/dx = 1 - tanh²."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out**2)

    def torch_module(self, nn):
        return nn.Tanh()


class ReLU(Layer):
    """max(0, x); the gradient at 0 is 0, as in torch."""

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, dout):
        return dout * (self.x > 0)

    def torch_module(self, nn):
        return nn.ReLU()


class LeakyReLU(Layer):
    """x for x > 0, else negative_slope · x."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.negative_slope * x)

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, self.negative_slope)

    def torch_module(self, nn):
        return nn.LeakyReLU(self.negative_slope)


class ELU(Layer):
    """x for x > 0, else α(eˣ - 1) (Clevert et al., 2016); derivative αeˣ for x ≤ 0."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0.0)))

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, self.alpha * np.exp(np.minimum(self.x, 0.0)))

    def torch_module(self, nn):
        return nn.ELU(self.alpha)


class Softmax(Layer):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along `dim`; its Jacobian is diag(s) - s sᵀ."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        self.out = e / e.sum(axis=self.dim, keepdims=True)
        return self.out

    def backward(self, dout):
        s = self.out  # dL/dx = s ⊙ (dout - <dout, s>)
        return s * (dout - (dout * s).sum(axis=self.dim, keepdims=True))

    def torch_module(self, nn):
        return nn.Softmax(dim=self.dim)


class Dropout(Layer):
    """Inverted dropout: in training keep each unit with probability 1 - p and scale by 1/(1 - p).

    The mask comes from `rng`, so a seeded Generator makes it reproducible; eval is the identity.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x):
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep / (1.0 - self.p) if self.p < 1.0 else np.zeros(x.shape)
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask

    def torch_module(self, nn):
        return nn.Dropout(self.p)


class Flatten(Layer):
    """(B, ...) -> (B, prod(...)), like `torch.nn.Flatten()`."""

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.shape)

    def torch_module(self, nn):
        return nn.Flatten()


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse. Parameters are named "0.weight"."""

    def __init__(self, *layers: Layer):
        super().__init__()
        self.layers = list(layers)
        self.params = self.gather("params")
        self.buffers = self.gather("buffers")

    def children(self):
        return {str(i): layer for i, layer in enumerate(self.layers)}

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        self.grads = self.gather("grads")
        return dout

    def torch_module(self, nn):
        return nn.Sequential(*(layer.torch_module(nn) for layer in self.layers))
