"""dllab: a deep-learning syllabus (units I-V) made runnable, measurable and visible on PyTorch.

`dllab.run(name, ...)` runs an experiment as `dllab run` does and returns a `RunResult`;
`dllab.load_run(folder)` reads a finished one (see `dllab.api`). Importing dllab loads neither
torch nor anything else until one of them is used.
"""

__version__ = "0.1.0"
__all__ = ["RunResult", "load_run", "run"]


def __getattr__(name: str):
    if name in __all__:
        from dllab import api

        return getattr(api, name)
    raise AttributeError(f"module 'dllab' has no attribute {name!r}")
