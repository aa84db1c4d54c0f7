"""A student's functions as the checks see them: loaded from a file or given as callables, called
with read-only copies of their array arguments, and any exception they raise (sys.exit included)
turned into a `StudentError` whose message is one line: what happened and where in their file.
"""

import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dllab.exercises.core import Exercise, Hint

READ_ONLY = Hint(
    "read-only-input",
    "Your function writes into one of its input arrays, which the checker passes read-only: "
    "compute a new array instead of changing an input in place (x = x + 1 makes a new "
    "array; x += 1 and x[...] = ... write into x).",
)


class StudentError(Exception):
    """The student's code raised `error` (or exited) inside `function`."""

    def __init__(self, function: str, error: BaseException, files: frozenset[str] = frozenset()):
        self.function, self.error = function, error
        self.hints: tuple[Hint, ...] = ()
        if isinstance(error, NotImplementedError):
            message = f"{function} is not written yet (it raises NotImplementedError)"
        elif isinstance(error, SystemExit):
            message = f"{function} called sys.exit({error.code!r}); return a value instead"
        elif isinstance(error, MemoryError):
            message = (
                f"{function} ran out of memory (MemoryError{_where(error, files)}): it asked "
                "for more than a check may use"
            )
        else:
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            message = f"{function} raised {last}{_where(error, files)}"
            if isinstance(error, ValueError) and "read-only" in str(error):
                self.hints = (READ_ONLY,)
        super().__init__(message)
        self.message = message


def _where(error: BaseException, files: frozenset[str]) -> str:
    """ " (file.py, line N)": the deepest frame of the traceback in one of the student's files."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in files]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""


def _read_only(value: object) -> object:
    """A read-only copy of an array (also inside lists and tuples); other values as they are."""
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.flags.writeable = False
        return copy
    if isinstance(value, list | tuple):
        return type(value)(_read_only(v) for v in value)
    return value


class Submission:
    """The student's functions by name: `s.dense_forward(x, W, b)` calls theirs safely."""

    def __init__(self, functions: dict[str, Callable]):
        self._functions = dict(functions)
        code = (getattr(fn, "__code__", None) for fn in functions.values())
        self._files = frozenset(c.co_filename for c in code if c is not None)

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_") or name not in self._functions:
            raise AttributeError(name)
        function = self._functions[name]

        def call(*args, **kwargs):
            args = tuple(_read_only(a) for a in args)
            kwargs = {k: _read_only(v) for k, v in kwargs.items()}
            try:
                return function(*args, **kwargs)
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # sys.exit and MemoryError are the student's too
                raise StudentError(name, error, self._files) from None

        return call


class LoadError(Exception):
    """The student's file could not be imported; the message is the error's last line."""


def load_file(path: str | Path, exercise: Exercise) -> tuple[dict[str, Callable], list[str]]:
    """Import the student's file; return its functions of `exercise` and the names it lacks.

    Raises:
        LoadError: the file raised while being imported (a SyntaxError, an exception, sys.exit).
    """
    path = Path(path)
    module_name = f"dllab_submission_{exercise.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path.name} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        where = _where(error, frozenset({str(path)}))
        if isinstance(error, SyntaxError) and error.lineno:
            where = f" ({path.name}, line {error.lineno})"
        raise LoadError(f"importing {path.name} raised {last}{where}") from None
    found = {name: getattr(module, name, None) for name in exercise.functions}
    missing = [name for name, fn in found.items() if not callable(fn)]
    return {k: v for k, v in found.items() if callable(v)}, missing
