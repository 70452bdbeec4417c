"""The one Gumbel-Softmax implementation: sampling and its gradient estimators.

Every sample in gvae (training, evaluation, every page of the app) comes from here.

- Gumbel-Max trick: argmax(logits + g), g ~ Gumbel(0, 1), is an exact sample from
  softmax(logits).
- Gumbel-Softmax / Concrete (Jang et al. 2017; Maddison et al. 2017): replace the argmax
  by softmax((logits + g) / tau), a differentiable relaxation that tends to the one-hot
  sample as tau -> 0.
- Straight-through (Bengio et al. 2013; Jang et al. 2017): forward the one-hot sample,
  backpropagate through the relaxed one.
- ReinMax (Liu et al., NeurIPS 2023): forward a one-hot sample, backpropagate a
  second-order (Heun's method) estimate of the gradient.

The noise can be passed in, so a caller can hold one Gumbel draw fixed while tau moves.
"""

from __future__ import annotations

import torch

from gvae.config import ESTIMATORS
from gvae.softmax import softmax


def sample_gumbel(shape, generator=None, dtype=torch.float32, device=None) -> torch.Tensor:
    """Standard Gumbel noise g = -log(-log U).

    U is kept inside [tiny, 1 - eps], never 0 or 1, so g is always finite; the
    reference article adds eps=1e-20 instead, which vanishes in float32 next to 1.
    """
    info = torch.finfo(dtype)
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    return u.clamp_(min=info.tiny, max=1.0 - info.eps).log_().neg_().log_().neg_()


def one_hot_argmax(scores: torch.Tensor) -> torch.Tensor:
    """One-hot of the argmax over the last axis, same shape and dtype as scores."""
    index = scores.argmax(dim=-1, keepdim=True)
    return torch.zeros_like(scores).scatter_(-1, index, 1.0)


def _softmax_jvp(p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """J(p)^T g for the softmax Jacobian J(p) = diag(p) - p p^T (symmetric)."""
    return p * g - p * (p * g).sum(dim=-1, keepdim=True)


class _ReinMax(torch.autograd.Function):
    """Liu et al. 2023, Algorithm 2. Forward: the one-hot sample D.

    Backward: grad = 2 J(pi1)^T g - 1/2 J(pi0)^T g with
    pi0 = softmax(logits) and pi1 = (softmax(logits / tau) + D) / 2.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, sample: torch.Tensor, tau: float) -> torch.Tensor:
        ctx.save_for_backward(logits, sample)
        ctx.tau = tau
        return sample

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, sample = ctx.saved_tensors
        pi0 = softmax(logits)
        pi1 = 0.5 * (softmax(logits / ctx.tau) + sample)
        grad_logits = 2.0 * _softmax_jvp(pi1, grad) - 0.5 * _softmax_jvp(pi0, grad)
        return grad_logits, None, None


def gumbel_softmax(
    logits: torch.Tensor,
    tau: float,
    hard: bool = False,
    noise: torch.Tensor | None = None,
    estimator: str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample from the Gumbel-Softmax distribution over the last axis of `logits`.

    logits: (..., K) unnormalized log-probabilities.
    tau: temperature > 0.
    hard: forward the one-hot sample (straight-through) instead of the relaxed one.
    noise: Gumbel noise of logits' shape; drawn fresh when None.
    estimator: "gumbel" (relaxed; with hard=True, straight-through), "st-gumbel"
        (straight-through) or "reinmax". Overrides `hard` when given.
    Returns a tensor of logits' shape whose rows lie on the simplex.
    """
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if estimator is not None:
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
        hard = estimator != "gumbel"
    if noise is None:
        noise = sample_gumbel(logits.shape, generator, logits.dtype, logits.device)
    elif noise.shape != logits.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} != logits shape {tuple(logits.shape)}")

    perturbed = logits + noise  # (..., K)
    if estimator == "reinmax":
        # The forward sample is the Gumbel-Max draw: exactly distributed as softmax(logits).
        return _ReinMax.apply(logits, one_hot_argmax(perturbed.detach()), float(tau))

    soft = softmax(perturbed / tau)  # (..., K)
    if not hard:
        return soft
    # Straight-through: the value of the one-hot sample, the gradient of the soft one.
    return soft + (one_hot_argmax(soft.detach()) - soft).detach()
