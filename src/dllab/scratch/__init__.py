"""dllab.scratch: a NumPy deep-learning engine with hand-written backpropagation, checked against
PyTorch (see `gradcheck`). numpy only; torch is imported lazily to copy weights and to check.

    model = Sequential(Dense(2, 8, rng=rng), Tanh(), Dense(8, 1, rng=rng))
    losses = fit(model, bce_with_logits, Adam(model, lr=0.05), X, y, num_epochs=200,
                 batch_size=4, rng=rng)
"""

from dllab.scratch.conv import (
    AvgPool2D,
    Conv2D,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool2D,
    MinPool2D,
    col2im,
    im2col,
)
from dllab.scratch.convert import from_torch
from dllab.scratch.gradcheck import check_against_torch, numerical_gradient
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
from dllab.scratch.losses import bce_with_logits, mse, softmax_cross_entropy
from dllab.scratch.norm import BatchNorm1D, BatchNorm2D
from dllab.scratch.optim import SGD, Adam, Optimizer, RMSProp, clip_grad_norm, clip_grad_value
from dllab.scratch.recurrent import GRU, LSTM, RNN, Bidirectional
from dllab.scratch.train import fit, predict

__all__ = [
    "ELU",
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "AvgPool2D",
    "BatchNorm1D",
    "BatchNorm2D",
    "Bidirectional",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "MinPool2D",
    "Optimizer",
    "RMSProp",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "bce_with_logits",
    "check_against_torch",
    "clip_grad_norm",
    "clip_grad_value",
    "col2im",
    "fit",
    "from_torch",
    "im2col",
    "mse",
    "numerical_gradient",
    "predict",
    "softmax_cross_entropy",
]
