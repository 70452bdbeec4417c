"""Inference in numpy: the app's one Python path for looking at a model, with no torch.

torch trains and evaluates (gvae.model, gvae.gumbel, gvae.metrics); every page of the app
shows models through this module, which reads a weights file's tensors straight from its
safetensors bytes (gvae.weights.load_arrays). Starting the server, opening a page and
moving a slider never import torch.

Everything here is a second implementation of a torch original, and tests/test_infer.py
pins each to it on the shipped models (max abs difference <= 1e-5):

- Network.encode / decode / decode_codes / posterior: CategoricalVAE's;
- gumbel_softmax, estimator_gradient: gvae.gumbel.gumbel_softmax's forward values and
  the backward pass autograd takes through it (relaxed, straight-through, ReinMax);
- bernoulli_nll, kl_to_uniform, image_bounds: gvae.elbo's and gvae.metrics'.

Random draws come from numpy Generators; the noise is always an argument, so a caller
can hold one draw fixed while tau moves (as the torch side allows too).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gvae.config import ESTIMATORS, ModelConfig
from gvae.weights import load_arrays


# -- the networks ----------------------------------------------------------------------------
def _layers(arrays: dict[str, np.ndarray], net: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (in, out), bias (out,)) of each Linear layer of an nn.Sequential whose
    Linears sit at even indices (gvae.model.mlp), in order."""
    layers, i = [], 0
    while f"{net}.{i}.weight" in arrays:
        layers.append(
            (np.ascontiguousarray(arrays[f"{net}.{i}.weight"].T), arrays[f"{net}.{i}.bias"])
        )
        i += 2
    return layers


def _mlp(layers: list[tuple[np.ndarray, np.ndarray]], h: np.ndarray) -> np.ndarray:
    """Linear layers with ReLU between them and nothing after the last (gvae.model.mlp)."""
    for i, (weight, bias) in enumerate(layers):
        if i > 0:
            h = np.maximum(h, 0.0)
        h = h @ weight + bias
    return h


@dataclass(frozen=True, eq=False)
class Network:
    """A CategoricalVAE's weights as float32 arrays, and what the app computes with them."""

    config: ModelConfig
    encoder: list[tuple[np.ndarray, np.ndarray]]  # per layer (in, out), (out,)
    decoder: list[tuple[np.ndarray, np.ndarray]]
    card: dict = field(default_factory=dict)

    def encode(self, x) -> np.ndarray:
        """Pixels (B, D) in [0, 1] -> posterior logits (B, N, K), no activation."""
        c = self.config
        x = np.asarray(x, dtype=np.float32).reshape(-1, c.image_size)
        return _mlp(self.encoder, x).reshape(-1, c.latent_dim, c.categorical_dim)

    def decode(self, z) -> np.ndarray:
        """Codes (B, N, K), one-hot or relaxed -> Bernoulli pixel logits (B, D)."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.config.code_size)
        return _mlp(self.decoder, z)

    def decode_codes(self, codes) -> np.ndarray:
        """Category indices (B, N) -> Bernoulli means (B, D) in [0, 1]."""
        return sigmoid(self.decode(one_hot(codes, self.config.categorical_dim)))

    def posterior(self, x) -> np.ndarray:
        """q(z|x) as probabilities (B, N, K)."""
        return softmax(self.encode(x))

    def argmax_code(self, image) -> tuple[list[int], np.ndarray]:
        """The per-variable argmax of q(z|x) for one image, and q itself (N, K)."""
        q = self.posterior(image)[0]
        return q.argmax(axis=-1).tolist(), q

    def images(self, codes, side: int = 28) -> np.ndarray:
        """Codes (B, N) -> Bernoulli means as (B, side, side) float32 images."""
        codes = np.asarray(codes).reshape(-1, self.config.latent_dim)
        return self.decode_codes(codes).reshape(-1, side, side)


def from_arrays(
    config: ModelConfig, arrays: dict[str, np.ndarray], card: dict | None = None
) -> Network:
    """A Network from a CategoricalVAE state_dict's arrays (names and (out, in) layout)."""
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
    return Network(config, _layers(arrays, "encoder"), _layers(arrays, "decoder"), card or {})


def load(path: str | os.PathLike | None = None) -> Network:
    """The Network of a weights file (default: the shipped default), its card as .card."""
    header, arrays = load_arrays(path)
    return from_arrays(header.config, arrays, header.card)


# -- softmax and friends, over the last axis -------------------------------------------------
def one_hot(codes, k: int) -> np.ndarray:
    """Category indices (...) -> one-hot float32 (..., k)."""
    return np.eye(k, dtype=np.float32)[np.asarray(codes, dtype=np.int64)]


def log_softmax(x) -> np.ndarray:
    x = np.asarray(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(x) -> np.ndarray:
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x) -> np.ndarray:
    """1 / (1 + e^-x), without overflow warnings at large |x|."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


# -- the Gumbel-Softmax sampler (gvae.gumbel) ------------------------------------------------
def sample_gumbel(shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Standard Gumbel noise g = -log(-log U), U kept inside [tiny, 1 - eps] so that g is
    always finite (gvae.gumbel.sample_gumbel)."""
    info = np.finfo(dtype)
    u = rng.random(shape, dtype=dtype)
    return -np.log(-np.log(np.clip(u, info.tiny, 1.0 - info.eps)))


def gumbel_noise(shape, seed: int, dtype=np.float64) -> np.ndarray:
    """sample_gumbel from a Generator seeded `seed`: one reproducible draw."""
    return sample_gumbel(shape, np.random.default_rng(seed), dtype)


