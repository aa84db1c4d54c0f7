"""The training loop at the centre of the Trainer: the loop one writes by hand, as `train` in
pytorch/examples' mnist/main.py does it,

    for X, y in batches:                             # train_epoch
        loss = loss_fn(model(X), y)                  #   forward and loss: the task's step
        optimizer.zero_grad()                        #   backward_step:
        loss.backward()                              #     backward
        clip_grad_norm_(model.parameters(), 1.0)     #     clip
        optimizer.step()                             #     step
        log(loss)                                    #   the step's log

with each other concern in a small object that the Trainer hands it: `Precision` (autocast and
loss scaling, speed.py), `DivergenceGuard` (guard.py), `StepLog` (records read once an epoch,
history.py), `Shards` (a rank's part of each batch under torchrun, distributed.py) and `CtrlC`
(interrupt.py); the batches come in the order that an exact resume replays (`DataOrder`,
resume.py), watched by `FirstStep` until the fit's first step is done (checks.py). A task
(tasks.py) turns a batch into a loss and calls `backward_step`; a GAN's calls it per network.
"""

from collections.abc import Iterable

import torch


def train_epoch(trainer, batches: Iterable[tuple[torch.Tensor, ...]]) -> None:
    """One epoch's batches, shuffled (after a resume, those not done yet): for each the
    task's step (forward, loss and `backward_step`), the schedules' step, and the log.

    Args:
        batches: tuples of tensors with the samples first, e.g. (X (B, ...), y (B,)).
    """
    task, precision, order, log = trainer.task, trainer.precision, trainer.order, trainer.log
    schedulers = list(trainer.schedulers.values())
    trainer.model.train()
    for batch in batches:
        n = trainer.shards.samples(batch, order.batches_done)  # in the batch, over all ranks
        with precision.autocast():
            logs = task.training_step(trainer, batch)  # {"loss": ..., metrics...} tensors
        for scheduler in schedulers:
            scheduler.step()  # once per batch, as Lightning's interval="step"
        trainer.step += 1
        order.batches_done += 1
        log.add(trainer, n, logs)  # kept as tensors: no GPU sync a step
        trainer.ctrl_c.check()  # Ctrl-C stops here, between two steps, the state whole


def backward_step(trainer, loss: torch.Tensor, optimizer: str = "main") -> None:
    """Zero the gradients, backpropagate, guard against divergence, clip, and step one of the
    trainer's optimizers (`Trainer.backward_step`, which tasks call)."""
    opt = trainer.optimizers[optimizer]
    opt.zero_grad(set_to_none=True)
    trainer.precision.backward(loss)  # dL/dθ into each parameter's .grad
    trainer.guard.check_loss(loss)  # inf or NaN: stop before the step spreads it
    trainer.precision.unscale(opt)  # fp16: the true gradients, before clipping
    if trainer.grad_clip is not None:
        params = [p for group in opt.param_groups for p in group["params"]]
        norm, factor = trainer.grad_clip(params)  # ||g|| before, and the factor applied
        trainer.guard.check_norm(norm)
        suffix = "" if optimizer == "main" else f"_{optimizer}"
        trainer.log.clipping |= {f"grad_norm{suffix}": norm, f"clip_factor{suffix}": factor}
    trainer.precision.step(opt)  # θ <- θ - lr · update(g)
