"""MNIST as in-memory tensors, and the binarizations the Bernoulli likelihood needs.

The data root comes from an explicit argument, else the GVAE_DATA_DIR environment
variable, else ./data. torchvision's layout is used: <root>/MNIST/raw/<idx files>.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from gvae.errors import MissingDataError

DATA_DIR_ENV = "GVAE_DATA_DIR"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
TEST_BINARIZATION_SEED = 0  # DESIGN.md section 1: the fixed evaluation set


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $GVAE_DATA_DIR, else ./data."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser()


def missing_data_message(root: Path, reason: str = "") -> str:
    files = ", ".join(MNIST_FILES)
    text = (
        f"MNIST was not found under {root.resolve() / 'MNIST' / 'raw'}. "
        f"Put the four original IDX files there ({files}; .gz versions also work), "
        f"or point --data-dir or the {DATA_DIR_ENV} environment variable at the folder "
        f"that holds MNIST/raw/."
    )
    return f"{text} Download failed: {reason}" if reason else text


@functools.lru_cache(maxsize=4)
def _load_uint8(root: str, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST  # imported late: only data loading needs it

    try:
        dataset = MNIST(root, train=train, download=False)
    except RuntimeError:
        if not download:
            raise MissingDataError(missing_data_message(Path(root))) from None
        try:
            dataset = MNIST(root, train=train, download=True)
        except Exception as error:  # no network, read-only folder, bad mirror...
            reason = f"{type(error).__name__}: {error}"
            raise MissingDataError(missing_data_message(Path(root), reason)) from None
    return dataset.data.reshape(len(dataset.data), -1), dataset.targets


def ensure_mnist(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root, once MNIST is there (downloaded if missing and possible).

    Raises MissingDataError with the path and file names otherwise."""
    root = resolve_data_dir(data_dir)
    _load_uint8(str(root), True, True)
    return root


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey-level images (n, 784) float32 in [0, 1] and labels (n,), loaded once.

    Raises MissingDataError with the path and file names when MNIST is missing and
    cannot be downloaded.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = str(resolve_data_dir(data_dir))
    images, labels = _load_uint8(root, split == "train", download)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.float().div_(255.0), labels.clone()


def binarize(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """One Bernoulli draw per pixel: binary data for a Bernoulli likelihood.

    Drawn afresh for every training batch (dynamic binarization), which regularizes.
    `U < p` is Bernoulli(p) and about twice as fast as torch.bernoulli on CPU.
    noise, out: optional buffers of images' shape for U and for the result. Reusing them
    saves the training step fresh 300 KB allocations, whose page faults cost as much as
    the draw.
    """
    if noise is None:
        noise = torch.empty_like(images)
    noise.uniform_(generator=generator)
    if out is None:
        return (noise < images).to(images.dtype)
    return torch.lt(noise, images, out=out)


def fixed_test_set(data_dir=None, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluation protocol's test set: the 10,000 test images in file order,
    binarized once with a generator seeded 0, so every version is scored on the same bits.
    """
    images, labels = load_mnist("test", data_dir)
    generator = torch.Generator().manual_seed(TEST_BINARIZATION_SEED)
    binary = torch.bernoulli(images, generator=generator)  # the protocol's exact call
    if limit is not None:
        binary, labels = binary[:limit], labels[:limit]
    return binary, labels
