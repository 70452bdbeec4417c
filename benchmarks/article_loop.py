"""The reference article's training step, written as the article writes it: the baseline
that benchmarks.speed times gvae's Trainer against. Never a model gvae trains."""

from __future__ import annotations

import torch


def article_style_step_fn(data_dir, batch_size: int = 100, tau: float = 1.0):
    """One training step written the way the reference article writes it, for timing only.

    A DataLoader over torchvision MNIST with a per-sample ToTensor, the article's Gumbel
    functions, a sigmoid decoder read through Bernoulli(probs) and torch.distributions
    objects built every step. Its bugs are kept on purpose (grey pixels in a Bernoulli,
    ReLU on the logits): this is the baseline being timed, never a model gvae trains.
    """
    import torch.nn.functional as F
    from torch import nn
    from torchvision import datasets, transforms

    from gvae.data import resolve_data_dir

    latent_dim, categorical_dim = 20, 10
    dataset = datasets.MNIST(
        str(resolve_data_dir(data_dir)), train=True, transform=transforms.ToTensor()
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)

    def sample_gumbel(shape, eps=1e-20):
        u = torch.rand(shape)
        return -torch.log(-torch.log(u + eps) + eps)

    def gumbel_softmax(logits, temperature):
        y = F.softmax((logits + sample_gumbel(logits.size())) / temperature, dim=-1)
        return y.view(-1, latent_dim * categorical_dim)

    class ArticleVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(784, 512), nn.Linear(512, 256)
            self.fc3 = nn.Linear(256, latent_dim * categorical_dim)
            self.fc4 = nn.Linear(latent_dim * categorical_dim, 256)
            self.fc5, self.fc6 = nn.Linear(256, 512), nn.Linear(512, 784)

        def forward(self, data, temp):
            logits_z = F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(data.view(-1, 784)))))))
            logits_z = logits_z.view(-1, latent_dim, categorical_dim)
            posterior = torch.distributions.Categorical(probs=F.softmax(logits_z, dim=-1))
            prior = torch.distributions.Categorical(
                probs=torch.ones_like(logits_z) / categorical_dim
            )
            latent_z = gumbel_softmax(logits_z, temp)
            probs_x = torch.sigmoid(self.fc6(F.relu(self.fc5(F.relu(self.fc4(latent_z))))))
            dist_x = torch.distributions.Bernoulli(probs=probs_x, validate_args=False)
            rec = dist_x.log_prob(data.view(-1, 784)).sum(dim=-1)
            log_q = F.log_softmax(logits_z, dim=-1)
            kl = (posterior.probs * (log_q - prior.probs.log())).view(-1, 200).sum(dim=-1)
            return -(rec - kl).mean()

    model = ArticleVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = iter(loader)

    def step():
        nonlocal batches
        try:
            data, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            data, _ = next(batches)
        optimizer.zero_grad()
        loss = model(data, tau)
        loss.backward()
        optimizer.step()

    return step
