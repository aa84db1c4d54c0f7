"""Exercises with automatic checking: for every unit, stubs a student fills in, checked against
the package's own code (the references) with named, weighted checks and hints that recognise
common mistakes.

    from dllab.exercises import check
    result = check("dense-backward", my_forward, my_backward)
    print(result)            # the table; in Jupyter the result renders as an HTML table

From the command line: `dllab exercise list | start | check | release | grade` (see
`dllab.exercises.commands`). Checks run in child processes with time and memory limits (see
`dllab.exercises.runner`); that isolates mistakes, it is not a security sandbox.
"""

from collections.abc import Callable

from dllab.errors import ConfigError
from dllab.exercises.checking import DEFAULT_SEED
from dllab.exercises.core import Check, Exercise, Hint, catalogue, get_exercise, list_exercises
from dllab.exercises.results import CheckOutcome, ExerciseResult
from dllab.exercises.runner import Limits, run_exercise

__all__ = [
    "Check",
    "CheckOutcome",
    "Exercise",
    "ExerciseResult",
    "Hint",
    "Limits",
    "catalogue",
    "check",
    "get_exercise",
    "list_exercises",
]


def check(
    name: str, *functions: Callable, seed: int = DEFAULT_SEED, **named: Callable
) -> ExerciseResult:
    """Check your functions for exercise `name`, given in the stub's order or by name.

    They run in a forked child process with the exercise's time and memory limits, so anything
    defined in a notebook works and an endless loop fails its check instead of hanging.

    Raises:
        ConfigError: an unknown exercise, or functions that do not match its stub.
    """
    exercise = get_exercise(name)
    if len(functions) > len(exercise.functions):
        raise ConfigError(
            f"{name} takes {len(exercise.functions)} functions "
            f"({', '.join(exercise.functions)}), got {len(functions)}"
        )
    given = dict(zip(exercise.functions, functions))
    unknown = sorted(set(named) - set(exercise.functions))
    if unknown:
        raise ConfigError(
            f"{name} has no function {unknown[0]!r} (its stub defines "
            f"{', '.join(exercise.functions)})"
        )
    given.update(named)
    missing = [f for f in exercise.functions if f not in given]
    if missing:
        raise ConfigError(f"{name} also needs {', '.join(missing)}")
    not_callable = [f for f, fn in given.items() if not callable(fn)]
    if not_callable:
        raise ConfigError(f"{not_callable[0]} is not a function")
    return run_exercise(exercise, given, seed)
