"""The reference article's training loop, written as the article writes it: the baseline
that benchmarks.speed times gvae's Trainer against. Never a model gvae trains.

    python -m benchmarks.article_loop --epochs 2      # the article's loop as a whole process

A DataLoader over torchvision MNIST with a per-sample ToTensor, the article's Gumbel
functions, a sigmoid decoder read through Bernoulli(probs) and torch.distributions objects
built every step. Its bugs are kept on purpose (grey pixels in a Bernoulli, ReLU on the
logits, a temperature that compounds and restarts every epoch): this is the baseline being
timed. Its plotting every 10 batches is left out, which only flatters the baseline.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LATENT_DIM, CATEGORICAL_DIM = 20, 10
TEMPERATURE, TEMP_MIN, ANNEAL_RATE = 1.0, 0.5, 0.00003
LOG_INTERVAL = 10


def sample_gumbel(shape, eps=1e-20):
    u = torch.rand(shape)
    return -torch.log(-torch.log(u + eps) + eps)


def gumbel_softmax(logits, temperature):
    y = F.softmax((logits + sample_gumbel(logits.size())) / temperature, dim=-1)
    return y.view(-1, LATENT_DIM * CATEGORICAL_DIM)


class ArticleVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 512), nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, LATENT_DIM * CATEGORICAL_DIM)
        self.fc4 = nn.Linear(LATENT_DIM * CATEGORICAL_DIM, 256)
        self.fc5, self.fc6 = nn.Linear(256, 512), nn.Linear(512, 784)

    def forward(self, data, temp):
        logits_z = F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(data.view(-1, 784)))))))
        logits_z = logits_z.view(-1, LATENT_DIM, CATEGORICAL_DIM)
        posterior = torch.distributions.Categorical(probs=F.softmax(logits_z, dim=-1))
        prior = torch.distributions.Categorical(probs=torch.ones_like(logits_z) / CATEGORICAL_DIM)
        latent_z = gumbel_softmax(logits_z, temp)
        probs_x = torch.sigmoid(self.fc6(F.relu(self.fc5(F.relu(self.fc4(latent_z))))))
        dist_x = torch.distributions.Bernoulli(probs=probs_x, validate_args=False)
        rec = dist_x.log_prob(data.view(-1, 784)).sum(dim=-1)
        log_q = F.log_softmax(logits_z, dim=-1)
        kl = (posterior.probs * (log_q - prior.probs.log())).view(-1, 200).sum(dim=-1)
        return -(rec - kl).mean()


def article_loader(data_dir, batch_size: int = 100, train_size: int | None = None):
    from torchvision import datasets, transforms

    from gvae.data import resolve_data_dir

    dataset = datasets.MNIST(
        str(resolve_data_dir(data_dir)), train=True, transform=transforms.ToTensor()
    )
    if train_size is not None:
        dataset = torch.utils.data.Subset(dataset, range(train_size))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)


def article_style_step_fn(data_dir, batch_size: int = 100, tau: float = 1.0):
    """One training step of the article's loop, for timing step by step."""
    loader = article_loader(data_dir, batch_size)
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


def train(epoch, model, optimizer, loader):
    """The article's train(), its figures left out."""
    model.train()
    train_loss = 0
    temp = TEMPERATURE
    for batch_idx, (data, _) in enumerate(loader):
        optimizer.zero_grad()
        loss = model(data, temp)
        loss.backward()
        train_loss += loss.item() * len(data)
        optimizer.step()
        if batch_idx % 100 == 1:
            temp = np.maximum(temp * np.exp(-ANNEAL_RATE * batch_idx), TEMP_MIN)
        if batch_idx % LOG_INTERVAL == 0:
            print(
                f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)} "
                f"({100.0 * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}"
            )
            print("Temperature : ", temp)
    print(f"====> Epoch: {epoch} Average loss: {train_loss / len(loader.dataset):.4f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.article_loop", description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train-size", type=int, default=None, help="use the first n images")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    loader = article_loader(args.data_dir, train_size=args.train_size)
    model = ArticleVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        train(epoch, model, optimizer, loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
