"""What torch lacks: activation, pooling and norm factories, min/global pooling, ConvBlock."""

from dllab.nn.activations import activation, init_for_activation_
from dllab.nn.blocks import ConvBlock, conv
from dllab.nn.dims import with_channel_axis
from dllab.nn.norm import dropout, norm
from dllab.nn.pooling import GlobalPool, MinPool, pool

__all__ = [
    "ConvBlock",
    "GlobalPool",
    "MinPool",
    "activation",
    "conv",
    "dropout",
    "init_for_activation_",
    "norm",
    "pool",
    "with_channel_axis",
]
