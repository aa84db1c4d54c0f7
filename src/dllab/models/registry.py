"""The model registry: every family registers its named variants; `create_model` builds them.

Mirrors timm's `create_model` / `list_models`: a variant is one short builder function.

    @register_model
    def resnet18(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
        return ResNet(BasicBlock, layers=(2, 2, 2, 2), ...)
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from dllab.errors import ConfigError, unknown_name_message


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder, its family (module), and the shape of one example input."""

    name: str
    family: str
    builder: Callable[..., nn.Module]
    input_shape: tuple[int, ...]  # one sample, no batch axis: (C, H, W), (T, D), (D,), ...
    input_dtype: torch.dtype  # torch.long for models that take token ids


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    builder: Callable[..., nn.Module] | None = None,
    *,
    input_shape: tuple[int, ...] = (3, 32, 32),
    input_dtype: torch.dtype = torch.float32,
):
    """Register a builder under its function name; usable bare or with an example input shape.

    The family is the builder's module's last name part (`dllab.models.resnet` -> `resnet`).
    `input_shape` is the smallest natural input, used by the registry contract test.
    """

    def decorate(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = fn.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        family = fn.__module__.rsplit(".", 1)[-1]
        _REGISTRY[name] = ModelEntry(name, family, fn, tuple(input_shape), input_dtype)
        return fn

    return decorate if builder is None else decorate(builder)


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ConfigError(unknown_name_message("model", name, list_models()))
    return _REGISTRY[name]


def list_models(family: str | None = None) -> list[str]:
    """Names of registered models, sorted; only those of `family` when given."""
    return sorted(n for n, e in _REGISTRY.items() if family is None or e.family == family)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model `name` with keyword arguments such as `num_classes`.

    Raises:
        ConfigError: for an unknown name or an argument the builder does not take.
    """
    builder = model_entry(name).builder
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(k for k in kwargs if k not in accepted and not takes_any)
    if unknown:
        raise ConfigError(
            f"model {name!r} takes no argument {', '.join(unknown)} "
            f"(it takes: {', '.join(accepted)})"
        )
    return builder(**kwargs)
