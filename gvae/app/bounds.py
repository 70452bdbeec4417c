"""The ELBO of one digit, estimated from samples, and the importance-weighted bound.

The reference article's section 4: log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)). For one
digit the reconstruction term is estimated from one-hot samples z ~ q(z|x) (drawn by the
Gumbel-Max trick), the KL is exact. The importance-weighted bound of Burda et al. (2016)
is gvae.infer.image_bounds, pinned to gvae.metrics.image_bounds (the function that scores
the shipped models); it tightens toward -log p(x) as the number of samples k grows.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np

from gvae import infer
from gvae.infer import Network

IW_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def binarize_digit(image, seed: int = 0) -> np.ndarray:
    """One Bernoulli draw of a grey digit (784,) -> (1, 784) binary: the data the
    likelihood is defined on. Fixed by its seed, so the same digit gives the same bits."""
    grey = np.asarray(image, dtype=np.float32).reshape(1, -1)
    u = np.random.default_rng(seed).random(grey.shape, dtype=np.float32)
    return (u < grey).astype(np.float32)


def sample_terms(net: Network, x: np.ndarray, n: int, seed: int) -> dict:
    """n one-hot samples z ~ q(z|x) of one binary digit x (1, D) and the ELBO's terms.

    Returns the codes (n, N), the decoded Bernoulli means (n, D), -log p(x|z) per sample (n,),
    their mean and standard error, the exact KL, and the estimate of -ELBO.
    """
    c = net.config
    z_logits = net.encode(x)  # (1, N, K)
    noise = infer.gumbel_noise((n, c.latent_dim, c.categorical_dim), seed, np.float32)
    z = infer.gumbel_softmax(z_logits, 1.0, noise, hard=True)  # (n, N, K) Gumbel-Max
    x_logits = net.decode(z)  # (n, D)
    nll = infer.bernoulli_nll(x_logits, x).astype(np.float64)  # (n,)
    kl = float(infer.kl_to_uniform(z_logits)[0])
    reconstruction = float(nll.mean())
    se = float(nll.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return {
        "codes": z.argmax(-1),
        "means": infer.sigmoid(x_logits),
        "nll": nll,
        "reconstruction": reconstruction,
        "reconstruction_se": se,
        "kl": kl,
        "neg_elbo": reconstruction + kl,
        "max_kl": c.latent_dim * math.log(c.categorical_dim),
    }


def iw_noise(config, k: int, repeats: int, seed: int) -> np.ndarray:
    """The Gumbel draw (k, repeats, N, K) whose first k samples make iw_curve's bound at k."""
    return infer.gumbel_noise(
        (k, repeats, config.latent_dim, config.categorical_dim), seed, np.float32
    )


def iw_curve(net: Network, x: np.ndarray, ks=IW_KS, repeats: int = 8, seed: int = 0) -> dict:
    """The importance-weighted bound of one digit x (1, D) at each k, `repeats` times.

    `repeats` copies of x draw max(ks) samples each (one draw seeded `seed`); the bound at
    k uses each copy's first k samples, so the copies are independent estimates and the
    curve costs max(ks) samples per copy, not sum(ks). Returns, per k, the mean and
    standard deviation over the repeats of the IW bound (-log p(x) estimate, nats) and of
    the -ELBO estimate, plus every repeat's values.
    """
    batch = np.repeat(np.asarray(x, dtype=np.float32).reshape(1, -1), repeats, axis=0)
    noise = iw_noise(net.config, max(ks), repeats, seed)
    log_px, log_w, kl = infer.importance_weights(net, batch, noise)  # (k, repeats) each
    rows = []
    for k in ks:
        neg_elbo, iw_nll = infer.bounds_from_weights(log_px[:k], log_w[:k], kl)
        rows.append({"k": int(k), "iw_nll": iw_nll, "neg_elbo": neg_elbo.astype(np.float64)})
    return {
        "ks": [r["k"] for r in rows],
        "iw_mean": [float(r["iw_nll"].mean()) for r in rows],
        "iw_std": [float(r["iw_nll"].std()) for r in rows],
        "elbo_mean": [float(r["neg_elbo"].mean()) for r in rows],
        "iw_values": [r["iw_nll"].tolist() for r in rows],
        "repeats": repeats,
        "seed": seed,
    }


GALLERY_IW_REPEATS = 16  # independent estimates per k on the ELBO page's bound curve
_gallery_iw_lock = threading.Lock()  # one computes a curve; another caller waits for it


@functools.lru_cache(maxsize=32)
def _gallery_iw_curve(net: Network, index: int) -> dict:
    from gvae.app.gallery import load_gallery

    x = binarize_digit(load_gallery()[0][index], seed=0)
    return iw_curve(net, x, IW_KS, repeats=GALLERY_IW_REPEATS, seed=0)


def gallery_iw_curve(net: Network, index: int) -> dict:
    """The IW curve of gallery digit `index` (about a second of numpy), once per loaded
    network: the app loads each file version once (pages.common.load), so every session
    shares it, and the talk computes its slides' curves ahead (pages.talk_kit).
    Read-only: callers share the dict."""
    with _gallery_iw_lock:
        return _gallery_iw_curve(net, index)
