"""dllab: a deep-learning syllabus (units I-V) made runnable, measurable and visible on PyTorch."""

import os

# OpenMP threads that wait for work sleep instead of spinning (unless the user chose otherwise).
# With spinning, torch's second thread on a 2-core machine whose other core is busy made CNN
# epochs 25x slower; sleeping, 1.6x (bench/bench_engine.py, "threads"). OpenMP reads this once,
# when torch loads it, so it is set here, before any dllab module imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
