"""Typed experiment configs: dataclasses, `--set key=value` parsing, and range checks.

Every experiment's config is a `@dataclass`; nested dataclasses give dotted keys
(`--set data.name=ring8`). Ranges live in field metadata, written with `param(...)`:

    @dataclass
    class MLPConfig:
        lr: float = param(0.1, gt=0)            # learning rate
        batch_size: int = param(32, ge=1)       # samples per step
        cell: Literal["rnn", "lstm", "gru"] = "lstm"  # the recurrent cell

A tuple setting needs at least one item unless its field says `param(..., allow_empty=True)`.
"""

import ast
import dataclasses
import functools
import inspect
import io
import math
import re
import textwrap
import tokenize
import types
from dataclasses import dataclass, field, fields, is_dataclass, replace
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
    allow_empty: bool = False,
) -> Any:
    """A dataclass field with a default and optional bounds (checked by `validate`); a tuple
    field may be empty only with `allow_empty`."""
    bounds = {k: v for k, v in {"gt": gt, "ge": ge, "le": le, "lt": lt}.items() if v is not None}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple (immutable) for sequence defaults")
    return field(default=default, metadata={"bounds": bounds, "allow_empty": allow_empty})


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
        config = _set_path(config, key.split("."), text.strip(), key, list(flat_values(config)))
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


