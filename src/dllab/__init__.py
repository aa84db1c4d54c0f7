"""dllab: a deep-learning syllabus (units I-V) made runnable, measurable and visible on PyTorch."""

__version__ = "0.1.0"
