"""Samples from the uniform prior as Home shows them, and a stored copy for a fast start.

Home opens on the grid decoded from the codes of seed 0. Decoding needs torch, whose import
takes ~3 s on a 2-core CPU, most of the app's cold start. So beside each shipped checkpoint
lies `<name>.prior.png`: that same grid, tagged with the sha256 of the checkpoint it was
decoded from. Home shows it while the hash matches and decodes live otherwise (another
seed, another file). tests/test_weights.py checks each stored grid against a fresh decode.

    python -m gvae.app.prior weights/*.pt        # (re)write the stored grids
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from gvae.app.images import image_grid
from gvae.catalog import file_sha256
from gvae.errors import GvaeError

COUNT, COLUMNS = 32, 8  # a 4 x 8 grid
STORED_SEED = 0  # the grid Home opens on
SHA_KEY, SEED_KEY = "gvae-weights-sha256", "gvae-seed"  # PNG text chunks


def prior_codes(seed: int, latent_dim: int, categorical_dim: int) -> np.ndarray:
    """COUNT codes drawn uniformly from the prior with numpy's generator `seed`. (COUNT, N)"""
    return np.random.default_rng(seed).integers(categorical_dim, size=(COUNT, latent_dim))


def decode_grid(model, seed: int) -> np.ndarray:
    """The codes of `seed` decoded to Bernoulli means, as one uint8 picture at scale 1."""
    from gvae.app.latent import decode_to_images  # imports torch

    c = model.config
    codes = prior_codes(seed, c.latent_dim, c.categorical_dim)
    return image_grid(decode_to_images(model, codes), ncols=COLUMNS)


def stored_grid_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".prior.png")


def load_stored_grid(weights: str | Path, sha256: str | None, seed: int) -> np.ndarray | None:
    """The stored grid of `seed`, if one was decoded from exactly these weights, else None."""
    path = stored_grid_path(weights)
    if seed != STORED_SEED or sha256 is None or not path.is_file():
        return None
    try:
        with Image.open(path) as image:
            if image.text.get(SHA_KEY) != sha256 or image.text.get(SEED_KEY) != str(seed):
                return None
            return np.asarray(image.convert("L"))
    except (OSError, ValueError, SyntaxError):  # damaged PNG: decode live instead
        return None


def write_stored_grid(weights: str | Path) -> Path:
    """Decode the seed-0 grid of a checkpoint and store it beside it, tagged with its hash."""
    from gvae.checkpoint import load_model

    info = PngImagePlugin.PngInfo()
    info.add_text(SHA_KEY, file_sha256(weights))
    info.add_text(SEED_KEY, str(STORED_SEED))
    path = stored_grid_path(weights)
    Image.fromarray(decode_grid(load_model(weights), STORED_SEED)).save(path, pnginfo=info)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m gvae.app.prior",
        description="Store the seed-0 prior grid beside each checkpoint (Home's first picture).",
    )
    p.add_argument("weights", nargs="+", type=Path, help="gvae checkpoints (.pt)")
    args = p.parse_args(argv)
    try:
        for weights in args.weights:
            print(write_stored_grid(weights))
    except GvaeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
