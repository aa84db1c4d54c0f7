"""Augmentation on CPU: dllab's plain torch ops against kornia's equivalents, side by side.

Each case runs both implementations in alternating rounds (so machine load hits both alike) at
the same magnitudes, on one thread, and reports the median time per batch, wall and CPU
(time.process_time), and the wall-time ratio kornia / plain. Besides the two sizes the issue
names (28x28 grey, 32x32 colour), the 8x8 digits show the per-call overhead.
Writes bench/results/augment.json. Without kornia installed, only the plain ops are timed.
"""

import importlib.util
import os
import platform
import statistics
import time

import torch

from bench import save_results
from dllab.data import augment

SHAPES = [(256, 1, 8, 8), (256, 1, 28, 28), (256, 3, 32, 32)]
ROUNDS = 7  # alternating rounds; the median over them is reported
ROUND_SECONDS = 0.1  # wall time of one round of one implementation


def plain_cases(channels: int) -> dict:
    """The dllab transforms; colour on grey images is brightness and contrast only."""
    colour = {"brightness": 0.4, "contrast": 0.4}
    if channels == 3:
        colour |= {"saturation": 0.4, "hue": 0.1}
    return {
        "affine": augment.Affine(degrees=15, translate=0.1, scale=0.1, shear=10),
        "color_jitter": augment.ColorJitter(**colour),
        "gaussian_blur": augment.GaussianBlur(sigma=(0.1, 2.0)),
    }


def kornia_cases(channels: int) -> dict:
    """The same transforms in kornia: x and y shear, 3σ kernels for σ <= 2, replicated borders."""
    import kornia.augmentation as K

    colour = {"brightness": 0.4, "contrast": 0.4}
    if channels == 3:  # kornia's saturation and hue refuse one-channel images
        colour |= {"saturation": 0.4, "hue": 0.1}
    affine = K.RandomAffine(15, (0.1, 0.1), (0.9, 1.1), (-10.0, 10.0, -10.0, 10.0), p=1.0)
    return {
        "affine": affine,
        "color_jitter": K.ColorJitter(**colour, p=1.0),
        "gaussian_blur": K.RandomGaussianBlur(13, (0.1, 2.0), border_type="replicate", p=1.0),
    }


def calls_per_round(fn) -> int:
    """How many calls fill about ROUND_SECONDS, after two warm-up calls."""
    fn()
    start = time.perf_counter()
    fn()
    return max(1, round(ROUND_SECONDS / max(time.perf_counter() - start, 1e-6)))


def time_rounds(fns: dict) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per call of each function, over alternating rounds."""
    counts = {name: calls_per_round(fn) for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(counts[name]):
                fn()
            n = counts[name]
            samples[name].append(
                ((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n)
            )
    return {
        name: tuple(statistics.median(s[i] for s in runs) for i in (0, 1))
        for name, runs in samples.items()
    }


def main() -> None:
    torch.set_num_threads(1)
    has_kornia = importlib.util.find_spec("kornia") is not None
    if has_kornia:
        import kornia

        kornia_version = kornia.__version__
    else:
        kornia_version = None
        print("kornia is not installed: timing the plain torch ops only (no ratios)")
    generator = torch.Generator().manual_seed(0)
    rows = []
    header = (
        f"{'transform':14s} {'batch':>13s} {'plain ms':>9s} {'kornia ms':>10s} {'k/plain':>8s}"
        f" {'plain cpu':>10s} {'kornia cpu':>11s}"
    )
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        x = torch.rand(shape)
        plain = plain_cases(shape[1])
        others = kornia_cases(shape[1]) if has_kornia else {}
        for name, transform in plain.items():
            fns = {"plain": lambda t=transform, x=x: t(x, generator)}
            if name in others:
                fns["kornia"] = lambda t=others[name], x=x: t(x)
            times = time_rounds(fns)
            row = {"transform": name, "shape": list(shape)}
            for impl, (wall, cpu) in times.items():
                row[f"{impl}_ms"], row[f"{impl}_cpu_ms"] = wall * 1e3, cpu * 1e3
            if "kornia" in times:
                row["kornia_over_plain"] = times["kornia"][0] / times["plain"][0]
            rows.append(row)
            batch = "x".join(map(str, shape))
            if "kornia" in times:
                k_ms, k_cpu = f"{row['kornia_ms']:10.3f}", f"{row['kornia_cpu_ms']:11.3f}"
                ratio = f"{row['kornia_over_plain']:7.2f}x"
            else:
                k_ms, k_cpu, ratio = f"{'-':>10s}", f"{'-':>11s}", f"{'-':>8s}"
            print(
                f"{name:14s} {batch:>13s} {row['plain_ms']:9.3f} {k_ms} {ratio}"
                f" {row['plain_cpu_ms']:10.3f} {k_cpu}",
                flush=True,
            )
    conditions = {
        "torch": torch.__version__,
        "kornia": kornia_version,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.machine(),
        "rounds": ROUNDS,
        "statistic": "median over alternating rounds, per call (one batch)",
    }
    versions = f"torch {torch.__version__}, kornia {kornia_version or 'not installed'}"
    print(f"{versions}, 1 thread")
    save_results("augment", {"conditions": conditions, "results": rows})


if __name__ == "__main__":
    main()
