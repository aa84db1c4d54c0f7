"""Helpers shared by the test files (imported as `helpers`: pytest puts tests/ on the path)."""

import torch
from torch import nn

from dllab.engine import Callback, Trainer


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
