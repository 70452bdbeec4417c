"""Benchmarks, each measured in one run so its ratios compare like with like.

python -m gvae.bench quality --epochs 30    # the three estimators, same budget and seed
python -m gvae.bench speed                  # ms per step against the article's loop
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from gvae.catalog import WEIGHTS_DIR
from gvae.config import ESTIMATORS, TrainConfig
from gvae.data import fixed_test_set
from gvae.metrics import evaluate
from gvae.trainer import Trainer


# -- quality: the estimator table ------------------------------------------------------
def quality(args: argparse.Namespace) -> list[dict]:
    """Train every estimator with one recipe, then score each on the fixed test set."""
    from gvae.train import train_with_progress

    base = TrainConfig(
        epochs=args.epochs,
        max_steps=args.max_steps,
        train_size=args.train_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        tau0=args.tau0,
        tau_min=args.tau_min,
        anneal_rate=args.anneal_rate,
        seed=args.seed,
    )
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
            out = Path(args.save_dir) / f"gvae-{estimator}.pt"
            command = "python -m gvae.bench quality " + " ".join(sys.argv[2:])
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


def article_style_step_fn(data_dir, batch_size: int = 100, tau: float = 1.0):
    """One training step written the way the reference article writes it, for timing only.

    A DataLoader over torchvision MNIST with a per-sample ToTensor, the article's Gumbel
    functions, a sigmoid decoder read through Bernoulli(probs) and torch.distributions
    objects built every step. Its bugs are kept on purpose (grey pixels in a Bernoulli,
    ReLU on the logits): this is the baseline being timed, never a model gvae trains.
    """
    import torch.nn.functional as F
    from torch import nn
    from torchvision import datasets, transforms

    from gvae.data import resolve_data_dir

    latent_dim, categorical_dim = 20, 10
    dataset = datasets.MNIST(
        str(resolve_data_dir(data_dir)), train=True, transform=transforms.ToTensor()
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)

    def sample_gumbel(shape, eps=1e-20):
        u = torch.rand(shape)
        return -torch.log(-torch.log(u + eps) + eps)

    def gumbel_softmax(logits, temperature):
        y = F.softmax((logits + sample_gumbel(logits.size())) / temperature, dim=-1)
        return y.view(-1, latent_dim * categorical_dim)

    class ArticleVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(784, 512), nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, latent_dim * categorical_dim)
            self.fc4 = nn.Linear(latent_dim * categorical_dim, 256)
            self.fc5, self.fc6 = nn.Linear(256, 512), nn.Linear(512, 784)

        def forward(self, data, temp):
            logits_z = F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(data.view(-1, 784)))))))
            logits_z = logits_z.view(-1, latent_dim, categorical_dim)
            posterior = torch.distributions.Categorical(probs=F.softmax(logits_z, dim=-1))
            prior = torch.distributions.Categorical(
                probs=torch.ones_like(logits_z) / categorical_dim
            )
            latent_z = gumbel_softmax(logits_z, temp)
            probs_x = torch.sigmoid(self.fc6(F.relu(self.fc5(F.relu(self.fc4(latent_z))))))
            dist_x = torch.distributions.Bernoulli(probs=probs_x, validate_args=False)
            rec = dist_x.log_prob(data.view(-1, 784)).sum(dim=-1)
            log_q = F.log_softmax(logits_z, dim=-1)
            kl = (posterior.probs * (log_q - prior.probs.log())).view(-1, 200).sum(dim=-1)
            return -(rec - kl).mean()

    model = ArticleVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = iter(loader)

    def step():
        nonlocal batches
        try:
            data, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            data, _ = next(batches)
        optimizer.zero_grad()
        loss = model(data, tau)
        loss.backward()
        optimizer.step()

    return step


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
    from gvae.checkpoint import load_model
    from gvae.model import CategoricalVAE

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
    p = argparse.ArgumentParser(prog="python -m gvae.bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="compare the gradient estimators with one budget")
    d = TrainConfig()
    q.add_argument("--epochs", type=int, default=30)
    q.add_argument("--max-steps", type=int, default=None)
    q.add_argument("--train-size", type=int, default=None)
    q.add_argument("--lr", type=float, default=d.lr)
    q.add_argument("--lr-schedule", default="cosine")
    q.add_argument("--tau0", type=float, default=d.tau0)
    q.add_argument("--tau-min", type=float, default=d.tau_min)
    q.add_argument("--anneal-rate", type=float, default=d.anneal_rate)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    q.add_argument("--iw-samples", type=int, default=1000)
    q.add_argument("--test-limit", type=int, default=None, help="score the first n test images")
    q.add_argument("--data-dir", default=None)
    q.add_argument("--save-dir", default=None, help=f"save each model here (e.g. {WEIGHTS_DIR})")
    q.add_argument("--no-progress", action="store_true")
    q.add_argument("--json", action="store_true", help="also print the rows as JSON")

    sp = sub.add_parser("speed", help="ms per training step against the article-style loop")
    sp.add_argument("--steps", type=int, default=200, help="timed steps of each loop")
    sp.add_argument("--warmup", type=int, default=20)
    sp.add_argument("--decode-repeats", type=int, default=200)
    sp.add_argument("--rss-steps", type=int, default=300)
    sp.add_argument("--data-dir", default=None)
    sp.add_argument(
        "--untrained", action="store_true", help="time decoding without loading weights"
    )
    sp.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    if args.command == "quality":
        rows = quality(args)
    elif args.command == "speed":
        rows = speed(args)
    if args.json:
        print(json.dumps(rows))
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
