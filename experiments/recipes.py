"""Search training recipes on a GPU: many CategoricalVAEs trained at once, one per recipe.

    python -m experiments.recipes --steps 120000 --out runs/recipes.json

A recipe is an estimator, a temperature schedule and a peak learning rate (cosine decay,
batch 100, as `python -m gvae.train --lr-schedule cosine`). Every recipe gets its own
weights, initialized as gvae.Trainer would with that seed; all see the same batches. The
weights are stacked (M, fan_in, fan_out), so one batched matmul serves every model and a
population of 36 costs a GPU about what one model costs: a 200-epoch sweep takes minutes
where one CPU run takes half an hour. Sampling uses gvae.gumbel (the one implementation)
and the scores come from gvae.metrics.evaluate on the fixed test set, so they are the
numbers `python -m gvae.evaluate` would print for the same weights.

The winning recipe is then trained for real with `python -m gvae.train` on the CPU.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gvae.config import ModelConfig
from gvae.data import binarize, fixed_test_set, load_mnist
from gvae.elbo import bernoulli_nll, kl_to_uniform
from gvae.gumbel import gumbel_softmax
from gvae.metrics import evaluate
from gvae.model import CategoricalVAE
from gvae.schedule import TemperatureSchedule
from gvae.trainer import epoch_order

BATCH = 100


@dataclass(frozen=True)
class Recipe:
    estimator: str
    tau0: float
    tau_min: float
    anneal_rate: float
    lr: float

    @functools.cached_property  # built once, not at every step
    def schedule(self) -> TemperatureSchedule:
        return TemperatureSchedule(self.tau0, self.tau_min, self.anneal_rate, 1000)

    @property
    def group(self) -> tuple:
        """Recipes of one group share every sample's temperature and estimator."""
        return (self.estimator, self.tau0, self.tau_min, self.anneal_rate)


# (estimator, tau0, tau_min, anneal_rate): where the annealed ones reach tau_min
#   3e-5: 23k steps; 2e-5 to 0.3: 60k; 2.5e-5 to 0.1: 92k.
SCHEDULES = [
    ("gumbel", 1.0, 0.5, 3e-5),
    ("gumbel", 1.0, 0.3, 2e-5),
    ("gumbel", 1.0, 0.1, 2.5e-5),
    ("gumbel", 2 / 3, 2 / 3, 0.0),  # Maddison et al. 2017's fixed lambda = 2/3
    ("st-gumbel", 1.0, 0.5, 3e-5),
    ("st-gumbel", 1.0, 1.0, 0.0),
    ("reinmax", 1.0, 0.5, 3e-5),
    ("reinmax", 1.0, 1.0, 0.0),
    ("reinmax", 1.5, 1.5, 0.0),
]
LEARNING_RATES = [5e-4, 1e-3, 2e-3, 4e-3]


# The second round: the best of the first at the full 200 epochs, and their neighbours.
FINALISTS = [
    Recipe("gumbel", 1.0, 0.3, 2e-5, 1e-3),
    Recipe("gumbel", 1.0, 0.3, 2e-5, 7e-4),
    Recipe("gumbel", 1.0, 0.2, 2e-5, 1e-3),
    Recipe("gumbel", 1.0, 0.1, 2.5e-5, 1e-3),
    Recipe("reinmax", 1.5, 1.5, 0.0, 1e-3),
    Recipe("reinmax", 2.0, 2.0, 0.0, 1e-3),
]


def default_recipes() -> list[Recipe]:
    return [Recipe(*s, lr=lr) for s in SCHEDULES for lr in LEARNING_RATES]


def linear_layers(model: CategoricalVAE) -> tuple[list[nn.Linear], list[nn.Linear]]:
    def pick(seq):
        return [m for m in seq if isinstance(m, nn.Linear)]

    return pick(model.encoder), pick(model.decoder)


