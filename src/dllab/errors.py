"""The errors a user can cause. The CLI prints each as one line and exits with code 2."""

import difflib


class DllabError(Exception):
    """Bad input from the user: a clear one-line message, never a traceback."""


class ConfigError(DllabError):
    """An unknown name, or a value of the wrong type or out of range."""


class DataError(DllabError):
    """Missing, corrupt or unusable data (wrong magic, NaN values, labels out of range...)."""


class CheckpointError(DllabError):
    """A checkpoint that is missing, corrupt, unsafe, or of another model."""


class DivergenceError(DllabError):
    """Training produced a NaN or Inf loss or gradient."""


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    """The one-line message for an unknown name, with the closest known one as a hint."""

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known)})"
