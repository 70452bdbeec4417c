"""The categorical VAE: an MLP encoder to N x K logits, an MLP decoder to pixel logits.

Architecture of Jang et al. (2017) and the reference article (784-512-256-200 and
200-256-512-784), with the article's bugs fixed: no activation on the encoder's logits,
and a decoder that returns Bernoulli logits rather than sigmoid probabilities.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gvae.config import ModelConfig
from gvae.elbo import LossTerms, negative_elbo
from gvae.gumbel import gumbel_softmax


class MLP(nn.Sequential):
    """Linear layers with ReLU between them and nothing after the last.

    An nn.Sequential (its state-dict keys are the checkpoints'), whose forward runs the
    layers as one autograd node (_MLPFunction): the same products as autograd's, with
    ReLU applied in place and a dozen graph nodes fewer per step.
    """

    def __init__(self, sizes: list[int]):
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(fan_in, fan_out))
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = [p for layer in self if isinstance(layer, nn.Linear) for p in layer.parameters()]
        if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
            return _MLPFunction.apply(x, *params)
        return _mlp_forward(x, params)[-1]


def _mlp_forward(x: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Every layer's input, then the output: [x, relu(h1), ..., logits]."""
    weights, biases = params[0::2], params[1::2]
    outputs = [x]
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        h = torch.addmm(bias, outputs[-1], weight.t())  # what nn.Linear computes
        outputs.append(h.relu_() if i < len(weights) - 1 else h)
    return outputs


class _MLPFunction(torch.autograd.Function):
    """Forward and backward of MLP in one node. The backward makes the calls autograd
    would (torch's addmm and threshold_backward formulas), so gradients match bitwise."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        outputs = _mlp_forward(x, list(params))
        ctx.save_for_backward(*outputs[:-1], *params[0::2])
        return outputs[-1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        saved = ctx.saved_tensors
        n = len(saved) // 2
        inputs, weights = saved[:n], saved[n:]  # each layer's input and weight
        grads: list[torch.Tensor | None] = [None] * (2 * n)
        for i in reversed(range(n)):
            grads[2 * i] = grad.t().mm(inputs[i])  # (out, in)
            grads[2 * i + 1] = grad.sum(dim=0)
            if i > 0:
                grad = torch.ops.aten.threshold_backward(grad.mm(weights[i]), inputs[i], 0)
            elif ctx.needs_input_grad[0]:
                grad = grad.mm(weights[0])
        return (grad if ctx.needs_input_grad[0] else None), *grads


class CategoricalVAE(nn.Module):
    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        self.encoder = MLP([c.image_size, *c.hidden, c.code_size])
        self.decoder = MLP([c.code_size, *reversed(c.hidden), c.image_size])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Pixels (B, D) in [0, 1] -> posterior logits (B, N, K), no activation."""
        return self.encoder(x).view(-1, self.config.latent_dim, self.config.categorical_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, N, K), one-hot or relaxed -> Bernoulli pixel logits (B, D)."""
        return self.decoder(z.reshape(-1, self.config.code_size))

    def forward(
        self,
        x: torch.Tensor,
        tau: float,
        estimator: str = "gumbel",
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (pixel logits (B, D), posterior logits (B, N, K), sample (B, N, K)).
        noise: the Gumbel draw (B, N, K), drawn from `generator` when None."""
        z_logits = self.encode(x)
        z = gumbel_softmax(z_logits, tau, noise=noise, estimator=estimator, generator=generator)
        return self.decode(z), z_logits, z

    def loss(
        self,
        x: torch.Tensor,
        tau: float,
        estimator: str = "gumbel",
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> LossTerms:
        """Negative ELBO of binary images x (B, D), with one Gumbel-Softmax sample."""
        x_logits, z_logits, _ = self(x, tau, estimator, generator, noise)
        return negative_elbo(x_logits, x, z_logits)

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Category indices (B, N) -> Bernoulli means (B, D) in [0, 1]."""
        one_hot = nn.functional.one_hot(codes.long(), self.config.categorical_dim)
        param = next(self.parameters())
        return torch.sigmoid(self.decode(one_hot.to(param.device, param.dtype)))

    @torch.no_grad()
    def posterior(self, x: torch.Tensor) -> torch.Tensor:
        """q(z|x) as probabilities (B, N, K)."""
        return torch.softmax(self.encode(x), dim=-1)

    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes (n, N) drawn from the uniform prior."""
        c = self.config
        return torch.randint(c.categorical_dim, (n, c.latent_dim), generator=generator)
