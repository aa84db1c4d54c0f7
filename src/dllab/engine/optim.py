"""Optimizers and learning-rate schedules by name, and gradient clipping.

SGD is full-batch, mini-batch or per-sample depending only on the batch size given to `fit`.
SGD and Adam(W) by name use torch's fused kernels (one kernel for all parameters instead of a
Python loop over them) on the CPU and CUDA: the same update rule in fewer passes over the
weights (`python -m bench engine` measures the gain, its "defaults" table).
"""

import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from dllab.errors import ConfigError, unknown_name_message

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda params, lr, wd, **kw: torch.optim.SGD(params, lr=lr, weight_decay=wd, **kw),
    # Polyak momentum: v <- mu v + g; theta <- theta - lr v
    "momentum": lambda params, lr, wd, **kw: torch.optim.SGD(
        params, lr=lr, momentum=0.9, weight_decay=wd, **kw
    ),
    # Nesterov (Sutskever et al. 2013): the gradient is taken at the looked-ahead point
    "nesterov": lambda params, lr, wd, **kw: torch.optim.SGD(
        params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd, **kw
    ),
    "rmsprop": lambda params, lr, wd: torch.optim.RMSprop(params, lr=lr, weight_decay=wd),
    "adam": lambda params, lr, wd, **kw: torch.optim.Adam(params, lr=lr, weight_decay=wd, **kw),
    "adamw": lambda params, lr, wd, **kw: torch.optim.AdamW(params, lr=lr, weight_decay=wd, **kw),
}
DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "rmsprop": 1e-3, "adam": 1e-3}
FUSED = ("sgd", "momentum", "nesterov", "adam", "adamw")  # torch has fused kernels for these


def fusable(params: list) -> bool:
    """Whether torch's fused optimizer kernels take these parameters (tensors or parameter
    groups): floating point, on the CPU or CUDA."""
    tensors = [t for p in params for t in (p["params"] if isinstance(p, dict) else (p,))]
    return all(t.is_floating_point() and t.device.type in ("cpu", "cuda") for t in tensors)


def make_optimizer(
    spec: str | torch.optim.Optimizer, params: Iterable, lr: float | None, weight_decay: float
) -> torch.optim.Optimizer:
    """An optimizer by name (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`, `adamw`) or as is."""
    if isinstance(spec, torch.optim.Optimizer):
        return spec
    if spec not in OPTIMIZERS:
        raise ConfigError(unknown_name_message("optimizer", spec, sorted(OPTIMIZERS)))
    lr = DEFAULT_LR.get(spec, 1e-3) if lr is None else lr
    if lr <= 0:
        raise ConfigError(f"lr must be > 0, got {lr}")
    params = list(params)
    if spec in FUSED and fusable(params):
        return OPTIMIZERS[spec](params, lr, weight_decay, fused=True)
    return OPTIMIZERS[spec](params, lr, weight_decay)


def _warmup_then(decay: Callable[[float], float], warmup_steps: int, total_steps: int):
    """LR multiplier: linear warm-up for `warmup_steps`, then `decay(progress in [0, 1])`."""

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return decay(min(1.0, progress))

    return multiplier


SCHEDULES = ("constant", "step", "cosine", "onecycle", "warmup")


@dataclass(frozen=True)
class Schedule:
    """A per-step learning-rate schedule.

    constant: lr; warmup: linear warm-up then constant; step: lr * gamma every `step_epochs`
    epochs; cosine: warm-up then half a cosine to zero (Loshchilov & Hutter 2017);
    onecycle: Smith & Topin (2019), peaking at the optimizer's lr after 30% of the steps.
    """

    name: str = "constant"
    warmup_steps: int = 0
    step_epochs: int = 30
    gamma: float = 0.1


def make_schedule(
    spec: str | Schedule, optimizer: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int
) -> LRScheduler:
    """Build the scheduler for `spec` (a name or a `Schedule`), stepped once per batch."""
    spec = Schedule(spec) if isinstance(spec, str) else spec
    name, warmup_steps = spec.name, spec.warmup_steps
    if name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 2))
    decays: dict[str, Callable[[float], float]] = {
        "constant": lambda p: 1.0,
        "warmup": lambda p: 1.0,
        "cosine": lambda p: 0.5 * (1.0 + math.cos(math.pi * p)),
    }
    if name == "step":
        period = max(1, spec.step_epochs * steps_per_epoch)
        return LambdaLR(optimizer, lambda step: spec.gamma ** (step // period))
    if name not in decays:
        raise ConfigError(unknown_name_message("schedule", name, list(SCHEDULES)))
    return LambdaLR(optimizer, _warmup_then(decays[name], warmup_steps, total_steps))


def make_schedules(
    spec: str | Schedule | dict[str, str | Schedule] | None,
    optimizers: dict[str, torch.optim.Optimizer],
    total_steps: int,
    steps_per_epoch: int,
) -> dict[str, LRScheduler]:
    """The Trainer's `schedule` for its optimizers: none, one spec for all, or a dict from
    optimizer names (a GAN's "generator" and "discriminator") to specs."""
    if spec is None:
        return {}
    specs = spec if isinstance(spec, dict) else dict.fromkeys(optimizers, spec)
    unknown = sorted(set(specs) - set(optimizers))
    if unknown:
        raise ConfigError(unknown_name_message("optimizer", unknown[0], list(optimizers)))
    return {
        key: make_schedule(spec, optimizers[key], total_steps, steps_per_epoch)
        for key, spec in specs.items()
    }


@contextmanager
def schedules_step_per_batch() -> Iterator[None]:
    """Schedules step once per batch by design, also before a GAN's generator (one step in
    n_critic) or an fp16 step skipped by the scaler has stepped: torch's warning about a
    schedule stepped before its optimizer is silenced inside the block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step", UserWarning)
        yield


def main_optimizer(optimizers: dict[str, torch.optim.Optimizer]) -> torch.optim.Optimizer:
    """The one named "main"; a GAN's has none, so its first one."""
    return optimizers.get("main") or next(iter(optimizers.values()))


def learning_rates(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
    """{"lr": the main optimizer's, "lr_<name>": each other one's}, for the epoch records."""
    others = {f"lr_{k}": o.param_groups[0]["lr"] for k, o in optimizers.items() if k != "main"}
    return {"lr": main_optimizer(optimizers).param_groups[0]["lr"], **others}


@dataclass(frozen=True)
class ClipNorm:
    """Rescale all gradients together: g <- g * max_norm / ||g|| when ||g|| > max_norm
    (Pascanu et al. 2013, Algorithm 1), with torch's ||g|| + 1e-6 in the denominator."""

    max_norm: float
    norm_type: float = 2.0

    def __call__(self, params: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        norm = torch.nn.utils.clip_grad_norm_(params, self.max_norm, self.norm_type)
        return norm, torch.clamp(self.max_norm / (norm + 1e-6), max=1.0)


@dataclass(frozen=True)
class ClipValue:
    """Clamp every gradient element to [-value, value]."""

    value: float

    def __call__(self, params: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        torch.nn.utils.clip_grad_value_(params, self.value)
        clipped = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        return norm, clipped / (norm + 1e-12)
