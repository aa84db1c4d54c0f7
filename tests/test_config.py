"""`--set key=value`: parsing by annotated type, bounds, nested keys, and clear errors."""

import contextlib
import re
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dllab.config import (
    apply_overrides,
    field_comments,
    from_dict,
    param,
    settings_of,
    to_dict,
    type_schema,
    type_text,
    validate,
)
from dllab.errors import ConfigError


@dataclass
class DataPart:
    name: Literal["digits", "mnist1d"] = "digits"  # which dataset
    dir: str | None = None


@dataclass
class Example:
    lr: float = param(0.1, gt=0)  # learning rate
    batch_size: int = param(32, ge=1)  # samples per step  # noqa: E501
    num_epochs: int = param(5, ge=0)
    # the probability of dropping a unit,
    # during training only
    dropout: float = param(0.0, ge=0, lt=1)
    widths: tuple[int, ...] = param(  # channels
        (8, 16), ge=1
    )  # fmt: skip
    augment: bool = False  # flips and shifts; "#" inside a comment stays;
    # it goes on in the comment lines right below
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    data: DataPart = field(default_factory=DataPart)  # a group, not a setting


@dataclass
class Derived(Example):
    lr: float = param(0.5, gt=0)
    num_epochs: int = param(9, ge=0)  # more epochs


def test_values_are_parsed_by_their_annotated_type():
    cfg = apply_overrides(
        Example(),
        [
            "lr=0.01",
            "batch_size=8",
            "widths=4,8,16",
            "augment=true",
            "cell=gru",
            "data.name=mnist1d",
            "data.dir=/tmp/x",
        ],
    )
    assert cfg == Example(0.01, 8, 5, 0.0, (4, 8, 16), True, "gru", DataPart("mnist1d", "/tmp/x"))
    assert apply_overrides(Example(), ["data.dir=none"]).data.dir is None
    assert apply_overrides(Example(), ["widths=(2, 3)"]).widths == (2, 3)
    for text in ("5", "5,", "(5,)", "[5]", " ( 5 ) "):
        assert apply_overrides(Example(), [f"widths={text}"]).widths == (5,)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("lr=0", "lr: must be > 0"),
        ("lr=-1", "must be > 0"),
        ("batch_size=0", "batch_size: must be >= 1"),
        ("num_epochs=-2", "num_epochs: must be >= 0"),
        ("dropout=1", "must be < 1"),
        ("widths=4,0", "must be >= 1"),
        ("widths=", "expected integers separated by commas, like 8,16"),
        ("widths=(8,", "expected integers separated by commas"),
        ("widths=[8)", "expected integers separated by commas"),
        ("widths=8,,16", "expected integers separated by commas"),
        ("widths=()", "widths: give at least one value, like 8,16"),
        ("batch_size=9223372036854775808", "expected an integer below 2**63"),
        ("lr=fast", "expected a number"),
        ("lr=nan", "expected a finite number"),
        ("batch_size=3.5", "expected an integer"),
        ("augment=maybe", "expected true or false"),
        ("cell=lstn", "did you mean 'lstm'"),
        ("data.name=cifar", "unknown value for data.name"),
        ("lrr=0.1", "did you mean 'lr'"),
        ("data.nme=digits", "did you mean 'data.name'"),
        ("data=digits", "is a group"),
        ("lr", "expects key=value"),
        ("lr.x=1", "has no sub-keys"),
    ],
)
def test_bad_assignments_are_one_line_config_errors(assignment, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        apply_overrides(Example(), [assignment])
    assert "\n" not in str(caught.value)


def test_round_trip_through_a_dict():
    cfg = apply_overrides(Example(), ["widths=1,2", "data.name=mnist1d"])
    assert from_dict(Example, to_dict(cfg)) == cfg


def test_validate_catches_a_bad_default():
    with pytest.raises(ConfigError, match="lr"):
        validate(Example(lr=-1.0))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_text_either_parses_or_is_a_config_error(text):
    for key in ("lr", "batch_size", "widths", "augment", "cell", "data.dir", "data.name"):
        with contextlib.suppress(ConfigError):
            validate(apply_overrides(Example(), [f"{key}={text}"]))


def test_settings_are_listed_with_dotted_keys_bounds_and_their_source_comments():
    settings = {s.key: s for s in settings_of(Example)}
    assert list(settings) == [
        "lr", "batch_size", "num_epochs", "dropout", "widths", "augment", "cell",
        "data.name", "data.dir",
    ]  # fmt: skip
    comments = {key: s.comment for key, s in settings.items()}
    assert comments == {
        "lr": "learning rate",
        "batch_size": "samples per step",  # tool directives are not documentation
        "num_epochs": "",
        "dropout": "the probability of dropping a unit, during training only",
        "widths": "channels",  # on the first line of a field written over three
        "augment": 'flips and shifts; "#" inside a comment stays; it goes on in the comment '
        "lines right below",
        "cell": "",  # a trailing comment's continuation is not the next field's block above
        "data.name": "which dataset",
        "data.dir": "",
    }
    assert settings["dropout"].bounds == {"ge": 0, "lt": 1}
    assert settings["cell"].hint == Literal["rnn", "lstm", "gru"]


def test_a_subclass_keeps_its_bases_comments_unless_it_writes_its_own():
    comments = field_comments(Derived)
    assert comments["lr"] == "learning rate" and comments["num_epochs"] == "more epochs"
    assert field_comments(Derived) is comments  # read from the source once


def test_types_as_text_and_as_data():
    assert type_text(tuple[int, ...]) == "tuple of int"
    assert type_text(Literal["rnn", "lstm"]) == "rnn|lstm"
    assert type_text(float | None) == "float or none"
    assert type_schema(tuple[Literal["a", "b"], ...]) == {
        "kind": "tuple",
        "items": {"kind": "choice", "choices": ["a", "b"]},
    }
    assert type_schema(str | None) == {"kind": "str", "nullable": True}
