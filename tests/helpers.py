"""Helpers shared by the test files (imported as `helpers`: pytest puts tests/ on the path)."""

import shutil

import pytest
import torch
from torch import nn

from dllab.engine import Callback, Trainer
from dllab.kernels.build import compiler

# Tests of the native kernels themselves; CI installs gcc and runs them.
needs_compiler = pytest.mark.skipif(
    shutil.which(compiler() or "cc") is None, reason="needs a C compiler (apt-get install gcc)"
)


class StopAt(Callback):
    """Simulates Ctrl-C right after the given optimizer step."""

    def __init__(self, step: int):
        self.at = step

    def on_step_end(self, trainer, record):
        if record["step"] == self.at:
            raise KeyboardInterrupt


def same_weights(a: Trainer | nn.Module, b: Trainer | nn.Module) -> bool:
    """Every tensor of the two models' state dicts is bit-identical."""
    state_a = a.weights() if isinstance(a, Trainer) else a.state_dict()
    state_b = b.weights() if isinstance(b, Trainer) else b.state_dict()
    return state_a.keys() == state_b.keys() and all(
        torch.equal(state_a[k], state_b[k]) for k in state_a
    )
