"""The estimator comparison: gumbel, st-gumbel and reinmax trained with one recipe and seed,
then scored on the fixed test set. It produced weights/gvae-{gumbel,st-gumbel,reinmax}.

    python -m experiments.estimators --save-dir runs/estimators   # 200 epochs each, k = 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from gvae.config import ESTIMATORS, TrainConfig, add_arguments, from_args
from gvae.data import fixed_test_set
from gvae.metrics import evaluate
from gvae.trainer import Trainer, prepare_cpu
from gvae.weights import SUFFIX, WEIGHTS_DIR

RECIPE = TrainConfig(epochs=200, lr_schedule="cosine")  # every estimator's, unless a flag differs


def quality(args: argparse.Namespace) -> list[dict]:
    """Train every estimator with one recipe, then score each on the fixed test set."""
    from gvae.train import train_with_progress

    base = from_args(args, TrainConfig, RECIPE)
    test, _ = fixed_test_set(args.data_dir, limit=args.test_limit)
    rows = []
    for estimator in args.estimators:
        trainer = Trainer(replace(base, estimator=estimator), data_dir=args.data_dir)
        print(f"== {estimator}: {trainer.total_steps} steps", file=sys.stderr)
        train_with_progress(trainer, show=not args.no_progress)
        metrics = evaluate(trainer.model, test, args.iw_samples, seed=0)
        row = {
            "estimator": estimator,
            "neg_elbo": round(metrics["neg_elbo"], 2),
            "iw_nll": round(metrics["iw_nll"], 2),
            "train_s": round(trainer.elapsed_s, 1),
            "final_tau": round(trainer.history[-1]["tau"], 3),
            "steps": trainer.step,
        }
        rows.append(row)
        if args.save_dir:
            out = Path(args.save_dir) / f"gvae-{estimator}{SUFFIX}"
            command = "python -m experiments.estimators " + " ".join(sys.argv[1:])
            trainer.save_model(out, card={"command": command, "bench_metrics": metrics})
            print(f"saved {out}", file=sys.stderr)
    print_table(rows, f"test images: {len(test)}, iw samples: {args.iw_samples}")
    return rows


def print_table(rows: list[dict], caption: str) -> None:
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    print(f"\n{caption}")


def build_parser() -> argparse.ArgumentParser:
    q = argparse.ArgumentParser(
        prog="python -m experiments.estimators", description=__doc__.splitlines()[0]
    )
    add_arguments(q.add_argument_group("the shared recipe"), TrainConfig, RECIPE, ["estimator"])
    q.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    q.add_argument("--iw-samples", type=int, default=1000)
    q.add_argument("--test-limit", type=int, default=None, help="score the first n test images")
    q.add_argument("--data-dir", default=None)
    q.add_argument("--save-dir", default=None, help=f"save each model here (e.g. {WEIGHTS_DIR})")
    q.add_argument("--no-progress", action="store_true")
    q.add_argument("--json", action="store_true", help="also print the rows as JSON")

    return q


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prepare_cpu()  # as gvae.train does
    start = time.perf_counter()
    rows = quality(args)
    if args.json:
        print(json.dumps(rows))
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
