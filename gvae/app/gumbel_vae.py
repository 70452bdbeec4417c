"""Section 6 of the reference article: the Gumbel distribution, the inverse-CDF "slicing"
sampler, and the temperature τ acting on the real VAE.

Every Gumbel draw comes from gvae.infer (sample_gumbel, gumbel_softmax: numpy, pinned to
gvae.gumbel's torch originals).
"""

from __future__ import annotations

import numpy as np

from gvae import infer
from gvae.infer import Network

TAU_STRIP = (100.0, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.01)


def gumbel_pdf(g) -> np.ndarray:
    """Standard Gumbel density exp(-(g + exp(-g)))."""
    g = np.asarray(g, dtype=np.float64)
    return np.exp(-(g + np.exp(-g)))


def gumbel_cdf(g) -> np.ndarray:
    """Standard Gumbel CDF exp(-exp(-g)); its inverse is g = -log(-log U)."""
    return np.exp(-np.exp(-np.asarray(g, dtype=np.float64)))


def gumbel_samples(n: int, seed: int) -> np.ndarray:
    """n standard Gumbel draws (float64), reproducible from their seed."""
    return infer.gumbel_noise((n,), seed)


def slices(probs) -> tuple[np.ndarray, np.ndarray]:
    """The unit interval cut at the cumulative sums: (left edges, right edges) per category.
    The last edge is set to exactly 1 so that every U in [0, 1) falls in a slice."""
    right = np.cumsum(np.asarray(probs, dtype=np.float64))
    right[-1] = 1.0
    return np.concatenate([[0.0], right[:-1]]), right


def inverse_cdf_pick(probs, u: float) -> int:
    """The article's sampler: argmax(theta_cum >= U), the first slice whose right edge
    reaches U (theta = [0.05, 0.25, 0.7] and U = 0.31 give 2, "White"; the article's text
    says "Blue" for U = 0.31, but its own rule gives [False, False, True] there)."""
    _, right = slices(probs)
    return int(np.argmax(right >= u))


def gumbel_max_pick(probs, noise) -> int:
    """argmax(log pi + g) for one Gumbel draw g (K,)."""
    log_pi = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-300, None))
    return int(np.argmax(log_pi + np.asarray(noise, dtype=np.float64)))


def code_noise(latent_dim: int, categorical_dim: int, seed: int) -> np.ndarray:
    """One Gumbel draw (N, K) for a whole latent code, reproducible from its seed."""
    return infer.gumbel_noise((latent_dim, categorical_dim), seed, np.float32)


def relaxed_decode(net: Network, image, noise: np.ndarray, taus) -> dict:
    """Decode one digit's relaxed posterior sample at each τ, one Gumbel draw held fixed.

    y_τ = softmax((log q(z|x) + g) / τ) is the Gumbel-Softmax sample training decodes;
    as τ -> 0 it becomes the one-hot Gumbel-Max sample (returned as `hard`), a code the
    editor can show. Returns the relaxed codes (T, N, K), the decoded means (T, D), the
    one-hot code (N,), its decoding (D,), and q(z|x) (N, K).
    """
    z_logits = net.encode(image)[0]  # (N, K)
    relaxed = np.stack([infer.gumbel_softmax(z_logits, float(t), noise) for t in taus])
    hard = infer.gumbel_softmax(z_logits, 1.0, noise, hard=True)  # (N, K) one-hot
    means = infer.sigmoid(net.decode(np.concatenate([relaxed, hard[None]])))  # (T + 1, D)
    return {
        "relaxed": relaxed,
        "means": means[:-1],
        "hard_code": hard.argmax(-1).tolist(),
        "hard_means": means[-1],
        "q": infer.softmax(z_logits),
    }


def mean_entropy(relaxed: np.ndarray) -> float:
    """Mean entropy (nats) of the relaxed code's rows: log K when uniform, 0 when one-hot."""
    p = np.clip(np.asarray(relaxed, dtype=np.float64), 1e-300, None)
    return float(-(p * np.log(p)).sum(-1).mean())
