"""Computations behind the Gumbel playground. Every sample comes from gvae.gumbel.

The worked example is the reference article's: a categorical over Red / Blue / White with
probabilities [0.05, 0.25, 0.7].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gvae.app.params import validate_probs
from gvae.gumbel import ESTIMATORS, gumbel_softmax, sample_gumbel

ARTICLE_PROBS = (0.05, 0.25, 0.7)
ARTICLE_LABELS = ("Red", "Blue", "White")


def log_probs(probs: np.ndarray) -> torch.Tensor:
    """log pi as logits; a zero probability becomes a very negative, finite logit."""
    return torch.log(torch.as_tensor(probs, dtype=torch.float64).clamp_min(1e-30))


def fixed_noise(k: int, seed: int) -> torch.Tensor:
    """One Gumbel draw g (k,), reproducible from its seed."""
    return sample_gumbel((k,), torch.Generator().manual_seed(seed), torch.float64)


def soft_sample(probs: np.ndarray, noise: torch.Tensor, tau: float) -> np.ndarray:
    """softmax((log pi + g) / tau) for a fixed g."""
    return gumbel_softmax(log_probs(probs), tau, noise=noise).numpy()


def hard_sample(probs: np.ndarray, noise: torch.Tensor) -> np.ndarray:
    """The Gumbel-Max sample one_hot(argmax(log pi + g)): the tau -> 0 limit."""
    return gumbel_softmax(log_probs(probs), 1.0, hard=True, noise=noise).numpy()


def entropy(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def simplex_noise(k: int, n: int, seed: int) -> torch.Tensor:
    """The n Gumbel draws (n, k) behind the simplex's samples; row 0 is fixed_noise(k, seed)."""
    return sample_gumbel((n, k), torch.Generator().manual_seed(seed), torch.float64)


def simplex_samples(probs: np.ndarray, tau: float, n: int, seed: int) -> np.ndarray:
    """n relaxed samples (n, K) at temperature tau, from simplex_noise (the page gets the
    same noise and moves the same points)."""
    logits = log_probs(probs).expand(n, len(probs))
    return gumbel_softmax(logits, tau, noise=simplex_noise(len(probs), n, seed)).numpy()


def gumbel_max_frequencies(probs: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Category frequencies of n Gumbel-Max draws argmax(log pi + g)."""
    logits = log_probs(probs).expand(n, len(probs))
    g = torch.Generator().manual_seed(seed)
    return gumbel_softmax(logits, 1.0, hard=True, generator=g).mean(0).numpy()


def inverse_cdf_frequencies(probs: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The article's sampler: the first category whose cumulative probability >= U."""
    u = torch.rand(n, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    cumulative = torch.as_tensor(np.cumsum(probs)).clamp(max=1.0)
    cumulative[-1] = 1.0  # guard against rounding: U < 1 always finds a category
    index = (cumulative >= u).to(torch.int8).argmax(dim=1)
    return np.bincount(index.numpy(), minlength=len(probs)) / n


def frequency_tolerance(probs: np.ndarray, n: int, z: float = 4.0) -> np.ndarray:
    """z standard errors of an empirical frequency: sqrt(p (1 - p) / n)."""
    return z * np.sqrt(probs * (1 - probs) / n)


def straight_through_example(skip_d: bool, a: float = 1.0, b: float = 2.0) -> dict:
    """The article's autograd example: c = 2(a + b), d = c^2, f = 4d, loss = 3f.

    With skip_d, d keeps its value but passes c's gradient through unchanged
    (d = (d - c).detach() + c), which is what straight-through does to a one-hot sample.
    """
    ta = torch.tensor([a], requires_grad=True)
    tb = torch.tensor([b], requires_grad=True)
    c = 2 * (ta + tb)
    d = c**2
    if skip_d:
        d = (d - c).detach() + c
    f = d * 4
    for t in (c, d, f):
        t.retain_grad()
    loss = f * 3
    loss.backward()
    return {
        "loss": loss.item(),
        "a.grad": ta.grad.item(),
        "b.grad": tb.grad.item(),
        "c.grad": c.grad.item(),
        "d.grad": d.grad.item(),
        "f.grad": f.grad.item(),
    }


def objective_values(k: int) -> torch.Tensor:
    """f(e_j) for the test objective f(z) = (z . c - 1/2)^2 with c_j = j / (K - 1)."""
    c = torch.linspace(0, 1, k, dtype=torch.float64)
    return (c - 0.5) ** 2


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
    c = torch.linspace(0, 1, k, dtype=torch.float64)
    f = objective_values(k)
    pi = torch.as_tensor(probs, dtype=torch.float64)
    exact = pi * f - pi * (pi * f).sum()
    noise = sample_gumbel((n, k), torch.Generator().manual_seed(seed), torch.float64)
    stats = {e: {"bias": [], "std": [], "se": []} for e in ESTIMATORS}
    for tau in taus:
        for estimator in ESTIMATORS:
            logits = log_probs(probs).expand(n, k).clone().requires_grad_(True)
            z = gumbel_softmax(logits, float(tau), noise=noise, estimator=estimator)
            ((z @ c - 0.5) ** 2).sum().backward()
            grads = logits.grad  # (n, K): one estimate per sample
            mean = grads.mean(0)
            stats[estimator]["bias"].append((mean - exact).norm().item())
            std = math.sqrt(((grads - mean) ** 2).sum(1).mean().item())
            stats[estimator]["std"].append(std)
            stats[estimator]["se"].append(std / math.sqrt(n))
    return stats


__all__ = [
    "ARTICLE_LABELS",
    "ARTICLE_PROBS",
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
