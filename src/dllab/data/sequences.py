"""Synthetic sequence tasks for recurrent nets: adding, copy, parity, and Mackey-Glass forecasting.

The adding and copy problems test long-range memory (Hochreiter & Schmidhuber, 1997, §5.4;
Le et al., 2015, §4.1; Arjovsky et al., 2016, §4.1); parity needs every bit of the sequence;
Mackey-Glass is a chaotic series for one-step and multi-step forecasting. All samples of a
split are drawn at once from a seeded numpy Generator.
"""

import numpy as np

from dllab.data.base import Dataset, as_tensors, check_at_least, register_dataset, sampled_dataset
from dllab.errors import ConfigError


@register_dataset("adding")
def adding(
    n: int = 10_000, n_val: int = 0, n_test: int = 1_000, T: int = 100, seed: int = 0
) -> Dataset:
    """The adding problem (Le et al., 2015, §4.1): X (N, T, 2), y (N, 1).

    Channel 0 holds values U(0, 1); channel 1 marks exactly two steps, one in each half. The
    target is the sum of the two marked values. Always predicting 1 scores MSE
    Var(U1 + U2) = 2/12 ≈ 0.167, the baseline a model must beat.
    """
    check_at_least("adding", 2, T=T)

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        values = rng.uniform(0, 1, (m, T))
        first = rng.integers(0, T // 2, m)
        second = rng.integers(T // 2, T, m)
        markers = np.zeros((m, T))
        markers[np.arange(m), first] = 1.0
        markers[np.arange(m), second] = 1.0
        y = values[np.arange(m), first] + values[np.arange(m), second]
        return np.stack([values, markers], axis=-1), y[:, None]  # (m, T, 2), (m, 1)

    return sampled_dataset("adding", sample, seed, (n, n_val, n_test), classes=None)


@register_dataset("copy")
def copy(
    n: int = 10_000,
    n_val: int = 0,
    n_test: int = 1_000,
    T: int = 20,
    copy_len: int = 10,
    num_symbols: int = 8,
    seed: int = 0,
) -> Dataset:
    """The copy task (Arjovsky et al., 2016, §4.1): X one-hot (N, T + 2K, S + 2), y (N, T + 2K).

    Input ids: K = `copy_len` symbols from 1..S, T - 1 blanks (0), the delimiter S + 1, then K
    blanks. The target is blank for T + K steps, then the K symbols. A model that has forgotten
    the symbols scores cross-entropy K·log(S) / (T + 2K) per step.
    """
    check_at_least("copy", 1, T=T, copy_len=copy_len, num_symbols=num_symbols)
    K, S = copy_len, num_symbols
    length = T + 2 * K

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        symbols = rng.integers(1, S + 1, (m, K))
        ids = np.zeros((m, length), dtype=np.int64)
        ids[:, :K] = symbols
        ids[:, K + T - 1] = S + 1  # the delimiter: "now recall"
        y = np.zeros((m, length), dtype=np.int64)
        y[:, T + K :] = symbols
        return np.eye(S + 2, dtype=np.float32)[ids], y  # (m, T + 2K, S + 2), (m, T + 2K)

    classes = ("blank",) + tuple(str(s) for s in range(1, S + 1))
    return sampled_dataset("copy", sample, seed, (n, n_val, n_test), classes=classes)


@register_dataset("parity")
def parity(
    n: int = 10_000, n_val: int = 0, n_test: int = 1_000, T: int = 16, seed: int = 0
) -> Dataset:
    """Parity of a bit sequence: X (N, T, 1) bits in {0, 1}, y (N,) = sum(bits) mod 2."""
    check_at_least("parity", 1, T=T)

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        bits = rng.integers(0, 2, (m, T))
        return bits[..., None], bits.sum(axis=1) % 2  # (m, T, 1), (m,)

    return sampled_dataset("parity", sample, seed, (n, n_val, n_test), classes=("even", "odd"))


def mackey_glass_series(
    length: int,
    tau: float = 17.0,
    dt: float = 0.1,
    sample_every: float = 1.0,
    washout: float = 500.0,
    x0: float = 1.2,
) -> np.ndarray:
    """The Mackey-Glass series sampled every `sample_every` time units after a washout.

    dx/dt = 0.2 x(t - τ) / (1 + x(t - τ)^10) - 0.1 x(t)   (Mackey & Glass, 1977;
    chaotic for τ = 17), integrated by explicit Euler with step `dt` from a constant history
    x(t ≤ 0) = x0. The history is deterministic, so the series is the same on every call.

    Returns:
        (length,) float64 array.
    """
    delay, stride = round(tau / dt), round(sample_every / dt)
    skip, steps = round(washout / dt), round((washout + length * sample_every) / dt)
    x = [x0] * (delay + 1)  # x[i] is x((i - delay) dt); one series, so a loop over time
    for _ in range(steps):
        lagged, now = x[-delay - 1], x[-1]
        x.append(now + dt * (0.2 * lagged / (1.0 + lagged**10) - 0.1 * now))
    return np.asarray(x[delay + skip :: stride][:length])


def _windows(series: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (window, next `horizon` values) pair of a series: (N, window, 1), (N, horizon)."""
    pairs = np.lib.stride_tricks.sliding_window_view(series, window + horizon)  # (N, w + h)
    return pairs[:, :window, None], pairs[:, window:]


@register_dataset("mackey_glass")
def mackey_glass(
    length: int = 3_000,
    window: int = 50,
    horizon: int = 1,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    tau: float = 17.0,
    noise: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """Forecast Mackey-Glass: X (N, window, 1) past values, y (N, horizon) the next ones.

    The series is cut into contiguous train / val / test stretches before windowing, so no
    test value is seen in training. `noise` adds seeded Gaussian observation noise.
    """
    check_at_least("mackey_glass", 1, window=window, horizon=horizon)
    series = mackey_glass_series(length, tau=tau)
    series = series + noise * np.random.default_rng(seed).standard_normal(length)
    n_test, n_val = round(length * test_fraction), round(length * val_fraction)
    sizes = {"train": length - n_val - n_test, "val": n_val, "test": n_test}
    splits, start = {}, 0
    for split, size in sizes.items():
        part, start = series[start : start + size], start + size
        if split == "val" and size == 0:
            continue
        if size < window + horizon:
            raise ConfigError(
                f"mackey_glass: the {split} stretch has {size} values, fewer than "
                f"window + horizon = {window + horizon}; raise length or the split fraction"
            )
        splits[split] = as_tensors(*_windows(part, window, horizon), regression=True)
    return Dataset(
        "mackey_glass", train=splits["train"], val=splits.get("val"), test=splits["test"]
    )
