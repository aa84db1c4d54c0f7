"""Every feed-forward layer, activation and loss of dllab.scratch against PyTorch in float64.

Adding a layer costs one line in LAYERS: outputs, input gradients, parameter gradients and
buffers are compared with autograd, and gradients with finite differences as a second witness.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dllab import scratch as S
from dllab.errors import ConfigError, DataError
from dllab.scratch import check_against_torch


def case(name, make_layer, make_module, shape, training=True):
    return pytest.param(make_layer, make_module, shape, training, id=name)


class TorchMinPool(nn.Module):
    """min pooling as -max_pool2d(-x): the reference for MinPool2D."""

    def __init__(self, *args):
        super().__init__()
        self.args = args

    def forward(self, x):
        return -F.max_pool2d(-x, *self.args)


def with_running_stats(bn: nn.Module) -> nn.Module:
    """A batch-norm module with non-trivial running statistics, for eval-mode checks."""
    generator = torch.Generator().manual_seed(0)
    bn.running_mean.copy_(torch.randn(bn.num_features, generator=generator))
    bn.running_var.copy_(torch.rand(bn.num_features, generator=generator) + 0.5)
    return bn


def global_pool(pool):
    return lambda: nn.Sequential(pool(1), nn.Flatten())


LAYERS = [
    case("dense", lambda: S.Dense(5, 3), lambda: nn.Linear(5, 3), (4, 5)),
    case("dense-batch1", lambda: S.Dense(5, 3), lambda: nn.Linear(5, 3), (1, 5)),
    case("dense-sequence", lambda: S.Dense(5, 3), lambda: nn.Linear(5, 3), (2, 3, 5)),
    case("sigmoid", S.Sigmoid, nn.Sigmoid, (4, 5)),
    case("tanh", S.Tanh, nn.Tanh, (4, 5)),
    case("relu", S.ReLU, nn.ReLU, (4, 5)),
    case("leaky-relu", lambda: S.LeakyReLU(0.1), lambda: nn.LeakyReLU(0.1), (4, 5)),
    case("elu", lambda: S.ELU(0.7), lambda: nn.ELU(0.7), (4, 5)),
    case("softmax", S.Softmax, lambda: nn.Softmax(dim=-1), (4, 5)),
    case("softmax-dim1", lambda: S.Softmax(dim=1), lambda: nn.Softmax(dim=1), (2, 3, 4)),
    case("dropout-eval", lambda: S.Dropout(0.5), lambda: nn.Dropout(0.5), (4, 5), False),
    case("dropout-p0", lambda: S.Dropout(0.0), lambda: nn.Dropout(0.0), (4, 5)),
    case("flatten", S.Flatten, nn.Flatten, (2, 3, 2, 2)),
    case("bn1d", lambda: S.BatchNorm1D(3), lambda: nn.BatchNorm1d(3), (6, 3)),
    case("bn1d-length", lambda: S.BatchNorm1D(3), lambda: nn.BatchNorm1d(3), (2, 3, 4)),
    case(
        "bn1d-eval",
        lambda: S.BatchNorm1D(3),
        lambda: with_running_stats(nn.BatchNorm1d(3)),
        (1, 3),
        False,
    ),
    case("bn2d", lambda: S.BatchNorm2D(2), lambda: nn.BatchNorm2d(2), (3, 2, 3, 3)),
    case(
        "bn2d-eval",
        lambda: S.BatchNorm2D(2),
        lambda: with_running_stats(nn.BatchNorm2d(2)),
        (3, 2, 3, 3),
        False,
    ),
    case("conv", lambda: S.Conv2D(2, 3, 3), lambda: nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    case(
        "conv-batch1-stride2-pad1",
        lambda: S.Conv2D(2, 3, 3, stride=2, padding=1),
        lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1),
        (1, 2, 6, 7),
    ),
    case(
        "conv-rect-odd-padding",
        lambda: S.Conv2D(2, 3, (2, 3), stride=(2, 1), padding=(1, 2)),
        lambda: nn.Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 2)),
        (2, 2, 5, 4),
    ),
    case(
        "conv-kernel-is-input", lambda: S.Conv2D(2, 3, 4), lambda: nn.Conv2d(2, 3, 4), (2, 2, 4, 4)
    ),
    case("maxpool", lambda: S.MaxPool2D(2), lambda: nn.MaxPool2d(2), (2, 3, 4, 4)),
    case(
        "maxpool-overlap-pad",
        lambda: S.MaxPool2D(3, stride=2, padding=1),
        lambda: nn.MaxPool2d(3, stride=2, padding=1),
        (2, 2, 5, 6),
    ),
    case("maxpool-kernel-is-input", lambda: S.MaxPool2D(4), lambda: nn.MaxPool2d(4), (1, 2, 4, 4)),
    case("avgpool", lambda: S.AvgPool2D(2), lambda: nn.AvgPool2d(2), (2, 3, 4, 4)),
    case(
        "avgpool-overlap-pad",
        lambda: S.AvgPool2D(3, stride=2, padding=1),
        lambda: nn.AvgPool2d(3, stride=2, padding=1),
        (2, 2, 5, 6),
    ),
    case("minpool", lambda: S.MinPool2D(2), lambda: TorchMinPool(2), (2, 3, 4, 4)),
    case(
        "minpool-overlap-pad",
        lambda: S.MinPool2D(3, stride=2, padding=1),
        lambda: TorchMinPool(3, 2, 1),
        (2, 2, 5, 6),
    ),
    case("global-avg", S.GlobalAvgPool, global_pool(nn.AdaptiveAvgPool2d), (2, 3, 3, 4)),
    case("global-max", S.GlobalMaxPool, global_pool(nn.AdaptiveMaxPool2d), (2, 3, 3, 4)),
    case(
        "mlp",
        lambda: S.Sequential(S.Dense(4, 6), S.ReLU(), S.Dropout(0.0), S.Dense(6, 3)),
        lambda: nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.0), nn.Linear(6, 3)),
        (5, 4),
    ),
    case(
        "cnn",
        lambda: S.Sequential(
            S.Conv2D(1, 2, 3, padding=1),
            S.BatchNorm2D(2),
            S.ELU(),
            S.MaxPool2D(2),
            S.Flatten(),
            S.Dense(18, 3),
        ),
        lambda: nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1),
            nn.BatchNorm2d(2),
            nn.ELU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(18, 3),
        ),
        (2, 1, 6, 6),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("make_layer, make_module, shape, training", LAYERS)
def test_layer_matches_torch(make_layer, make_module, shape, training):
    x = np.random.default_rng(1).standard_normal(shape)
    check_against_torch(make_layer(), make_module(), x, training=training)


ROUND_TRIP = [param for param in LAYERS if "minpool" not in param.id]


@pytest.mark.parametrize("make_layer, make_module, shape, training", ROUND_TRIP)
def test_to_torch_computes_the_same_function(make_layer, make_module, shape, training):
    layer = make_layer()
    for array in layer.params.values():  # away from torch's own init values
        array[...] = np.random.default_rng(2).standard_normal(array.shape)
    module = layer.to_torch().train(training)
    layer.train() if training else layer.eval()
    x = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_allclose(layer.forward(x), module(torch.from_numpy(x)).detach(), rtol=1e-10)
    state = module.state_dict()
    for name, array in {**layer.params, **layer.buffers}.items():
        np.testing.assert_allclose(array, state[layer.torch_key(name)], err_msg=name)


def test_minpool_has_no_torch_twin():
    with pytest.raises(ConfigError, match="no torch.nn equivalent"):
        S.MinPool2D(2).to_torch()


class LossLayer(S.Layer):
    """A loss with fixed targets seen as a layer, so `check_against_torch` compares it too."""

    def __init__(self, loss_fn, y):
        super().__init__()
        self.loss_fn, self.y = loss_fn, y

    def forward(self, x):
        loss, self.dx = self.loss_fn(x, self.y)
        return np.asarray(loss)

    def backward(self, dout):
        return dout * self.dx


def labels(rng, shape):
    return rng.integers(0, shape[1], size=shape[0])


LOSSES = [
    pytest.param(S.softmax_cross_entropy, F.cross_entropy, labels, (5, 4), id="cross-entropy"),
    pytest.param(S.softmax_cross_entropy, F.cross_entropy, labels, (1, 4), id="cross-entropy-b1"),
    pytest.param(S.mse, F.mse_loss, lambda rng, s: rng.standard_normal(s), (5, 3), id="mse"),
    pytest.param(
        S.bce_with_logits,
        F.binary_cross_entropy_with_logits,
        lambda rng, s: rng.random(s),
        (5, 3),
        id="bce-with-logits",
    ),
]


@pytest.mark.parametrize("loss_fn, torch_loss, make_target, shape", LOSSES)
@pytest.mark.parametrize("scale", [1.0, 60.0])  # 60: logits far into exp's overflow range
def test_loss_matches_torch(loss_fn, torch_loss, make_target, shape, scale):
    rng = np.random.default_rng(3)
    x, y = scale * rng.standard_normal(shape), make_target(rng, shape)
    y_t = torch.from_numpy(y)
    check_against_torch(
        LossLayer(loss_fn, y), lambda x_t: torch_loss(x_t, y_t), x, numerical=scale == 1
    )


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(
    batch=st.integers(1, 3),
    channels=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    size=st.tuples(st.integers(3, 8), st.integers(3, 8)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
def test_conv_matches_torch_on_random_geometry(batch, channels, size, kernel, stride, padding):
    layer = S.Conv2D(*channels, kernel, stride, padding)
    module = nn.Conv2d(*channels, kernel, stride, padding)
    x = np.random.default_rng(4).standard_normal((batch, channels[0], *size))
    check_against_torch(layer, module, x, numerical=False)


def test_dropout_is_inverted_seeded_and_identity_in_eval():
    x = np.ones((400, 250))
    layer = S.Dropout(0.3, rng=np.random.default_rng(0))
    out = layer.forward(x)
    assert abs((out == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7])
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * out)  # the same mask, the same scale
    again = S.Dropout(0.3, rng=np.random.default_rng(0)).forward(x)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(layer.eval().forward(x), x)
    np.testing.assert_array_equal(S.Dropout(1.0).forward(x), 0 * x)


def test_batchnorm_running_stats_follow_torch_over_several_batches():
    layer, module = S.BatchNorm2D(3), nn.BatchNorm2d(3).double()
    layer.load_torch(module)
    for seed in range(4):
        x = np.random.default_rng(seed).standard_normal((4, 3, 2, 2)) * (seed + 1) + seed
        layer.forward(x)
        module(torch.from_numpy(x))
    for name, buffer in module.named_buffers():
        np.testing.assert_allclose(layer.buffers[name], buffer, rtol=1e-12)


def test_user_errors_are_one_line_dllab_errors():
    with pytest.raises(DataError, match="expects 5 input features"):
        S.Dense(5, 3).forward(np.zeros((2, 4)))
    with pytest.raises(ConfigError, match="shape"):
        S.Dense(5, 3).load_torch(nn.Linear(4, 3))
    with pytest.raises(ConfigError, match="no 'weight'"):
        S.Dense(5, 3).load_torch(nn.ReLU())
    with pytest.raises(ConfigError):
        S.Dropout(1.5)
    with pytest.raises(DataError, match="more than one value"):
        S.BatchNorm1D(3).forward(np.zeros((1, 3)))
    with pytest.raises(DataError, match="larger than the padded input"):
        S.Conv2D(1, 1, 5).forward(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ConfigError, match="padding"):
        S.MaxPool2D(2, padding=2)
    with pytest.raises(DataError, match="class indices"):
        S.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
