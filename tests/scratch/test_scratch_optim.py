"""dllab.scratch optimizers follow torch.optim step for step; clipping matches torch.nn.utils;
`fit` learns XOR."""

import numpy as np
import pytest
import torch

from dllab import scratch as S
from dllab.errors import ConfigError, DivergenceError


def small_mlp(seed: int = 0) -> S.Sequential:
    rng = np.random.default_rng(seed)
    return S.Sequential(S.Dense(3, 5, rng=rng), S.Tanh(), S.Dense(5, 2, rng=rng))


def opt(name, ours, theirs, **kwargs):
    return pytest.param(ours, theirs, kwargs, id=name)


OPTIMIZERS = [
    opt("sgd", S.SGD, torch.optim.SGD, lr=0.1),
    opt("sgd-momentum", S.SGD, torch.optim.SGD, lr=0.1, momentum=0.9),
    opt(
        "sgd-nesterov-wd",
        S.SGD,
        torch.optim.SGD,
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=0.01,
    ),
    opt("rmsprop", S.RMSProp, torch.optim.RMSprop, lr=0.01),
    opt(
        "rmsprop-momentum-wd",
        S.RMSProp,
        torch.optim.RMSprop,
        lr=0.01,
        alpha=0.9,
        momentum=0.8,
        weight_decay=0.01,
    ),
    opt("adam", S.Adam, torch.optim.Adam, lr=0.01),
    opt("adam-wd", S.Adam, torch.optim.Adam, lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
]


@pytest.mark.slow
@pytest.mark.parametrize("ours, theirs, kwargs", OPTIMIZERS)
def test_optimizer_trajectory_matches_torch_for_20_steps(ours, theirs, kwargs):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    model = small_mlp()
    module = model.to_torch()
    optimizer, torch_optimizer = ours(model, **kwargs), theirs(module.parameters(), **kwargs)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(20):
        _, dy_hat = S.mse(model.forward(X), y)
        model.backward(dy_hat)
        optimizer.step()
        torch_optimizer.zero_grad()
        torch.nn.functional.mse_loss(module(X_t), y_t).backward()
        torch_optimizer.step()
        for name, param in model.params.items():
            twin = module.get_parameter(model.torch_key(name)).detach()
            np.testing.assert_allclose(param, twin, rtol=1e-6, atol=1e-12, err_msg=f"{step}:{name}")


def model_with_grads(seed: int = 2):
    """A scratch model after one backward pass, and its torch twin holding the same gradients."""
    model = small_mlp(seed)
    x = np.random.default_rng(seed).standard_normal((4, 3))
    model.forward(x)
    model.backward(np.ones((4, 2)))
    module = model.to_torch()
    for name, grad in model.grads.items():
        module.get_parameter(model.torch_key(name)).grad = torch.from_numpy(grad.copy())
    return model, module


@pytest.mark.parametrize("norm_type", [1.0, 2.0, np.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clipped, untouched
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    model, module = model_with_grads()
    total = S.clip_grad_norm(model, max_norm, norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm, norm_type)
    np.testing.assert_allclose(total, torch_total, rtol=1e-12)
    for name, grad in model.grads.items():
        twin = module.get_parameter(model.torch_key(name)).grad
        np.testing.assert_allclose(grad, twin, rtol=1e-12, err_msg=name)
    clipped = S.clip_grad_norm(model, max_norm, norm_type)
    assert clipped == pytest.approx(min(total, max_norm), rel=1e-5)  # ‖g‖ ≤ θ afterwards


def test_clip_grad_value_matches_torch():
    model, module = model_with_grads()
    S.clip_grad_value(model, 0.05)
    torch.nn.utils.clip_grad_value_(module.parameters(), 0.05)
    for name, grad in model.grads.items():
        np.testing.assert_array_equal(grad, module.get_parameter(model.torch_key(name)).grad)
    assert max(np.abs(g).max() for g in model.grads.values()) == 0.05


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_y = np.array([[0.0], [1.0], [1.0], [0.0]])


@pytest.mark.parametrize(
    "make_optimizer",
    [
        pytest.param(lambda m: S.Adam(m, lr=0.05), id="adam"),
        pytest.param(lambda m: S.SGD(m, lr=0.5, momentum=0.9), id="sgd-momentum"),
    ],
)
def test_fit_learns_xor(make_optimizer):
    rng = np.random.default_rng(0)
    model = S.Sequential(S.Dense(2, 8, rng=rng), S.Tanh(), S.Dense(8, 1, rng=rng))
    losses = S.fit(model, S.bce_with_logits, make_optimizer(model), XOR_X, XOR_y, 300, 2, rng)
    assert len(losses) == 300
    assert losses[-1] < 0.05 < 0.5 < losses[0]
    np.testing.assert_array_equal(S.predict(model, XOR_X) > 0, XOR_y == 1)
    assert model.training  # predict restores the mode


def test_fit_stops_on_divergence_and_optimizers_validate():
    model = S.Sequential(S.Dense(2, 1))
    X = np.full((4, 2), np.nan)
    with pytest.raises(DivergenceError, match="epoch 1"):
        S.fit(model, S.mse, S.SGD(model, lr=0.1), X, XOR_y, 1, 4, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="Nesterov"):
        S.SGD(model, lr=0.1, nesterov=True)
    with pytest.raises(ConfigError, match="lr"):
        S.Adam(model, lr=-1.0)
