"""Run an exercise's checks in this process: each check's random cases come from its own seeded
generator, and whatever goes wrong becomes that check's one-line verdict, never a traceback.

The runner (`dllab.exercises.runner`) calls this inside a child process with limits; tests call
it directly on references and known mistakes.
"""

import time
import traceback
import warnings
import zlib
from collections.abc import Callable

import numpy as np

from dllab.exercises.core import Check, Exercise
from dllab.exercises.expect import Fail
from dllab.exercises.results import CheckOutcome
from dllab.exercises.submission import StudentError, Submission

DEFAULT_SEED = 0  # the seed of the released checks; teachers pass their own (`--seed`)


def check_seed(seed: int, exercise: str, check: str) -> list[int]:
    """The entropy of one check's generator: the same cases for the same seed, on any machine."""
    return [seed, zlib.crc32(exercise.encode()), zlib.crc32(check.encode())]


def run_check(exercise: Exercise, check: Check, submission: Submission, seed: int) -> CheckOutcome:
    """Run one check; return its verdict with the hints whose mistakes were recognised."""
    import torch  # the unit modules have imported it already

    entropy = check_seed(seed, exercise.name, check.name)
    rng = np.random.default_rng(entropy)
    torch.manual_seed(int(np.random.default_rng(entropy).integers(2**62)))
    started = time.perf_counter()
    hints: tuple[str, ...] = ()
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check.fn(submission, rng)
        passed, message = True, ""
    except Fail as failure:
        passed, message = False, failure.message
        hints = tuple(exercise.hint(key).text for key in failure.hints)
    except StudentError as error:
        passed, message = False, error.message
        hints = tuple(h.text for h in error.hints)
    except Exception as error:  # the checker could not use what the student's code returned
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        passed, message = False, f"the checker could not use the result: {last}"
    seconds = time.perf_counter() - started
    return CheckOutcome(check.name, check.weight, passed, message, hints, seconds)


def run_checks(
    exercise: Exercise,
    functions: dict[str, Callable],
    seed: int = DEFAULT_SEED,
    behaviour: bool = True,
) -> list[CheckOutcome]:
    """Every check of `exercise` on `functions`, in this process (no limits: trusted code only).

    Args:
        behaviour: also run the checks that train a network (slower).
    """
    submission = Submission(functions)
    return [
        run_check(exercise, check, submission, seed)
        for check in exercise.checks
        if behaviour or not check.behaviour
    ]
