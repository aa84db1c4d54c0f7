"""The registry contract, for every registered model of every family: it builds with its
defaults, runs on a batch of its registered input shape, gives finite outputs, and a loss made
from all its outputs sends a gradient to every trainable parameter."""

import pytest
import torch

from dllab.models import create_model, list_models, model_entry

BATCH_SIZE = 2  # the smallest batch batch norm can train on with 1x1 maps


def output_tensors(output) -> list[torch.Tensor]:
    """Every floating-point tensor in a model output: a tensor, or tuples/lists/dicts of them."""
    if isinstance(output, torch.Tensor):
        return [output] if output.is_floating_point() else []
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, tuple | list):
        return [t for item in output for t in output_tensors(item)]
    return []


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_model_contract(name):
    torch.manual_seed(0)
    entry = model_entry(name)
    model = create_model(name).train()
    shape = (BATCH_SIZE, *entry.input_shape)
    if entry.input_dtype == torch.long:
        x = torch.randint(0, 2, shape)
    else:
        x = torch.randn(shape, dtype=entry.input_dtype)
    outputs = output_tensors(model(x))
    assert outputs, f"{name} returned no floating-point tensor"
    assert all(t.shape[0] == BATCH_SIZE for t in outputs)
    assert all(torch.isfinite(t).all() for t in outputs)
    # A random projection of every output: unlike a plain sum it has a non-zero gradient through
    # softmax and batch norm (whose outputs sum to constants).
    loss = sum((t * torch.randn_like(t)).sum() for t in outputs)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    silent = [
        n for n, p in model.named_parameters() if p.requires_grad and not p.grad.abs().sum() > 0
    ]
    assert not silent, f"zero or non-finite gradient for {silent}"
