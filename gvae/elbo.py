"""The objective: negative ELBO = reconstruction NLL + KL(q(z|x) || uniform prior).

Kingma & Welling (2014), eq. 3, with a categorical posterior and a uniform prior over K
categories (Jang et al. 2017, section 4.2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from gvae.softmax import log_softmax


class LossTerms(NamedTuple):
    loss: torch.Tensor  # negative ELBO, batch mean (nats per image)
    reconstruction: torch.Tensor  # -log p(x|z), batch mean
    kl: torch.Tensor  # KL(q(z|x) || p(z)), batch mean


def bernoulli_nll(x_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image for Bernoulli pixels given as logits: (B, D) -> (B,).

    Computed from logits (not sigmoid then log), which stays exact when a pixel's
    probability saturates to 0 or 1 in float32.
    """
    return F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").sum(dim=-1)


def kl_to_uniform(z_logits: torch.Tensor) -> torch.Tensor:
    """Analytic KL(q || Uniform(K)) summed over the N variables: (B, N, K) -> (B,).

    KL = sum_k q_k (log q_k + log K); it is >= 0 and exactly 0 when q is uniform.
    """
    log_q = log_softmax(z_logits)
    log_k = math.log(z_logits.shape[-1])
    return (log_q.exp() * (log_q + log_k)).sum(dim=(-2, -1))


def negative_elbo(x_logits: torch.Tensor, x: torch.Tensor, z_logits: torch.Tensor) -> LossTerms:
    """Batch-mean negative ELBO and its two terms."""
    reconstruction = bernoulli_nll(x_logits, x).mean()
    kl = kl_to_uniform(z_logits).mean()
    return LossTerms(reconstruction + kl, reconstruction, kl)
