"""Thin adapters from the NumPy engine's layers to the stubs' plain functions: the references
build a layer holding the given arrays, run it, and return what the stub returns."""

import numpy as np

from dllab.scratch import Layer


def loaded(layer: Layer, **arrays) -> Layer:
    """`layer` with the given arrays copied into its parameters (or buffers) of those names."""
    for name, value in arrays.items():
        target = layer.params if name in layer.params else layer.buffers
        np.copyto(target[name], value)
    return layer


def backward(layer: Layer, x: np.ndarray, dout: np.ndarray, *state) -> np.ndarray:
    """dL/dx of `layer` at input x for the upstream gradient dout (its `grads` are set too)."""
    layer.forward(x, *state)
    return layer.backward(dout)


def weight_bias_backward(layer: Layer, x: np.ndarray, dout: np.ndarray) -> tuple:
    """(dx, dW, db) of a layer with a "weight" and a "bias"."""
    dx = backward(layer, x, dout)
    return dx, layer.grads["weight"], layer.grads["bias"]


def holder(**grads) -> Layer:
    """A bare layer holding parameters with these gradients (the parameters' values are 0), for
    the engine's optimizers and clipping functions, which walk `params` and `grads`."""
    layer = Layer()
    layer.grads = {name: np.array(g, dtype=np.float64) for name, g in grads.items()}
    layer.params = {name: np.zeros_like(g) for name, g in layer.grads.items()}
    return layer
