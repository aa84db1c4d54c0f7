"""Experiments: the registry, the runner, and one module per syllabus unit."""

from dllab.experiments.registry import (
    Claim,
    Experiment,
    Reference,
    experiment,
    get_experiment,
    list_experiments,
)
from dllab.experiments.runner import Run, run_experiment

__all__ = [
    "Claim",
    "Experiment",
    "Reference",
    "Run",
    "experiment",
    "get_experiment",
    "list_experiments",
    "run_experiment",
]