class Population:
    """M models with stacked weights: W (M, fan_in, fan_out), b (M, 1, fan_out)."""

    def __init__(self, recipes: list[Recipe], seed: int, device: torch.device):
        self.recipes = recipes
        self.config = ModelConfig()
        models = []
        for _ in recipes:  # each like Trainer: CategoricalVAE built under manual_seed(seed)
            torch.manual_seed(seed)
            models.append(CategoricalVAE(self.config))
        self.encoder = self._stack([linear_layers(m)[0] for m in models], device)
        self.decoder = self._stack([linear_layers(m)[1] for m in models], device)
        self.params = [p for layer in self.encoder + self.decoder for p in layer]
        self.adam_m = [torch.zeros_like(p) for p in self.params]
        self.adam_v = [torch.zeros_like(p) for p in self.params]
        self.peak_lr = torch.tensor([r.lr for r in recipes], device=device)
        # Recipes are grouped so each group's samples are one gumbel_softmax call.
        self.groups: list[tuple[Recipe, slice]] = []
        for i, r in enumerate(recipes):
            if self.groups and self.groups[-1][0].group == r.group:
                self.groups[-1] = (self.groups[-1][0], slice(self.groups[-1][1].start, i + 1))
            else:
                self.groups.append((r, slice(i, i + 1)))

    @staticmethod
    def _stack(per_model: list[list[nn.Linear]], device) -> list[list[torch.Tensor]]:
        layers = []
        for j in range(len(per_model[0])):
            w = torch.stack([m[j].weight.detach().T for m in per_model]).to(device)
            b = torch.stack([m[j].bias.detach()[None] for m in per_model]).to(device)
            layers.append([w.requires_grad_(), b.requires_grad_()])
        return layers

    @staticmethod
    def _mlp(layers, h: torch.Tensor) -> torch.Tensor:
        for i, (w, b) in enumerate(layers):
            h = torch.baddbmm(b, F.relu(h) if i else h, w)
        return h

    def loss(self, x: torch.Tensor, step: int, generator: torch.Generator) -> torch.Tensor:
        """Per-model batch-mean negative ELBO (M,) of binary x (B, D)."""
        m, c = len(self.recipes), self.config
        z_logits = self._mlp(self.encoder, x.expand(m, -1, -1))
        z_logits = z_logits.view(m, -1, c.latent_dim, c.categorical_dim)  # (M, B, N, K)
        z = torch.cat(
            [
                gumbel_softmax(
                    z_logits[s], r.schedule(step), estimator=r.estimator, generator=generator
                )
                for r, s in self.groups
            ]
        )
        x_logits = self._mlp(self.decoder, z.view(m, -1, c.code_size))  # (M, B, D)
        return (bernoulli_nll(x_logits, x.expand(m, -1, -1)) + kl_to_uniform(z_logits)).mean(-1)

    @torch.no_grad()
    def adam_step(self, step: int, total: int, betas=(0.9, 0.999), eps=1e-8) -> None:
        """torch.optim.Adam's update with a per-model learning rate, cosine-decayed."""
        t = step + 1
        lr = self.peak_lr * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))
        for p, m, v in zip(self.params, self.adam_m, self.adam_v):
            m.lerp_(p.grad, 1 - betas[0])
            v.mul_(betas[1]).addcmul_(p.grad, p.grad, value=1 - betas[1])
            denom = (v / (1 - betas[1] ** t)).sqrt_().add_(eps)
            step_size = (lr / (1 - betas[0] ** t)).view(-1, *[1] * (p.ndim - 1))
            p.sub_(step_size * m / denom)
            p.grad = None

    def model(self, i: int) -> CategoricalVAE:
        model = CategoricalVAE(self.config)
        enc, dec = linear_layers(model)
        with torch.no_grad():
            for mine, stacked in [(enc, self.encoder), (dec, self.decoder)]:
                for layer, (w, b) in zip(mine, stacked):
                    layer.weight.copy_(w[i].T)
                    layer.bias.copy_(b[i, 0])
        return model


