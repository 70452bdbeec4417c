"""KL divergence between categoricals, and how much of it each latent variable carries.

The reference article's section 3: KL(P || Q) = sum_x P(x) log(P(x) / Q(x)) = H(P, Q) - H(P),
cross-entropy minus entropy, not symmetric. In the VAE the KL term compares each variable's
posterior q(z_i|x) with the uniform prior 1/K, so each variable contributes between 0 (it
ignores x) and log K (it is certain of one category): `variable_kl` says which variables a
model uses, and `gvae.elbo.kl_to_uniform` is its sum over the variables (both in numpy
from gvae.infer).
"""

from __future__ import annotations

import math

import numpy as np

from gvae import infer
from gvae.infer import Network


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


def variable_kl(net: Network, images) -> np.ndarray:
    """Per-variable KL of each image's posterior to the uniform prior: (B, N) nats.

    `images` (B, 784) in [0, 1]; the latent editor can order or mark its rows by this.
    """
    return infer.variable_kl(net.encode(images)).astype(np.float64)


def ranked_variables(per_variable: np.ndarray) -> list[int]:
    """Variable indices, the most informative (largest KL) first."""
    return np.argsort(-np.asarray(per_variable), kind="stable").tolist()


def unused_variables(mean_kl: np.ndarray, threshold: float = 0.05) -> list[int]:
    """Variables whose average KL is below `threshold` nats: their posterior stays near
    uniform whatever the image, so the decoder cannot rely on them."""
    return [int(i) for i in np.flatnonzero(np.asarray(mean_kl) < threshold)]


def average_images(limit: int = 1000, data_dir=None) -> tuple[np.ndarray, str]:
    """Images to average over, and what they are: the first `limit` test images, each
    pixel drawn once as Bernoulli(grey) from a numpy Generator seeded 0 (binary data, as
    the likelihood wants; numpy's bits, not the evaluation set's torch ones), when MNIST is
    on disk, else the shipped gallery of test digits (grey levels). Never downloads."""
    from gvae.data import TEST_BINARIZATION_SEED, mnist_uint8, resolve_data_dir
    from gvae.errors import MissingDataError

    try:
        images, _ = mnist_uint8(str(resolve_data_dir(data_dir)), False, False)
    except MissingDataError:
        from gvae.app.gallery import load_gallery

        images = load_gallery()[0]
        return np.array(images), f"the {len(images)} shipped gallery digits (MNIST not found)"
    grey = images[:limit].astype(np.float32) / 255.0
    rng = np.random.default_rng(TEST_BINARIZATION_SEED)
    binary = (rng.random(grey.shape, dtype=np.float32) < grey).astype(np.float32)
    return binary, f"the first {len(binary):,} test images, binarized"
