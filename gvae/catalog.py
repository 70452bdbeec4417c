"""The weights folder as the app lists it, without importing torch.

Every checkpoint has a JSON twin, `<name>.json`: its model card, its model config and the
sha256 of the checkpoint's bytes (a file cannot hold its own hash). When the hash matches,
the twin stands for the file, which was loaded when the twin was written, so listing the
shipped weights and showing their cards costs a hash, not `import torch` (~3 s on a 2-core
CPU, most of the app's cold start). A file without a matching twin is opened with
torch.load(weights_only=True) to be checked, exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from gvae.config import ModelConfig
from gvae.errors import CheckpointError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"  # beside the package
DEFAULT_WEIGHTS = WEIGHTS_DIR / "gvae-default.pt"
WEIGHTS_DIR_ENV = "GVAE_WEIGHTS_DIR"  # where the app lists and saves models (tests use a temp dir)


def user_weights_dir() -> Path:
    """The folder the app lists models from and saves to: $GVAE_WEIGHTS_DIR or weights/."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or WEIGHTS_DIR)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def twin_path(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def write_twin(path: str | os.PathLike, config: dict, card: dict) -> dict:
    """Write `<name>.json` beside a checkpoint just written: its card, config and sha256."""
    path = Path(path)
    twin = {**card, "model_config": config, "file": path.name, "sha256": file_sha256(path)}
    tmp = twin_path(path).with_name(f".{path.stem}.json.tmp")
    tmp.write_text(json.dumps(twin, indent=2) + "\n")
    os.replace(tmp, twin_path(path))  # never a half-written twin
    return twin


def read_twin(path: str | os.PathLike, sha256: str) -> dict | None:
    """The twin's card if it describes exactly these bytes (same sha256), else None."""
    try:
        twin = json.loads(twin_path(path).read_text())
        if twin.get("sha256") == sha256:
            ModelConfig.from_dict(twin["model_config"])  # a twin we cannot use is no twin
            return twin
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return None


@dataclass
class WeightsEntry:
    """One file of a weights folder, as the model selector lists it."""

    name: str
    path: Path
    card: dict = field(default_factory=dict)
    error: str | None = None  # why it cannot be loaded, or None
    config: dict | None = None  # ModelConfig as a dict
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(path: Path) -> WeightsEntry:
    """One file's entry: from its twin when the hash matches, else by loading it."""
    sha256 = file_sha256(path)
    twin = read_twin(path, sha256)
    if twin is not None:
        return WeightsEntry(path.stem, path, twin, config=twin["model_config"], sha256=sha256)
    from gvae.checkpoint import model_from_payload, read_checkpoint  # imports torch

    try:
        payload = read_checkpoint(path)
        model_from_payload(payload, path)
    except CheckpointError as error:
        return WeightsEntry(path.stem, path, error=error.problem, sha256=sha256)
    card = payload.get("card", {})
    return WeightsEntry(path.stem, path, card, config=payload["config"], sha256=sha256)


def list_weights(folder: str | os.PathLike | None = None) -> list[WeightsEntry]:
    """Every *.pt in the folder and the shipped default, the default first, each with its
    card or its load error.

    A bad file is reported in its entry, never raised, so one broken file in weights/
    cannot take the app down.
    """
    folder = Path(folder) if folder is not None else WEIGHTS_DIR
    paths = sorted(folder.glob("*.pt"))
    if DEFAULT_WEIGHTS.exists() and all(p.resolve() != DEFAULT_WEIGHTS.resolve() for p in paths):
        paths.append(DEFAULT_WEIGHTS)
    entries = [describe(p) for p in paths]
    entries.sort(key=lambda e: (e.path.resolve() != DEFAULT_WEIGHTS.resolve(), e.name))
    return entries
