"""dllab.nn: the factories build torch's modules, min pooling is exact, ConvBlock's shapes."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dllab.errors import ConfigError, DataError
from dllab.nn import (
    ConvBlock,
    GlobalPool,
    MinPool,
    activation,
    conv,
    dropout,
    init_for_activation_,
    norm,
    pool,
)
from dllab.nn.dims import with_channel_axis


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sigmoid", nn.Sigmoid),
        ("tanh", nn.Tanh),
        ("relu", nn.ReLU),
        ("leaky_relu", nn.LeakyReLU),
        ("elu", nn.ELU),
        ("prelu", nn.PReLU),
        ("softmax", nn.Softmax),
        ("identity", nn.Identity),
        ("none", nn.Identity),
        (None, nn.Identity),
    ],
)
def test_activation_builds_the_torch_class(name, cls):
    assert type(activation(name)) is cls


def test_activation_values_and_arguments():
    x = torch.linspace(-3, 3, 13).reshape(1, 13)
    torch.testing.assert_close(
        activation("leaky_relu", negative_slope=0.2)(x), F.leaky_relu(x, 0.2)
    )
    torch.testing.assert_close(activation("elu")(x), F.elu(x))
    probs = activation("softmax")(torch.randn(4, 5, 3))  # over dim 1, the class/channel axis
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(4, 3))
    prelu = activation("prelu", num_parameters=8)
    assert prelu.weight.shape == (8,)
    assert activation("prelu").weight is not activation("prelu").weight  # a fresh module


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: activation("relux"), "did you mean 'relu'"),
        (lambda: activation("relu", negative_slope=0.1), "negative_slope"),
        (lambda: activation("identity", dim=1), "takes no arguments"),
        (lambda: pool("median"), "unknown pooling 'median'"),
        (lambda: pool("max", dims=3), "supports dims 1, 2"),
        (lambda: norm("btach", 8), "did you mean 'batch'"),
        (lambda: norm("instance", 8, dims=0), "supports dims 1, 2"),
        (lambda: norm("group", 10, num_groups=3), "does not divide"),
        (lambda: norm("batch", 10, num_groups=2), "num_groups applies"),
        (lambda: dropout(1.0), r"\[0, 1\)"),
        (lambda: dropout(0.5, spatial=True, dims=0), "supports dims 1, 2"),
        (lambda: conv(3, 8, 3, dims=3), "supports dims 1, 2"),
        (lambda: ConvBlock(3, 8, pool="global_avg"), "model head"),
    ],
)
def test_bad_names_and_values_raise_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


@pytest.mark.parametrize(
    ("name", "dims", "cls"),
    [
        ("max", 1, nn.MaxPool1d),
        ("max", 2, nn.MaxPool2d),
        ("avg", 1, nn.AvgPool1d),
        ("avg", 2, nn.AvgPool2d),
        ("min", 2, MinPool),
        ("global_max", 2, GlobalPool),
        ("global_avg", 1, GlobalPool),
        ("none", 2, nn.Identity),
    ],
)
def test_pool_builds_the_right_module(name, dims, cls):
    assert type(pool(name, dims)) is cls


def min_pool_reference(x, kernel_size, stride, padding):
    """Minimum over explicit windows: pad with +inf, unfold, amin."""
    pads = (padding, padding) * (x.dim() - 2)
    x = F.pad(x, pads, value=math.inf)
    if x.dim() == 3:
        return x.unfold(2, kernel_size, stride).amin(-1)  # (B, C, L_out)
    b, c, h, w = x.shape
    cols = F.unfold(x, kernel_size, stride=stride)  # (B, C * k * k, L_out)
    h_out, w_out = (h - kernel_size) // stride + 1, (w - kernel_size) // stride + 1
    return cols.view(b, c, kernel_size**2, -1).amin(2).view(b, c, h_out, w_out)


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize(("kernel_size", "stride", "padding"), [(2, None, 0), (3, 2, 1)])
def test_min_pool_matches_references_in_value_and_gradient(dims, kernel_size, stride, padding):
    shape = (2, 3, 9) if dims == 1 else (2, 3, 7, 9)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    layer = pool("min", dims, kernel_size, stride, padding)
    y = layer(x)
    max_pool = pool("max", dims, kernel_size, stride, padding)
    torch.testing.assert_close(y, -max_pool(-x))
    expected = min_pool_reference(x, kernel_size, stride or kernel_size, padding)
    torch.testing.assert_close(y, expected)
    weights = torch.randn_like(y)
    (grad,) = torch.autograd.grad((y * weights).sum(), x)
    (grad_ref,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(grad, grad_ref)
    assert torch.autograd.gradcheck(layer, (x,))


@pytest.mark.parametrize("shape", [(4, 6, 10), (4, 6, 5, 7)])
def test_global_pools_reduce_every_spatial_axis(shape):
    x = torch.randn(shape)
    spatial = tuple(range(2, len(shape)))
    dims = len(shape) - 2
    torch.testing.assert_close(pool("global_avg", dims)(x), x.mean(dim=spatial))
    torch.testing.assert_close(pool("global_max", dims)(x), x.amax(dim=spatial))
    assert pool("global_avg", dims)(x).shape == (4, 6)


def test_norm_builds_the_right_module():
    assert type(norm("batch", 8, dims=0)) is nn.BatchNorm1d
    assert type(norm("batch", 8, dims=1)) is nn.BatchNorm1d
    assert type(norm("batch", 8, dims=2)) is nn.BatchNorm2d
    assert type(norm("layer", 8, dims=0)) is nn.LayerNorm
    assert type(norm("instance", 8, dims=1)) is nn.InstanceNorm1d
    assert type(norm(None, 8)) is nn.Identity
    layer = norm("layer", 8, dims=2)
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1
    assert norm("group", 64).num_groups == 32
    assert norm("group", 48).num_groups == 16  # gcd(32, 48)
    assert norm("group", 25).num_groups == 1
    assert norm("group", 12, num_groups=3).num_groups == 3


@pytest.mark.parametrize(
    ("name", "axes"),
    [
        ("batch", (0, 2, 3)),  # per channel over batch and space
        ("layer", (1, 2, 3)),  # per sample over channels and space
        ("instance", (2, 3)),  # per sample and channel over space
    ],
)
def test_norm_outputs_zero_mean_unit_variance(name, axes):
    x = 3.0 + 2.0 * torch.randn(8, 4, 6, 6)
    y = norm(name, 4).train()(x)
    torch.testing.assert_close(
        y.mean(dim=axes), torch.zeros_like(y.mean(dim=axes)), atol=1e-5, rtol=0
    )
    var = y.var(dim=axes, unbiased=False)
    torch.testing.assert_close(var, torch.ones_like(var), atol=1e-3, rtol=0)


def test_group_norm_normalises_each_group():
    x = 3.0 + 2.0 * torch.randn(2, 8, 5, 5)
    y = norm("group", 8, num_groups=4)(x).view(2, 4, -1)  # (B, groups, 2 * 5 * 5)
    torch.testing.assert_close(y.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(2, 4), atol=1e-3, rtol=0)


def test_dropout_factory():
    assert type(dropout(0.0)) is nn.Identity
    assert type(dropout(0.3)) is nn.Dropout
    assert type(dropout(0.3, spatial=True, dims=1)) is nn.Dropout1d
    assert type(dropout(0.3, spatial=True, dims=2)) is nn.Dropout2d
    y = dropout(0.5, spatial=True).train()(torch.ones(16, 8, 4, 4))
    per_map = y.flatten(2)  # each (sample, channel) map is dropped whole or kept and scaled by 2
    assert ((per_map == 0).all(-1) | (per_map == 2).all(-1)).all()


@pytest.mark.parametrize(
    ("kwargs", "in_shape", "out_shape"),
    [
        (dict(), (2, 3, 8, 8), (2, 16, 4, 4)),
        (dict(pool=None), (2, 3, 7, 9), (2, 16, 7, 9)),
        (dict(pool="min", pool_size=3), (2, 3, 9, 9), (2, 16, 3, 3)),
        (dict(kernel_size=3, padding=0, pool="avg"), (2, 3, 10, 10), (2, 16, 4, 4)),
        (dict(dims=1, kernel_size=5), (2, 3, 40), (2, 16, 20)),
        (dict(dims=1, kernel_size=5, stride=2, padding=1, pool=None), (2, 3, 40), (2, 16, 19)),
    ],
)
def test_conv_block_shapes(kwargs, in_shape, out_shape):
    block = ConvBlock(3, 16, **kwargs)
    y = block(torch.randn(in_shape))
    assert y.shape == out_shape
    assert block.output_size(in_shape[-1]) == out_shape[-1]


def test_conv_block_layers_and_bias():
    block = ConvBlock(3, 8, norm="group", activation="elu", pool="max", dropout=0.1)
    assert list(dict(block.named_children())) == ["conv", "norm", "act", "pool", "drop"]
    assert block.conv.bias is None  # the norm's shift replaces it
    plain = ConvBlock(3, 8, norm=None, activation=None, pool=None)
    assert list(dict(plain.named_children())) == ["conv"]
    assert plain.conv.bias is not None


def test_with_channel_axis():
    assert with_channel_axis(torch.zeros(2, 40), dims=1).shape == (2, 1, 40)
    assert with_channel_axis(torch.zeros(2, 3, 40), dims=1).shape == (2, 3, 40)
    assert with_channel_axis(torch.zeros(2, 8, 8), dims=2).shape == (2, 1, 8, 8)
    with pytest.raises(DataError, match="got shape"):
        with_channel_axis(torch.zeros(2, 1, 1, 40), dims=1)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh"])
def test_matched_init_keeps_the_signal_alive_through_a_deep_net(name):
    torch.manual_seed(0)
    deep = nn.Sequential(*[m for _ in range(20) for m in (nn.Linear(256, 256), activation(name))])
    x = torch.randn(512, 256)
    torch_default_std = deep(x).std(0).mean()  # how much the output varies with the input
    init_for_activation_(deep, name)
    matched_std = deep(x).std(0).mean()
    assert matched_std > 0.1  # 20 layers on, the signal is still there
    if name in ("relu", "leaky_relu"):
        assert torch_default_std < 1e-3 < matched_std  # torch's default init loses it


def test_sigmoid_loses_the_signal_even_with_glorot_init():
    torch.manual_seed(0)
    deep = nn.Sequential(*[m for _ in range(20) for m in (nn.Linear(256, 256), nn.Sigmoid())])
    init_for_activation_(deep, "sigmoid")
    assert deep(torch.randn(512, 256)).std(0).mean() < 1e-4  # σ' <= 1/4 at every layer


def test_matched_init_zeroes_biases_and_rejects_unknown_names():
    layer = nn.Linear(4, 4)
    init_for_activation_(layer, "relu")
    assert torch.equal(layer.bias, torch.zeros(4))
    with pytest.raises(ConfigError, match="unknown activation"):
        init_for_activation_(layer, "swishy")
