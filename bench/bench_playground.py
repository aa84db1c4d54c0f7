"""One training step of the web lab's playground (`dllab.web.playground_train`): the 2-D
classifier at its defaults and the 2-D GAN of each method on the ring of 8, on one thread, as
the server's worker runs them. Target: under 5 ms a step, so that it feels live.

A GAN step is one discriminator update and one generator update (WGAN-GP: a generator update
every 5 critic updates, so its steps alternate). Medians of 5 rounds of 300 steps after 50
warm-up steps, wall and CPU time, with the load average. Writes bench/results/playground.json.
Command: `python -m bench playground`.
"""

import os
import platform
import statistics
import time

import torch

from bench import save_results
from dllab.config import apply_overrides
from dllab.web.playground_train import ClassifierLab, ClassifierSettings, GanLab, GanSettings

ROUNDS, STEPS, WARM_UP = 5, 300, 50


def step_ms(lab) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of one `lab.train_step()`."""
    for _ in range(WARM_UP):
        lab.train_step()
    walls, cpus = [], []
    for _ in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(STEPS):
            lab.train_step()
        walls.append((time.perf_counter() - wall) * 1000 / STEPS)
        cpus.append((time.process_time() - cpu) * 1000 / STEPS)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    torch.set_num_threads(1)
    labs = {"classifier (circles, 4-2 tanh, batch 10)": ClassifierLab(ClassifierSettings())}
    for method in ("minimax", "non_saturating", "wgan_gp", "pacgan"):
        settings = apply_overrides(GanSettings(), [f"method={method}"])
        labs[f"GAN {method} (ring8, 2 x 64 units, batch 64)"] = GanLab(settings)
    rows = {}
    for name, lab in labs.items():
        wall, cpu = step_ms(lab)
        rows[name] = {"wall_ms": round(wall, 3), "cpu_ms": round(cpu, 3)}
        print(f"  {name:<48} {wall:6.2f} ms a step (CPU {cpu:.2f} ms)")
    load = os.getloadavg()[0]
    print(f"  load average {load:.2f} on {os.cpu_count()} cores; target < 5 ms")
    save_results(
        "playground",
        {"steps": rows, "load_average": load, "cpus": os.cpu_count(), "cpu": platform.processor()},
    )


if __name__ == "__main__":
    main()
