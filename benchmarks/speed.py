"""Training and decoding speed, measured in one run so the ratios compare like with like.

    python -m benchmarks.speed            # whole processes, ms per step, floor, RSS, decoding

1. Per epoch, as whole processes: `python -m benchmarks.article_loop` (the reference
   article's loop as written) against `python -m gvae.train`, each timed for 1 and for 2
   epochs; the marginal T(2) - T(1), fastest of alternating runs, is one epoch without
   the start-up (imports, data loading, saving).
2. Per step, in this process: the Trainer against the article's step, in interleaved
   blocks, and against the arithmetic floor: 6 x params x batch floating-point operations
   at the GFLOP/s of a 1024 x 1024 matrix product, measured between the same blocks, and
   the step's own matrix products timed alone (what the floor would take at batch 100).

The article's loop (benchmarks.article_loop) is the baseline being timed; it lives here,
not in the library, because gvae never trains it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.article_loop import article_style_step_fn
from benchmarks.machine import describe as machine
from gvae.config import TrainConfig
from gvae.trainer import Trainer, prepare_cpu


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
    """Steps/s of `trainer` in a plain loop for `seconds`, after `warmup` untimed steps:
    the baseline the app's training is compared with. Call prepare_cpu() first, as
    `python -m gvae.train` does, before this process builds any Trainer."""
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


# -- whole processes: seconds per epoch by the marginal method ---------------------------
def process_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def epoch_commands(data_dir, train_size: int | None, out: Path) -> dict:
    """name -> (epochs -> the command line that trains that many epochs)."""
    data = ["--data-dir", str(data_dir)] if data_dir is not None else []
    size = ["--train-size", str(train_size)] if train_size is not None else []
    python = [sys.executable, "-m"]
    return {
        "article": lambda e: [*python, "benchmarks.article_loop", "--epochs", str(e), *data, *size],
        "gvae": lambda e: [
            *python, "gvae.train", "--epochs", str(e), "--out", str(out), "--no-progress",
            *data, *size,
        ],
    }  # fmt: skip


def seconds_per_epoch(data_dir, train_size: int | None, repeats: int) -> dict:
    """Per-epoch seconds of each loop, min T(2 epochs) - min T(1 epoch), the runs alternating
    between the loops so both see the same background load."""
    with tempfile.TemporaryDirectory() as tmp:
        commands = epoch_commands(data_dir, train_size, Path(tmp) / "speed.safetensors")
        times = {(name, e): [] for name in commands for e in (1, 2)}
        for _ in range(repeats):
            for epochs in (1, 2):
                for name, command in commands.items():
                    times[name, epochs].append(process_seconds(command(epochs)))
    return {
        name: {
            "t1": min(times[name, 1]),
            "t2": min(times[name, 2]),
            "per_epoch": min(times[name, 2]) - min(times[name, 1]),
        }
        for name in commands
    }


def matrix_products_fn(model, batch: int = 100):
    """One training step's matrix products and nothing else, at the step's own shapes: the
    six layers forward, then each weight's gradient and every input gradient but the
    first layer's (which autograd skips too). The floor this step could reach."""
    weights = [m.weight.detach().t().contiguous() for m in model.modules() if hasattr(m, "weight")]
    x = torch.rand(batch, weights[0].shape[0])
    out_grad = torch.randn(batch, weights[-1].shape[1])

    def products():
        inputs, h = [], x
        for w in weights:  # forward: (B, n_in) @ (n_in, n_out)
            inputs.append(h)
            h = h @ w
        g = out_grad
        for i in reversed(range(len(weights))):
            inputs[i].t() @ g  # weight gradient (n_in, n_out)
            if i:
                g = g @ weights[i].t()  # input gradient (B, n_in)

    return products


