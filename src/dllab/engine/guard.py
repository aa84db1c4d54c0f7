"""The divergence guard: training stops at the first non-finite loss or gradient norm, before
the optimizer step that would spread it into the weights, with an error that says what to try
and where the last good checkpoint is."""

import math

import torch

from dllab.errors import DivergenceError


class DivergenceGuard:
    """Checks one training step's loss (after backward) and clipped gradient norm.

    Args:
        trainer: read only when training diverged, for the error's step, lr and checkpoint.
    """

    def __init__(self, trainer):
        self.trainer = trainer

    def check_loss(self, loss: torch.Tensor) -> None:
        value = loss.item()  # one read, cheaper than torch.isfinite's kernels on small models
        if not math.isfinite(value):
            raise self.error("loss", value)

    def check_norm(self, norm: torch.Tensor) -> None:
        """The gradient norm that clipping measured; with fp16 loss scaling an overflow only
        skips the step (the scaler lowers its scale), so it is no divergence."""
        if self.trainer.precision.scaler is None and not torch.isfinite(norm):
            raise self.error("gradient norm", norm.item())

    def error(self, what: str, value: float) -> DivergenceError:
        trainer = self.trainer
        lr = trainer.optimizer.param_groups[0]["lr"]
        where = f"step {trainer.step + 1} (epoch {trainer.epoch + 1})"
        advice = f"lower the learning rate (lr={lr:g}) or enable gradient clipping"
        folder, kept = trainer.checkpoint_folder, ""
        if folder is not None and (folder / "last.json").exists():
            kept = f"; the last good checkpoint is in {folder}"
        return DivergenceError(
            f"training diverged at {where}: the {what} is {value} (exploding gradients?); "
            f"{advice}{kept}"
        )
