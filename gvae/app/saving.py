"""Where the Train page may save a model, and what to say when it cannot.

Rules: a name is 1-64 letters, digits, '-', '_' or '.'; names starting with 'gvae-' belong
to the shipped weights and are refused whatever their case (so are the shipped default's);
an existing file this session did not save is only replaced once the person confirms;
a write that fails (full disk, read-only folder, a "folder" that is a file) leaves the old
file as it was and is described in one line.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

from gvae.errors import GvaeError
from gvae.weights import SHIPPED_NAMES, save_model
from gvae.weights import SUFFIX as WEIGHTS_SUFFIX  # the one place the extension is written

SHIPPED_PREFIX = "gvae-"  # weights/gvae-*: shipped with the app (and names kept for it)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class SaveRefused(ValueError):
    """The name or the folder cannot be used; the message says why."""


class NeedsConfirmation(Exception):
    """The target exists and was not saved by this session: ask before replacing it."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path.name} already exists")


class SaveError(GvaeError):
    """Writing failed; the message is one line, and any old file is unchanged."""


def model_name(text: str) -> str:
    """The name typed, without the weights extension; SaveRefused if it is not allowed."""
    name = text.strip()
    if name.lower().endswith(WEIGHTS_SUFFIX):
        name = name[: -len(WEIGHTS_SUFFIX)]
    if not _NAME.fullmatch(name):
        raise SaveRefused(
            "use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    if name.lower().startswith(SHIPPED_PREFIX) or name.lower() in SHIPPED_NAMES:
        raise SaveRefused(
            f"names starting with {SHIPPED_PREFIX!r} belong to the shipped weights, "
            "which cannot be overwritten; choose another name"
        )
    return name


def save_target(text: str, folder: Path, saved_here: set[str], confirmed: bool = False) -> Path:
    """The file to write for the name `text` in `folder`. Raises SaveRefused for a bad
    name or a folder that is not one, NeedsConfirmation for an existing file whose
    lower-case name is not in `saved_here` (the files this session saved) unless
    `confirmed`. Names compare case-insensitively, as on macOS and Windows disks."""
    name = model_name(text)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SaveRefused(f"the weights folder {folder} is a file, not a folder (GVAE_WEIGHTS_DIR)")
    wanted = (name + WEIGHTS_SUFFIX).lower()
    existing = None
    if folder.is_dir():
        existing = next((p for p in folder.iterdir() if p.name.lower() == wanted), None)
    if existing is not None and not existing.is_file():
        raise SaveRefused(f"{existing.name} exists and is not a regular file")
    if existing is not None and existing.name.lower() not in saved_here and not confirmed:
        raise NeedsConfirmation(existing)
    return existing if existing is not None else folder / (name + WEIGHTS_SUFFIX)


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this system allows",
    errno.EROFS: "the weights folder is on a read-only file system",
    errno.EACCES: "no permission to write in the weights folder",
    errno.EPERM: "no permission to write in the weights folder",
    errno.ENOTDIR: "the weights folder is not a folder",
    errno.EEXIST: "the weights folder is not a folder",
}


def write_weights(model, path: Path, card: dict) -> Path:
    """gvae.weights.save_model (a temporary file renamed over the target, so a failure
    leaves any old file as it was); a failed write raises SaveError in one line."""
    try:
        return save_model(model, path, card=card)
    except (OSError, RuntimeError) as error:  # torch reported a full disk as RuntimeError
        raise SaveError(describe_write_error(error)) from None


def describe_write_error(error: BaseException) -> str:
    """One line for a failed write, without a traceback."""
    if isinstance(error, OSError) and error.errno in _REASONS:
        return _REASONS[error.errno]
    if isinstance(error, RuntimeError) and (
        "unexpected pos" in str(error) or "write" in str(error)
    ):
        return "the file could not be written completely (is the disk full?)"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:120]}"
