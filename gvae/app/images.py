"""Image helpers for display: grids of digits and crisp enlargement.

Images are numpy float arrays in [0, 1]; outputs are uint8 arrays that st.image and
PNG encoders take directly.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    return (np.clip(images, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: pixels stay square on a projector, never blurred."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def image_grid(images: np.ndarray, ncols: int, pad: int = 2, scale: int = 1, fill: float = 0.5):
    """Tile (B, H, W) images into one uint8 picture, `ncols` per row, `pad` pixels apart.

    The gaps are mid-grey: white gaps framed every grid in a glaring border on a dark page,
    black ones merged the digits' black backgrounds."""
    images = np.asarray(images, dtype=np.float32)
    count, h, w = images.shape
    nrows = max(1, -(-count // ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), fill, dtype=np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = image
    return upscale(to_uint8(grid), scale)


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 picture as PNG bytes. Encode a picture that is redrawn unchanged once and
    hand st.image the bytes: it encodes an array anew at every rerun."""
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", compress_level=1)  # speed over size
    return out.getvalue()
