"""A model prepared for training: its device and memory layout, then what a training step calls.

`Trainer.model` is always the plain module (weights, checkpoints, evaluation); its
`forward_model` is what a step runs: the module itself, wrapped in DistributedDataParallel under
torchrun (Li et al., 2020), and/or `torch.compile`d.
"""

import torch
from torch import nn

from dllab.engine import distributed
from dllab.engine.tasks import Task
from dllab.errors import ConfigError


def resolve_device(spec: str | torch.device) -> torch.device:
    """'auto' picks CUDA when present, else the CPU; asking for absent CUDA is a ConfigError."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no CUDA GPU is available here")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"device {spec!r}: this machine has {torch.cuda.device_count()} GPUs")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' asked for, but no Apple GPU is available here")
    return device


def has_image_convolutions(model: nn.Module) -> bool:
    """Whether `model` convolves 4-D (B, C, H, W) images, the layers channels_last speeds up."""
    return any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in model.modules())


def uses_channels_last(choice: bool | None, model: nn.Module, device: torch.device) -> bool:
    """The Trainer's `channels_last`: None turns it on for image convolutions on the CPU."""
    if choice is None:
        return device.type == "cpu" and has_image_convolutions(model)
    return choice


def place(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    """The model on `device`, its 4-D weights channels-last (NHWC) if asked."""
    memory_format = torch.channels_last if channels_last else torch.preserve_format
    return model.to(device, memory_format=memory_format)


def forward_model(model: nn.Module, task: Task, device: torch.device, compile: bool | str):
    """What a training step calls: DDP around `model` under torchrun, then `torch.compile`
    (True: the inductor backend; or a backend's name), or `model` itself."""
    if distributed.is_distributed():
        model = data_parallel(model, task, device)
    if compile:
        model = torch.compile(model, backend="inductor" if compile is True else compile)
    return model


def data_parallel(model: nn.Module, task: Task, device: torch.device) -> nn.Module:
    """DistributedDataParallel around `model`, for tasks whose step runs `forward_model`."""
    own_step = type(task).training_step is not Task.training_step
    if own_step and not task.drives_forward_model:
        raise ConfigError(
            f"{type(task).__name__} drives its networks itself and trains in one process only; "
            "run it without torchrun"
        )
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
