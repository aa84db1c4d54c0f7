"""Images: a batch tiled into one mosaic (`mosaic`, as torchvision's `make_grid`), drawn
with row and column labels (`image_grid`), small labelled mosaics in a grid (`image_panels`),
signed tiles such as filters on one diverging colour
scale (`signed_tiles`), and frames written as a looping GIF (`animated_gif`)."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from dllab.atomic import write_atomic
from dllab.errors import DataError
from dllab.report.plots.style import MAX_HEIGHT, MAX_WIDTH, _figure, _save

GUTTER = 0.55  # mid grey between tiles: apart from both black background and white strokes


def mosaic(images: np.ndarray, nrow: int = 8) -> np.ndarray:
    """Images tiled `nrow` to a row with a 1-pixel grey gutter, as in torchvision's `make_grid`.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W); values in [0, 1] (clipped).

    Returns:
        (rows * (H + 1) - 1, cols * (W + 1) - 1, C) floats in [0, 1]; empty tiles are grey.
    """

    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    images = images.transpose(0, 2, 3, 1) if images.ndim == 4 else images[..., None]  # (N,H,W,C)
    n, h, w, c = images.shape
    if c not in (1, 3):
        raise ValueError(f"images need 1 or 3 channels, got {c}")
    ncols = min(nrow, n)
    nrows = -(-n // ncols)
    tiles = np.full((nrows * ncols, h + 1, w + 1, c), GUTTER, dtype=np.float32)
    tiles[:n, :h, :w] = images
    grid = tiles.reshape(nrows, ncols, h + 1, w + 1, c).transpose(0, 2, 1, 3, 4)
    return grid.reshape(nrows * (h + 1), ncols * (w + 1), c)[:-1, :-1]


def image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    title: str,
    nrow: int = 8,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
) -> Path:
    """Images tiled in one mosaic (see `mosaic`), grey or RGB.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W); values in [0, 1] (clipped).
        nrow: images per row, as in torchvision's `make_grid`.
        row_labels: one label per row of the grid, written on the left.
        col_labels: one label per column, written on top.
    """

    grid = mosaic(images, nrow)  # (rows, cols, C)
    h, w = np.shape(images)[-2:]
    ncols, nrows = (grid.shape[1] + 1) // (w + 1), (grid.shape[0] + 1) // (h + 1)
    margin_w = 1.4 if row_labels is not None else 0.3
    margin_h = 0.9 if col_labels is not None else 0.6
    tile = min(1.0, (MAX_WIDTH - margin_w) / ncols, (MAX_HEIGHT - margin_h) / nrows)  # inches
    width, height = ncols * tile + margin_w, nrows * tile + margin_h
    fig, (ax,) = _figure(title, size=(width, height))
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    if row_labels is not None:
        ax.set_yticks(np.arange(nrows) * (h + 1) + (h - 1) / 2, list(row_labels)[:nrows])
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks(np.arange(ncols) * (w + 1) + (w - 1) / 2, list(col_labels)[:ncols])
    return _save(fig, path)


def image_panels(
    panels: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    title: str,
    ncols: int = 6,
    nrow: int = 2,
    panel_size: tuple[float, float] = (1.6, 1.75),
) -> Path:
    """Small labelled mosaics in a grid, one per entry (e.g. every augmentation applied to the
    same few digits), so that many variants fit one figure of the size family.

    Args:
        panels: label -> images (N, C, H, W) or (N, H, W) in [0, 1], tiled `nrow` to a row.
        panel_size: inches per panel (width, height) before the figure is fitted to the family.
    """

    fig, axes = _figure(title, len(panels), ncols=ncols, size=panel_size)
    for ax, (label, images) in zip(axes, panels.items()):
        tile = mosaic(images, nrow)  # (rows, cols, C)
        ax.imshow(tile[..., 0] if tile.shape[-1] == 1 else tile, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=10)
        ax.set_axis_off()
    return _save(fig, path)


def signed_tiles(
    tiles: np.ndarray,
    path: str | os.PathLike,
    title: str,
    labels: Sequence[str],
    colorbar_label: str,
    nrow: int = 8,
) -> Path:
    """Signed small matrices (e.g. convolution filters) on ONE diverging colour scale centred
    on 0: blue negative, white zero, red positive, the same colour meaning the same weight in
    every tile, with a colour bar and a label above each tile.

    Args:
        tiles: (N, H, W) values of any sign.
        labels: one per tile (e.g. f0, f1, ... matching the feature maps they make).
    """

    tiles = np.asarray(tiles, dtype=float)  # (N, H, W)
    n, h, w = tiles.shape
    ncols = min(nrow, n)
    nrows = -(-n // ncols)
    limit = float(np.abs(tiles).max()) or 1.0
    row = h + 2  # a two-cell band above each row of tiles holds their labels
    grid = np.full((nrows * row, ncols * (w + 1) - 1), np.nan)  # NaN: the gutter
    for k, tile in enumerate(tiles):
        r, c = divmod(k, ncols)
        grid[r * row + 2 : r * row + 2 + h, c * (w + 1) : c * (w + 1) + w] = tile
    tile_in = min(0.9, (MAX_WIDTH - 1.6) / ncols)
    fig, (ax,) = _figure(title, size=(ncols * tile_in + 1.6, nrows * (tile_in + 0.25) + 0.6))
    cmap = colormaps["RdBu_r"].with_extremes(bad="0.75")
    image = ax.imshow(grid, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    for k, label in enumerate(labels[:n]):
        r, c = divmod(k, ncols)
        ax.text(c * (w + 1) + (w - 1) / 2, r * row + 0.6, label, ha="center", va="center")
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, label=colorbar_label, shrink=0.8)
    return _save(fig, path)


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame
    return (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)


def animated_gif(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 5) -> Path:
    """A looping GIF from (H, W) grey or (H, W, 3) RGB frames, uint8 or floats in [0, 1].

    Pillow merges consecutive identical frames into one longer frame.
    """

    if len(frames) == 0:
        raise DataError(f"no frames to animate into {path}")
    images = [Image.fromarray(_to_uint8(frame)) for frame in frames]
    duration = round(1000 / fps)  # milliseconds per frame
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(
        path,
        lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        ),
    )
    return path
