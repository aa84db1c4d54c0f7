"""Typed experiment configs: dataclasses, `--set key=value` parsing, and range checks.

Every experiment's config is a `@dataclass`; nested dataclasses give dotted keys
(`--set data.name=ring8`). Ranges live in field metadata, written with `param(...)`:

    @dataclass
    class MLPConfig:
        lr: float = param(0.1, gt=0)            # learning rate
        batch_size: int = param(32, ge=1)       # samples per step
        cell: Literal["rnn", "lstm", "gru"] = "lstm"
"""

import dataclasses
import math
import types
from dataclasses import field, fields, is_dataclass, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from dllab.errors import ConfigError, unknown_name_message

TRUE_WORDS = {"true", "yes", "1", "on"}
FALSE_WORDS = {"false", "no", "0", "off"}
NONE_WORDS = {"none", "null"}


def param(
    default: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A dataclass field with a default and optional bounds (checked by `validate`)."""
    bounds = {k: v for k, v in {"gt": gt, "ge": ge, "le": le, "lt": lt}.items() if v is not None}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple (immutable) for sequence defaults")
    return field(default=default, metadata={"bounds": bounds})


def to_dict(config: Any) -> dict:
    """The config as plain JSON-ready values (tuples become lists)."""
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict) -> Any:
    """Rebuild a config of type `cls` from `to_dict` output (used when resuming a run)."""
    config = cls()
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name not in values:
            continue
        value = values[f.name]
        if is_dataclass(hints[f.name]) and isinstance(value, dict):
            value = from_dict(hints[f.name], value)
        elif isinstance(value, list):
            value = tuple(value)
        config = replace(config, **{f.name: value})
    validate(config)
    return config


def apply_overrides(config: Any, assignments: list[str]) -> Any:
    """Return a copy of `config` with each `key=value` applied, then validated.

    Raises:
        ConfigError: for a malformed assignment, an unknown key, a value of the wrong type,
            or a value out of range; the message names the key.
    """
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {assignment!r}")
        key = key.strip()
        config = _set_path(config, key.split("."), text.strip(), key, _all_keys(config))
    validate(config)
    return config


def _set_path(config: Any, path: list[str], text: str, full_key: str, known: list[str]) -> Any:
    names = [f.name for f in fields(config)]
    head = path[0]
    if head not in names:
        raise ConfigError(unknown_name_message("--set key", full_key, known))
    hint = get_type_hints(type(config))[head]
    current = getattr(config, head)
    if len(path) > 1:
        if not is_dataclass(current):
            raise ConfigError(f"--set key {full_key!r}: {head!r} has no sub-keys")
        return replace(config, **{head: _set_path(current, path[1:], text, full_key, known)})
    if is_dataclass(current):
        raise ConfigError(f"--set key {full_key!r} is a group; set one of its keys instead")
    return replace(config, **{head: parse_value(text, hint, full_key)})


def _all_keys(config: Any, prefix: str = "") -> list[str]:
    keys = []
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            keys += _all_keys(value, f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return keys


def parse_value(text: str, hint: Any, key: str) -> Any:
    """Parse `text` as type `hint`: bool, int, float, str, Literal, tuple or Optional."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if type(None) in args and text.lower() in NONE_WORDS:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for option in inner:
            try:
                return parse_value(text, option, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"--set {key}: bad value {text!r}")
    if origin is Literal:
        if text not in args:
            raise ConfigError(unknown_name_message(f"value for {key}", text, list(args)))
        return text
    if origin is tuple:
        items = [t for t in text.strip("()[] ").split(",") if t.strip()]
        item_type = args[0]
        return tuple(parse_value(item.strip(), item_type, key) for item in items)
    if hint is bool:
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ConfigError(f"--set {key}: expected true or false, got {text!r}")
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--set {key}: expected an integer, got {text!r}") from None
    if hint is float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"--set {key}: expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"--set {key}: expected a finite number, got {text!r}")
        return value
    if hint is str:
        return text
    raise ConfigError(f"--set {key}: values of type {hint} cannot be set from the command line")


def validate(config: Any, prefix: str = "") -> None:
    """Check every field's type, Literal choices and bounds, recursing into nested configs.

    Raises:
        ConfigError: naming the first offending key.
    """
    hints = get_type_hints(type(config))
    for f in fields(config):
        key, value = prefix + f.name, getattr(config, f.name)
        if is_dataclass(value):
            validate(value, key + ".")
            continue
        _check_type(key, value, hints[f.name])
        for bound, limit in f.metadata.get("bounds", {}).items():
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if v is not None and not _within(v, bound, limit):
                    symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[bound]
                    raise ConfigError(f"--set {key}: must be {symbol} {limit}, got {v}")


def _within(value: float, bound: str, limit: float) -> bool:
    return {
        "gt": value > limit,
        "ge": value >= limit,
        "lt": value < limit,
        "le": value <= limit,
    }[bound]


def _check_type(key: str, value: Any, hint: Any) -> None:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return
        inner = [a for a in args if a is not type(None)]
        for option in inner:
            try:
                _check_type(key, value, option)
                return
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a {hint}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(unknown_name_message(f"value for {key}", str(value), list(args)))
        return
    if origin is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(f"{key}: expected a tuple, got {value!r}")
        for item in value:
            _check_type(key, item, args[0])
        return
    expected = {float: (int, float), int: (int,), bool: (bool,), str: (str,)}.get(hint)
    if expected is None:
        return
    if not isinstance(value, expected) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}")
