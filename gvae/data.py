"""MNIST as in-memory tensors, and the binarizations the Bernoulli likelihood needs.

The data root comes from an explicit argument, else the GVAE_DATA_DIR environment
variable, else ./data. torchvision's layout is used: <root>/MNIST/raw/<idx files>.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gvae.errors import DataFileError, MissingDataError

if TYPE_CHECKING:  # torch is imported where tensors are made: the app's viewers need none
    import torch

DATA_DIR_ENV = "GVAE_DATA_DIR"
TEST_BINARIZATION_SEED = 0  # the fixed evaluation set (docs/evaluation.md)
VALIDATION_START = 50_000  # training images from here on form the validation split


@dataclass(frozen=True)
class IdxFile:
    """What one original MNIST file must be: IDX magic number, shape and checksum."""

    magic: int  # 0x00000803 for 3-d unsigned-byte arrays (images), 0x00000801 for 1-d (labels)
    shape: tuple[int, ...]
    md5: str  # of the uncompressed file

    @property
    def header_size(self) -> int:
        return 4 * (1 + len(self.shape))

    @property
    def size(self) -> int:
        return self.header_size + math.prod(self.shape)


# The MD5s of the four uncompressed IDX files as published with MNIST download scripts
# (torchvision's `resources` list the .gz archives' MD5s instead); this machine's copies
# in shared/data/MNIST/raw match them.
MNIST_IDX = {
    "train-images-idx3-ubyte": IdxFile(2051, (60000, 28, 28), "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": IdxFile(2049, (60000,), "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": IdxFile(2051, (10000, 28, 28), "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": IdxFile(2049, (10000,), "27ae3e4e09519cfbb04c329615203637"),
}
MNIST_FILES = tuple(MNIST_IDX)
TRAIN_IMAGES = MNIST_IDX["train-images-idx3-ubyte"].shape[0]  # 60,000
SPLIT_FILES = {  # (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_checksum_ok: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) already hashed


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $GVAE_DATA_DIR, else ./data."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or "data").expanduser()


def raw_folder(root: str | os.PathLike) -> Path:
    return Path(root) / "MNIST" / "raw"


def missing_data_message(root: Path, reason: str = "") -> str:
    files = ", ".join(MNIST_FILES)
    text = (
        f"MNIST was not found under {raw_folder(root).resolve()}. "
        f"Put the four original IDX files there ({files}; .gz versions also work), "
        f"or point --data-dir or the {DATA_DIR_ENV} environment variable at the folder "
        f"that holds MNIST/raw/."
    )
    return f"{text} Download failed: {reason}" if reason else text


def check_mnist_file(path: str | os.PathLike) -> None:
    """Raise DataFileError naming `path` and its problem unless it is the original MNIST
    file of its name: a regular file with the right IDX header, size and MD5. The MD5 is
    computed once per process for each (path, size, mtime)."""
    path = Path(path)
    spec = MNIST_IDX[path.name]
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise DataFileError(path, "not a regular file")
    with open(path, "rb") as f:
        header = f.read(spec.header_size)
    if len(header) == spec.header_size:
        magic, *dims = struct.unpack(f">{1 + len(spec.shape)}I", header)
        if magic != spec.magic:
            raise DataFileError(
                path,
                f"magic number {magic} (0x{magic:08x}), expected {spec.magic} "
                f"(0x{spec.magic:08x}): not an MNIST {'image' if len(dims) == 3 else 'label'} file",
            )
        if tuple(dims) != spec.shape:
            raise DataFileError(path, f"header declares shape {tuple(dims)}, expected {spec.shape}")
    if info.st_size != spec.size:
        raise DataFileError(
            path, f"{info.st_size:,} bytes, expected {spec.size:,}: truncated or not MNIST"
        )
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key not in _checksum_ok:
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        if digest != spec.md5:
            raise DataFileError(
                path,
                f"MD5 {digest} differs from the published {spec.md5}: "
                "the file is damaged or not the original MNIST",
            )
        _checksum_ok.add(key)


def _download(root: Path) -> None:
    """torchvision's download into root/MNIST/raw (it also unpacks .gz files found there)."""
    from torchvision.datasets import MNIST  # imported late: only a download needs it

    try:
        MNIST(str(root), train=False, download=True)
    except Exception as error:  # no network, read-only folder, bad mirror...
        reason = f"{type(error).__name__}: {error}"
        raise MissingDataError(missing_data_message(root, reason)) from None


