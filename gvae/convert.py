"""Convert a gvae checkpoint of the old format (.pt, torch.save) to safetensors.

    python -m gvae.convert weights/my-model.pt        # writes weights/my-model.safetensors

The old file is opened with torch.load(weights_only=True), which never runs pickled code;
its tensors, config and card are written to the new format (gvae.weights).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

from gvae.errors import CheckpointError, GvaeError
from gvae.weights import SUFFIX, read_bytes, save_model

OLD_FORMAT, OLD_VERSION = "gvae-checkpoint", 1
TWIN_ONLY_FIELDS = ("file", "sha256")  # described the old file's bytes, not the model


def load_old_checkpoint(path: str | Path):
    """The model and card of a version-1 .pt checkpoint."""
    import io

    import torch

    from gvae.config import ModelConfig
    from gvae.model import CategoricalVAE

    data = read_bytes(path)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(path, f"refused: it holds pickled objects ({error})") from None
    except Exception as error:  # the unpickler fails in many ways on damaged bytes
        raise CheckpointError(path, f"not a readable PyTorch file: {error}") from None
    if not (isinstance(payload, dict) and payload.get("format") == OLD_FORMAT):
        raise CheckpointError(path, f"not a gvae checkpoint (format={OLD_FORMAT!r})")
    try:
        model = CategoricalVAE(ModelConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(path, f"weights do not match the stored config: {error}") from None
    card = {k: v for k, v in dict(payload.get("card", {})).items() if k not in TWIN_ONLY_FIELDS}
    return model, card


def convert(path: Path, out: Path | None = None) -> Path:
    model, card = load_old_checkpoint(path)
    return save_model(model, out or path.with_suffix(SUFFIX), card)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gvae.convert", description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path, help="old .pt checkpoints")
    p.add_argument("--out", type=Path, default=None, help="output file (one input only)")
    args = p.parse_args(argv)
    if args.out is not None and len(args.checkpoints) > 1:
        p.error("--out takes one input checkpoint")
    try:
        for path in args.checkpoints:
            print(convert(path, args.out))
    except GvaeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
