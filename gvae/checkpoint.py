"""Self-describing checkpoints: state dict + ModelConfig + model card, in one file.

Files load with torch.load(weights_only=True), so opening one never runs pickled code.
Every way a file can be wrong raises one CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gvae.config import ModelConfig
from gvae.errors import CheckpointError
from gvae.model import CategoricalVAE

FORMAT = "gvae-checkpoint"
VERSION = 1
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"  # beside the package
DEFAULT_WEIGHTS = WEIGHTS_DIR / "gvae-default.pt"
WEIGHTS_DIR_ENV = "GVAE_WEIGHTS_DIR"  # where the app lists and saves models (tests use a temp dir)


def user_weights_dir() -> Path:
    """The folder the app lists models from and saves to: $GVAE_WEIGHTS_DIR or weights/."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or WEIGHTS_DIR)


def atomic_torch_save(obj, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file in the target folder, then rename over the target,
    so a crash mid-write never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a checkpoint is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def checkpoint_payload(model: CategoricalVAE, card: dict | None = None) -> dict:
    """What a checkpoint file holds: plain tensors, the config and the card."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "card": dict(card or {}),
    }


def save_model(model: CategoricalVAE, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Write model weights, its config and a model card (recipe, metrics) atomically."""
    return atomic_torch_save(checkpoint_payload(model, card), path)


def model_to_bytes(model: CategoricalVAE, card: dict | None = None) -> bytes:
    """The checkpoint file's bytes, e.g. for a download button."""
    buffer = io.BytesIO()
    torch.save(checkpoint_payload(model, card), buffer)
    return buffer.getvalue()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """torch.load(weights_only=True) with every failure turned into a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # weights_only refuses to build arbitrary objects ("Unsupported global"): the file
        # holds pickled classes or code. Anything else it cannot parse is damaged.
        if "Unsupported global" in str(error):
            name = str(error).split("Unsupported global:")[-1].split()[:2]
            raise CheckpointError(
                path, f"refused: it holds pickled objects, not plain tensors ({' '.join(name)})"
            ) from None
        raise CheckpointError(path, "not a readable PyTorch file (corrupt or truncated?)") from None
    except Exception as error:  # the unpickler fails in many ways on damaged bytes
        raise CheckpointError(
            path, f"not a readable PyTorch file (corrupt or truncated?): {error}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            path,
            f"not a gvae checkpoint (expected a dict with format={FORMAT!r}; "
            "a bare state_dict or another project's file will not do)",
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            path, f"checkpoint version {payload.get('version')!r}, expected {VERSION}"
        )
    return payload


def model_from_payload(payload: dict, path) -> CategoricalVAE:
    try:
        config = ModelConfig.from_dict(payload["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"invalid model config: {error}") from None
    model = CategoricalVAE(config)
    try:
        model.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError, AttributeError) as error:
        raise CheckpointError(path, f"weights do not match the stored config: {error}") from None
    return model


def load_model(path: str | os.PathLike | None = None, device: str = "cpu") -> CategoricalVAE:
    """Load a checkpoint; path=None loads the shipped default weights. Eval mode."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    payload = read_checkpoint(path)
    model = model_from_payload(payload, path)
    model.card = payload.get("card", {})
    return model.to(device).eval()


def load_card(path: str | os.PathLike) -> dict:
    return read_checkpoint(path).get("card", {})


@dataclass
class WeightsEntry:
    """One file of a weights folder, as the model selector lists it."""

    name: str
    path: Path
    card: dict = field(default_factory=dict)
    error: str | None = None  # why it cannot be loaded, or None

    @property
    def ok(self) -> bool:
        return self.error is None


def list_weights(folder: str | os.PathLike | None = None) -> list[WeightsEntry]:
    """Every *.pt in the folder and the shipped default, the default first, each with its
    card or its load error.

    A bad file is reported in its entry, never raised, so one broken file in weights/
    cannot take the app down.
    """
    folder = Path(folder) if folder is not None else WEIGHTS_DIR
    entries = []
    for path in sorted(folder.glob("*.pt")):
        try:
            payload = read_checkpoint(path)
            model_from_payload(payload, path)
            entries.append(WeightsEntry(path.stem, path, payload.get("card", {})))
        except CheckpointError as error:
            entries.append(WeightsEntry(path.stem, path, error=error.problem))
    if folder.resolve() != WEIGHTS_DIR.resolve() and DEFAULT_WEIGHTS.exists():
        entries += [
            e for e in list_weights(WEIGHTS_DIR) if e.path.resolve() == DEFAULT_WEIGHTS.resolve()
        ]
    entries.sort(key=lambda e: (e.path.resolve() != DEFAULT_WEIGHTS.resolve(), e.name))
    return entries
