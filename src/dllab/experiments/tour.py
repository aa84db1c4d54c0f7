"""`dllab tour`: the showcase experiments of every unit in turn, then one page over all of them.

`--quick` (the default, `make demo`) runs each showcase with its quick config plus its tour
settings (declared with the experiment), chosen so that every result teaches its lesson and the
whole tour fits in 10 minutes on a 2-core CPU; `--full` runs the default configs. One
experiment failing is recorded on the page and in the summary; the others still run.
`check_claims` reads each run's metrics and says which of its experiment's claims (the lessons
its figures show) hold: `dllab tour --check`.
"""

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dllab.errors import ConfigError
from dllab.experiments.catalog import get_experiment
from dllab.experiments.runner import run_experiment

# The showcases, in the tour's order; each experiment declares its own tour settings and time
# (`@experiment(..., tour={...}, tour_seconds=...)`).
SHOWCASE_NAMES = (
    # I: perceptron and XOR, backpropagation, optimizers, capacity, activations, deep MLPs
    "perceptron-xor",
    "backprop",
    "optimizers",
    "capacity",
    "activations",
    "mnist1d-mlp",
    # II: convolution, pooling, normalization, augmentation, ResNet degradation, filters
    "mnist1d-cnn",
    "pooling",
    "normalization",
    "augment-gallery",
    "degradation",
    "feature-maps",
    # III: BPTT, vanishing gradients and clipping, LSTM/GRU memory, bidirectional, seq2seq
    "bptt",
    "vanishing-gradients",
    "adding-problem",
    "bidirectional",
    "seq2seq",
    "char-lm",
    # IV: mode collapse, conditional and convolutional GANs, generative vs discriminative
    "gan-2d",
    "cgan-digits",
    "dcgan",
    "generative-vs-discriminative",
    "pixelcnn",
    # V: autoencoders vs PCA, denoising, VAE, adversarial autoencoder, AE vs GAN
    "ae-compression",
    "denoising",
    "vae",
    "aae",
    "ae-vs-gan",
)


def run_tour(
    quick: bool = True,
    out: str | None = None,
    device: str = "auto",
    quiet: bool = False,
    names: tuple[str, ...] = SHOWCASE_NAMES,
    exercises: list[dict] = (),
) -> Path:
    """Run each showcase experiment into `out`/<name>/ and write `out`/index.html (with the
    `exercises` rows listed by unit: the CLI passes `dllab.exercises.catalogue()`)."""
    from dllab.report import render_index

    stops = [get_experiment(name) for name in names]  # unknown names fail before anything runs
    root = _tour_folder(out)
    started = time.perf_counter()
    done_seconds = 0.0  # the expected seconds of the stops already run
    folders = []
    for i, stop in enumerate(stops, 1):
        elapsed = time.perf_counter() - started
        left = sum(s.tour_seconds for s in stops[i - 1 :]) * _pace(elapsed, done_seconds)
        print(
            f"[{i}/{len(stops)}] {stop.name} ({elapsed:.0f} s so far, about {left:.0f} s left)",
            file=sys.stderr,
        )
        folder = root / stop.name
        folders.append(folder)
        try:
            run_experiment(
                stop.name,
                quick=quick,
                showcase=quick and stop.tour is not None,
                out=str(folder),
                device=device,
                quiet=quiet,
                keep_failed=True,
            )
        except Exception as error:  # recorded in the run's config.json and shown on the page
            print(f"  {stop.name} failed: {error}", file=sys.stderr)
        done_seconds += stop.tour_seconds
    return render_index(folders, root / "index.html", title="dllab tour", exercises=exercises)


@dataclass(frozen=True)
class ClaimResult:
    """One claim of one tour run, and whether the run's saved metrics show it."""

    experiment: str
    claim: str
    holds: bool


def check_claims(folders: list[Path]) -> list[ClaimResult]:
    """Every claim of every run's experiment, checked against its metrics.json; a run that
    failed, or left no readable metrics, holds none of its claims."""

    results = []
    for folder in folders:
        name = folder.name
        try:
            metrics = json.loads((folder / "metrics.json").read_text())
        except (OSError, json.JSONDecodeError):
            metrics = None
        if metrics is None:
            claims = get_experiment(name).claims
            results += [ClaimResult(name, claim.text, False) for claim in claims]
            results.append(ClaimResult(name, "the run finished and saved its metrics", False))
            continue
        checked = get_experiment(name).check_claims(metrics)
        results += [ClaimResult(name, c["text"], c["holds"]) for c in checked]
    return results


def _pace(elapsed: float, expected: float) -> float:
    """How much slower (> 1) or faster this machine runs than the measured seconds."""
    return elapsed / expected if expected > 0 and elapsed > 0 else 1.0


def _tour_folder(out: str | None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(out) if out else Path("runs") / f"tour-{stamp}"
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"tour folder {root} already holds files; choose another --out")
    root.mkdir(parents=True, exist_ok=True)
    return root
