"""A small shipped gallery of MNIST test digits, so the app needs no dataset to run.

python -m gvae.app.gallery --data-dir ../shared/data     # rebuilds gvae/app/assets/gallery.npz
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

GALLERY_PATH = Path(__file__).resolve().parent / "assets" / "gallery.npz"
PER_DIGIT = 3


@functools.lru_cache(maxsize=2)
def load_gallery(path: Path = GALLERY_PATH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (n, 784) float32 in [0, 1], labels (n,), test-set indices (n,)).

    Read once per process and shared, so the arrays are read-only."""
    with np.load(path, allow_pickle=False) as data:
        arrays = data["images"].astype(np.float32) / 255.0, data["labels"], data["indices"]
    for array in arrays:
        array.flags.writeable = False
    return arrays


def build_gallery(data_dir=None, per_digit: int = PER_DIGIT, path: Path = GALLERY_PATH) -> Path:
    """The first `per_digit` test images of each digit, in test-set order."""
    from gvae.data import load_mnist

    images, labels = load_mnist("test", data_dir)
    picks = sorted(
        i for d in range(10) for i in (labels == d).nonzero().flatten()[:per_digit].tolist()
    )
    pixels = (images[picks].numpy() * 255).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=pixels, labels=labels[picks].numpy(), indices=np.array(picks))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m gvae.app.gallery", description=__doc__.splitlines()[0]
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument("--per-digit", type=int, default=PER_DIGIT)
    args = p.parse_args(argv)
    print(build_gallery(args.data_dir, args.per_digit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
