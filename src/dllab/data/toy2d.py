"""Seeded 2-D toy sets: truth tables, circles, moons, spirals, blobs, and the GAN mixtures.

`ring8` and `grid25` are the mode-collapse benchmarks of VEEGAN (Srivastava et al., 2017, §5.1)
and PacGAN (Lin et al., 2018, §5): 8 Gaussians of std 0.02 on a circle of radius 2, and 25
Gaussians of std 0.05 on the grid {-4, -2, 0, 2, 4}²; PacGAN's own ring, `ring8_unit`, is the
first at half the scale (std 0.01, radius 1). The class of a point is its mode index;
`mixture_modes` gives the centres and std for mode-coverage metrics.
"""

import functools

import numpy as np

from dllab.data.base import Dataset, check_at_least, register_dataset, sampled_dataset
from dllab.errors import ConfigError, unknown_name_message

TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)  # (4, 2)
BOOLEAN = {
    "xor": np.array([0, 1, 1, 0]),
    "xnor": np.array([1, 0, 0, 1]),
    "and": np.array([0, 0, 0, 1]),
    "or": np.array([0, 1, 1, 1]),
}


def _ring8() -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (8, 2)


def _grid25() -> np.ndarray:
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(25, 2)  # (25, 2)


MIXTURES = {
    "ring8": (_ring8, 0.02),
    "ring8_unit": (lambda: _ring8() / 2, 0.01),
    "grid25": (_grid25, 0.05),
}


def mixture_modes(name: str) -> tuple[np.ndarray, float]:
    """The mode centres (K, 2) and the per-axis std of the mixture `name` ("ring8", "grid25")."""
    if name not in MIXTURES:
        raise ConfigError(unknown_name_message("mixture", name, sorted(MIXTURES)))
    centres, std = MIXTURES[name]
    return centres(), std


def _balanced_labels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n labels in [0, k), as equal in count as n allows, in random order."""
    return rng.permutation(np.arange(n) % k)


def truth_table(name: str, n_per_point: int = 1, noise: float = 0.0, seed: int = 0) -> Dataset:
    """The truth table of `name`, each point repeated `n_per_point` times with Gaussian jitter.

    Inputs are the corners {0, 1}²; with noise = 0 both splits are the exact four points.
    """
    check_at_least(name, 1, n_per_point=n_per_point)

    def sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        X = np.tile(TRUTH_TABLE, (n // 4, 1))  # (n, 2)
        return X + noise * rng.standard_normal(X.shape), np.tile(BOOLEAN[name], n // 4)

    size = 4 * n_per_point
    return sampled_dataset(name, sample, seed, (size, 0, size), classes=("0", "1"))


for _name in BOOLEAN:
    register_dataset(_name)(functools.partial(truth_table, _name))


@register_dataset("circles")
def circles(
    n: int = 1000,
    n_val: int = 0,
    n_test: int = 500,
    noise: float = 0.1,
    factor: float = 0.5,
    seed: int = 0,
) -> Dataset:
    """Two concentric circles (radii 1 and `factor`) with Gaussian noise; class 1 is inner."""

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        y = _balanced_labels(rng, m, 2)
        angle = rng.uniform(0, 2 * np.pi, m)
        radius = np.where(y == 1, factor, 1.0)
        X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (m, 2)
        return X + noise * rng.standard_normal(X.shape), y

    return sampled_dataset("circles", sample, seed, (n, n_val, n_test), classes=("outer", "inner"))


@register_dataset("moons")
def moons(
    n: int = 1000, n_val: int = 0, n_test: int = 500, noise: float = 0.1, seed: int = 0
) -> Dataset:
    """Two interleaving half circles, as scikit-learn's `make_moons`, with Gaussian noise."""

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        y = _balanced_labels(rng, m, 2)
        angle = rng.uniform(0, np.pi, m)
        upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (m, 2)
        lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
        X = np.where(y[:, None] == 0, upper, lower)
        return X + noise * rng.standard_normal(X.shape), y

    return sampled_dataset("moons", sample, seed, (n, n_val, n_test), classes=("upper", "lower"))


@register_dataset("spirals")
def spirals(
    n: int = 1000,
    n_val: int = 0,
    n_test: int = 500,
    arms: int = 2,
    turns: float = 1.0,
    noise: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """`arms` interleaved spirals (class = arm), as in the CS231n spiral set.

    A point at t ~ U(0, 1) on arm k has radius t and angle 2πk/arms + 2π·turns·t + noise·N(0, 1).
    """
    check_at_least("spirals", 2, arms=arms)

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        y = _balanced_labels(rng, m, arms)
        t = rng.uniform(0, 1, m)
        angle = 2 * np.pi * (y / arms + turns * t) + noise * rng.standard_normal(m)
        return t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), y  # (m, 2)

    classes = tuple(f"arm{k}" for k in range(arms))
    return sampled_dataset("spirals", sample, seed, (n, n_val, n_test), classes=classes)


def _gaussian_mixture(
    name: str, centres: np.ndarray, std: float, sizes: tuple[int, int, int], seed: int
) -> Dataset:
    """Equal-weight isotropic Gaussians at `centres` (K, 2); the class is the mode index."""

    def sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        y = _balanced_labels(rng, m, len(centres))
        return centres[y] + std * rng.standard_normal((m, 2)), y

    classes = tuple(f"mode{k}" for k in range(len(centres)))
    return sampled_dataset(name, sample, seed, sizes, classes=classes)


@register_dataset("blobs")
def blobs(
    n: int = 1000,
    n_val: int = 0,
    n_test: int = 500,
    centers: int = 3,
    std: float = 1.0,
    box: float = 5.0,
    seed: int = 0,
) -> Dataset:
    """`centers` Gaussian blobs of std `std`, centred uniformly at random in [-box, box]²."""
    check_at_least("blobs", 1, centers=centers)
    centres = np.random.default_rng(seed).uniform(-box, box, (centers, 2))
    return _gaussian_mixture("blobs", centres, std, (n, n_val, n_test), seed)


@register_dataset("ring8")
def ring8(n: int = 10_000, n_val: int = 0, n_test: int = 2_000, seed: int = 0) -> Dataset:
    """8 Gaussians (std 0.02) on a circle of radius 2 (VEEGAN §5.1, PacGAN §5)."""
    centres, std = mixture_modes("ring8")
    return _gaussian_mixture("ring8", centres, std, (n, n_val, n_test), seed)


@register_dataset("ring8_unit")
def ring8_unit(n: int = 10_000, n_val: int = 0, n_test: int = 2_000, seed: int = 0) -> Dataset:
    """8 Gaussians (std 0.01) on the unit circle: PacGAN's ring (Lin et al., 2018, §5; its code's
    config), VEEGAN's ring at half the scale."""
    centres, std = mixture_modes("ring8_unit")
    return _gaussian_mixture("ring8_unit", centres, std, (n, n_val, n_test), seed)


@register_dataset("grid25")
def grid25(n: int = 10_000, n_val: int = 0, n_test: int = 2_000, seed: int = 0) -> Dataset:
    """25 Gaussians (std 0.05) on the grid {-4, -2, 0, 2, 4}² (VEEGAN §5.1, PacGAN §5)."""
    centres, std = mixture_modes("grid25")
    return _gaussian_mixture("grid25", centres, std, (n, n_val, n_test), seed)
