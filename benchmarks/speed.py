"""Training and decoding speed, measured in one run so the ratios compare like with like.

    python -m benchmarks.speed            # ms per step: the Trainer against the article's loop

The article-style loop (benchmarks.article_loop) is the baseline being timed; it lives here,
not in the library, because gvae never trains it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from benchmarks.article_loop import article_style_step_fn
from gvae.config import TrainConfig
from gvae.trainer import Trainer


def print_table(rows: list[dict], caption: str) -> None:
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    print(f"\n{caption}")


# -- speed: the Trainer against the reference article's training loop -------------------
def time_steps(step, warmup: int, steps: int) -> list[float]:
    """Milliseconds of each of `steps` calls of step(), after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def cli_steps_per_s(trainer, seconds: float, warmup: int = 20) -> float:
    """Steps/s of `trainer` in a plain loop for `seconds`, as `python -m gvae.train` runs it
    (subnormal floats flushed), after `warmup` untimed steps: the baseline the app's
    training is compared with."""
    torch.set_flush_denormal(True)
    for _ in range(warmup):
        trainer.train_step()
    start, end = trainer.step, time.perf_counter() + seconds
    while time.perf_counter() < end:
        trainer.train_step()
    return (trainer.step - start) / seconds


def matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    times = time_steps(lambda: a @ b, 3, repeats)
    return 2 * size**3 / (statistics.median(times) / 1e3) / 1e9


def peak_rss_of_training(steps: int, data_dir) -> float:
    """Peak resident memory (MB) of a fresh process that trains on all 60,000 images."""
    code = (
        "import resource, gvae; "
        f"t = gvae.Trainer(gvae.TrainConfig(max_steps={steps}), data_dir={str(data_dir)!r} if {data_dir is not None} else None); "
        "t.run(); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # Linux reports KiB


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def speed(args: argparse.Namespace) -> dict:
    from gvae.model import CategoricalVAE
    from gvae.weights import load_model

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores",
        file=sys.stderr,
    )
    trainer = Trainer(TrainConfig(epochs=1000, batch_size=100), data_dir=args.data_dir)
    article_step = article_style_step_fn(args.data_dir)
    time_steps(trainer.train_step, args.warmup, 0)
    time_steps(article_step, args.warmup, 0)
    # Interleaved blocks, so both loops see the same background load on a shared machine.
    ours, article, block = [], [], 20
    for _ in range(max(1, args.steps // block)):
        ours += time_steps(trainer.train_step, 0, block)
        article += time_steps(article_step, 0, block)
    params = sum(p.numel() for p in CategoricalVAE().parameters())
    gflops = matmul_gflops()
    floor_ms = 6 * params * 100 / (gflops * 1e9) * 1e3
    ours_ms, article_ms = statistics.median(ours), statistics.median(article)

    model = load_model() if not args.untrained else CategoricalVAE().eval()
    one = torch.randint(10, (1, 20))
    atlas = torch.randint(10, (200, 20))
    decode_1 = time_steps(lambda: model.decode_codes(one), 20, args.decode_repeats)
    decode_200 = time_steps(lambda: model.decode_codes(atlas), 5, args.decode_repeats)
    rss = peak_rss_of_training(args.rss_steps, args.data_dir)

    rows = [
        {"measure": "train step, gvae Trainer (ms, median)", "value": round(ours_ms, 2)},
        {"measure": "train step, article-style loop (ms, median)", "value": round(article_ms, 2)},
        {
            "measure": "speed-up over the article-style loop",
            "value": f"{article_ms / ours_ms:.2f}x",
        },
        {
            "measure": f"arithmetic floor: 6 x {params:,} params x 100 at {gflops:.0f} GFLOP/s (ms)",
            "value": round(floor_ms, 2),
        },
        {"measure": "Trainer step / floor", "value": f"{ours_ms / floor_ms:.2f}x"},
        {
            "measure": f"peak RSS, {args.rss_steps} training steps on 60,000 images (MB)",
            "value": round(rss),
        },
        {
            "measure": "decode 1 code (ms, median / p95)",
            "value": f"{statistics.median(decode_1):.3f} / {percentile(decode_1, 95):.3f}",
        },
        {
            "measure": "decode 200 codes (ms, median / p95)",
            "value": f"{statistics.median(decode_200):.3f} / {percentile(decode_200, 95):.3f}",
        },
    ]
    print_table(
        rows,
        f"CPU, batch 100: {len(ours)} timed steps of each loop, in interleaved blocks of "
        f"{block} steps, after {args.warmup} warm-up steps",
    )
    return {r["measure"]: r["value"] for r in rows}


def build_parser() -> argparse.ArgumentParser:
    sp = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=__doc__.splitlines()[0]
    )
    sp.add_argument("--steps", type=int, default=200, help="timed steps of each loop")
    sp.add_argument("--warmup", type=int, default=20)
    sp.add_argument("--decode-repeats", type=int, default=200)
    sp.add_argument("--rss-steps", type=int, default=300)
    sp.add_argument("--data-dir", default=None)
    sp.add_argument(
        "--untrained", action="store_true", help="time decoding without loading weights"
    )
    sp.add_argument("--json", action="store_true")
    return sp


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    rows = speed(args)
    if args.json:
        print(json.dumps(rows))
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
