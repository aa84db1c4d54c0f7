"""CIFAR-10 (or CIFAR-shaped synthetic stand-ins): the notes' Keras CNN in PyTorch, and He et
al.'s ResNet-20 (2015, §4.2) with pad-and-crop and flip augmentation, or a pretrained
torchvision ResNet-18 fine-tuned."""

from dataclasses import dataclass, field
from typing import Literal

from dllab.config import param
from dllab.experiments.common import plot_confusion
from dllab.experiments.registry import Reference, experiment
from dllab.experiments.runner import Run
from dllab.experiments.vision import (
    fit_classifier,
    load_images,
    load_pretrained,
)


@dataclass
class ImagesData:
    source: Literal["cifar10", "synthetic"] = "cifar10"  # synthetic: CIFAR-shaped stand-ins
    dir: str = ""  # folder holding CIFAR-10's python batches (default: the dllab cache)
    download: bool = False  # fetch missing CIFAR-10 files into the cache first
    num_synthetic: int = param(2000, ge=10)  # synthetic training images


@dataclass
class ModelChoice:
    name: str = "keras_cifar_cnn"  # a registered model taking 3x32x32 images
    weights: str = ""  # torchvision-layout weights to fine-tune from (.safetensors or .pth)


@dataclass
class CifarConfig:
    data: ImagesData = field(default_factory=ImagesData)
    model: ModelChoice = field(default_factory=ModelChoice)
    num_epochs: int = param(10, ge=1)  # passes over the training images
    batch_size: int = param(32, ge=1)  # images per step
    optimizer: Literal["adam", "momentum", "nesterov"] = "adam"  # momentum: SGD, momentum 0.9
    lr: float = param(1e-3, gt=0)  # the optimizer's (peak) learning rate
    weight_decay: float = param(0.0, ge=0)  # L2 penalty on the weights
    schedule: Literal["none", "cosine", "onecycle"] = "none"  # learning rate over the steps
    augment: tuple[str, ...] = param((), allow_empty=True)  # augmentations in each step: crop...


@dataclass
class ResnetCifarConfig(CifarConfig):
    model: ModelChoice = field(default_factory=lambda: ModelChoice("resnet20"))
    num_epochs: int = param(30, ge=1)  # passes over the training images
    batch_size: int = param(128, ge=1)  # images per step (He et al.: 128)
    optimizer: Literal["adam", "momentum", "nesterov"] = "momentum"  # SGD, momentum 0.9 (§4.2)
    lr: float = param(0.1, gt=0)  # He et al.'s starting rate (§4.2)
    weight_decay: float = param(5e-4, ge=0)  # L2 penalty on the weights (§4.2: 1e-4)
    schedule: Literal["none", "cosine", "onecycle"] = "cosine"  # instead of §4.2's steps
    augment: tuple[str, ...] = param(  # 4-pixel pad-and-crop, flips (§4.2)
        ("crop", "hflip"), allow_empty=True
    )


CIFAR_QUICK = {"data": {"source": "synthetic", "num_synthetic": 256}, "num_epochs": 1}


def _cifar(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """Train `cfg.model` (optionally from pretrained weights) on CIFAR-10 or its stand-ins."""
    spec = cfg.data
    images = load_images(spec.source, spec.dir, spec.num_synthetic, spec.download)
    model = run.model("model", cfg.model.name, num_classes=10, in_channels=3)
    if cfg.model.weights:
        load_pretrained(model, cfg.model.weights)
    trainer, test = fit_classifier(
        run, cfg.model.name, model, images, num_epochs=cfg.num_epochs,
        batch_size=cfg.batch_size, augment=cfg.augment, optimizer=cfg.optimizer, lr=cfg.lr,
        weight_decay=cfg.weight_decay, schedule=None if cfg.schedule == "none" else cfg.schedule,
    )  # fmt: skip
    title = f"{cfg.model.name} on {images.name}: test confusion matrix"
    plot_confusion(run, trainer, images.test, 10, title)
    return {
        "test_accuracy": test["accuracy"],
        "epoch_time_s": trainer.history.epochs[-1]["time"] / trainer.epoch,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


@experiment(
    "cifar10-cnn",
    unit=2,
    title="The notes' Keras CIFAR-10 CNN in PyTorch",
    topics=("convolution", "pooling", "training a CNN", "normalization"),
    config=CifarConfig,
    quick=CIFAR_QUICK,
)
def cifar10_cnn(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """The Keras tutorial CNN of the notes (three 3x3 convolutions with batch norm and max
    pooling, a dense layer of 64) trained with Adam, batch 32, for 10 epochs on CIFAR-10 (the
    files must be in `data.dir` or the dllab cache; `data.source=synthetic` needs none)."""
    return _cifar(cfg, run)


@experiment(
    "cifar10-resnet",
    unit=2,
    title="ResNet-20 on CIFAR-10",
    topics=("ResNet", "data augmentation"),
    config=ResnetCifarConfig,
    quick={**CIFAR_QUICK, "model": {"name": "resnet8"}},
    references={"test_accuracy": Reference(0.9125, "He et al. 2015 Table 6 (ResNet-20)")},
)
def cifar10_resnet(cfg: CifarConfig, run: Run) -> dict[str, float]:
    """He et al.'s CIFAR ResNet-20 (§4.2) with pad-and-crop and horizontal-flip augmentation,
    SGD with momentum and a cosine schedule; `--set model.name=resnet18 --set
    model.weights=FILE` fine-tunes torchvision's ImageNet ResNet-18 weights instead."""
    return _cifar(cfg, run)
