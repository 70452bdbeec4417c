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


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them and nothing after the last."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


class CategoricalVAE(nn.Module):
    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        self.encoder = mlp([c.image_size, *c.hidden, c.code_size])
        self.decoder = mlp([c.code_size, *reversed(c.hidden), c.image_size])

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
