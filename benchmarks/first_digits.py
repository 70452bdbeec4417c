"""Digits soon after Start: seconds from pressing Start to recognizable digits.

    python -m benchmarks.first_digits                 # the Train page's defaults (QUICK_DEMO)
    python -m benchmarks.first_digits --set lr=2e-3   # the same with a field changed
    python -m benchmarks.first_digits --app           # in the Train page's worker process

The clock runs while the Trainer is built (MNIST read from disk) and while it trains, as
in the Train page's worker. Every --every seconds of that clock it stops while the model
is scored on the first 1,000 images of the fixed test set (k = 1, gvae.metrics.evaluate);
the run ends at the first score at or below --target nats (130: recognizable digits).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time

import torch

from benchmarks.machine import describe as machine
from benchmarks.speed import print_table
from gvae import data
from gvae.config import QUICK_DEMO, TrainConfig
from gvae.metrics import evaluate
from gvae.trainer import Trainer, prepare_cpu


def with_overrides(config: TrainConfig, assignments: list[str]) -> TrainConfig:
    """QUICK_DEMO with `field=value` assignments applied, each parsed as its field's type."""
    types = {f.name: type(getattr(config, f.name)) for f in dataclasses.fields(config)}
    changes = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if name not in types:
            raise SystemExit(f"error: TrainConfig has no field {name!r}")
        kind = types[name]
        changes[name] = (
            None if value == "None" else (float(value) if kind is float else kind(value))
        )
    return dataclasses.replace(config, **changes)


def outcome(checks: list[tuple], target: float, load_s: float) -> dict:
    """A run's result from its (seconds, steps, test -ELBO) checks."""
    reached = bool(checks) and checks[-1][2] <= target
    return {
        "seconds": checks[-1][0] if reached else None,
        "steps": checks[-1][1],
        "score": checks[-1][2],
        "previous": checks[-2] if len(checks) > 1 else None,
        "load_s": load_s,
        "checks": checks,
    }


def time_to_target(
    config: TrainConfig, test: torch.Tensor, target: float, every: float, limit_s: float, data_dir
) -> dict:
    """Train with `config` until test -ELBO (k = 1) <= target; the clock stops while scoring."""
    data.mnist_uint8.cache_clear()  # the page's worker reads MNIST from disk at Start
    start = time.perf_counter()
    trainer = Trainer(config, data_dir=data_dir)
    clock = load_s = time.perf_counter() - start
    checks = []  # (seconds on the clock, steps, test -ELBO)
    while not trainer.done and clock < limit_s:
        start = time.perf_counter()
        deadline = start + every
        while not trainer.done and time.perf_counter() < deadline:
            trainer.train_step()
        clock += time.perf_counter() - start
        score = evaluate(trainer.model, test, iw_samples=1, seed=0)["neg_elbo"]
        checks.append((clock, trainer.step, score))
        if score <= target:
            break
    return outcome(checks, target, load_s)


def time_to_target_in_worker(
    config: TrainConfig, test: torch.Tensor, target: float, every: float, limit_s: float, data_dir
) -> dict:
    """As the Train page runs it: the clock starts where Start's callback launches the
    worker (gvae.app.jobs.TrainingJob, forked from the preloaded server, MNIST read there)
    and never stops. Every `every` s the worker's weights are read while it trains on, as
    the page reads them for its previews, and scored here (k = 1)."""
    from gvae.app.jobs import TrainingJob

    start = time.perf_counter()
    job = TrainingJob(config, data_dir)
    load_s = time.perf_counter() - start
    job.start()
    checks = []  # (seconds since Start, steps, test -ELBO)
    try:
        while time.perf_counter() - start < limit_s:
            time.sleep(every)  # the page reads the weights once a second
            model, card = job.snapshot()
            clock = time.perf_counter() - start
            score = evaluate(model, test, iw_samples=1, seed=0)["neg_elbo"]
            checks.append((clock, card["steps"], score))
            if score <= target or job.done:
                break
    finally:
        job.close()
    return outcome(checks, target, load_s)


def warm_workers(config: TrainConfig, data_dir) -> None:
    """Start the worker server and wait until it has imported torch, as it has by the time
    someone on the Train page presses Start (the page starts it when it is first shown)."""
    from gvae.app.jobs import TrainingJob, prepare_workers

    prepare_workers()
    TrainingJob(config, data_dir).close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.first_digits", description=__doc__)
    p.add_argument("--target", type=float, default=130.0, help="test -ELBO (nats) to reach")
    p.add_argument("--every", type=float, default=1.0, help="seconds of training per check")
    p.add_argument("--test-images", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--limit", type=float, default=120.0, help="give up after this many seconds")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=VALUE",
        help="change fields of gvae.config.QUICK_DEMO, e.g. lr=2e-3 train_size=5000",
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument("--trajectory", action="store_true", help="print every check")
    p.add_argument(
        "--app",
        action="store_true",
        help="train in the Train page's worker process (clock never stops) instead of here",
    )
    args = p.parse_args(argv)

    prepare_cpu()  # as gvae.train and the Train page's worker run
    config = with_overrides(QUICK_DEMO, args.set)
    print(f"machine: {machine()}")
    print(f"config: {config}")
    test, _ = data.fixed_test_set(args.data_dir, limit=args.test_images)
    if args.app:
        warm_workers(config, args.data_dir)
    rows, seconds = [], []
    for seed in args.seeds:
        run = (time_to_target_in_worker if args.app else time_to_target)(
            dataclasses.replace(config, seed=seed),
            test,
            args.target,
            args.every,
            args.limit,
            args.data_dir,
        )
        if args.trajectory:
            for clock, step, score in run["checks"]:
                print(f"seed {seed}: {clock:6.2f} s, step {step:5d}, test -ELBO {score:.1f}")
        previous = run["previous"]
        rows.append(
            {
                "seed": seed,
                f"seconds to <= {args.target:g} nats": "not reached"
                if run["seconds"] is None
                else f"{run['seconds']:.1f}",
                "steps": run["steps"],
                "test -ELBO then": f"{run['score']:.1f}",
                "check before": f"{previous[0]:.1f} s: {previous[2]:.1f}" if previous else "-",
                ("worker up, MNIST read (s)" if args.app else "data loading (s)"): (
                    f"{run['load_s']:.2f}"
                ),
            }
        )
        if run["seconds"] is not None:
            seconds.append(run["seconds"])
    clock = (
        "Clock: from Start's launch of the Train page's worker to the weights that scored, "
        f"never stopped; the weights read every {args.every:g} s"
        if args.app
        else "Clock: Trainer built (MNIST read) and training; scored every "
        f"{args.every:g} s of it, off the clock"
    )
    print_table(
        rows,
        f"{machine()}. {clock}; scored on the first {len(test):,} fixed test images (k = 1).",
    )
    if len(seconds) == len(rows):
        print(f"median over seeds: {statistics.median(seconds):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
