"""KL divergence between categoricals, and how much of it each latent variable carries.

The reference article's section 3: KL(P || Q) = sum_x P(x) log(P(x) / Q(x)) = H(P, Q) - H(P),
cross-entropy minus entropy, not symmetric. In the VAE the KL term compares each variable's
posterior q(z_i|x) with the uniform prior 1/K, so each variable contributes between 0 (it
ignores x) and log K (it is certain of one category): `variable_kl` says which variables a
model uses, and `gvae.elbo.kl_to_uniform` is its sum over the variables.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from gvae.model import CategoricalVAE


def _probs(p) -> np.ndarray:
    return np.asarray(p, dtype=np.float64)


def entropy(p) -> float:
    """H(P) = -sum P log P in nats (0 log 0 = 0)."""
    p = _probs(p)
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum())


def cross_entropy(p, q) -> float:
    """H(P, Q) = -sum P log Q in nats; infinite where Q = 0 and P > 0."""
    p, q = _probs(p), _probs(q)
    nz = p > 0
    if (q[nz] == 0).any():
        return math.inf
    return float(-(p[nz] * np.log(q[nz])).sum())


def kl_terms(p, q) -> np.ndarray:
    """The per-category terms P(x) log(P(x) / Q(x)) of KL(P || Q): (K,). A term can be
    negative; their sum cannot. 0 where P = 0, +inf where Q = 0 < P."""
    p, q = _probs(p), _probs(q)
    terms = np.zeros_like(p)
    nz = p > 0
    with np.errstate(divide="ignore"):
        terms[nz] = p[nz] * (np.log(p[nz]) - np.log(q[nz]))
    return terms


def kl(p, q) -> float:
    """KL(P || Q) in nats."""
    return float(kl_terms(p, q).sum())


def summary(p, q) -> dict[str, float]:
    """Both directions and the cross-entropy - entropy identity, in nats."""
    return {
        "kl_pq": kl(p, q),
        "kl_qp": kl(q, p),
        "h_p": entropy(p),
        "h_q": entropy(q),
        "h_pq": cross_entropy(p, q),
        "h_qp": cross_entropy(q, p),
    }


def variable_kl_from_logits(z_logits: torch.Tensor) -> torch.Tensor:
    """KL(q(z_i|x) || Uniform(K)) per variable: (B, N, K) -> (B, N).

    The terms of gvae.elbo.kl_to_uniform before its sum over the variables.
    """
    log_q = F.log_softmax(z_logits, dim=-1)
    return (log_q.exp() * (log_q + math.log(z_logits.shape[-1]))).sum(dim=-1)


@torch.no_grad()
def variable_kl(model: CategoricalVAE, images, batch: int = 500) -> np.ndarray:
    """Per-variable KL of each image's posterior to the uniform prior: (B, N) nats.

    `images` (B, 784) in [0, 1]; the latent editor can order or mark its rows by this.
    """
    x = torch.tensor(np.asarray(images, dtype=np.float32)).reshape(-1, model.config.image_size)
    device = next(model.parameters()).device
    out = [
        variable_kl_from_logits(model.encode(x[i : i + batch].to(device))).cpu()
        for i in range(0, len(x), batch)
    ]
    return torch.cat(out).numpy().astype(np.float64)


def ranked_variables(per_variable: np.ndarray) -> list[int]:
    """Variable indices, the most informative (largest KL) first."""
    return np.argsort(-np.asarray(per_variable), kind="stable").tolist()


def unused_variables(mean_kl: np.ndarray, threshold: float = 0.05) -> list[int]:
    """Variables whose average KL is below `threshold` nats: their posterior stays near
    uniform whatever the image, so the decoder cannot rely on them."""
    return [int(i) for i in np.flatnonzero(np.asarray(mean_kl) < threshold)]


def average_images(limit: int = 1000, data_dir=None) -> tuple[np.ndarray, str]:
    """Images to average over, and what they are: the first `limit` images of the fixed
    binarized test set (docs/evaluation.md) when MNIST is on disk, else the shipped
    gallery of test digits (grey levels). Never downloads."""
    from gvae.data import fixed_test_set, load_mnist
    from gvae.errors import MissingDataError

    try:
        load_mnist("test", data_dir, download=False)  # raises at once when MNIST is missing
        binary, _ = fixed_test_set(data_dir, limit=limit)
        return binary.numpy(), f"the first {len(binary):,} images of the binarized test set"
    except MissingDataError:
        from gvae.app.gallery import load_gallery

        images = load_gallery()[0]
        return np.array(images), f"the {len(images)} shipped gallery digits (MNIST not found)"
