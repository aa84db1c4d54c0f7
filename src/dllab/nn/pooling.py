"""The pooling factory, with the two poolings torch lacks: min pooling and global pooling."""

from torch import Tensor, nn

from dllab.errors import ConfigError, unknown_name_message
from dllab.nn.dims import by_dims, check_dims

POOLS = ("none", "max", "avg", "min", "global_max", "global_avg")


class MinPool(nn.Module):
    """Min pooling over windows of 1D or 2D inputs: min_w x = -max_w(-x).

    Padding follows from the identity: max pooling pads -x with -inf, i.e. x with +inf,
    which never wins a minimum.
    """

    def __init__(
        self, kernel_size: int, stride: int | None = None, padding: int = 0, dims: int = 2
    ):
        super().__init__()
        max_pool = by_dims("min pooling", dims, {1: nn.MaxPool1d, 2: nn.MaxPool2d})
        self.max_pool = max_pool(kernel_size, stride, padding)

    def forward(self, x: Tensor) -> Tensor:
        return -self.max_pool(-x)


class GlobalPool(nn.Module):
    """Max or mean over every spatial axis: (B, C, *S) -> (B, C)."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(2)  # (B, C, L) with L the product of the spatial sizes
        return x.amax(dim=2) if self.mode == "max" else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def pool(
    name: str | None,
    dims: int = 2,
    kernel_size: int = 2,
    stride: int | None = None,
    padding: int = 0,
) -> nn.Module:
    """A pooling layer by name; `None` or "none" is the identity.

    Args:
        name: max, avg, min (windows of `kernel_size`, stride defaults to the kernel size),
            global_max or global_avg ((B, C, *S) -> (B, C), the window arguments unused).
        dims: spatial axes, 1 for (B, C, L) or 2 for (B, C, H, W).

    Raises:
        ConfigError: for an unknown name or unsupported `dims`.
    """
    key = "none" if name is None else name
    if key not in POOLS:
        raise ConfigError(unknown_name_message("pooling", key, list(POOLS)))
    if key == "none":
        return nn.Identity()
    check_dims(f"{key} pooling", dims, (1, 2))
    if key.startswith("global_"):
        return GlobalPool(key.removeprefix("global_"))
    if key == "min":
        return MinPool(kernel_size, stride, padding, dims)
    pools = {"max": {1: nn.MaxPool1d, 2: nn.MaxPool2d}, "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d}}
    return pools[key][dims](kernel_size, stride, padding)