def one_hot_argmax(scores) -> np.ndarray:
    """One-hot of the argmax over the last axis, same shape and dtype as scores."""
    scores = np.asarray(scores)
    out = np.zeros_like(scores)
    np.put_along_axis(out, scores.argmax(axis=-1)[..., None], 1.0, axis=-1)
    return out


def gumbel_softmax(logits, tau: float, noise, hard: bool = False) -> np.ndarray:
    """softmax((logits + g) / tau) for the Gumbel draw `noise` (logits' shape); with
    `hard`, its one-hot argmax (the straight-through forward value, and the Gumbel-Max
    sample: ReinMax forwards the same). (..., K) -> (..., K)."""
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    perturbed = np.asarray(logits) + np.asarray(noise)
    if hard:
        return one_hot_argmax(perturbed)
    return softmax(perturbed / tau)


def _softmax_jvp(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """J(p)^T g for the softmax Jacobian J(p) = diag(p) - p p^T (symmetric)."""
    return p * g - p * (p * g).sum(axis=-1, keepdims=True)


def estimator_gradient(
    logits, tau: float, noise, estimator: str, grad_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """d f(z) / d logits as each estimator backpropagates it, for z = gumbel_softmax with
    that estimator and grad_of(z) = df/dz at the forward value. (..., K) -> (..., K).

    - gumbel (relaxed): z = y = softmax((logits + g) / tau), exact: J(y)^T df/dy / tau;
    - st-gumbel: z = one-hot D of y forward, y's gradient backward: J(y)^T df/dD / tau;
    - reinmax (Liu et al. 2023, Algorithm 2): z = D, 2 J(pi1)^T df/dD - 1/2 J(pi0)^T df/dD
      with pi0 = softmax(logits), pi1 = (softmax(logits / tau) + D) / 2.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    logits = np.asarray(logits)
    soft = gumbel_softmax(logits, tau, noise)
    if estimator == "gumbel":
        return _softmax_jvp(soft, grad_of(soft)) / tau
    hard = one_hot_argmax(soft)
    upstream = grad_of(hard)
    if estimator == "st-gumbel":
        return _softmax_jvp(soft, upstream) / tau
    pi0, pi1 = softmax(logits), 0.5 * (softmax(logits / tau) + hard)
    return 2.0 * _softmax_jvp(pi1, upstream) - 0.5 * _softmax_jvp(pi0, upstream)


# -- the objective and the bounds (gvae.elbo, gvae.metrics) ----------------------------------
def bernoulli_nll(x_logits, x) -> np.ndarray:
    """-log p(x|z) per image from pixel logits: (B, D) -> (B,), exact at any logit."""
    x_logits, x = np.asarray(x_logits), np.asarray(x)
    softplus = np.maximum(x_logits, 0) + np.log1p(np.exp(-np.abs(x_logits)))  # log(1 + e^l)
    return (softplus - x * x_logits).sum(axis=-1)


def variable_kl(z_logits) -> np.ndarray:
    """KL(q(z_i|x) || Uniform(K)) per variable: (B, N, K) -> (B, N)."""
    log_q = log_softmax(np.asarray(z_logits))
    return (np.exp(log_q) * (log_q + math.log(log_q.shape[-1]))).sum(axis=-1)


def kl_to_uniform(z_logits) -> np.ndarray:
    """Analytic KL(q || Uniform(K)) summed over the N variables: (B, N, K) -> (B,)."""
    return variable_kl(z_logits).sum(axis=-1)


def importance_weights(net: Network, x, noise) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the k one-hot posterior samples argmax(logits + noise), Gumbel noise (k, B, N, K):
    log p(x|z) (k, B), the log importance weights log p(x|z) p(z) / q(z|x) (k, B), and
    KL(q(z|x) || p(z)) (B,)."""
    c = net.config
    x = np.asarray(x, dtype=np.float32).reshape(-1, c.image_size)  # (B, D)
    z_logits = net.encode(x)  # (B, N, K)
    log_q = log_softmax(z_logits.astype(np.float64))
    index = (z_logits + noise).argmax(axis=-1)  # (k, B, N): exact samples from q
    k = len(index)
    log_qz = np.take_along_axis(np.broadcast_to(log_q, (k, *log_q.shape)), index[..., None], -1)
    log_qz = log_qz.sum(axis=(-2, -1))  # (k, B)
    log_pz = -c.latent_dim * math.log(c.categorical_dim)  # uniform prior
    x_logits = net.decode(one_hot(index, c.categorical_dim))  # (k*B, D)
    log_px = -bernoulli_nll(x_logits, np.tile(x, (k, 1))).reshape(k, -1)  # (k, B)
    return log_px, log_px.astype(np.float64) + log_pz - log_qz, kl_to_uniform(z_logits)


def bounds_from_weights(log_px, log_w, kl) -> tuple[np.ndarray, np.ndarray]:
    """(neg_elbo, iw_nll), each (B,), from importance_weights' samples (all k of them)."""
    k = len(log_w)
    top = log_w.max(axis=0)
    iw_nll = -(top + np.log(np.exp(log_w - top).sum(axis=0)) - math.log(k))
    return -log_px.mean(axis=0) + kl, iw_nll


def image_bounds(net: Network, x, noise) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (neg_elbo, iw_nll), each (B,), from the k one-hot posterior samples
    argmax(logits + noise) for Gumbel noise (k, B, N, K) (gvae.metrics.image_bounds)."""
    return bounds_from_weights(*importance_weights(net, x, noise))
