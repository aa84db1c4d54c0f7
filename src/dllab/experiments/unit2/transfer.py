"""Transfer learning (Yosinski et al. 2014): a CNN pretrained on digits 0-4, its backbone
frozen, partly frozen or fine-tuned to learn 5-9 from a few labels, against training from
scratch."""

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from dllab import data
from dllab.config import param
from dllab.data import Dataset
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
    subset,
)
from dllab.report import plots


@dataclass
class TransferConfig:
    pretrain_epochs: int = param(40, ge=1)  # on every training digit 0-4, with affine augmentation
    num_train: tuple[int, ...] = param((1, 2, 5, 10, 30), ge=1)  # labelled digits per class of 5-9
    num_draws: int = param(3, ge=1)  # random draws of those labelled digits (accuracies averaged)
    num_steps: int = param(300, ge=1)  # optimizer steps of each fine-tuning (and scratch) run
    channels: tuple[int, ...] = param((32, 64, 128), ge=1)  # the CNN's blocks
    lr: float = param(3e-3, gt=0)  # Adam, the same for every mode (scratch's best of 1e-3, 3e-3)


class Frozen(nn.Module):
    """A pretrained block kept as it is: no gradients, and batch norm always in evaluation mode,
    normalising by the running statistics of pretraining, not by those of a few new examples."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block.requires_grad_(False)

    def train(self, mode: bool = True) -> "Frozen":
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


def shuffled(dataset: Dataset, seed: int) -> Dataset:
    """The dataset with its training split in a seeded random order (`subset` takes the first
    samples of each class, so each seed draws other labelled examples)."""
    X, y = dataset.train
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    return replace(dataset, train=(X[order], y[order]))


TRANSFER_MODES = {"frozen": None, "partly_frozen": 1, "free": 0, "scratch": 0}  # frozen blocks
TRANSFER_LABELS = {
    "frozen": "frozen backbone (new head only)",
    "partly_frozen": "partly frozen (first block fixed)",
    "free": "free (whole network fine-tuned)",
    "scratch": "from scratch (no pretraining)",
}
TRANSFER_BATCH = 16


@experiment(
    "transfer-learning",
    unit=2,
    title="Transfer learning: pretrain on digits 0-4, fine-tune on 5-9",
    topics=("training a CNN",),
    config=TransferConfig,
    quick={"pretrain_epochs": 1, "num_steps": 4, "channels": (8, 16), "num_train": (2, 5)},
    headline=("test_accuracy_scratch_n2", "test_accuracy_partly_frozen_n2"),
)
def transfer_learning(cfg: TransferConfig, run: Run) -> dict[str, float]:
    """A CNN learns features on digits 0-4 (with affine augmentation, for features that are not
    tied to the exact pixels of those classes); a new classifier head then learns 5-9 from a few
    labelled examples per class with the pretrained backbone frozen (every block, batch norm
    included), partly frozen (first block) or free (fine-tuned), against the same CNN trained
    from scratch on the same examples with the same steps and learning rate, for several
    numbers of labels (each the mean over `num_draws` random draws of the labels). Early
    features transfer and help most when labels are few; the last block's are specific to the
    source classes (Yosinski et al., 2014), so freezing it hurts; with more labels scratch
    catches up."""
    digits = data.load("digits")
    source = subset(digits, (0, 1, 2, 3, 4))
    shape = {"in_channels": 1, "channels": cfg.channels, "num_classes": 5}
    pretrained, source_test = fit_classifier(
        run, "pretrain", run.model("pretrain", "cnn", **shape), source,
        num_epochs=cfg.pretrain_epochs, batch_size=32, augment=("affine",), lr=1e-3,
    )  # fmt: skip
    backbone = {k: v for k, v in pretrained.weights().items() if not k.startswith("fc.")}
    metrics = {"source_test_accuracy": source_test["accuracy"]}
    curves = {mode: ([], []) for mode in TRANSFER_MODES}
    for n in cfg.num_train:
        for mode, num_frozen in TRANSFER_MODES.items():
            accuracies = []
            for draw in range(cfg.num_draws):
                target = subset(shuffled(digits, draw), (5, 6, 7, 8, 9), n)
                name = f"{mode}-n{n}-draw{draw}"
                model = run.model("head", "cnn", **shape)  # the same fresh head for every mode
                if mode != "scratch":
                    model.load_state_dict(backbone, strict=False)
                for i in range(len(cfg.channels) if num_frozen is None else num_frozen):
                    model.features[i] = Frozen(model.features[i])
                batches = math.ceil(len(target.train[1]) / TRANSFER_BATCH)
                _, test = fit_classifier(
                    run, name, model, target, num_epochs=math.ceil(cfg.num_steps / batches),
                    batch_size=TRANSFER_BATCH, lr=cfg.lr, checkpoint=False,
                )  # fmt: skip
                accuracies.append(test["accuracy"])
            metrics[f"test_accuracy_{mode}_n{n}"] = sum(accuracies) / len(accuracies)
            curves[mode][0].append(n)
            curves[mode][1].append(metrics[f"test_accuracy_{mode}_n{n}"])
    fewest = min(cfg.num_train)
    metrics["test_accuracy"] = max(metrics[f"test_accuracy_{m}_n{fewest}"] for m in TRANSFER_MODES)
    plots.lines(
        {TRANSFER_LABELS[mode]: curve for mode, curve in curves.items()},
        run.figure("test_accuracy"),
        f"Digits 5-9 after pretraining on 0-4 (mean of {cfg.num_draws} draws of the labels)",
        "labelled training digits per class (log scale)",
        "test accuracy on digits 5-9",
        log_x=True,
    )
    return metrics
