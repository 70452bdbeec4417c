"""The estimator comparison: gumbel, st-gumbel and reinmax trained with one recipe and seed,
then scored on the fixed test set. It produced weights/gvae-{gumbel,st-gumbel,reinmax}.

    python -m experiments.estimators --save-dir runs/estimators   # 200 epochs each, k = 1000
    python -m experiments.estimators --seed 1 --save-dir runs/estimators-s1   # more seeds
    python -m experiments.estimators --record-seeds runs/estimators-s1 runs/estimators-s2
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
from gvae.weights import SUFFIX, WEIGHTS_DIR, load_card, load_model, save_model

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


def record_seeds(folder: Path, seed_dirs: list[Path]) -> None:
    """Store each estimator's runs over seeds (its own and those in seed_dirs, trained with the
    same recipe but the seed) in its card under seed_runs: the table's spread. Checks every
    estimator's runs before it changes any file."""
    runs = {}
    for estimator in ESTIMATORS:
        name = f"gvae-{estimator}{SUFFIX}"
        cards = [load_card(Path(d) / name) for d in [folder, *seed_dirs]]
        recipes = [{**card["train_config"], "seed": None} for card in cards]
        if any(recipe != recipes[0] for recipe in recipes):
            raise SystemExit(f"error: the {estimator} runs differ in more than their seed")
        runs[estimator] = [seed_run(card) for card in cards]
    for estimator, seeds in runs.items():
        shipped = Path(folder) / f"gvae-{estimator}{SUFFIX}"
        model = load_model(shipped)
        save_model(model, shipped, {**model.card, "seed_runs": seeds})
        print(f"{shipped}: {len(seeds)} seeds", file=sys.stderr)


def seed_run(card: dict) -> dict:
    """One run's test metrics: gvae-evaluate's if written, else this command's (the same
    evaluation, gvae.metrics.evaluate with k = 1000 and seed 0)."""
    metrics = card.get("metrics") or card["bench_metrics"]
    return {
        "seed": card["train_config"]["seed"],
        "neg_elbo": metrics["neg_elbo"],
        "iw_nll": metrics["iw_nll"],
        "iw_samples": metrics["iw_samples"],
        "train_seconds": card["train_seconds"],
    }


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
    q.add_argument(
        "--record-seeds",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="train nothing: store the runs saved in these folders in --into's cards",
    )
    q.add_argument("--into", type=Path, default=WEIGHTS_DIR, help="for --record-seeds")

    return q


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.record_seeds:
        record_seeds(args.into, args.record_seeds)
        return 0
    prepare_cpu()  # as gvae.train does
    start = time.perf_counter()
    rows = quality(args)
    if args.json:
        print(json.dumps(rows))
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
