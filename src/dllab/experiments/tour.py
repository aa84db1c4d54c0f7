"""`dllab tour`: the showcase experiments of every unit in turn, then one page over all of them.

One experiment failing is recorded on the page and in the summary; the others still run.
"""

import sys
import time
from datetime import datetime
from pathlib import Path

from dllab.errors import ConfigError
from dllab.experiments.registry import get_experiment
from dllab.experiments.runner import run_experiment

# One showcase experiment per topic group of units I-V (quick configs: seconds each).
SHOWCASE = (
    # I: perceptron and XOR, backpropagation, optimizers, capacity, activations, deep MLPs
    "perceptron-xor", "backprop", "optimizers", "capacity", "activations", "mnist1d-mlp",
    # II: convolution, pooling, normalization, augmentation, ResNet degradation, filters
    "mnist1d-cnn", "pooling", "normalization", "augment-gallery", "degradation", "feature-maps",
    # III: BPTT, vanishing gradients and clipping, LSTM/GRU memory, bidirectional, seq2seq
    "bptt", "vanishing-gradients", "adding-problem", "bidirectional", "seq2seq", "char-lm",
    # IV: mode collapse, conditional and convolutional GANs, generative vs discriminative
    "gan-2d", "cgan-digits", "dcgan", "generative-vs-discriminative", "pixelcnn",
    # V: autoencoders vs PCA, denoising, VAE, adversarial autoencoder, AE vs GAN
    "ae-compression", "denoising", "vae", "aae", "ae-vs-gan",
)  # fmt: skip


def run_tour(
    quick: bool = True,
    out: str | None = None,
    device: str = "auto",
    quiet: bool = False,
    names: tuple[str, ...] = SHOWCASE,
) -> Path:
    """Run each showcase experiment into `out`/<name>/ and write `out`/index.html."""
    from dllab.report import render_index

    for name in names:
        get_experiment(name)  # unknown names fail before anything runs
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(out) if out else Path("runs") / f"tour-{stamp}"
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"tour folder {root} already holds files; choose another --out")
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    folders = []
    for i, name in enumerate(names, 1):
        elapsed = time.perf_counter() - started
        eta = "" if i == 1 else f", about {elapsed / (i - 1) * (len(names) - i + 1):.0f} s left"
        print(f"[{i}/{len(names)}] {name} ({elapsed:.0f} s so far{eta})", file=sys.stderr)
        folder = root / name
        folders.append(folder)
        try:
            run_experiment(
                name, quick=quick, out=str(folder), device=device, quiet=quiet, keep_failed=True
            )
        except Exception as error:  # recorded in the run's config.json and shown on the page
            print(f"  {name} failed: {error}", file=sys.stderr)
    return render_index(folders, root / "index.html", title="dllab tour")
