"""Every experiment: importing this module imports the unit packages, whose modules register
their experiments as they are imported (cheap: no data, no model, no training at import).

The registry only holds what was registered; this catalog is the one place that loads the
units, so that no module of the registry imports the experiments that import it.
"""

# Import order is the order `dllab list` shows.
# isort: off
from dllab.experiments import unit1, unit2, unit3, unit4, unit5, walkthroughs  # noqa: F401

# isort: on
from dllab.experiments.registry import Experiment, lookup, registered


def list_experiments(unit: int | None = None) -> list[Experiment]:
    """Every experiment (of `unit`), ordered by unit, then registration order."""
    return registered(unit)


def get_experiment(name: str) -> Experiment:
    """Experiment `name`.

    Raises:
        ConfigError: for an unknown name, with the closest ones.
    """
    return lookup(name)
