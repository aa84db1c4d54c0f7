"""Many seeds at once: N copies of a small model trained in one vectorised pass.

The copies' parameters are stacked along a new first axis (`torch.func.stack_module_state`), and
one forward pass maps the model over that axis (`vmap` of `functional_call`), so N small
networks cost about one wide one. Summing the N losses before `backward()` gives every copy the
gradient of its own loss (∂(Σ_c L_c)/∂θ_c = ∂L_c/∂θ_c), and the optimizers dllab names (SGD,
momentum, RMSprop, Adam) update each element of a tensor independently, so one optimizer over
the stacked tensors trains each copy exactly as it would be trained alone.

    result = train_seeds(lambda: create_model("xor_mlp"), seeds=range(100), train_data=(X, y),
                         loss="bce", optimizer="adam", lr=0.1, num_epochs=600)
    result.solved_fraction, result.epochs_to_solve       # the notes' "stuck in a local minimum"

Copy c with seed s matches `seed_everything(s); Trainer(build(), seed=s).fit(...)`: the same
initial weights, the same data order, and the same per-epoch loss and accuracy.
"""

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from dllab.engine.batches import as_tensors
from dllab.engine.optim import make_optimizer
from dllab.engine.prepare import resolve_device
from dllab.engine.resume import seed_everything
from dllab.engine.tasks import LOSSES, accuracy, resolve
from dllab.errors import ConfigError


@dataclass
class SeedsResult:
    """Per-epoch records of every copy, as a Trainer's epoch history would log them.

    Attributes:
        seeds: the seed of each copy (C of them).
        loss: (E, C) mean training loss of each epoch.
        accuracy: (E, C) mean training accuracy of each epoch.
        epochs_to_solve: (C,) the first epoch whose accuracy reached `solved_at`; 0 if never.
        params: the trained, stacked parameters {name: (C, ...)}.
    """

    seeds: list[int]
    loss: torch.Tensor
    accuracy: torch.Tensor
    epochs_to_solve: torch.Tensor
    params: dict[str, torch.Tensor]

    @property
    def solved(self) -> torch.Tensor:
        """(C,) True for the copies that solved the task."""
        return self.epochs_to_solve > 0

    @property
    def solved_fraction(self) -> float:
        return self.solved.float().mean().item()


def train_seeds(
    build: Callable[[], nn.Module],
    seeds: Iterable[int],
    train_data,
    *,
    loss: str = "cross_entropy",
    optimizer: str = "adam",
    lr: float | None = None,
    weight_decay: float = 0.0,
    num_epochs: int = 1,
    batch_size: int | None = None,
    solved_at: float = 1.0,
    device: str | torch.device = "cpu",
    data_per_copy: bool = False,
) -> SeedsResult:
    """Train one copy of `build()` per seed, all in one vectorised loop.

    Args:
        build: makes the model; called once per seed right after `seed_everything(seed)`.
        seeds: one per copy; each also fixes that copy's data order, as `Trainer(seed=...)`.
        train_data: (X, y) tensors or arrays, shared by every copy; with `data_per_copy`, one
            set per copy stacked on a first axis, X (C, N, ...) and y (C, N) (e.g. several
            random training subsets of one size).
        loss, optimizer, lr, weight_decay: as for `Trainer` (loss by name).
        batch_size: None for full-batch gradient descent.
        solved_at: the training accuracy that counts as solving the task.

    Returns:
        The per-epoch losses and accuracies of every copy and its epochs to solve.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("train_seeds needs at least one seed")
    if num_epochs < 1:
        raise ConfigError(f"num_epochs must be >= 1, got {num_epochs}")
    device = resolve_device(device)
    _, loss_fn = resolve("loss", loss, LOSSES)
    X, y = (t.to(device) for t in as_tensors(train_data))
    if data_per_copy and (len(X) != len(seeds) or len(y) != len(seeds)):
        raise ConfigError(f"data_per_copy: {len(seeds)} copies but {len(X)} data sets")
    if not data_per_copy:  # every copy sees the same samples, each in its own order
        X, y = X.expand(len(seeds), *X.shape), y.expand(len(seeds), *y.shape)
    models = []
    for seed in seeds:
        seed_everything(seed)
        models.append(build().to(device))
    params, buffers = stack_module_state(models)  # {name: (C, ...)}
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")  # the architecture, without storage

    def copy_step(p, b, X, y):  # one copy: (B, ...) -> its loss and accuracy
        y_hat = functional_call(base, (p, b), (X,))
        return loss_fn(y_hat, y), accuracy(y_hat, y)

    step = vmap(copy_step, randomness="different")
    opt = make_optimizer(optimizer, params.values(), lr, weight_decay)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    N = X.shape[1]
    B = N if batch_size is None else min(batch_size, N)
    copies = torch.arange(len(seeds), device=device)[:, None]  # (C, 1)
    losses, accuracies = [], []
    for _ in range(num_epochs):
        perms = torch.stack([torch.randperm(N, generator=g) for g in generators]).to(device)
        X_epoch, y_epoch = X[copies, perms], y[copies, perms]  # (C, N, ...): each copy's order
        sums = torch.zeros(2, len(seeds), device=device)
        for start in range(0, N, B):
            X_b, y_b = X_epoch[:, start : start + B], y_epoch[:, start : start + B]
            batch_loss, batch_accuracy = step(params, buffers, X_b, y_b)  # (C,), (C,)
            opt.zero_grad(set_to_none=True)
            batch_loss.sum().backward()
            opt.step()
            sums += torch.stack([batch_loss.detach(), batch_accuracy]) * X_b.shape[1]
        losses.append(sums[0] / N)
        accuracies.append(sums[1] / N)
    loss_table, accuracy_table = torch.stack(losses).cpu(), torch.stack(accuracies).cpu()
    return SeedsResult(
        seeds=seeds,
        loss=loss_table,
        accuracy=accuracy_table,
        epochs_to_solve=first_epoch_reaching(accuracy_table, solved_at),
        params={k: v.detach().cpu() for k, v in params.items()},
    )


def first_epoch_reaching(table: torch.Tensor, level: float) -> torch.Tensor:
    """(E, C) per-epoch values -> (C,) the first epoch (1-based) with value >= level, 0 if none."""
    reached = table >= level - 1e-6
    first = reached.float().argmax(0) + 1  # argmax finds the first True
    return torch.where(reached.any(0), first, torch.zeros_like(first))


@torch.no_grad()
def copy_test_errors(build: Callable[[], nn.Module], params: dict, test) -> list[float]:
    """The classification error on `test` = (X, y) of every copy of stacked `params`
    ({name: (C, ...)}, a `SeedsResult`'s), each loaded into a model from `build()`."""
    X, y = as_tensors(test)
    model = build().eval()
    errors = []
    for c in range(len(next(iter(params.values())))):
        model.load_state_dict({name: value[c] for name, value in params.items()})
        errors.append((model(X).argmax(-1) != y).float().mean().item())
    return errors
