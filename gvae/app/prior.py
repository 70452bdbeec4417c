"""Home's samples from the uniform prior: a grid of decoded prior codes.

Seed 0's grid needs no decoding: every weights file stores those codes' decoded means
(gvae.weights.prior_codes, written by save_model), so Home's first paint reads them from
the file. Any other seed is decoded by gvae.infer.
"""

from __future__ import annotations

import numpy as np

from gvae.app.images import image_grid
from gvae.weights import PREVIEW_COUNT, PREVIEW_SEED, prior_codes, read_preview

COUNT, COLUMNS = PREVIEW_COUNT, 8  # a 4 x 8 grid


def decode_grid(net, seed: int) -> np.ndarray:
    """The prior codes of `seed` decoded to Bernoulli means (a gvae.infer.Network), one
    uint8 picture at scale 1."""
    return image_grid(net.images(prior_codes(net.config, seed)), COLUMNS)


def stored_grid(path, seed: int) -> np.ndarray | None:
    """The grid of `seed` from the file's stored preview (seed 0 only), else None."""
    means = read_preview(path) if seed == PREVIEW_SEED else None  # (COUNT, D) uint8
    if means is None:
        return None
    side = int(round(means.shape[1] ** 0.5))  # square images
    return image_grid(means.reshape(-1, side, side) / 255.0, COLUMNS)
