"""The experiment registry: name, syllabus unit and topics, default and quick config, one function.

@experiment(
    "perceptron-xor", unit=1, title="Perceptron vs MLP on XOR",
    topics=("perceptron vs MLP on XOR/XNOR",), config=XorConfig, quick={"num_epochs": 300},
)
def perceptron_xor(cfg: XorConfig, run: Run) -> dict[str, float]:
    ...  # train, measure, draw into run.figure(...); return the metrics
"""

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, get_type_hints

from dllab.config import validate
from dllab.errors import ConfigError, unknown_name_message
from dllab.syllabus import TOPICS


@dataclass(frozen=True)
class Reference:
    """A published number to print beside ours."""

    value: float
    source: str


@dataclass(frozen=True)
class Claim:
    """A lesson the experiment's metrics must show: `holds(metrics)` is True at its tour
    settings and in full runs (`dllab tour --check` asserts it; a run where it does not hold,
    a quick one typically, says so). A metric the run did not produce makes it not hold."""

    text: str  # the lesson as a sentence, e.g. "ResNet-56 trains better than plain-56"
    holds: Callable[[dict[str, float]], bool]

    def check(self, metrics: dict[str, float]) -> bool:
        try:
            return bool(self.holds(metrics))
        except (KeyError, ZeroDivisionError):
            return False


@dataclass(frozen=True)
class Experiment:
    name: str
    unit: int
    title: str
    topics: tuple[str, ...]
    config: type  # the config dataclass; its defaults are the full experiment
    quick: dict[str, Any]  # overrides that make it run in seconds (tests, the tour)
    fn: Callable[..., dict[str, float]]
    references: dict[str, Reference] = field(default_factory=dict)
    headline: tuple[str, ...] = ()  # the metrics the tour's summary shows, side by side
    claims: tuple[Claim, ...] = ()  # the lessons its metrics must show (tour --check)
    tour: dict[str, Any] | None = None  # overrides of quick for the tour; None: not shown
    tour_seconds: float = 5.0  # the tour's time for it on a 2-core CPU (weights its ETA)

    @property
    def description(self) -> str:
        return (self.fn.__doc__ or "").strip()

    def default_config(self) -> Any:
        return self.config()

    def quick_config(self) -> Any:
        return _apply_nested(self.config(), self.quick)

    def tour_config(self) -> Any:
        """The quick config with the tour's settings (`dllab run NAME --showcase`).

        Raises:
            ConfigError: for an experiment the tour does not show.
        """
        if self.tour is None:
            raise ConfigError(
                f"the tour does not show {self.name!r}; run its default config instead "
                f"(dllab run {self.name})"
            )
        return _apply_nested(self.quick_config(), self.tour)

    def check_claims(self, metrics: dict[str, float]) -> list[dict]:
        """[{"text", "holds"}] for each claim, as saved in a run's config.json."""
        return [{"text": claim.text, "holds": claim.check(metrics)} for claim in self.claims]


def _check_keys(config: type, overrides: dict[str, Any], where: str) -> None:
    """Every key of `overrides` (nested dicts for nested configs) is a field of `config`.

    Raises:
        ValueError: naming the first unknown key, where it was given and the allowed keys.
    """
    hints = get_type_hints(config)
    for key, value in overrides.items():
        allowed = [f.name for f in fields(config)]
        if key not in allowed:
            raise ValueError(f"{where}: unknown key {key!r} (the keys: {', '.join(allowed)})")
        if isinstance(value, dict):
            if not is_dataclass(hints[key]):
                raise ValueError(f"{where}: {key!r} has no sub-keys")
            _check_keys(hints[key], value, f"{where}.{key}")


def _apply_nested(config: Any, overrides: dict[str, Any]) -> Any:
    """replace() that also accepts {"data": {"name": "ring8"}} for nested configs."""
    changes = {}
    for key, value in overrides.items():
        current = getattr(config, key)
        if is_dataclass(current) and isinstance(value, dict):
            value = _apply_nested(current, value)
        changes[key] = value
    return replace(config, **changes)


_EXPERIMENTS: dict[str, Experiment] = {}


def experiment(
    name: str,
    *,
    unit: int,
    title: str,
    topics: tuple[str, ...],
    config: type,
    quick: dict[str, Any],
    references: dict[str, Reference] | None = None,
    headline: str | tuple[str, ...] = (),
    claims: tuple[Claim, ...] = (),
    tour: dict[str, Any] | None = None,
    tour_seconds: float = 5.0,
) -> Callable:
    """Register `fn(cfg, run) -> metrics` as experiment `name`."""
    unknown = [t for t in topics if t not in TOPICS[unit]]
    if unknown:
        raise ValueError(f"experiment {name!r}: topics {unknown} are not in unit {unit}")
    if not is_dataclass(config):
        raise ValueError(f"experiment {name!r}: config must be a dataclass")
    _check_keys(config, quick, f"experiment {name!r}, quick")
    _check_keys(config, tour or {}, f"experiment {name!r}, tour")

    def decorate(fn: Callable) -> Callable:
        if name in _EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        entry = Experiment(
            name,
            unit,
            title,
            tuple(topics),
            config,
            dict(quick),
            fn,
            references or {},
            (headline,) if isinstance(headline, str) else tuple(headline),
            tuple(claims),
            None if tour is None else dict(tour),
            tour_seconds,
        )
        validate(entry.default_config())
        validate(entry.quick_config())
        if tour is not None:
            validate(entry.tour_config())
        _EXPERIMENTS[name] = entry
        return fn

    return decorate


def registered(unit: int | None = None) -> list[Experiment]:
    """The experiments registered so far, ordered by unit, then registration order
    (`dllab.experiments.catalog` imports the units first)."""
    chosen = [e for e in _EXPERIMENTS.values() if unit is None or e.unit == unit]
    return sorted(chosen, key=lambda e: e.unit)


def lookup(name: str) -> Experiment:
    """The registered experiment `name`.

    Raises:
        ConfigError: for a name nobody registered, with the closest ones.
    """
    if name not in _EXPERIMENTS:
        raise ConfigError(unknown_name_message("experiment", name, list(_EXPERIMENTS)))
    return _EXPERIMENTS[name]
