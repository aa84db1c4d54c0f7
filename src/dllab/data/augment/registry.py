"""Augmentations by name (`augmentation("rotate", degrees=30)`), and the gallery that applies
every one of them to the same images."""

from collections.abc import Callable
from functools import partial

import torch

from dllab.data.augment.base import Transform
from dllab.data.augment.filters import Edges, GaussianBlur, Sharpen
from dllab.data.augment.geometric import Affine, Flip, Shift
from dllab.data.augment.mixing import Erase, cutmix, mixup
from dllab.data.augment.photometric import ColorJitter, GaussianNoise
from dllab.errors import ConfigError, unknown_name_message

AUGMENTATIONS: dict[str, Callable[..., Transform]] = {
    "rotate": partial(Affine, degrees=15.0),
    "translate": partial(Affine, translate=0.1),
    "scale": partial(Affine, scale=0.1),
    "shear": partial(Affine, shear=10.0),
    "affine": partial(Affine, degrees=15.0, translate=0.1, scale=0.1, shear=10.0),
    "hflip": partial(Flip, axis="horizontal"),
    "vflip": partial(Flip, axis="vertical"),
    "brightness": partial(ColorJitter, brightness=0.4),
    "contrast": partial(ColorJitter, contrast=0.4),
    "saturation": partial(ColorJitter, saturation=0.4),
    "hue": partial(ColorJitter, hue=0.1),
    "color_jitter": partial(ColorJitter, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
    "blur": GaussianBlur,
    "sharpen": Sharpen,
    "sobel": partial(Edges, kind="sobel"),
    "laplacian": partial(Edges, kind="laplacian"),
    "noise": GaussianNoise,
    "erase": partial(Erase, p=0.5),
    "cutout": partial(Erase, area=0.25, ratio=1.0),
    "shift": partial(Shift, fill="circular"),
    "crop": partial(Shift, max_shift=4, fill="zeros"),
}


def list_augmentations() -> list[str]:
    return sorted(AUGMENTATIONS)


def augmentation(name: str, **kw) -> Transform:
    """The transform called `name`, its defaults overridden by `kw` (the class's fields).

    Raises:
        ConfigError: for an unknown name or option, or a value out of range.
    """
    if name not in AUGMENTATIONS:
        raise ConfigError(unknown_name_message("augmentation", name, list_augmentations()))
    builder = AUGMENTATIONS[name]
    cls = builder.func if isinstance(builder, partial) else builder
    known = [f for f in cls.__dataclass_fields__ if not f.startswith("_")]
    unknown = sorted(set(kw) - set(known))
    if unknown:
        raise ConfigError(f"augmentation {name!r}: unknown option {unknown[0]!r} (known: {known})")
    return builder(**kw)


# Strong fixed magnitudes, so each transform is plain to see in a gallery.
GALLERY = {
    "rotate": {"degrees": (30.0, 30.0)},
    "translate": {"translate": (0.15, 0.15)},
    "scale": {"scale": (1.4, 1.4)},
    "shear": {"shear": (20.0, 20.0)},
    "hflip": {"p": 1.0},
    "vflip": {"p": 1.0},
    "brightness": {"brightness": (1.6, 1.6)},
    "contrast": {"contrast": (0.4, 0.4)},
    "saturation": {"saturation": (0.0, 0.0)},
    "hue": {"hue": (0.33, 0.33)},
    "blur": {"sigma": 1.5},
    "sharpen": {"amount": 2.0},
    "sobel": {},
    "laplacian": {},
    "noise": {"std": 0.15},
    "erase": {"p": 1.0, "area": 0.2, "ratio": 3.0},
    "cutout": {"area": 0.25},
    "shift": {"max_shift": 4},
    "crop": {"max_shift": 4},
}


def gallery(images: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every transform applied to the same images with strong fixed magnitudes, by name.

    Edge maps are scaled to a maximum of 1 per image, for display. Mixup and cutmix (lam = 0.5)
    mix each image with the next one of the batch. Images (N, C, H, W) in [0, 1]; every value in
    the result has their shape, the first entry is "original".
    """
    generator = torch.Generator().manual_seed(seed)
    out = {"original": images}
    for name, kw in GALLERY.items():
        out[name] = augmentation(name, **kw)(images, generator)
    for name in ("sobel", "laplacian"):
        out[name] = out[name] / out[name].amax((1, 2, 3), keepdim=True).clamp(min=1e-12)
    labels, after = torch.arange(len(images)), torch.arange(1, len(images) + 1) % len(images)
    out["mixup"] = mixup(images, labels, generator, lam=0.5, perm=after)[0]
    out["cutmix"] = cutmix(images, labels, generator, lam=0.5, perm=after)[0]
    return out
