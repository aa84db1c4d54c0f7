"""The vocabulary checks are written in: `Fail`, and comparisons that raise it with a one-line
message and the keys of the hints whose mistake the student's output shows.

A mistake is recognised by its output: `mistakes={"weight-transposed": want.T}` fires that hint
when the student's array equals the transposed reference (a list: any of its arrays); a
callable `got -> bool` recognises what no array describes (e.g. `non_finite`: NaN or inf).
"""

from collections.abc import Callable, Mapping

import numpy as np

from dllab.scratch import numerical_gradient

Mistakes = Mapping[str, object]  # hint key -> the array(s) the mistake gives, or got -> bool
GRADIENT_TOLERANCE = 1e-6  # relative error of a backward pass against finite differences


class Fail(Exception):
    """A check failed: `message` is one line; `hints` are keys of the exercise's hints."""

    def __init__(self, message: str, hints: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.message, self.hints = message, tuple(hints)


def to_numpy(value: object) -> object:
    """A torch tensor as a float64 NumPy array; anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().double().numpy()
    return value


def as_array(value: object, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`value` as a float64 array (of `shape` when given), or `Fail` saying what it is instead."""
    if value is None:
        raise Fail(f"{what} is None: does the function return its result?")
    value = to_numpy(value)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(f"{what} should be an array of numbers, got {type(value).__name__}") from None
    if shape is not None and array.shape != tuple(shape):
        raise Fail(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array


def unpack(value: object, what: str, names: tuple[str, ...]) -> tuple:
    """A returned tuple of len(names) values, or `Fail` saying what came back instead."""
    if value is None:
        raise Fail(f"{what} returned None: does the function return its result?")
    if not isinstance(value, tuple | list) or len(value) != len(names):
        got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
        raise Fail(f"{what} should return {len(names)} values ({', '.join(names)}), got {got}")
    return tuple(value)


def _same(got: np.ndarray, variant: object, rtol: float, atol: float) -> bool:
    if callable(variant):
        return bool(variant(got))
    if isinstance(variant, list):  # any of several outputs
        return any(_same(got, v, rtol, atol) for v in variant)
    variant = np.asarray(to_numpy(variant), dtype=np.float64)
    return got.shape == variant.shape and np.allclose(got, variant, rtol, atol, equal_nan=True)


def recognised(got: np.ndarray, mistakes: Mistakes | None, rtol=1e-6, atol=1e-9) -> list[str]:
    """The keys of `mistakes` whose output `got` shows."""
    with np.errstate(all="ignore"):
        return [key for key, variant in (mistakes or {}).items() if _same(got, variant, rtol, atol)]


def expect_close(
    got: object,
    want: object,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: Mistakes | None = None,
    hints: tuple[str, ...] = (),
) -> np.ndarray:
    """Fail unless `got` has the shape of `want`, is finite where `want` is, and is close to it.

    `hints`: keys of mistakes recognised elsewhere (e.g. in another returned array), shown too.
    """
    want = np.asarray(to_numpy(want), dtype=np.float64)
    got = as_array(got, what)
    hints = (*hints, *recognised(got, mistakes, rtol, atol))
    if got.shape != want.shape:
        raise Fail(f"{what} has shape {got.shape}, expected {want.shape}", hints)
    bad = ~np.isfinite(got) & np.isfinite(want)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Fail(f"{what} holds {got[index]} at index {index}, expected {want[index]:.6g}", hints)
    if not np.allclose(got, want, rtol, atol):
        error = np.abs(got - want)
        index = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape))
        raise Fail(
            f"{what} differs from the reference: {got[index]:.6g} at index {index}, "
            f"expected {want[index]:.6g} (max |error| {error.max():.3g})",
            hints,
        )
    return got


def expect(condition: bool, message: str, hints: tuple[str, ...] = ()) -> None:
    """Fail with `message` unless `condition` holds."""
    if not condition:
        raise Fail(message, hints)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a - b‖ / max(‖a‖, ‖b‖), and 0 when both are 0."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def expect_gradient(
    got: object,
    loss: Callable[[], float],
    x: np.ndarray,
    what: str,
    mistakes: Mistakes | None = None,
) -> None:
    """Fail unless `got` is dL/dx by central finite differences, to a relative error < 1e-6.

    `loss()` reads `x`, which is perturbed in place entry by entry (keep x small).
    """
    numeric = numerical_gradient(loss, x)
    got = as_array(got, what)
    hints = recognised(got, mistakes)
    if got.shape != numeric.shape:
        raise Fail(f"{what} has shape {got.shape}, expected {numeric.shape}", hints)
    error = relative_error(got, numeric)
    if not error < GRADIENT_TOLERANCE:  # also catches NaN
        raise Fail(
            f"{what} disagrees with central finite differences: relative error {error:.2g} "
            f"(must be < {GRADIENT_TOLERANCE:g})",
            hints,
        )


def non_finite(got: np.ndarray) -> bool:
    """Whether an output holds NaN or inf (e.g. an overflow the reference avoids)."""
    return not np.isfinite(got).all()


def weighted_loss(fn: Callable, g: np.ndarray, *args) -> Callable[[], float]:
    """L = Σ fn(*args) ⊙ g as a function of nothing, for `expect_gradient` to perturb args."""
    return lambda: float((np.asarray(fn(*args)) * g).sum())


def upstream(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random upstream gradient g: backward passes are checked on L = Σ out ⊙ g."""
    return rng.standard_normal(shape)
