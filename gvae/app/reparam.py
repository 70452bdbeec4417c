"""The reparameterization trick against the score-function (REINFORCE) estimator.

The reference article's section 5: a sample z ~ N(mu, sigma^2) has no gradient with respect
to mu, but z = mu + sigma * eps with eps ~ N(0, 1) does. The small objective here is
f(z) = z^2, whose expectation mu^2 + sigma^2 has the exact gradient d/dmu = 2 mu, so both
estimators can be checked against the truth:

- reparameterized (pathwise): d f(mu + sigma eps) / d mu = 2 (mu + sigma eps);
- score function (Williams 1992): f(z) d log N(z; mu, sigma) / d mu = f(z) (z - mu) / sigma^2,
  optionally with the baseline b = E[f] subtracted from f (still unbiased, less variance).

Both are computed by autograd from torch.distributions (rsample for the first, log_prob for
the second), one gradient per sample, as a training loop would get them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions import Normal


def exact_gradient(mu: float, sigma: float) -> float:
    """d/dmu E[z^2] for z ~ N(mu, sigma^2): E[z^2] = mu^2 + sigma^2."""
    return 2.0 * mu


def analytic_std(mu: float, sigma: float) -> dict[str, float]:
    """Standard deviation of one sample's estimate, from the moments of eps ~ N(0, 1)
    (E eps^2 = 1, E eps^4 = 3, E eps^6 = 15):

    - reparameterized 2(mu + sigma eps): variance 4 sigma^2;
    - score function (mu + sigma eps)^2 eps / sigma: variance mu^4/sigma^2 + 14 mu^2 + 15 sigma^2;
    - with baseline mu^2 + sigma^2, 2 mu eps^2 + sigma (eps^3 - eps): variance 8 mu^2 + 10 sigma^2.
    """
    return {
        "reparam": 2.0 * sigma,
        "score": math.sqrt(mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2),
        "score_baseline": math.sqrt(8 * mu**2 + 10 * sigma**2),
    }


def per_sample_gradients(mu: float, sigma: float, n: int, seed: int) -> dict[str, np.ndarray]:
    """n single-sample estimates of d/dmu E[z^2] from each estimator, by autograd.

    One draw of eps is shared, so the estimators differ only in how they use it.
    """
    eps = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    sigma_t = torch.tensor(float(sigma), dtype=torch.float64)
    out = {}

    # Pathwise: z is a differentiable function of mu.
    mu_t = torch.full((n,), float(mu), dtype=torch.float64, requires_grad=True)
    z = mu_t + sigma_t * eps  # what Normal(mu, sigma).rsample() computes
    (z**2).sum().backward()
    out["reparam"] = mu_t.grad.numpy().copy()

    # Score function: the same z values, treated as constants; the gradient goes through
    # log N(z; mu, sigma) only.
    z_const = (float(mu) + sigma_t * eps).detach()
    f = z_const**2
    for name, baseline in (("score", 0.0), ("score_baseline", mu**2 + sigma**2)):
        mu_t = torch.full((n,), float(mu), dtype=torch.float64, requires_grad=True)
        surrogate = ((f - baseline) * Normal(mu_t, sigma_t).log_prob(z_const)).sum()
        surrogate.backward()
        out[name] = mu_t.grad.numpy().copy()
    return out


def estimator_summary(grads: dict[str, np.ndarray], mu: float, sigma: float) -> dict[str, dict]:
    """Mean, standard deviation and standard error of each estimator's n estimates, the
    exact gradient, the analytic standard deviation, and the mean's distance to the exact
    value in standard errors (|z| below ~3 means: consistent with unbiased)."""
    exact, analytic = exact_gradient(mu, sigma), analytic_std(mu, sigma)
    out = {}
    for name, g in grads.items():
        n = len(g)
        std = float(g.std(ddof=1)) if n > 1 else math.nan
        se = std / math.sqrt(n)
        out[name] = {
            "mean": float(g.mean()),
            "std": std,
            "se": se,
            "analytic_std": analytic[name],
            "exact": exact,
            "z": (float(g.mean()) - exact) / se if se > 0 else math.nan,
        }
    return out


def running_means(values: np.ndarray, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """(sample counts, running mean) at `points` log-spaced counts: how an estimate settles."""
    counts = np.unique(np.geomspace(1, len(values), points).astype(int))
    cumulative = np.cumsum(values)
    return counts, cumulative[counts - 1] / counts


def autograd_demo(mu: float, sigma: float, seed: int = 0) -> dict:
    """What autograd sees: Normal(mu, sigma).sample() is cut from the graph, rsample() is
    mu + sigma * eps with gradients dz/dmu = 1 and dz/dsigma = eps."""
    torch.manual_seed(seed)
    mu_t = torch.tensor(float(mu), requires_grad=True)
    sigma_t = torch.tensor(float(sigma), requires_grad=True)
    sampled = Normal(mu_t, sigma_t).sample()
    try:
        (sampled**2).backward()
        sample_error = None
    except RuntimeError as error:
        sample_error = str(error).splitlines()[0]
    torch.manual_seed(seed)
    z = Normal(mu_t, sigma_t).rsample()
    z.backward()
    eps = (z.item() - mu) / sigma
    return {
        "sample_value": sampled.item(),
        "sample_grad_fn": None if sampled.grad_fn is None else type(sampled.grad_fn).__name__,
        "sample_requires_grad": sampled.requires_grad,
        "sample_error": sample_error,
        "rsample_value": z.item(),
        "rsample_grad_fn": type(z.grad_fn).__name__,
        "dz_dmu": mu_t.grad.item(),
        "dz_dsigma": sigma_t.grad.item(),
        "eps": eps,
    }


def normal_samples(mu: float, sigma: float, n: int, seed: int) -> dict[str, np.ndarray]:
    """n draws of torch.normal(mu, sigma) and n of mu + sigma * eps: the same distribution."""
    direct = torch.normal(
        float(mu), float(sigma), (n,), generator=torch.Generator().manual_seed(seed)
    )
    eps = torch.randn(n, generator=torch.Generator().manual_seed(seed + 1))
    return {"sampled": direct.numpy(), "reparameterized": (mu + sigma * eps).numpy()}
