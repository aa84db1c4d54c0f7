"""Experiments: the registry, the runner, and one module per syllabus unit."""

from dllab.experiments.registry import Claim, Experiment, Reference, experiment
from dllab.experiments.runner import Run, run_experiment

# isort: split
from dllab.experiments.catalog import get_experiment, list_experiments  # loads the units last

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
