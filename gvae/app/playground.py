"""Computations behind the Gumbel playground. Every sample comes from gvae.infer (numpy,
pinned to gvae.gumbel).

The worked example is the reference article's: a categorical over Red / Blue / White with
probabilities [0.05, 0.25, 0.7].
"""

from __future__ import annotations

import math

import numpy as np

from gvae import infer
from gvae.app.params import validate_probs
from gvae.config import ESTIMATORS

ARTICLE_PROBS = (0.05, 0.25, 0.7)
ARTICLE_LABELS = ("Red", "Blue", "White")
SIMPLEX_POINTS = 3000  # samples on the simplex (K = 3)


def default_probs(k: int) -> list[float]:
    """The playground's π for K categories: the article's for K = 3, else 1 : 2 : … : K."""
    if k == 3:
        return list(ARTICLE_PROBS)
    weights = np.arange(1, k + 1, dtype=float)
    return (weights / weights.sum()).round(3).tolist()


def log_probs(probs: np.ndarray) -> np.ndarray:
    """log pi as logits; a zero probability becomes a very negative, finite logit."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-30, None))


def fixed_noise(k: int, seed: int) -> np.ndarray:
    """One Gumbel draw g (k,), reproducible from its seed."""
    return infer.gumbel_noise((k,), seed)


def soft_sample(probs: np.ndarray, noise: np.ndarray, tau: float) -> np.ndarray:
    """softmax((log pi + g) / tau) for a fixed g."""
    return infer.gumbel_softmax(log_probs(probs), tau, noise)


def hard_sample(probs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The Gumbel-Max sample one_hot(argmax(log pi + g)): the tau -> 0 limit."""
    return infer.gumbel_softmax(log_probs(probs), 1.0, noise, hard=True)


def entropy(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def simplex_noise(k: int, n: int, seed: int) -> np.ndarray:
    """The n Gumbel draws (n, k) behind the simplex's samples; row 0 is fixed_noise(k, seed)."""
    return infer.gumbel_noise((n, k), seed)


def simplex_samples(probs: np.ndarray, tau: float, n: int, seed: int) -> np.ndarray:
    """n relaxed samples (n, K) at temperature tau, from simplex_noise (the page gets the
    same noise and moves the same points)."""
    return infer.gumbel_softmax(log_probs(probs), tau, simplex_noise(len(probs), n, seed))


def gumbel_max_frequencies(probs: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Category frequencies of n Gumbel-Max draws argmax(log pi + g)."""
    noise = infer.gumbel_noise((n, len(probs)), seed)
    return infer.gumbel_softmax(log_probs(probs), 1.0, noise, hard=True).mean(0)


def inverse_cdf_frequencies(probs: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The article's sampler: the first category whose cumulative probability >= U."""
    u = np.random.default_rng(seed).random((n, 1))
    cumulative = np.minimum(np.cumsum(probs), 1.0)
    cumulative[-1] = 1.0  # guard against rounding: U < 1 always finds a category
    index = (cumulative >= u).argmax(axis=1)
    return np.bincount(index, minlength=len(probs)) / n


def frequency_tolerance(probs: np.ndarray, n: int, z: float = 4.0) -> np.ndarray:
    """z standard errors of an empirical frequency: sqrt(p (1 - p) / n)."""
    return z * np.sqrt(probs * (1 - probs) / n)


def straight_through_example(skip_d: bool, a: float = 1.0, b: float = 2.0) -> dict:
    """The article's autograd example: c = 2(a + b), d = c^2, f = 4d, loss = 3f, with the
    gradients backpropagation gives (tests check them against torch's autograd).

    With skip_d, d keeps its value but passes c's gradient through unchanged
    (d = (d - c).detach() + c), which is what straight-through does to a one-hot sample.
    """
    c = 2.0 * (a + b)
    f_grad = 3.0  # d loss / d f
    d_grad = 4.0 * f_grad
    c_grad = d_grad * (1.0 if skip_d else 2.0 * c)
    return {
        "loss": 3.0 * 4.0 * c**2,
        "a.grad": 2.0 * c_grad,
        "b.grad": 2.0 * c_grad,
        "c.grad": c_grad,
        "d.grad": d_grad,
        "f.grad": f_grad,
    }


def objective_values(k: int) -> np.ndarray:
    """f(e_j) for the test objective f(z) = (z . c - 1/2)^2 with c_j = j / (K - 1)."""
    return (np.linspace(0, 1, k) - 0.5) ** 2


def estimator_stats(
    probs: np.ndarray, taus, n: int = 20_000, seed: int = 0
) -> dict[str, dict[str, list[float]]]:
    """Bias and standard deviation of each estimator's gradient of E_z[f(z)] w.r.t. logits.

    f(z) = (z . c - 1/2)^2 is non-linear, so the value a sample is forwarded at matters.
    Exact gradient: d/dtheta sum_j pi_j f(e_j) = J(pi)^T f with J = diag(pi) - pi pi^T.
    Bias: || mean estimate - exact ||; std: sqrt(mean squared deviation from the mean);
    se: the standard error of the mean estimate, std / sqrt(n), the bias's noise floor.
    """
    k = len(probs)
    c = np.linspace(0, 1, k)
    f = objective_values(k)
    pi = np.asarray(probs, dtype=np.float64)
    exact = pi * f - pi * (pi * f).sum()
    logits = np.broadcast_to(log_probs(probs), (n, k))
    noise = infer.gumbel_noise((n, k), seed)

    def grad_of(z):  # df/dz = 2 (z . c - 1/2) c, per sample
        return 2.0 * (z @ c - 0.5)[:, None] * c

    stats = {e: {"bias": [], "std": [], "se": []} for e in ESTIMATORS}
    for tau in taus:
        for estimator in ESTIMATORS:
            grads = infer.estimator_gradient(
                logits, float(tau), noise, estimator, grad_of
            )  # (n, K)
            mean = grads.mean(0)
            stats[estimator]["bias"].append(float(np.linalg.norm(mean - exact)))
            std = math.sqrt(((grads - mean) ** 2).sum(1).mean())
            stats[estimator]["std"].append(std)
            stats[estimator]["se"].append(std / math.sqrt(n))
    return stats


__all__ = [
    "ARTICLE_LABELS",
    "ARTICLE_PROBS",
    "SIMPLEX_POINTS",
    "default_probs",
    "entropy",
    "estimator_stats",
    "fixed_noise",
    "frequency_tolerance",
    "gumbel_max_frequencies",
    "hard_sample",
    "inverse_cdf_frequencies",
    "simplex_noise",
    "simplex_samples",
    "soft_sample",
    "straight_through_example",
    "validate_probs",
]
