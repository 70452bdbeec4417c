"""Self-describing checkpoints: state dict + ModelConfig + model card, in one file.

Files load with torch.load(weights_only=True), so opening one never runs pickled code.
Every way a file can be wrong raises one CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path

import torch

from gvae.catalog import DEFAULT_WEIGHTS, write_twin
from gvae.config import ModelConfig
from gvae.errors import CheckpointError
from gvae.model import CategoricalVAE

FORMAT = "gvae-checkpoint"
VERSION = 1


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
    """Write model weights, its config and a model card (recipe, metrics) atomically, and
    the JSON twin that lets the app list it without torch (gvae.catalog)."""
    payload = checkpoint_payload(model, card)
    path = atomic_torch_save(payload, path)
    write_twin(path, payload["config"], payload["card"])
    return path


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
