"""Command line evaluation on the fixed binarized MNIST test set.

    python -m gvae.evaluate weights/gvae-default.pt [--iw-samples 1000] [--data-dir D]

Prints JSON with neg_elbo and iw_nll (nats) and the protocol; --write-card stores them
in the checkpoint's model card (see gvae.metrics for the definitions).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gvae.app.prior import write_stored_grid
from gvae.catalog import write_twin
from gvae.checkpoint import atomic_torch_save, load_model, read_checkpoint
from gvae.data import fixed_test_set
from gvae.errors import GvaeError
from gvae.metrics import evaluate

SUBSET_CHECK = {"n_images": 500, "iw_samples": 50}  # quick re-evaluation stored in cards


def write_metrics_to_card(path: Path, metrics: dict, subset: dict) -> dict:
    """Store the metrics in the checkpoint's card, then rewrite what describes the file's
    bytes: its JSON twin (gvae.catalog) and its stored prior grid (gvae.app.prior)."""
    payload = read_checkpoint(path)
    payload["card"] = {**payload.get("card", {}), "metrics": metrics, "subset_check": subset}
    atomic_torch_save(payload, path)
    write_stored_grid(path)
    return write_twin(path, payload["config"], payload["card"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m gvae.evaluate",
        description="Score a checkpoint on the fixed binarized MNIST test set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("weights", type=Path, help="a gvae checkpoint (.pt)")
    p.add_argument(
        "--iw-samples", type=int, default=1000, help="k of the importance-weighted bound"
    )
    p.add_argument(
        "--data-dir", default=None, help="MNIST root (default: $GVAE_DATA_DIR or ./data)"
    )
    p.add_argument("--limit", type=int, default=None, help="score only the first n test images")
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior samples")
    p.add_argument("--device", default="cpu")
    p.add_argument("--write-card", action="store_true", help="store the metrics in the model card")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        model = load_model(args.weights, device=args.device)
        images, _ = fixed_test_set(args.data_dir, limit=args.limit)
        metrics = evaluate(model, images, args.iw_samples, args.seed, progress=not args.no_progress)
        if args.write_card:
            n, k = SUBSET_CHECK["n_images"], SUBSET_CHECK["iw_samples"]
            subset = evaluate(model, images[:n], k, seed=0)
            write_metrics_to_card(args.weights, metrics, subset)
    except (GvaeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
