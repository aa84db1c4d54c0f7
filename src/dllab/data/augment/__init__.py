"""Data augmentation on whole batches: geometric warps, colour jitter, kernel filters, noise,
random erasing / cutout (Zhong et al., 2020; DeVries & Taylor, 2017), random shifts, mixup
(Zhang et al., 2018) and cutmix (Yun et al., 2019).

Every transform is a small callable `T(x, generator) -> x` on a batch (B, C, H, W) of images in
[0, 1] (some also take signals (B, C, L)); `augmentation(name, **kw)` builds one by name and
`Compose([...])` chains them. Nothing loops over samples: each transform draws one parameter per
sample, builds a per-sample matrix, kernel or mask, and applies it to the batch in one call.

Randomness comes only from the `torch.Generator` passed in, so a seeded generator makes a run
reproducible and resumable. Parameters are drawn on the generator's device (normally the CPU) and
moved to the batch's device. Each call first draws which samples the transform touches
(probability `p`), then every sample's parameters, so the stream consumed depends only on the
transform and the batch size.

Magnitudes: a number v means U(c - v, c + v) around the identity value c for the centred ones
(angles, shifts, factors, hue) and the fixed value v for strengths (sigma, std, amount, area,
ratio); a pair (low, high) always means U(low, high).

Plain torch ops, not kornia: measured side by side on the CPU (`python -m bench augment`, one
thread, batches of 256; bench/results/augment.json), they ran faster than kornia's equivalents
in every case, so kornia is not a dependency.
"""

from dllab.data.augment.base import Compose, Interval, Transform
from dllab.data.augment.filters import (
    Edges,
    GaussianBlur,
    Sharpen,
    gaussian_blur,
    laplacian,
    sobel,
)
from dllab.data.augment.geometric import Affine, Flip, Shift, shift, warp_affine
from dllab.data.augment.mixing import Erase, cutmix, mixed_loss, mixup
from dllab.data.augment.photometric import RGB_FROM_YIQ, YIQ_FROM_RGB, ColorJitter, GaussianNoise
from dllab.data.augment.registry import (
    AUGMENTATIONS,
    GALLERY,
    augmentation,
    gallery,
    list_augmentations,
)

__all__ = [
    "AUGMENTATIONS",
    "GALLERY",
    "Affine",
    "ColorJitter",
    "Compose",
    "Edges",
    "Erase",
    "Flip",
    "GaussianBlur",
    "GaussianNoise",
    "Interval",
    "Sharpen",
    "Shift",
    "RGB_FROM_YIQ",
    "Transform",
    "YIQ_FROM_RGB",
    "augmentation",
    "cutmix",
    "gallery",
    "gaussian_blur",
    "laplacian",
    "list_augmentations",
    "mixed_loss",
    "mixup",
    "shift",
    "sobel",
    "warp_affine",
]
