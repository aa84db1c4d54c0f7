"""Batch normalisation in the NumPy engine (Ioffe & Szegedy, 2015, "Batch Normalization", Alg. 1).

Training normalises with the batch's statistics and updates running estimates as torch does
(momentum 0.1, running variance unbiased); eval normalises with the running estimates.
"""

import numpy as np

from dllab.errors import DataError
from dllab.scratch.layers import Layer


class _BatchNorm(Layer):
    """Per-channel normalisation over every axis but the channel axis 1."""

    ndims: tuple[int, ...]  # accepted input ranks

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params = {"weight": np.ones(num_features), "bias": np.zeros(num_features)}
        self.buffers = {
            "running_mean": np.zeros(num_features),
            "running_var": np.ones(num_features),
            "num_batches_tracked": np.array(0),
        }

    def forward(self, x):
        if x.ndim not in self.ndims or x.shape[1] != self.num_features:
            raise DataError(
                f"{type(self).__name__}({self.num_features}) expects a rank in {self.ndims} "
                f"with {self.num_features} channels on axis 1, got shape {x.shape}"
            )
        axes = (0, *range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast a (C,) vector over (B, C, ...)
        if self.training:
            n = x.size // self.num_features
            if n < 2:
                raise DataError("batch norm in training needs more than one value per channel")
            mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased var normalises (Alg. 1)
            m, stats = self.momentum, self.buffers
            stats["running_mean"] *= 1 - m  # running = (1 - m) running + m batch
            stats["running_mean"] += m * mean
            stats["running_var"] *= 1 - m
            stats["running_var"] += m * var * n / (n - 1)  # unbiased, as torch stores it
            stats["num_batches_tracked"] += 1
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps).reshape(shape)
        x_hat = (x - mean.reshape(shape)) * inv_std  # x̂ = (x - μ) / √(σ² + ε)
        self.cache = (x_hat, inv_std, axes, shape, self.training)
        return self.params["weight"].reshape(shape) * x_hat + self.params["bias"].reshape(shape)

    def backward(self, dout):
        x_hat, inv_std, axes, shape, batch_stats = self.cache
        self.grads = {"weight": (dout * x_hat).sum(axis=axes), "bias": dout.sum(axis=axes)}
        dx_hat = dout * self.params["weight"].reshape(shape)
        if not batch_stats:  # μ, σ² are constants in eval
            return dx_hat * inv_std
        # dx = 1/√(σ² + ε) · (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂))   (Ioffe & Szegedy §3, through μ, σ²)
        mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
        mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
        return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


class BatchNorm1D(_BatchNorm):
    """Batch norm over (B, C) or (B, C, L), like `torch.nn.BatchNorm1d`."""

    ndims = (2, 3)

    def torch_module(self, nn):
        return nn.BatchNorm1d(self.num_features, eps=self.eps, momentum=self.momentum)


class BatchNorm2D(_BatchNorm):
    """Batch norm over (B, C, H, W), like `torch.nn.BatchNorm2d`."""

    ndims = (4,)

    def torch_module(self, nn):
        return nn.BatchNorm2d(self.num_features, eps=self.eps, momentum=self.momentum)