def flat_values(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every setting of `config` by its dotted key (`data.name`), nested configs flattened."""
    values = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            values |= flat_values(value, f"{prefix}{f.name}.")
        else:
            values[prefix + f.name] = value
    return values


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
        items = _tuple_items(text)
        if items is None:
            raise ConfigError(f"--set {key}: expected {_tuple_form(args[0])}, got {text!r}")
        return tuple(parse_value(item, args[0], key) for item in items)
    if hint is bool:
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ConfigError(f"--set {key}: expected true or false, got {text!r}")
    if hint is int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"--set {key}: expected an integer, got {text!r}") from None
        if abs(value) >= 2**63:  # torch's int64
            raise ConfigError(f"--set {key}: expected an integer below 2**63, got {text}")
        return value
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


def _tuple_items(text: str) -> list[str] | None:
    """The items of `8,16`, `(8, 16)`, `[8]`, `(8,)` or `()`; None when malformed (nothing at
    all, unbalanced brackets, an empty item)."""
    text = text.strip()
    opened, closed = text.startswith(("(", "[")), text.endswith((")", "]"))
    if opened or closed:
        if not (opened and closed and text[0] + text[-1] in ("()", "[]")):
            return None
        text = text[1:-1].strip()
        if not text:
            return []
    elif not text:
        return None
    items = [item.strip() for item in text.split(",")]
    if len(items) > 1 and items[-1] == "":  # `8,` as Python writes a 1-tuple
        items.pop()
    return None if "" in items else items


def _tuple_example(item_type: Any) -> str:
    if get_origin(item_type) is Literal:
        return ",".join(get_args(item_type)[:2])
    return {int: "8,16", float: "0.1,0.5"}.get(item_type, "a,b")


def _tuple_form(item_type: Any) -> str:
    """How a tuple of `item_type` is written on the command line, with an example."""
    if get_origin(item_type) is Literal:
        what = f"values of {'|'.join(get_args(item_type))}"
    else:
        what = {int: "integers", float: "numbers"}.get(item_type, "values")
    example = _tuple_example(item_type)
    return f'{what} separated by commas, like {example} or "({example})"'


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
        if value == () and not f.metadata.get("allow_empty", False):
            example = _tuple_example(get_args(hints[f.name])[0])
            raise ConfigError(f"--set {key}: give at least one value, like {example}")
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


# ---- describing a config: what `dllab show` prints and the web lab's forms are built from ----


@dataclass(frozen=True)
class Setting:
    """One settable field of a config class, nested fields under their dotted key."""

    key: str  # as `--set` takes it: `lr`, `data.name`
    hint: Any  # the annotated type
    bounds: dict[str, float]  # from `param(...)`: {"gt": 0}, {"ge": 1, "lt": 1}...
    comment: str  # the source comment that documents the field ("" when it has none)


def settings_of(cls: type, prefix: str = "") -> list[Setting]:
    """The settings of config class `cls` in field order, recursing into nested configs."""
    hints, comments = get_type_hints(cls), field_comments(cls)
    found = []
    for f in fields(cls):
        hint = hints[f.name]
        if is_dataclass(hint):
            found += settings_of(hint, f"{prefix}{f.name}.")
        else:
            bounds = dict(f.metadata.get("bounds", {}))
            found.append(Setting(prefix + f.name, hint, bounds, comments[f.name]))
    return found


@functools.cache
def field_comments(cls: type) -> dict[str, str]:
    """The comment documenting each field of dataclass `cls`, inherited fields included: the
    `#` comment on the field's own line(s) with the comment lines right below that go on with
    it, else the comment lines right above it; "" if none."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's comment replaces its base's
        if is_dataclass(klass):
            comments |= {name: text for name, text in _own_field_comments(klass).items() if text}
    return {f.name: comments.get(f.name, "") for f in fields(cls)}


_DIRECTIVE = re.compile(r"#\s*(?:fmt:|noqa|type:|pragma)")  # for tools, not documentation


@functools.cache
def _own_field_comments(cls: type) -> dict[str, str]:
    """Comments of the fields declared in `cls`'s own body, read once from its source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (built in a REPL or by make_dataclass)
        return {}
    trailing: dict[int, str] = {}  # line -> the comment ending it
    alone: dict[int, str] = {}  # line -> a comment on a line of its own
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = _DIRECTIVE.split(token.string, maxsplit=1)[0].lstrip("#").strip()
        if token.type == tokenize.COMMENT and text:
            own_line = not token.line[: token.start[1]].strip()
            (alone if own_line else trailing)[token.start[0]] = text
    comments = {}
    (body,) = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        lines = range(node.lineno, node.end_lineno + 1)
        found = [trailing[line] for line in lines if line in trailing]
        if found:  # the trailing comment goes on in the comment lines right below the field
            line = node.end_lineno + 1
            while line in alone:
                found.append(alone.pop(line))  # so not also the next field's block above
                line += 1
        else:  # a comment block right above the field
            line = node.lineno - 1
            while line in alone:
                found.insert(0, alone[line])
                line -= 1
        comments[node.target.id] = " ".join(found)
    return comments


def type_text(hint: Any) -> str:
    """A short name for a setting's type: `int`, `rnn|lstm|gru`, `tuple of int`, `int or none`."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join("none" if a is type(None) else type_text(a) for a in args)
    if origin is Literal:
        return "|".join(map(str, args))
    if origin is tuple:
        return f"tuple of {type_text(args[0])}"
    return getattr(hint, "__name__", str(hint))


def type_schema(hint: Any) -> dict:
    """A setting's type as data, for forms: {"kind": "int"}, {"kind": "choice", "choices": [...]},
    {"kind": "tuple", "items": {...}}; `"nullable": true` where none is allowed."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = type_schema(inner[0]) if len(inner) == 1 else {
            "kind": "union", "options": [type_schema(a) for a in inner]
        }  # fmt: skip
        return {**schema, "nullable": type(None) in args}
    if origin is Literal:
        return {"kind": "choice", "choices": list(args)}
    if origin is tuple:
        return {"kind": "tuple", "items": type_schema(args[0])}
    return {"kind": getattr(hint, "__name__", str(hint))}


def value_text(value: Any) -> str:
    """A setting's value as `--set` takes it: `8,16`, `true`, `none`."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return "(" + ",".join(map(value_text, value)) + ("," if len(value) == 1 else "") + ")"
    return '""' if value == "" else str(value)
