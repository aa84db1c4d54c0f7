"""Augmentation inside the training step: a task that transforms each training batch (and
optionally mixes it by mixup or cutmix, trained with the mixed-label loss) before the wrapped
supervised task computes its loss. Evaluation sees the data untouched.

Randomness comes only from the task's own `torch.Generator`, seeded from the trainer's seed on a
fresh fit and saved in every checkpoint (`Task.state_dict`), so an augmented run is reproducible
by its seed and a resumed run draws exactly the transforms the uninterrupted one would have.
"""

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from dllab.data.augment import cutmix, mixed_loss, mixup
from dllab.engine.tasks import Batch, Supervised, Task
from dllab.errors import ConfigError

MIXES = {"mixup": mixup, "cutmix": cutmix}


class Augmented(Task):
    """`task` trained on augmented batches: x -> transform(x, g), then mixup/cutmix if `mix`.

    Args:
        task: the supervised task whose loss and metrics are used.
        transform: a batch transform `T(x, generator) -> x` (see `dllab.data.augment`), or None.
        mix: None, "mixup" (Zhang et al., 2018) or "cutmix" (Yun et al., 2019): each batch is
            mixed with a permutation of itself and trained on lam L(y_a) + (1 - lam) L(y_b).
        alpha: lam ~ Beta(alpha, alpha) for the mix.
    """

    drives_forward_model = True  # the step runs `trainer.forward_model` (DDP under torchrun)

    def __init__(
        self,
        task: Supervised,
        transform: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        mix: Literal["mixup", "cutmix"] | None = None,
        alpha: float = 1.0,
    ):
        if mix is not None and mix not in MIXES:
            raise ConfigError(f"unknown mix {mix!r} (known: mixup, cutmix, or none)")
        self.task, self.transform, self.mix, self.alpha = task, transform, mix, alpha
        self.generator = torch.Generator().manual_seed(0)

    def seed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "generator" in state:
            self.generator.set_state(state["generator"])

    def compute(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict]:
        """Evaluation: the wrapped task on the batch as it is."""
        return self.task.compute(model, batch)

    def training_step(self, trainer, batch: Batch) -> dict[str, torch.Tensor]:
        X, y = batch[0], batch[-1]
        if self.transform is not None:
            X = self.transform(X, self.generator)
        if self.mix is None:
            loss, logs = self.task.compute(trainer.forward_model, (X, y))
        else:
            X, y_a, y_b, lam = MIXES[self.mix](X, y, self.generator, self.alpha)
            y_hat, *aux = _outputs(trainer.forward_model(X))  # (B, C), GoogLeNet's aux too
            loss = sum(
                weight * mixed_loss(self.task.loss_fn, out, y_a, y_b, lam)
                for weight, out in zip([1.0] + [self.task.aux_weight] * len(aux), [y_hat, *aux])
            )
            # each metric weighted as the loss is: lam m(y_a) + (1 - lam) m(y_b)
            with torch.no_grad():
                logs = {
                    name: lam * fn(y_hat, y_a) + (1 - lam) * fn(y_hat, y_b)
                    for name, fn in self.task.metrics
                }
        trainer.backward_step(loss)
        return {"loss": loss.detach(), **logs}


def _outputs(output: torch.Tensor | tuple) -> tuple[torch.Tensor, ...]:
    return output if isinstance(output, tuple) else (output,)