# -- in-process: ms per step against the article's step and the arithmetic floor ---------
def step_times(args: argparse.Namespace) -> dict:
    prepare_cpu()  # as gvae.train and the Train page's worker run
    trainer = Trainer(TrainConfig(epochs=1000, batch_size=100), data_dir=args.data_dir)
    article_step = article_style_step_fn(args.data_dir)
    time_steps(trainer.train_step, args.warmup, 0)
    time_steps(article_step, args.warmup, 0)
    products = matrix_products_fn(trainer.model)
    time_steps(products, args.warmup, 0)
    # Interleaved blocks, so both loops and the floors see the same background load.
    ours, article, mm, gflops, block = [], [], [], [], 20
    for _ in range(max(1, args.steps // block)):
        ours += time_steps(trainer.train_step, 0, block)
        article += time_steps(article_step, 0, block)
        mm += time_steps(products, 0, block)
        gflops.append(matmul_gflops(repeats=5))
    return {"ours": ours, "article": article, "mm": mm, "gflops": statistics.median(gflops)}


def speed(args: argparse.Namespace) -> dict:
    from gvae.model import CategoricalVAE
    from gvae.weights import load_model

    print(f"machine: {machine()}")
    start = time.perf_counter()
    epochs = seconds_per_epoch(args.data_dir, args.epoch_images, args.process_repeats)
    print(f"whole processes: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    steps = step_times(args)
    params = sum(p.numel() for p in CategoricalVAE().parameters())
    floor_ms = 6 * params * 100 / (steps["gflops"] * 1e9) * 1e3
    ours_ms, article_ms = statistics.median(steps["ours"]), statistics.median(steps["article"])
    mm_ms = statistics.median(steps["mm"])

    model = load_model() if not args.untrained else CategoricalVAE().eval()
    one = torch.randint(10, (1, 20))
    atlas = torch.randint(10, (200, 20))
    decode_1 = time_steps(lambda: model.decode_codes(one), 20, args.decode_repeats)
    decode_200 = time_steps(lambda: model.decode_codes(atlas), 5, args.decode_repeats)
    rss = peak_rss_of_training(args.rss_steps, args.data_dir)

    images = f"{args.epoch_images:,} images" if args.epoch_images else "60,000 images"
    article_epoch, gvae_epoch = epochs["article"]["per_epoch"], epochs["gvae"]["per_epoch"]
    epoch_steps = -(-(args.epoch_images or 60_000) // 100)  # batch 100

    def process_row(name: str, what: str) -> dict:
        e = epochs[name]
        return {
            "measure": f"one epoch, {what} (s, T(2) - T(1) = {e['t2']:.2f} - {e['t1']:.2f})",
            "value": round(e["per_epoch"], 2),
        }

    rows = [
        process_row("article", "the article's loop as written, python -m benchmarks.article_loop"),
        process_row("gvae", "python -m gvae.train"),
        {
            "measure": "per-epoch speed-up, whole processes",
            "value": f"{article_epoch / gvae_epoch:.2f}x",
        },
        {"measure": "train step, gvae Trainer (ms, median)", "value": round(ours_ms, 2)},
        {"measure": "train step, article-style loop (ms, median)", "value": round(article_ms, 2)},
        {
            "measure": "speed-up over the article-style loop",
            "value": f"{article_ms / ours_ms:.2f}x",
        },
        {
            "measure": f"arithmetic floor: 6 x {params:,} params x 100 "
            f"at {steps['gflops']:.0f} GFLOP/s (ms)",
            "value": round(floor_ms, 2),
        },
        {"measure": "Trainer step / floor", "value": f"{ours_ms / floor_ms:.2f}x"},
        {
            "measure": "the step's matrix products alone, at its shapes (ms, median)",
            "value": round(mm_ms, 2),
        },
        {"measure": "matrix products alone / floor", "value": f"{mm_ms / floor_ms:.2f}x"},
        {"measure": "Trainer step / its own matrix products", "value": f"{ours_ms / mm_ms:.2f}x"},
        {  # what the target can reach here: a step no faster than its fp32 products
            "measure": "ceiling of the per-epoch speed-up: the article's epoch / "
            f"({epoch_steps} steps x the matrix products alone)",
            "value": f"{article_epoch / (epoch_steps * mm_ms / 1e3):.2f}x",
        },
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
        f"{machine()}. Whole processes: {images} per epoch, fastest of {args.process_repeats} "
        f"alternating runs of each. Steps: batch 100, {len(steps['ours'])} timed steps of "
        f"each loop in interleaved blocks of 20 after {args.warmup} warm-up steps, the "
        "matrix-product GFLOP/s measured between the blocks (median).",
    )
    return {r["measure"]: r["value"] for r in rows}


def build_parser() -> argparse.ArgumentParser:
    sp = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=__doc__.splitlines()[0]
    )
    sp.add_argument("--steps", type=int, default=200, help="timed steps of each loop")
    sp.add_argument("--warmup", type=int, default=20)
    sp.add_argument(
        "--process-repeats", type=int, default=3, help="runs of each whole-process timing"
    )
    sp.add_argument(
        "--epoch-images",
        type=int,
        default=None,
        help="images per epoch of the whole-process runs (default: all 60,000)",
    )
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
