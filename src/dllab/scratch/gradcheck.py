"""Gradient checks for the NumPy engine: PyTorch autograd as the reference, central finite
differences as a second, independent witness for every hand-derived backward pass.

Both run in float64 with one random upstream gradient g, i.e. they differentiate L = Σ out ⊙ g,
so every element of every Jacobian-vector product is compared. torch is imported lazily.
"""

from collections.abc import Callable

import numpy as np

from dllab.scratch.layers import Layer


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ∂f/∂x_i ≈ (f(x + ε eᵢ) - f(x - ε eᵢ)) / 2ε for every entry of x.

    `f` takes no argument and must read `x`, which is perturbed in place and then restored.
    One pair of calls per entry: use small arrays.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def _assert_close(what: str, actual, expected, rtol: float, atol: float) -> None:
    expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def check_against_torch(
    layer: Layer,
    module,
    x: np.ndarray,
    *,
    training: bool = True,
    torch_forward: Callable | None = None,
    numerical: bool = True,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    seed: int = 0,
) -> None:
    """Assert that `layer` and its torch twin agree on output, input gradient and every
    parameter gradient (and buffers such as running statistics), in float64.

    Args:
        layer: the NumPy layer; its parameters are overwritten with the module's.
        module: the twin `torch.nn.Module`, or any callable tensor -> tensor (e.g. a loss with
            fixed targets) when the layer has no parameters.
        x: the input batch.
        training: compare in train() (batch statistics, dropout) or eval() mode.
        torch_forward: `(module, x_tensor) -> output` when the twin is not called as `module(x)`
            (e.g. truncated BPTT); by default a tuple output contributes its first element.
        numerical: also check the layer's input and parameter gradients by central differences.
        rtol, atol: tolerances against torch; finite differences use rtol 1e-5, atol 1e-6.
        seed: seeds the upstream gradient g.

    Raises:
        AssertionError: naming the first quantity that differs.
    """
    import torch

    x = np.array(x, dtype=np.float64)
    is_module = isinstance(module, torch.nn.Module)
    if is_module:
        module.double().train(training)
        layer.load_torch(module)
    if training:
        layer.train()
    else:
        layer.eval()

    out = layer.forward(x)
    g = np.random.default_rng(seed).standard_normal(np.shape(out))  # upstream dL/d out
    dx = layer.backward(g)
    grads = {name: grad.copy() for name, grad in layer.grads.items()}
    assert set(grads) == set(layer.params), f"gradients {set(grads)} != params {set(layer.params)}"

    x_t = torch.tensor(x, requires_grad=True)
    out_t = torch_forward(module, x_t) if torch_forward else module(x_t)
    out_t = out_t[0] if isinstance(out_t, tuple) else out_t
    out_t.backward(torch.from_numpy(g))
    _assert_close("output", out, out_t, rtol, atol)
    _assert_close("input gradient", dx, x_t.grad, rtol, atol)
    if is_module:
        torch_params, torch_buffers = dict(module.named_parameters()), dict(module.named_buffers())
        for name, grad in grads.items():
            twin = torch_params[layer.torch_key(name)].grad
            _assert_close(f"gradient of {name}", grad, twin, rtol, atol)
        for name, buffer in layer.buffers.items():
            _assert_close(
                f"buffer {name}", buffer, torch_buffers[layer.torch_key(name)], rtol, atol
            )

    if numerical:

        def loss() -> float:  # L = Σ layer(x) ⊙ g
            return float((layer.forward(x) * g).sum())

        _assert_close(
            "input gradient vs finite differences", dx, numerical_gradient(loss, x), 1e-5, 1e-6
        )
        for name, param in layer.params.items():
            fd = numerical_gradient(loss, param)
            _assert_close(f"gradient of {name} vs finite differences", grads[name], fd, 1e-5, 1e-6)