def train(
    pop: Population, images: torch.Tensor, steps: int, seed: int, budget_s: float | None = None
) -> tuple[int, list]:
    """Train every recipe for `steps` steps, or fewer when `budget_s` would be exceeded
    (decided after 500 steps, so the cosine schedule is planned on the final count).
    Returns (steps done, log)."""
    log_every = max(1, min(5000, steps // 10))
    generator = torch.Generator(images.device).manual_seed(seed)
    per_epoch = len(images) // BATCH
    running = torch.zeros(len(pop.recipes), device=images.device)
    log, start = [], time.perf_counter()
    step = 0
    while step < steps:
        if budget_s and step == 500:
            per_step = (time.perf_counter() - start) / 500
            if per_step * steps > budget_s:
                steps = max(1000, int(budget_s / per_step) // 1000 * 1000)
                log_every = max(1, min(5000, steps // 10))
                print(f"{per_step * 1e3:.2f} ms/step: {steps} steps fit in {budget_s:.0f} s")
        epoch, position = divmod(step, per_epoch)
        if position == 0:
            shuffled = images[epoch_order(len(images), seed, epoch).to(images.device)]
        x = binarize(shuffled[position * BATCH : (position + 1) * BATCH], generator)
        losses = pop.loss(x, step, generator)
        losses.sum().backward()  # models share no weights: each gets its own gradient
        pop.adam_step(step, steps)
        running += losses.detach()
        if (step + 1) % log_every == 0:
            mean = (running / log_every).tolist()
            running.zero_()
            elapsed = time.perf_counter() - start
            log.append({"step": step + 1, "seconds": elapsed, "train_loss": mean})
            best = min(x for x in mean if math.isfinite(x))
            print(f"step {step + 1}: {elapsed:.0f} s, best train loss {best:.2f}", flush=True)
        step += 1
    return steps, log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=120_000)
    parser.add_argument("--budget-s", type=float, default=None, help="cap on training time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iw-samples", type=int, default=100, help="k for every recipe")
    parser.add_argument("--final-k", type=int, default=1000, help="k for the best few")
    parser.add_argument("--top", type=int, default=6, help="recipes scored again at --final-k")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--finalists", action="store_true", help="the second round's recipes")
    parser.add_argument("--limit", type=int, default=None, help="fewer recipes, for a smoke run")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    recipes = (FINALISTS if args.finalists else default_recipes())[: args.limit]
    images = load_mnist("train", args.data_dir)[0].to(device)
    test, _ = fixed_test_set(args.data_dir)
    pop = Population(recipes, args.seed, device)
    print(f"{len(recipes)} recipes, {args.steps} steps each, on {device}", flush=True)
    steps, log = train(pop, images, args.steps, args.seed, args.budget_s)

    results = []
    for i, recipe in enumerate(recipes):
        model = pop.model(i).to(device)
        scores = evaluate(model, test, args.iw_samples)
        results.append(
            {**asdict(recipe), "neg_elbo": scores["neg_elbo"], "iw_nll": scores["iw_nll"]}
        )
    finite = [r for r in results if math.isfinite(r["iw_nll"])]
    for r in sorted(finite, key=lambda r: r["iw_nll"])[: args.top]:
        i = results.index(r)
        scores = evaluate(pop.model(i).to(device), test, args.final_k)
        r["final"] = {k: scores[k] for k in ("neg_elbo", "iw_nll", "iw_samples")}

    print(f"{steps} steps of batch {BATCH}")
    k, final_k = args.iw_samples, args.final_k
    print(
        f"| estimator | tau0 | tau_min | rate | lr | neg_elbo (k={k}) | iw_nll (k={k}) "
        f"| neg_elbo / iw_nll (k={final_k}) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        final = r.get("final")
        last = f"{final['neg_elbo']:.2f} / {final['iw_nll']:.2f}" if final else ""
        print(
            f"| {r['estimator']} | {r['tau0']:.3g} | {r['tau_min']:.3g} | {r['anneal_rate']:.2g} "
            f"| {r['lr']:.0e} | {r['neg_elbo']:.2f} | {r['iw_nll']:.2f} | {last} |"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"steps": steps, "results": results, "log": log}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
