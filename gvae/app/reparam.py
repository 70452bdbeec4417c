"""The reparameterization trick against the score-function (REINFORCE) estimator.

The reference article's section 5: a sample z ~ N(mu, sigma^2) has no gradient with respect
to mu, but z = mu + sigma * eps with eps ~ N(0, 1) does. The small objective here is
f(z) = z^2, whose expectation mu^2 + sigma^2 has the exact gradient d/dmu = 2 mu, so both
estimators can be checked against the truth:

- reparameterized (pathwise): d f(mu + sigma eps) / d mu = 2 (mu + sigma eps);
- score function (Williams 1992): f(z) d log N(z; mu, sigma) / d mu = f(z) (z - mu) / sigma^2,
  optionally with the baseline b = E[f] subtracted from f (still unbiased, less variance).

One gradient per sample, as a training loop would get them, in closed form here (numpy:
pages never import torch); tests check each against autograd through torch.distributions
(rsample for the first, log_prob for the second). Only autograd_demo, which shows torch's
autograd itself, imports torch: the app runs it in a helper process (autograd_demo_later).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

_demos: dict[tuple, dict | str] = {}  # (mu, sigma, seed) -> autograd_demo's result, or why not
_demos_lock = threading.Lock()


class TorchHelper:
    """One Python of its own that imports torch and answers autograd_demo requests, one
    JSON line each way (`python -m gvae.app.reparam`): torch's import and memory stay out
    of the app's server, and after its first start every answer takes milliseconds."""

    def __init__(self):
        self._process = None
        self._lock = threading.Lock()  # one request at a time

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "gvae.app.reparam"],
                cwd=Path(__file__).resolve().parents[2],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        return self._process

    def start(self) -> None:
        """Start it now, so that the first answer need not wait (returns at once: the
        process imports torch on its own; a busy helper is left as it is)."""
        if self._lock.acquire(blocking=False):
            try:
                self._start()
            finally:
                self._lock.release()

    def ask(self, args: tuple) -> dict | str:
        """autograd_demo(*args), or a line saying why there is none."""
        with self._lock:
            process = self._start()
            try:
                process.stdin.write(json.dumps(list(args)) + "\n")
                process.stdin.flush()
                line = process.stdout.readline()
                if line:
                    return json.loads(line)
            except (OSError, ValueError) as failure:
                return f"{type(failure).__name__}: {failure}"
            process.wait()
            return (process.stderr.read().strip().splitlines() or ["the torch helper exited"])[-1]


torch_helper = TorchHelper()


def _run_demo(args: tuple) -> None:
    result = torch_helper.ask(args)
    with _demos_lock:
        _demos[args] = result


def autograd_demo_later(mu: float, sigma: float, seed: int = 0) -> dict | str | None:
    """autograd_demo's result for these values, run once in a subprocess that imports
    torch: None while it runs (started by the first call), then the result, or a string
    saying why there is none (e.g. torch is not installed)."""
    args = (float(mu), float(sigma), int(seed))
    with _demos_lock:
        if args in _demos:
            return _demos[args]
        if len(_demos) > 256:  # a bound on what visitors can make the server keep
            _demos.clear()
        _demos[args] = None
    threading.Thread(target=_run_demo, args=(args,), name="gvae-autograd", daemon=True).start()
    return None


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
    """n single-sample estimates of d/dmu E[z^2] from each estimator.

    One draw of eps is shared, so the estimators differ only in how they use it.
    """
    eps = np.random.default_rng(seed).standard_normal(n)
    z = mu + sigma * eps  # what Normal(mu, sigma).rsample() computes
    score = (z - mu) / sigma**2  # d log N(z; mu, sigma) / d mu, z held constant
    return {
        "reparam": 2.0 * z,  # pathwise: d (mu + sigma eps)^2 / d mu
        "score": z**2 * score,
        "score_baseline": (z**2 - (mu**2 + sigma**2)) * score,
    }


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
    mu + sigma * eps with gradients dz/dmu = 1 and dz/dsigma = eps. Imports torch."""
    import torch
    from torch.distributions import Normal

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
    """n draws of Normal(mu, sigma) and n of mu + sigma * eps: the same distribution."""
    direct = np.random.default_rng(seed).normal(mu, sigma, n)
    eps = np.random.default_rng(seed + 1).standard_normal(n)
    return {"sampled": direct, "reparameterized": mu + sigma * eps}


def serve() -> None:
    """The torch helper's loop: a JSON list of autograd_demo's arguments per line in, its
    result as one JSON line out."""
    import torch  # noqa: F401  (fails here, once, where torch is missing)

    for line in sys.stdin:
        print(json.dumps(autograd_demo(*json.loads(line))), flush=True)


if __name__ == "__main__":
    serve()
