"""Command line evaluation on the fixed binarized MNIST test set (docs/evaluation.md).

    gvae-evaluate weights/gvae-default.safetensors [--iw-samples 1000] [--data-dir D]
    gvae-evaluate runs/candidate.safetensors --split valid    # choosing a recipe

Prints JSON with neg_elbo and iw_nll (nats) and the protocol; --write-card stores them in
the file's model card (see gvae.metrics for the definitions). Recipes are compared on
--split valid (the last 10,000 training images), never on the test set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gvae.data import fixed_test_set, fixed_validation_set
from gvae.errors import GvaeError
from gvae.metrics import evaluate
from gvae.weights import load_model, save_model

SUBSET_CHECK = {"n_images": 500, "iw_samples": 50}  # quick re-evaluation stored in cards
SPLITS = {"test": fixed_test_set, "valid": fixed_validation_set}  # 10,000 images each


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gvae-evaluate",
        description="Score a weights file on the fixed binarized MNIST test set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("weights", type=Path, help="a gvae weights file (.safetensors)")
    p.add_argument(
        "--iw-samples", type=positive_int, default=1000, help="k of the importance-weighted bound"
    )
    p.add_argument(
        "--data-dir", default=None, help="MNIST root (default: $GVAE_DATA_DIR or ./data)"
    )
    p.add_argument(
        "--limit", type=positive_int, default=None, help="score the first n of the 10,000"
    )
    p.add_argument(
        "--split",
        choices=list(SPLITS),
        default="test",
        help="valid: the last 10,000 training images, for choosing recipes",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the posterior samples")
    p.add_argument("--device", default="cpu")
    p.add_argument("--write-card", action="store_true", help="store the metrics in the model card")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        model = load_model(args.weights, device=args.device)
        images, _ = SPLITS[args.split](args.data_dir, limit=args.limit)
        metrics = evaluate(model, images, args.iw_samples, args.seed, progress=not args.no_progress)
        metrics["split"] = args.split
        if args.split == "valid":
            metrics["protocol"] = metrics["protocol"].replace(
                "MNIST test set, 10,000 images", "the last 10,000 MNIST training images"
            )
        if args.write_card and args.split == "valid":
            save_model(model.cpu(), args.weights, {**model.card, "valid_metrics": metrics})
        elif args.write_card:
            n, k = SUBSET_CHECK["n_images"], SUBSET_CHECK["iw_samples"]
            subset = evaluate(model, images[:n], k, seed=0)
            card = {**model.card, "metrics": metrics, "subset_check": subset}
            save_model(model.cpu(), args.weights, card)
    except (GvaeError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
