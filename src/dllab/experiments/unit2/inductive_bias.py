"""Why convolution works: MNIST-1D and its shuffled twin (Greydanus, 2020, "Scaling down deep
learning", README table). One fixed permutation of the 40 positions keeps every value and
destroys which values are neighbours; the models whose prior is locality lose their edge."""

import json
from dataclasses import dataclass

from dllab import data
from dllab.config import param
from dllab.data.mnist1d import spatial_permutation
from dllab.experiments.registry import Claim, Reference, experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import fit_classifier
from dllab.report import plots

# model label -> (registered model, its arguments, whether it reads flat signals (N, 40))
PAPER_MODELS = {
    "logistic": ("perceptron", {"in_features": 40, "num_outputs": 10}, True),
    "mlp": ("mnist1d_mlp_paper", {}, True),
    "cnn": ("mnist1d_cnn", {}, False),
    "gru": ("mnist1d_gru_paper", {}, False),
}
PUBLISHED = {  # test accuracy, Greydanus 2020 (mnist1d README): (original, shuffled)
    "logistic": (0.32, 0.32),
    "mlp": (0.68, 0.68),
    "cnn": (0.94, 0.56),
    "gru": (0.91, 0.57),
}
NAMES = {
    "logistic": "logistic",
    "mlp": "MLP",
    "cnn": "CNN (paper)",
    "gru": "GRU (paper)",
    "modern_cnn": "CNN (ours)",
}
SOURCE = "Greydanus 2020, MNIST-1D README table"


@dataclass
class InductiveBiasConfig:
    num_epochs: int = param(200, ge=1)  # the paper's 8000 steps of 100 signals (train.py)
    batch_size: int = param(100, ge=1)  # signals per step, as the paper's
    lr: float = param(1e-2, gt=0)  # Adam learning rate of the paper's models, as its train.py
    modern_epochs: int = param(40, ge=1)  # our CNN: AdamW, one-cycle, label smoothing
    width: int = param(32, ge=1)  # our CNN's channels in its first blocks
    shuffle_seed: int = param(0, ge=0)  # seed of the one fixed permutation of the positions


@experiment(
    "inductive-bias",
    unit=2,
    title="Why convolution works: MNIST-1D and its shuffled twin",
    topics=("convolution", "training a CNN"),
    config=InductiveBiasConfig,
    quick={"num_epochs": 3, "modern_epochs": 2, "width": 8},
    references={
        f"test_accuracy_{model}_{version}": Reference(value, SOURCE)
        for model, values in PUBLISHED.items()
        for version, value in zip(("original", "shuffled"), values)
    },
    headline=("test_accuracy_cnn_original", "test_accuracy_cnn_shuffled"),
    claims=(
        Claim(
            "shuffling the positions leaves the MLP within 5 points: it never used neighbours",
            lambda m: abs(m["test_accuracy_mlp_original"] - m["test_accuracy_mlp_shuffled"]) < 0.05,
        ),
        Claim(
            "shuffling costs the paper's CNN and GRU at least 15 points more than the MLP",
            lambda m: min(_drop(m, "cnn"), _drop(m, "gru")) > _drop(m, "mlp") + 0.15,
        ),
    ),
)
def inductive_bias(cfg: InductiveBiasConfig, run: Run) -> dict[str, float]:
    """A CNN assumes that neighbouring values belong together (its filters see a window) and
    that a pattern means the same wherever it sits (the filters are shared); a GRU reads the
    values in order; an MLP assumes neither. MNIST-1D's shuffled twin puts every signal's 40
    positions in one fixed random order, the same for every signal: all the information is
    still there, but not where the locality prior looks for it. Logistic regression, the
    paper's MLP, CNN and GRU (its code: `MLPBase`, `ConvBase`, `GRUBase`; Adam at 1e-2, batches
    of 100, as its train.py) and our modern CNN (`mnist1d-cnn`'s model and recipe without the
    shift augmentation, which only makes sense on the original order) train on both versions.
    The CNN and the GRU fall towards the MLP, which does not move (Greydanus, 2020)."""
    permutation = spatial_permutation(40, cfg.shuffle_seed)
    (run.folder / "permutation.json").write_text(json.dumps(permutation.tolist()))
    metrics = {}
    for version in ("original", "shuffled"):
        options = {"shuffle": version == "shuffled", "shuffle_seed": cfg.shuffle_seed}
        flat, signals = (
            data.load("mnist1d", flatten=True, **options),
            data.load("mnist1d", **options),
        )
        for label, (model_name, kwargs, wants_flat) in PAPER_MODELS.items():
            name = f"{label}-{version}"
            _, test = fit_classifier(
                run, name, run.model(name, model_name, **kwargs), flat if wants_flat else signals,
                num_epochs=cfg.num_epochs, batch_size=cfg.batch_size, optimizer="adam",
                lr=cfg.lr, checkpoint=False,
            )  # fmt: skip
            metrics[f"test_accuracy_{label}_{version}"] = test["accuracy"]
        name = f"modern_cnn-{version}"
        model = run.model(name, "mnist1d_cnn_modern", width=cfg.width)
        _, test = fit_classifier(
            run, name, model, signals, num_epochs=cfg.modern_epochs, batch_size=256,
            optimizer="adamw", lr=6e-3, weight_decay=0.05, schedule="onecycle",
            label_smoothing=0.1, checkpoint=False,
        )  # fmt: skip
        metrics[f"test_accuracy_modern_cnn_{version}"] = test["accuracy"]
    _draw(run, metrics)
    return metrics


def _drop(metrics: dict[str, float], label: str) -> float:
    """How much shuffling costs a model: original minus shuffled test accuracy."""
    return metrics[f"test_accuracy_{label}_original"] - metrics[f"test_accuracy_{label}_shuffled"]


def _draw(run: Run, metrics: dict[str, float]) -> None:
    """The paper's table and ours as grouped bars: a hue per version, the paper's pale."""
    labels = list(NAMES)
    nan = float("nan")
    series = {
        "paper, original": [PUBLISHED.get(k, (nan, nan))[0] for k in labels],
        "ours, original": [metrics[f"test_accuracy_{k}_original"] for k in labels],
        "paper, shuffled": [PUBLISHED.get(k, (nan, nan))[1] for k in labels],
        "ours, shuffled": [metrics[f"test_accuracy_{k}_shuffled"] for k in labels],
    }
    plots.grouped_bars(
        series,
        [NAMES[k] for k in labels],
        run.figure("accuracy"),
        "Shuffling the 40 positions of MNIST-1D hurts the models built for neighbours (CNN, "
        "GRU), not the MLP",
        "test accuracy",
        published=("paper, original", "paper, shuffled"),
        keys={label: label.split(", ")[1] for label in series},
        reference=(0.1, "chance"),
    )
