"""Pieces that several experiments compose: train a classifier, decision-boundary grids,
confusion matrices and their figure, and the classifier whose features score generated images."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from dllab.data import Dataset
from dllab.engine import Trainer
from dllab.experiments.runner import Run
from dllab.metrics import (
    class_histogram_entropy,
    feature_frechet_distance,
    precision_recall,
    precision_recall_by_class,
)
from dllab.report import plots


def train_classifier(
    run: Run,
    name: str,
    model: nn.Module,
    data: Dataset,
    *,
    num_epochs: int,
    batch_size: int | None,
    **trainer_kwargs,
) -> tuple[Trainer, dict[str, float]]:
    """Fit `model` on data.train (validating on data.val) and evaluate it on data.test.

    Returns:
        The trainer and the test metrics ({"loss", "accuracy", ...}).
    """
    trainer = run.trainer(name, model, **trainer_kwargs)
    run.fit(trainer, data.train, val_data=data.val, num_epochs=num_epochs, batch_size=batch_size)
    return trainer, trainer.evaluate(data.test)


def scoring_classifier(run: Run, images: Dataset, num_epochs: int) -> tuple[nn.Module, float]:
    """The CNN whose features and predictions score generated images, trained on the real ones
    (pretrained Inception weights cannot be downloaded): `digits_cnn` for 8x8 digits, else the
    global-average-pooling `cnn` with as many input channels as the images have.

    Returns:
        The classifier in eval mode, and its accuracy on images.test.
    """
    X = images.train[0]  # (N, C, H, W)
    if X.shape[-1] == 8:
        model = run.model("classifier", "digits_cnn", in_channels=X.shape[1])
    else:
        model = run.model("classifier", "cnn", in_channels=X.shape[1])
    _, test = train_classifier(
        run, "classifier", model, images, num_epochs=num_epochs, batch_size=64
    )
    return model.eval(), test["accuracy"]


@torch.no_grad()
def classifier_features(classifier: nn.Module, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """A `CNN`'s penultimate features (N, F) and predicted classes (N,) for images X (N, ...)."""
    h = torch.cat([classifier.pool(classifier.features(x)) for x in X.split(1024)])  # (N, F)
    return h, classifier.fc(h).argmax(1)


class Embedded(NamedTuple):
    """Images as a scoring classifier sees them."""

    features: torch.Tensor  # (N, F) penultimate features
    predicted: torch.Tensor  # (N,) predicted classes


