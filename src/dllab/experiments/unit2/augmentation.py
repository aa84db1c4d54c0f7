"""Data augmentation: an ablation of augmentation policies (shifts, affine warps, crops,
cutout, noise, mixup, cutmix) on a few labelled digits per class, and a gallery of every
transform of `dllab.data.augment` on real digits."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dllab import data
from dllab.config import param
from dllab.data.augment import gallery
from dllab.experiments.registry import experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
    subset,
)
from dllab.report import plots


@dataclass
class AugmentationConfig:
    num_train: int = param(20, ge=1)  # labelled digits per class: augmentation helps most here
    num_epochs: int = param(150, ge=1)  # augmented data takes longer to fit than the bare set
    batch_size: int = param(32, ge=1)  # digits per step
    lr: float = param(3e-3, gt=0)  # Adam
    policies: tuple[str, ...] = (  # "+"-joined augmentations, "mixup"/"cutmix" last, or "none"
        "none", "translate", "rotate", "affine", "crop", "cutout", "noise", "mixup", "cutmix",
        "affine+cutout",
    )  # fmt: skip


@experiment(
    "augmentation",
    unit=2,
    title="Data augmentation on a small labelled subset",
    topics=("data augmentation",),
    config=AugmentationConfig,
    quick={"num_epochs": 1, "num_train": 5, "policies": ("none", "affine", "mixup")},
    headline=("test_accuracy_none", "test_accuracy_affine"),
)
def augmentation_ablation(cfg: AugmentationConfig, run: Run) -> dict[str, float]:
    """The digits CNN trained on a few labelled digits per class, with each augmentation policy
    applied inside the training step (same seed, same epochs): test accuracy per policy.
    Transforms that keep the label (small shifts, affine warps, noise) add data for free; ones
    that can destroy it hurt: "crop" shifts by up to 4 pixels, half of an 8x8 digit, and
    cutout / cutmix cover a patch that is a large part of so small a digit."""
    digits = subset(data.load("digits"), tuple(range(10)), cfg.num_train)
    metrics = {}
    for policy in cfg.policies:
        parts = [] if policy == "none" else policy.split("+")
        mix = parts.pop() if parts and parts[-1] in ("mixup", "cutmix") else None
        _, test = fit_classifier(
            run, policy, run.model("cnn", "digits_cnn"), digits, num_epochs=cfg.num_epochs,
            batch_size=cfg.batch_size, augment=tuple(parts), mix=mix, lr=cfg.lr,
        )  # fmt: skip
        metrics[f"test_accuracy_{policy}"] = test["accuracy"]
    metrics["test_accuracy"] = max(metrics.values())
    plots.bars(
        {p: 100 * (1 - metrics[f"test_accuracy_{p}"]) for p in cfg.policies},
        run.figure("test_error"),
        f"Digits CNN trained on {cfg.num_train} digits per class: test error by augmentation",
        "test error (%, lower is better)",
        reference=(100 * (1 - metrics["test_accuracy_none"]), "no augmentation")
        if "none" in cfg.policies
        else None,
    )
    return metrics


@dataclass
class GalleryConfig:
    num_images: int = param(4, ge=1, le=16)  # digits shown per transform
    size: int = param(32, ge=8)  # upscaled side (bicubic) so that each transform is visible


@experiment(
    "augment-gallery",
    unit=2,
    title="Every augmentation on real digits",
    topics=("data augmentation",),
    config=GalleryConfig,
    quick={},
    tour={},
    tour_seconds=2,
)
def augment_gallery(cfg: GalleryConfig, run: Run) -> dict[str, float]:
    """Each transform of `dllab.data.augment` at a strong fixed magnitude on the same digits,
    upscaled from 8x8 by bicubic interpolation and tinted, so that the colour transforms
    (saturation, hue) show too; mixup and cutmix blend each digit with the next."""
    X, y = data.load("digits").test
    chosen = torch.stack([torch.nonzero(y == d)[0, 0] for d in range(cfg.num_images)])
    images = F.interpolate(X[chosen], size=cfg.size, mode="bicubic", align_corners=False)
    tints = torch.tensor([[1.0, 0.3, 0.2], [0.2, 0.7, 1.0], [1.0, 0.8, 0.1], [0.4, 1.0, 0.4]])
    images = images.clamp(0, 1) * tints[torch.arange(cfg.num_images) % 4, :, None, None]
    shown = gallery(images, seed=run.seed)  # name -> (N, 3, size, size)
    plots.image_panels(
        {name: images.numpy() for name, images in shown.items()},
        run.figure("gallery"),
        "Every augmentation of dllab.data.augment on the same digits (8x8, upscaled and "
        "tinted): geometric, photometric, filters, erasing and mixing",
        nrow=2,
    )
    return {"num_transforms": len(shown) - 1}
