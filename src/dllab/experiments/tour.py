"""`dllab tour`: the showcase experiments of every unit in turn, then one page over all of them.

`--quick` (the default, `make demo`) runs each showcase with its quick config plus the settings
below, chosen so that every result teaches its lesson and the whole tour fits in 10 minutes on
a 2-core CPU; `--full` runs the default configs. One experiment failing is recorded on the page
and in the summary; the others still run. `check_claims` reads each run's metrics and says
which of its experiment's claims (the lessons its figures show) hold: `dllab tour --check`.
"""

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dllab.errors import ConfigError
from dllab.experiments.registry import get_experiment
from dllab.experiments.runner import run_experiment


@dataclass(frozen=True)
class Showcase:
    """One stop of the tour."""

    name: str
    settings: tuple[str, ...] = ()  # `--set` overrides on top of the quick config
    seconds: float = 5.0  # measured on a 2-core CPU: weights the tour's ETA


SHOWCASE = (
    # I: perceptron and XOR, backpropagation, optimizers, capacity, activations, deep MLPs
    Showcase("perceptron-xor", ("num_epochs=250", "restarts=6"), 10),
    Showcase("backprop", (), 1),
    Showcase("optimizers", ("num_epochs=8", "per_sample_epochs=2"), 5),
    Showcase("capacity", ("num_epochs=800",), 7),
    Showcase("activations", ("num_epochs=8", "num_layers=8"), 4),
    Showcase("mnist1d-mlp", ("num_epochs=60",), 5),
    # II: convolution, pooling, normalization, augmentation, ResNet degradation, filters
    Showcase("mnist1d-cnn", ("num_epochs=12", "width=16", "mlp_epochs=40"), 8),
    Showcase("pooling", ("num_epochs=6", "channels=(16,32)", "seeds=3"), 13),
    Showcase("normalization", ("num_epochs=6", "channels=(16,32)", "seeds=3"), 16),
    Showcase("augment-gallery", (), 1),
    Showcase(
        "degradation",
        (
            "depths=(8,20,56)",
            "width=8",
            "num_train=640",
            "batch_size=64",
            "num_epochs=24",
        ),
        45,
    ),
    Showcase("feature-maps", ("num_epochs=10",), 3),
    # III: BPTT, vanishing gradients and clipping, LSTM/GRU memory, bidirectional, seq2seq
    Showcase("bptt", (), 2),
    Showcase(
        "vanishing-gradients",
        (
            "num_hiddens=64",
            "num_train=4000",
            "num_epochs=4",
            "record_every=10",
            "explode_epochs=5",
        ),
        28,
    ),
    Showcase("adding-problem", ("T=50", "num_hiddens=64", "num_train=5000", "batch_size=64"), 11),
    Showcase(
        "bidirectional",
        ("data.max_chars=60000", "cells=(rnn,gru)", "num_hiddens=64", "num_epochs=5"),
        16,
    ),
    Showcase("seq2seq", (), 2),
    Showcase(
        "char-lm",
        (
            "data.max_chars=300000",
            "num_hiddens=128",
            "batch_size=32",
            "bptt=64",
            "num_epochs=3",
            "lr=0.003",
        ),
        8,
    ),
    # IV: mode collapse, conditional and convolutional GANs, generative vs discriminative
    Showcase(
        "gan-2d",
        (
            "data.n=20000",
            "num_epochs=10",
            "batch_size=128",
            "num_hiddens=64",
            "ema_decay=0",
            "snapshots=5",
        ),
        45,
    ),
    Showcase("cgan-digits", ("num_epochs=300", "classifier_epochs=10", "num_samples=500"), 50),
    Showcase("dcgan", ("num_epochs=60", "classifier_epochs=10", "num_samples=500"), 14),
    Showcase(
        "generative-vs-discriminative",
        ("sizes=(10,20,50,100,200,500,1257)", "repeats=5", "num_epochs=150"),
        12,
    ),
    Showcase("pixelcnn", ("num_epochs=15",), 4),
    # V: autoencoders vs PCA, denoising, VAE, adversarial autoencoder, AE vs GAN
    Showcase(
        "ae-compression",
        ("latent_dims=(2,8,32)", "num_hiddens=(256,128)", "num_epochs=40", "conv_epochs=10"),
        8,
    ),
    Showcase("denoising", ("num_epochs=25", "test_levels=(0.1,0.2,0.3,0.5)"), 5),
    Showcase("vae", ("num_epochs=30",), 4),
    Showcase("aae", ("num_epochs=25",), 5),
    Showcase(
        "ae-vs-gan",
        ("num_epochs=35", "gan_epochs=120", "classifier_epochs=10", "num_samples=500"),
        30,
    ),
)
SHOWCASE_NAMES = tuple(stop.name for stop in SHOWCASE)


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

    for name in names:
        get_experiment(name)  # unknown names fail before anything runs
    stops = [_showcase(name) for name in names]
    root = _tour_folder(out)
    started = time.perf_counter()
    done_seconds = 0.0  # the expected seconds of the stops already run
    folders = []
    for i, stop in enumerate(stops, 1):
        elapsed = time.perf_counter() - started
        left = sum(s.seconds for s in stops[i - 1 :]) * _pace(elapsed, done_seconds)
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
                showcase=quick and stop.name in SHOWCASE_NAMES,
                out=str(folder),
                device=device,
                quiet=quiet,
                keep_failed=True,
            )
        except Exception as error:  # recorded in the run's config.json and shown on the page
            print(f"  {stop.name} failed: {error}", file=sys.stderr)
        done_seconds += stop.seconds
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


def _showcase(name: str) -> Showcase:
    return next((stop for stop in SHOWCASE if stop.name == name), Showcase(name))


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
