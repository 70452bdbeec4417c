"""The ELBO of one digit, estimated from samples, and the importance-weighted bound.

The reference article's section 4: log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)). For one
digit the reconstruction term is estimated from one-hot samples z ~ q(z|x) (drawn by the
Gumbel-Max trick in gvae.gumbel), the KL is exact. The importance-weighted bound of Burda
et al. (2016) comes from gvae.metrics.image_bounds, the function that scores the shipped
models; it tightens toward -log p(x) as the number of samples k grows.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gvae.elbo import bernoulli_nll, kl_to_uniform
from gvae.gumbel import gumbel_softmax
from gvae.metrics import image_bounds
from gvae.model import CategoricalVAE

IW_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def binarize_digit(image, seed: int = 0) -> torch.Tensor:
    """One Bernoulli draw of a grey digit (784,) -> (1, 784) binary: the data the
    likelihood is defined on. Fixed by its seed, so the same digit gives the same bits."""
    grey = torch.tensor(np.asarray(image, dtype=np.float32)).reshape(1, -1)
    return torch.bernoulli(grey, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def sample_terms(model: CategoricalVAE, x: torch.Tensor, n: int, seed: int) -> dict:
    """n one-hot samples z ~ q(z|x) of one binary digit x (1, D) and the ELBO's terms.

    Returns the codes (n, N), the decoded Bernoulli means (n, D), -log p(x|z) per sample (n,),
    their mean and standard error, the exact KL, and the estimate of -ELBO.
    """
    c = model.config
    z_logits = model.encode(x)  # (1, N, K)
    generator = torch.Generator().manual_seed(seed)
    z = gumbel_softmax(z_logits.expand(n, -1, -1), 1.0, hard=True, generator=generator)
    x_logits = model.decode(z)  # (n, D)
    nll = bernoulli_nll(x_logits, x.expand(n, -1)).double()  # (n,)
    kl = kl_to_uniform(z_logits)[0].item()
    reconstruction = nll.mean().item()
    se = nll.std().item() / math.sqrt(n) if n > 1 else math.nan
    return {
        "codes": z.argmax(-1).numpy(),
        "means": torch.sigmoid(x_logits).numpy(),
        "nll": nll.numpy(),
        "reconstruction": reconstruction,
        "reconstruction_se": se,
        "kl": kl,
        "neg_elbo": reconstruction + kl,
        "max_kl": c.latent_dim * math.log(c.categorical_dim),
    }


@torch.no_grad()
def iw_curve(
    model: CategoricalVAE, x: torch.Tensor, ks=IW_KS, repeats: int = 8, seed: int = 0
) -> dict:
    """The importance-weighted bound of one digit x (1, D) at each k, `repeats` times.

    For each k, gvae.metrics.image_bounds scores `repeats` copies of x with a generator
    seeded `seed`, so the copies are independent estimates. Returns, per k, the mean and
    standard deviation over the repeats of the IW bound (-log p(x) estimate, nats) and of
    the -ELBO estimate, plus every repeat's values.
    """
    batch = x.reshape(1, -1).expand(repeats, -1).contiguous()
    rows = []
    for k in ks:
        neg_elbo, iw_nll = image_bounds(model, batch, int(k), torch.Generator().manual_seed(seed))
        rows.append(
            {
                "k": int(k),
                "iw_nll": iw_nll.double().numpy(),
                "neg_elbo": neg_elbo.double().numpy(),
            }
        )
    return {
        "ks": [r["k"] for r in rows],
        "iw_mean": [float(r["iw_nll"].mean()) for r in rows],
        "iw_std": [float(r["iw_nll"].std()) for r in rows],
        "elbo_mean": [float(r["neg_elbo"].mean()) for r in rows],
        "iw_values": [r["iw_nll"].tolist() for r in rows],
        "repeats": repeats,
        "seed": seed,
    }
