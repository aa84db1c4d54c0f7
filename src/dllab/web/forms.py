"""An experiment's form: fields built from `describe(name)` (what `dllab show NAME --json`
prints), and a submission read back through `apply_overrides`, the validation of `--set`.

A field holds text exactly as `--set KEY=TEXT` would take it. A value that differs from the
chosen mode's value becomes an override; one that `apply_overrides` refuses keeps the refusal's
own message beside the field, and nothing starts.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from dllab.config import apply_overrides, flat_values, value_text
from dllab.errors import ConfigError
from dllab.experiments.catalog import get_experiment
from dllab.experiments.settings import bounds_text, describe
from dllab.web.runs import NAME_PATTERN

MODES = ("quick", "showcase", "full")
MODE_TEXT = {
    "quick": "quick: seconds, the lesson may not show yet",
    "showcase": "showcase: the tour's settings, about as fast, and the lesson shows",
    "full": "full: the default config, as the README's numbers",
}
RESERVED = ("mode", "seed", "run_name")  # form keys that are not settings


@dataclass
class Field:
    """One setting as a form field."""

    key: str
    type: str  # `int`, `tuple of int`, `rnn|lstm|gru`
    kind: str  # int, float, bool, str, choice, tuple, union
    comment: str
    bounds: str  # `> 0`, `>= 1`
    choices: list[str]
    base: dict[str, str]  # mode -> its value as text
    value: str  # the text shown
    error: str = ""

    @property
    def input_id(self) -> str:
        return "f-" + self.key.replace(".", "-")


@dataclass
class Submission:
    """A form read back: the run it asks for, or the errors that stop it."""

    name: str
    mode: str
    seed: int
    overrides: list[str]
    fields: list[Field]
    errors: dict[str, str] = field(default_factory=dict)  # key (or mode/seed/run_name) -> text
    run_name: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def query(self) -> list[tuple[str, str]]:
        """The page address's query: the mode and seed when not the default, and every changed
        setting, so that the link reproduces the form."""
        pairs = [("mode", self.mode)] if self.mode != "quick" else []
        pairs += [("seed", str(self.seed))] if self.seed else []
        return pairs + [tuple(o.split("=", 1)) for o in self.overrides]


def base_values(name: str) -> dict[str, dict[str, str]]:
    """mode -> key -> the setting's value as `--set` text, for quick, showcase and full."""
    exp = get_experiment(name)
    quick = exp.quick_config()
    configs = {"quick": quick, "full": exp.default_config()}
    if exp.tour is not None:
        configs["showcase"] = exp.tour_config()
    return {
        mode: {k: value_text(v) for k, v in flat_values(config).items()}
        for mode, config in configs.items()
    }


def read(name: str, form: Mapping[str, str], require_all: bool) -> Submission:
    """Read a submitted form (POST: `require_all`, every setting must be there) or a page
    address (GET: absent settings keep the mode's value).

    Raises:
        ConfigError: for an unknown experiment.
    """
    description = describe(name)
    bases = base_values(name)
    errors: dict[str, str] = {}
    mode = form.get("mode", "quick")
    if mode not in bases:
        known = ", ".join(m for m in MODES if m in bases)
        errors["mode"] = f"mode must be one of {known}, got {mode!r}"
        mode = "quick"
    base = bases[mode]
    seed = _seed(form.get("seed", "0"), errors)
    run_name = form.get("run_name", "").strip()
    if run_name and not NAME_PATTERN.fullmatch(run_name):
        errors["run_name"] = (
            "a folder name of letters, digits, '.', '_' and '-' (up to 80, starting with a "
            f"letter or digit), got {run_name!r}"
        )
    fields, overrides = [], []
    exp = get_experiment(name)
    config = {"quick": exp.quick_config, "full": exp.default_config, "showcase": exp.tour_config}[
        mode
    ]()
    for setting in description["settings"]:
        key = setting["key"]
        schema = setting["schema"]
        present = key in form
        text = form[key] if present else base[key]
        f = Field(
            key=key,
            type=setting["type"],
            kind=schema["kind"],
            comment=setting["comment"],
            bounds=bounds_text(setting["bounds"]),
            choices=[str(c) for c in schema.get("choices", [])],
            base={m: values[key] for m, values in bases.items()},
            value=text,
        )
        if require_all and not present:
            f.error = f"--set {key}: missing; give a value (this mode's is {base[key]})"
        elif text != base[key]:
            try:
                apply_overrides(config, [f"{key}={text}"])
                overrides.append(f"{key}={text}")
            except ConfigError as error:
                f.error = str(error)
        if f.error:
            errors[key] = f.error
        fields.append(f)
    return Submission(name, mode, seed, overrides, fields, errors, run_name)


def _seed(text: str, errors: dict[str, str]) -> int:
    """The seed as `dllab run --seed` takes it: an integer from 0 to 2**64 - 1."""
    try:
        seed = int(text.strip())
    except ValueError:
        errors["seed"] = f"--seed: expected an integer, got {text!r}"
        return 0
    if not 0 <= seed < 2**64:
        errors["seed"] = f"--seed must be from 0 to 2**64 - 1, got {seed}"
        return 0
    return seed


def number_hint(kind: str) -> str:
    """The `inputmode` that brings up the right keyboard on a phone."""
    return {"int": "numeric", "float": "decimal"}.get(kind, "text")
