"""Evaluation on the fixed binarized MNIST test set (docs/evaluation.md).

Two numbers, in nats per image (lower is better):
- neg_elbo: -E_q[log p(x|z)] + KL(q(z|x) || p(z)), the reconstruction term averaged over
  k one-hot samples z ~ q(z|x), the KL exact;
- iw_nll: -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), the importance-weighted bound of
  Burda et al. (2016), an upper bound on -log p(x) that tightens as k grows.
Both score the discrete model: z is a one-hot sample, not a relaxed one.

The command line is gvae.evaluate.
"""

from __future__ import annotations

import math
import sys

import torch
import torch.nn.functional as F

from gvae.data import TEST_BINARIZATION_SEED
from gvae.elbo import bernoulli_nll, kl_to_uniform
from gvae.gumbel import sample_gumbel
from gvae.model import CategoricalVAE

PROTOCOL = (
    "MNIST test set, 10,000 images in file order, pixels/255, binarized once with "
    f"torch.bernoulli and a torch.Generator seeded {TEST_BINARIZATION_SEED}; "
    "one-hot z ~ q(z|x) drawn by the Gumbel-Max trick from a generator seeded {seed}"
)


@torch.no_grad()
def image_bounds(
    model: CategoricalVAE,
    x: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (neg_elbo, iw_nll), each (B,), from k one-hot posterior samples.
    noise: their Gumbel draw (k, B, N, K), drawn from `generator` when None."""
    c = model.config
    z_logits = model.encode(x)  # (B, N, K)
    log_q = F.log_softmax(z_logits, dim=-1)
    if noise is None:
        noise = sample_gumbel((k, *z_logits.shape), generator, z_logits.dtype, z_logits.device)
    index = (z_logits + noise).argmax(dim=-1)  # (k, B, N): exact samples from q
    z = F.one_hot(index, c.categorical_dim).to(x.dtype)  # (k, B, N, K)
    log_qz = log_q.unsqueeze(0).expand_as(z).gather(-1, index.unsqueeze(-1)).sum(dim=(-2, -1))
    log_pz = -c.latent_dim * math.log(c.categorical_dim)  # uniform prior
    x_logits = model.decode(z.view(-1, c.latent_dim, c.categorical_dim))  # (k*B, D)
    log_px = -bernoulli_nll(x_logits, x.repeat(k, 1)).view(k, -1)  # (k, B)
    log_w = log_px + log_pz - log_qz  # (k, B)
    iw_nll = -(torch.logsumexp(log_w, dim=0) - math.log(k))
    neg_elbo = -log_px.mean(dim=0) + kl_to_uniform(z_logits)
    return neg_elbo, iw_nll


@torch.no_grad()
def evaluate(
    model: CategoricalVAE,
    images: torch.Tensor,
    iw_samples: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Mean neg_elbo and iw_nll (nats) of binary images (n, D), deterministic in seed."""
    if iw_samples < 1:
        raise ValueError(f"iw_samples must be >= 1, got {iw_samples}")
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device).manual_seed(seed)
    chunk = max(1, 20_000 // iw_samples)  # images per forward pass: bounded memory
    totals = torch.zeros(2, dtype=torch.float64)
    starts = range(0, len(images), chunk)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, unit="batch", file=sys.stderr, desc=f"evaluating, k={iw_samples}")
    for start in starts:
        x = images[start : start + chunk].to(device)
        neg_elbo, iw_nll = image_bounds(model, x, iw_samples, generator)
        totals += torch.stack([neg_elbo.sum(), iw_nll.sum()]).double().cpu()
    n = len(images)
    return {
        "neg_elbo": totals[0].item() / n,
        "iw_nll": totals[1].item() / n,
        "n_images": n,
        "iw_samples": iw_samples,
        "seed": seed,
        "protocol": PROTOCOL.format(seed=seed),
    }
