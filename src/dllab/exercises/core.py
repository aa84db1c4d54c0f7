"""What an exercise is: a stub to fill in, a reference, weighted checks and the hints they give.

    dense = exercise("dense-backward", unit=1, topic="backpropagation", title="...",
                     functions=("dense_forward", "dense_backward"), stub=STUB,
                     reference={"dense_forward": ..., "dense_backward": ...},
                     hints=[Hint("weight-transposed", "dL/dW is doutᵀ x, shape (out, in)...")])

    @dense.check("weight gradient", weight=2)
    def _(s, rng):  # s: the submission's functions; rng: seeded per check
        expect_close(s.dense_backward(...)[1], want, "dL/dW", mistakes={...})

A check passes when it returns and fails when it raises `Fail` (or the student's code raises);
see `dllab.exercises.checking`. Importing a unit module registers its exercises; nothing runs.
"""

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dllab.errors import ConfigError, unknown_name_message
from dllab.syllabus import UNITS

VALUE_SECONDS = 10.0  # time limit of a check that compares values (they take well under 1 s)
BEHAVIOUR_SECONDS = 60.0  # of a check that trains a network (each takes under 10 s alone)


@dataclass(frozen=True)
class Hint:
    """Feedback for one recognised mistake: names it and where to look, never the answer's code."""

    key: str
    text: str


@dataclass(frozen=True)
class Check:
    """One named, weighted check; `fn(submission, rng)` raises `Fail` when the check fails."""

    name: str
    weight: int
    fn: Callable
    time_limit: float
    behaviour: bool  # trains something: slower, and skipped by `only_values` runs


@dataclass
class Exercise:
    """A stub's functions, the reference implementing them, checks and hints (see module doc)."""

    name: str
    unit: int
    topic: str  # one of `dllab.syllabus.TOPICS[unit]` (a test keeps them in sync)
    title: str
    functions: tuple[str, ...]  # what the student's file must define, in `check(...)` order
    stub: str  # the functions' signatures and docstrings; bodies raise NotImplementedError
    reference: dict[str, Callable]  # the same functions, calling the package's own code
    hints: dict[str, Hint]
    imports: str = "import numpy as np"  # the stub's import lines
    checks: list[Check] = field(default_factory=list)

    @property
    def filename(self) -> str:
        """The stub's file name: the exercise's name as a Python module."""
        return self.name.replace("-", "_") + ".py"

    @property
    def maximum(self) -> int:
        return sum(check.weight for check in self.checks)

    def check(self, name: str, weight: int = 1, behaviour: bool = False) -> Callable:
        """Decorator: register `fn(submission, rng)` as the check `name`."""
        if any(c.name == name for c in self.checks):
            raise ValueError(f"exercise {self.name!r}: check {name!r} is registered twice")

        def decorate(fn: Callable) -> Callable:
            limit = BEHAVIOUR_SECONDS if behaviour else VALUE_SECONDS
            self.checks.append(Check(name, weight, fn, limit, behaviour))
            return fn

        return decorate

    def hint(self, key: str) -> Hint:
        if key not in self.hints:
            raise KeyError(f"exercise {self.name!r} has no hint {key!r}")
        return self.hints[key]


_EXERCISES: dict[str, Exercise] = {}


def exercise(
    name: str,
    *,
    unit: int,
    topic: str,
    title: str,
    functions: Sequence[str],
    stub: str,
    reference: dict[str, Callable],
    hints: Sequence[Hint],
    imports: str = "import numpy as np",
) -> Exercise:
    """Register an exercise; add its checks with the `@ex.check(...)` decorator."""
    if name in _EXERCISES:
        raise ValueError(f"exercise {name!r} is registered twice")
    if unit not in UNITS:
        raise ValueError(f"exercise {name!r}: unit {unit} is not one of {list(UNITS)}")
    if set(reference) != set(functions):
        raise ValueError(f"exercise {name!r}: the reference must define exactly {functions}")
    entry = Exercise(
        name,
        unit,
        topic,
        title,
        tuple(functions),
        stub,
        dict(reference),
        {h.key: h for h in hints},
        imports,
    )
    _EXERCISES[name] = entry
    return entry


UNIT_MODULES = tuple(  # the modules registering each unit's exercises
    f"dllab.exercises.{name}"
    for name in ("unit1", "unit1_optimizers", "unit2", "unit2_training", "unit3", "unit4", "unit5")
)


def _load_units() -> None:
    """Import the unit modules, which register their exercises (cheap: no work at import)."""
    for module in UNIT_MODULES:
        importlib.import_module(module)


def list_exercises(unit: int | None = None) -> list[Exercise]:
    """Registered exercises ordered by unit, then registration order."""
    _load_units()
    chosen = [e for e in _EXERCISES.values() if unit is None or e.unit == unit]
    return sorted(chosen, key=lambda e: e.unit)


def get_exercise(name: str) -> Exercise:
    """The exercise `name`; an unknown name is a `ConfigError` naming the closest one."""
    _load_units()
    if name not in _EXERCISES:
        raise ConfigError(unknown_name_message("exercise", name, list(_EXERCISES)))
    return _EXERCISES[name]


def catalogue(unit: int | None = None) -> list[dict]:
    """Every exercise as a plain row (name, unit, topic, title, file, checks, points): what
    `dllab exercise list --json` prints and the tour page lists."""
    return [
        {
            "name": e.name,
            "unit": e.unit,
            "topic": e.topic,
            "title": e.title,
            "file": e.filename,
            "checks": len(e.checks),
            "points": e.maximum,
        }
        for e in list_exercises(unit)
    ]
