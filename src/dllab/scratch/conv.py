"""Convolution and pooling for the NumPy engine, on NCHW arrays, via im2col.

`im2col` exposes every receptive field as a strided view (no copy, no Python loop over
positions); a convolution is then one tensor contraction (Chellapilla, Puri & Simard, 2006,
"High Performance Convolutional Neural Networks for Document Processing"), and its backward pass
scatters window gradients back with `col2im`. The layers follow LeCun et al. (1998,
"Gradient-Based Learning Applied to Document Recognition") and match `torch.nn.Conv2d`,
`MaxPool2d` and `AvgPool2d` (count_include_pad=True) exactly.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dllab.errors import ConfigError, DataError
from dllab.scratch.layers import Layer, init_uniform

Pair = int | tuple[int, int]


def _pair(value: Pair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def im2col(x: np.ndarray, kernel, stride, padding, fill: float = 0.0) -> np.ndarray:
    """Receptive fields of a (B, C, H, W) array as a read-only view (B, C, H_out, W_out, kH, kW).

    H_out = ⌊(H + 2 pH - kH) / sH⌋ + 1, and likewise for W. Padding uses `fill`.
    """
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    if x.shape[2] + 2 * pH < kH or x.shape[3] + 2 * pW < kW:
        raise DataError(f"kernel {(kH, kW)} is larger than the padded input {x.shape[2:]}")
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)), constant_values=fill)
    return sliding_window_view(xp, (kH, kW), axis=(2, 3))[:, :, ::sH, ::sW]


def col2im(dcols: np.ndarray, x_shape: tuple[int, ...], kernel, stride, padding) -> np.ndarray:
    """Adjoint of `im2col`: sum window gradients (B, C, H_out, W_out, kH, kW) into (B, C, H, W).

    Loops over the kH·kW kernel offsets only; each offset is one strided slice of the batch.
    """
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    B, C, H, W = x_shape
    H_out, W_out = dcols.shape[2:4]
    dxp = np.zeros((B, C, H + 2 * pH, W + 2 * pW), dtype=dcols.dtype)
    for i in range(kH):
        for j in range(kW):
            dxp[:, :, i : i + sH * H_out : sH, j : j + sW * W_out : sW] += dcols[..., i, j]
    return dxp[:, :, pH : pH + H, pW : pW + W]


def _argmax_mask(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max over the last axis and a one-hot mask of its first position (torch's tie rule)."""
    index = flat.argmax(axis=-1)
    mask = index[..., None] == np.arange(flat.shape[-1])
    return np.take_along_axis(flat, index[..., None], axis=-1)[..., 0], mask


class Conv2D(Layer):
    """2-D cross-correlation y = W ⋆ x + b on (B, C_in, H, W), like `torch.nn.Conv2d`."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: Pair = 0,
        rng: np.random.Generator | None = None,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        rng = rng if rng is not None else np.random.default_rng()
        fan_in = in_channels * self.kernel[0] * self.kernel[1]
        weight, bias = init_uniform(
            rng, fan_in, (out_channels, in_channels, *self.kernel), (out_channels,)
        )
        self.params = {"weight": weight, "bias": bias}

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise DataError(f"Conv2D expects (B, {self.in_channels}, H, W), got {x.shape}")
        cols = im2col(x, self.kernel, self.stride, self.padding)  # (B, C, Ho, Wo, kH, kW)
        self.cache = (x.shape, cols)
        out = np.tensordot(cols, self.params["weight"], axes=([1, 4, 5], [1, 2, 3]))  # (B,Ho,Wo,O)
        return out.transpose(0, 3, 1, 2) + self.params["bias"][:, None, None]  # (B, O, Ho, Wo)

    def backward(self, dout):
        x_shape, cols = self.cache
        self.grads = {
            "weight": np.tensordot(dout, cols, axes=([0, 2, 3], [0, 2, 3])),  # (O, C, kH, kW)
            "bias": dout.sum(axis=(0, 2, 3)),
        }
        dcols = np.tensordot(dout, self.params["weight"], axes=([1], [0]))  # (B,Ho,Wo,C,kH,kW)
        dcols = dcols.transpose(0, 3, 1, 2, 4, 5)  # (B, C, Ho, Wo, kH, kW)
        return col2im(dcols, x_shape, self.kernel, self.stride, self.padding)

    def torch_module(self, nn):
        return nn.Conv2d(
            self.in_channels, self.out_channels, self.kernel, self.stride, self.padding
        )


class _Pool2D(Layer):
    """Window geometry shared by the pools; stride defaults to the kernel size, as in torch."""

    def __init__(self, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0):
        super().__init__()
        self.kernel = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise ConfigError(f"pool padding {self.padding} exceeds half the kernel {self.kernel}")

    def _windows(self, x, fill=0.0):
        return im2col(x, self.kernel, self.stride, self.padding, fill)  # (B,C,Ho,Wo,kH,kW)

    def _col2im(self, dcols):
        return col2im(dcols, self.x_shape, self.kernel, self.stride, self.padding)


class MaxPool2D(_Pool2D):
    """Maximum of each window; the gradient goes to the window's arg-max (padding is -inf)."""

    sign = 1.0  # MinPool2D flips it: min(x) = -max(-x)

    def forward(self, x):
        self.x_shape = x.shape
        windows = self._windows(self.sign * x, fill=-np.inf)
        out, self.mask = _argmax_mask(windows.reshape(*windows.shape[:4], -1))
        return self.sign * out  # (B, C, Ho, Wo)

    def backward(self, dout):
        dcols = self.mask * dout[..., None]  # the two sign flips cancel
        return self._col2im(dcols.reshape(*dout.shape, *self.kernel))

    def torch_module(self, nn):
        return nn.MaxPool2d(self.kernel, self.stride, self.padding)


class MinPool2D(MaxPool2D):
    """Minimum of each window, min(x) = -max(-x); torch.nn has no equivalent (padding is +inf)."""

    sign = -1.0

    def torch_module(self, nn):
        raise ConfigError("MinPool2D has no torch.nn equivalent; torch computes -max_pool2d(-x)")


class AvgPool2D(_Pool2D):
    """Mean of each window, zero padding counted in the divisor kH·kW (torch's default)."""

    def forward(self, x):
        self.x_shape = x.shape
        return self._windows(x).mean(axis=(4, 5))  # (B, C, Ho, Wo)

    def backward(self, dout):
        area = self.kernel[0] * self.kernel[1]
        dcols = np.broadcast_to((dout / area)[..., None, None], (*dout.shape, *self.kernel))
        return self._col2im(dcols)

    def torch_module(self, nn):
        return nn.AvgPool2d(self.kernel, self.stride, self.padding)


class GlobalAvgPool(Layer):
    """(B, C, H, W) -> (B, C): each feature map's mean (Lin et al., 2014, "Network In Network")."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        B, C, H, W = self.x_shape
        return np.broadcast_to((dout / (H * W))[:, :, None, None], self.x_shape).copy()

    def torch_module(self, nn):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


class GlobalMaxPool(Layer):
    """(B, C, H, W) -> (B, C): the maximum of each feature map; the gradient goes to its arg-max."""

    def forward(self, x):
        self.x_shape = x.shape
        out, self.mask = _argmax_mask(x.reshape(*x.shape[:2], -1))
        return out

    def backward(self, dout):
        return (self.mask * dout[..., None]).reshape(self.x_shape)

    def torch_module(self, nn):
        return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