@dataclass(frozen=True)
class ImageScorer:
    """A classifier trained on real images, with the real test and training images embedded
    once: scoring a generated set then costs one pass of it through the classifier."""

    classifier: nn.Module
    test: Embedded  # the real test images: the set every generated one is compared with
    test_labels: torch.Tensor  # (N,)
    train: Embedded  # the real training images: what a generator of new real images would get
    train_labels: torch.Tensor  # (M,)
    _references: dict[int, dict[str, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )  # reference(n), computed once per n

    @classmethod
    def of(cls, classifier: nn.Module, images: Dataset) -> "ImageScorer":
        (X_test, y_test), (X_train, y_train) = images.test, images.train
        test, train = (Embedded(*classifier_features(classifier, X)) for X in (X_test, X_train))
        return cls(classifier, test, y_test, train, y_train)

    def embed(self, images: torch.Tensor) -> Embedded:
        """Images (N, C, H, W) through the classifier, once."""
        return Embedded(*classifier_features(self.classifier, images))

    def reference(self, n: int) -> dict[str, float]:
        """The real training images' own scores, each the mark for a generator's, with the
        k-NN balls of n images a side (a ball's radius depends on how many there are)."""
        if n not in self._references:
            h_test, h_train = self.test.features, self.train.features
            real = precision_recall(h_test[:n], h_train[:n])
            self._references[n] = {
                "real_classifier_fid": feature_frechet_distance(h_train, h_test),
                "real_precision": real["precision"],
                "real_recall": real["recall"],
                "max_class_entropy": math.log(10),
            }
        return self._references[n]

    def scores(self, fake: Embedded) -> dict[str, float]:
        """Generated images scored against the real test images in the classifier's feature
        space, each beside the real training images' own score: classifier FID; improved
        precision and recall (Kynkäänniemi et al., 2019): precision, the share of samples that
        land among real ones (quality), recall, the share of real images near some sample
        (variety: mode collapse lowers it); and the entropy of the predicted-class histogram
        (log 10 when every class is drawn equally)."""
        h_test, h_fake = self.test.features, fake.features
        n = min(len(h_test), len(h_fake), len(self.train.features))  # k-NN balls: equal sets
        return {
            "classifier_fid": feature_frechet_distance(h_fake, h_test),
            **precision_recall(h_test[:n], h_fake[:n]),
            "class_entropy": class_histogram_entropy(fake.predicted, 10),
            **self.reference(n),
        }

    @cached_property
    def real_by_class(self) -> dict[int, dict[str, float]]:
        """The real training images' own precision and recall within each class c against the
        real test images of c: {c: {"precision", "recall"}}, the same for every generated set."""
        real, y_real = self.test.features, self.test_labels
        return precision_recall_by_class(real, y_real, self.train.features, self.train_labels)

    def class_scores(self, fake: Embedded, labels: torch.Tensor) -> dict[str, dict]:
        """A conditional generator's samples, asked for `labels` (N,), scored within each class
        c against the real test images of c, beside the real training images' own:
        {"generated": {c: {"precision", "recall"}}, "real": {...}}."""
        generated = precision_recall_by_class(
            self.test.features, self.test_labels, fake.features, labels
        )
        return {"generated": generated, "real": self.real_by_class}


def grid_over(X: torch.Tensor, resolution: int = 150, margin: float = 0.5):
    """A (resolution x resolution) grid covering the points X (N, 2) plus a margin.

    Returns:
        xx, yy (H, W) arrays for plotting, and the grid points (H*W, 2) as a float tensor.
    """
    low = X.min(0).values - margin
    high = X.max(0).values + margin
    xs = torch.linspace(float(low[0]), float(high[0]), resolution)
    ys = torch.linspace(float(low[1]), float(high[1]), resolution)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (H, W)
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)  # (H*W, 2)
    return xx.numpy(), yy.numpy(), points


def class_probabilities(logits: torch.Tensor) -> np.ndarray:
    """P(class 1) (N,) for one output logit, else softmax probabilities (N, K)."""
    if logits.shape[-1] == 1:
        return torch.sigmoid(logits[:, 0]).numpy()
    return torch.softmax(logits, dim=-1).numpy()


def boundary_panel(
    predict: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, y: torch.Tensor, title: str
) -> dict:
    """One panel for `plots.decision_boundaries`: the class regions of `predict` (points (N, 2)
    -> logits, e.g. `trainer.predict`) and the data."""
    xx, yy, points = grid_over(X)
    with torch.no_grad():
        probs = class_probabilities(predict(points))
    return {"title": title, "xx": xx, "yy": yy, "probs": probs, "X": X.numpy(), "y": y.numpy()}


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of class i predicted as j (one bincount)."""
    flat = y_true.long() * num_classes + y_pred.long()
    counts = torch.bincount(flat, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).numpy()


def plot_confusion(
    run: Run,
    trainer: Trainer,
    test: tuple[torch.Tensor, torch.Tensor],
    num_classes: int,
    title: str,
    noun: str = "class",
    annotate: bool = False,
) -> None:
    """The `confusion_matrix` figure of `trainer`'s model on `test` = (X, y): true `noun` down,
    predicted across, row 0 at the top; `annotate` writes the counts in the cells."""
    X, y = test
    counts = confusion_matrix(y, trainer.predict(X).argmax(-1), num_classes)
    plots.heatmap(
        counts, run.figure("confusion_matrix"), title, f"predicted {noun}", f"true {noun}",
        "test samples", origin="upper", annotate=annotate,
    )  # fmt: skip