def check_mnist(root: str | os.PathLike, names=MNIST_FILES, download: bool = True) -> None:
    """Make sure the named MNIST files are under root/MNIST/raw and intact: missing ones
    are downloaded when `download` (MissingDataError if that fails or is not allowed);
    a damaged one raises DataFileError naming the file and the problem."""
    root = Path(root)
    if any(not (raw_folder(root) / name).exists() for name in names):
        if not download:
            raise MissingDataError(missing_data_message(root))
        _download(root)
    for name in names:
        check_mnist_file(raw_folder(root) / name)


def _read_idx(path: Path) -> np.ndarray:
    spec = MNIST_IDX[path.name]
    return np.fromfile(path, dtype=np.uint8, offset=spec.header_size).reshape(spec.shape)


@functools.lru_cache(maxsize=4)
def mnist_uint8(root: str, train: bool, download: bool) -> tuple[np.ndarray, np.ndarray]:
    """A split's checked images (n, 784) and labels (n,) as uint8 numpy arrays, read once."""
    images_name, labels_name = SPLIT_FILES["train" if train else "test"]
    check_mnist(root, (images_name, labels_name), download)
    images = _read_idx(raw_folder(root) / images_name)
    labels = _read_idx(raw_folder(root) / labels_name)
    return images.reshape(len(images), -1), labels


def _load_uint8(root: str, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    images, labels = mnist_uint8(root, train, download)
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def ensure_mnist(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root, once all four MNIST files are there and intact (downloaded if
    missing and possible). Raises MissingDataError with the path and file names, or
    DataFileError naming a damaged file and its problem."""
    root = resolve_data_dir(data_dir)
    check_mnist(root)
    return root


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey-level images (n, 784) float32 in [0, 1] and labels (n,), loaded once.

    Raises MissingDataError with the path and file names when MNIST is missing and
    cannot be downloaded, DataFileError when a file is damaged.
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
        noise = images.new_empty(images.shape)
    noise.uniform_(generator=generator)
    if out is None:
        return (noise < images).to(images.dtype)
    import torch  # a cached module lookup; this module imports torch only where needed

    return torch.lt(noise, images, out=out)


def _binarized_once(images: torch.Tensor) -> torch.Tensor:
    """The protocol's fixed bits: one torch.bernoulli draw with a generator seeded 0."""
    import torch

    generator = torch.Generator().manual_seed(TEST_BINARIZATION_SEED)
    return torch.bernoulli(images, generator=generator)  # the protocol's exact call


def fixed_test_set(data_dir=None, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluation protocol's test set: the 10,000 test images in file order,
    binarized once with a generator seeded 0, so every version is scored on the same bits.
    """
    images, labels = load_mnist("test", data_dir)
    binary = _binarized_once(images)
    if limit is not None:
        binary, labels = binary[:limit], labels[:limit]
    return binary, labels


def fixed_validation_set(
    data_dir=None, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where recipes are chosen, never the test set: the last 10,000 training images,
    binarized once as the test set is. A run with train_size=VALIDATION_START (50,000)
    never sees them."""
    images, labels = load_mnist("train", data_dir)
    binary = _binarized_once(images[VALIDATION_START:])
    labels = labels[VALIDATION_START:]
    if limit is not None:
        binary, labels = binary[:limit], labels[:limit]
    return binary, labels
