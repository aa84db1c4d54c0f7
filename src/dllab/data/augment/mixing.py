"""Augmentations that cut or mix regions: random erasing / cutout (Zhong et al., 2020; DeVries &
Taylor, 2017), mixup (Zhang et al., 2018) and cutmix (Yun et al., 2019) with their mixed-label
loss."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dllab.data.augment.base import Interval, Transform, _interval, _per_sample, _rand, _uniform
from dllab.errors import ConfigError


def _box_mask(low: torch.Tensor, high: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Boxes [low, high) per sample over the spatial `shape` -> (n, 1, *shape) bool masks.

    Args:
        low, high: (n, d) integer corners, d = len(shape) (1 for signals, 2 for images).
    """
    n, d = low.shape
    mask = torch.ones(n, 1, *shape, dtype=torch.bool, device=low.device)
    for k, size in enumerate(shape):
        pos = torch.arange(size, device=low.device).view([size if j == k else 1 for j in range(d)])
        lo, hi = (v[:, k].view(n, 1, *[1] * d) for v in (low, high))
        mask &= (pos >= lo) & (pos < hi)  # broadcast (n, 1, ..., size, ...)
    return mask


@dataclass(kw_only=True)
class Erase(Transform):
    """Random erasing (Zhong et al., 2020): one box per sample set to `value`, lying fully inside.

    area: the box's fraction of the image; ratio: its height / width (log-uniform when a pair).
    A fixed area and ratio = 1 is cutout (DeVries & Taylor, 2017). On signals (B, C, L) the box
    is a segment of `area * L` steps and `ratio` is unused.
    """

    area: Interval = (0.02, 0.33)
    ratio: Interval = (0.3, 3.3)
    value: float = 0.0
    ndims = (3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.area = _interval("Erase", "area", self.area, None, minimum=0)
        self.ratio = _interval("Erase", "ratio", self.ratio, None, minimum=1e-3)
        if self.area[1] > 1:
            raise ConfigError(f"Erase: area is a fraction of the image in [0, 1], got {self.area}")

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        B, shape = len(x), x.shape[2:]
        area = _uniform(generator, B, self.area)
        log_ratio = _uniform(generator, B, (math.log(self.ratio[0]), math.log(self.ratio[1])))
        if len(shape) == 1:
            size = (area * shape[0]).round()[:, None]  # (B, 1)
        else:
            pixels, ratio = area * shape[0] * shape[1], log_ratio.exp()
            size = torch.stack([(pixels * ratio).sqrt(), (pixels / ratio).sqrt()], 1).round()
        size = torch.minimum(size, size.new_tensor(shape))  # (B, d)
        room = size.new_tensor(shape) - size + 1  # positions a box of this size can start at
        low = (_rand(generator, *size.shape) * room).floor()
        mask = _box_mask(low.long(), (low + size).long(), shape)
        return x.masked_fill(mask.to(x.device), self.value)


def _mixing(
    generator: torch.Generator,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    per_sample: bool,
    lam: float | None,
    perm: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The weights lam ~ Beta(alpha, alpha) (n,) on the generator's device, and the partners
    x[perm], y[perm] of mixup and cutmix (perm random unless given); n = B per sample, else 1."""
    if alpha <= 0:
        raise ConfigError(f"mixing: alpha must be > 0, got {alpha}")
    if lam is not None and not 0 <= lam <= 1:
        raise ConfigError(f"mixing: lam must be in [0, 1], got {lam}")
    if perm is None:
        perm = torch.randperm(len(x), generator=generator, device=generator.device)
    perm = perm.to(x.device)
    n = len(x) if per_sample else 1
    # torch's Beta sampler takes no generator: numpy draws it, seeded from the generator
    seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
    draws = np.random.default_rng(seed).beta(alpha, alpha, n) if lam is None else np.full(n, lam)
    return torch.as_tensor(draws, device=generator.device), x[perm], y[perm]


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    alpha: float = 1.0,
    per_sample: bool = False,
    lam: float | None = None,
    perm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018): x' = lam x + (1 - lam) x[perm], lam ~ Beta(alpha, alpha).

    Args:
        x: (B, ...) inputs; y: (B,) labels.
        per_sample: one lam per sample (B,) instead of one for the batch ().
        lam: a fixed weight instead of the Beta draw (the generator is still advanced).
        perm: (B,) the partner of each sample instead of a random permutation.

    Returns:
        x', y_a = y, y_b = y[perm], lam: train with `mixed_loss`.
    """
    lam_n, x_b, y_b = _mixing(generator, x, y, alpha, per_sample, lam, perm)
    lam_n = lam_n.to(x.device, x.dtype)
    mixed = torch.lerp(x_b, x, _per_sample(lam_n, x))  # x_b + lam (x - x_b)
    return mixed, y, y_b, lam_n if per_sample else lam_n[0]


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    alpha: float = 1.0,
    per_sample: bool = False,
    lam: float | None = None,
    perm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """CutMix (Yun et al., 2019): a box of x[perm] pasted into x, sides sqrt(1 - lam) of the image.

    The box centre is uniform and the box is clipped at the border (Yun et al., Appendix A1), so
    the returned lam is recomputed as the kept area fraction, the weight of y_a. Works on signals
    (B, C, L) with a segment. Arguments and returns as in `mixup`; with per_sample=False the
    whole batch shares one box.
    """
    lam_n, x_b, y_b = _mixing(generator, x, y, alpha, per_sample, lam, perm)
    shape = torch.tensor(x.shape[2:], device=lam_n.device)
    cut = (shape * (1 - lam_n)[:, None].sqrt()).floor().long()  # (n, d) box sides
    centre = (_rand(generator, *cut.shape) * shape).long()
    low = (centre - cut // 2).clamp(min=0)
    high = torch.minimum(centre + cut // 2, shape)
    mask = _box_mask(low, high, x.shape[2:])  # (n, 1, *spatial)
    mixed = torch.where(mask.to(x.device), x_b, x)
    kept = (1 - (high - low).prod(1) / shape.prod()).to(x.device, x.dtype)  # (n,)
    return mixed, y, y_b, kept if per_sample else kept[0]


def mixed_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor | float,
) -> torch.Tensor:
    """lam L(y_a) + (1 - lam) L(y_b), the loss of a mixed batch (Zhang et al., 2018, §2).

    With one lam per sample (B,), `loss_fn` must return per-sample losses (reduction="none");
    the result is the mean of the per-sample mixtures.
    """
    lam = torch.as_tensor(lam, dtype=logits.dtype, device=logits.device)
    loss_a, loss_b = loss_fn(logits, y_a), loss_fn(logits, y_b)
    if lam.ndim and loss_a.shape != lam.shape:
        raise ConfigError(
            f"mixed_loss: per-sample lam {tuple(lam.shape)} needs per-sample losses "
            f"(reduction='none'), got shape {tuple(loss_a.shape)}"
        )
    return (lam * loss_a + (1 - lam) * loss_b).mean()
