"""Every shipped weights file in weights/ loads, decodes, and matches its model card."""

import pytest
import torch

import gvae
from gvae.evaluate import SUBSET_CHECK
from gvae.metrics import evaluate
from gvae.weights import SUFFIX

SHIPPED = sorted(gvae.WEIGHTS_DIR.glob(f"*{SUFFIX}"))


def test_the_default_ships():
    assert gvae.DEFAULT_WEIGHTS in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_loads_and_decodes(path):
    model = gvae.load_model(path)
    c = model.config
    codes = model.sample_prior(7, torch.Generator().manual_seed(0))
    images = model.decode_codes(codes)
    assert codes.shape == (7, c.latent_dim)
    assert images.shape == (7, c.image_size) and images.min() >= 0 and images.max() <= 1
    x = torch.rand(3, c.image_size)
    q = model.posterior(x)
    assert q.shape == (3, c.latent_dim, c.categorical_dim)
    torch.testing.assert_close(q.sum(-1), torch.ones(3, c.latent_dim))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_card_describes_the_file(path):
    card = gvae.load_card(path)
    for key in (
        "model_config",
        "train_config",
        "command",
        "seed",
        "steps",
        "train_seconds",
        "torch_version",
        "metrics",
    ):
        assert key in card, key
    metrics = card["metrics"]
    assert metrics["iw_nll"] <= metrics["neg_elbo"]
    assert metrics["n_images"] == 10_000 and "Generator seeded 0" in metrics["protocol"]


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_card_metrics_match_a_fresh_evaluation_on_a_subset(path, data_dir):
    card = gvae.load_card(path)
    stored = card["subset_check"]
    assert (
        stored["n_images"] == SUBSET_CHECK["n_images"]
        and stored["iw_samples"] == SUBSET_CHECK["iw_samples"]
    )
    images, _ = gvae.fixed_test_set(data_dir, limit=stored["n_images"])
    fresh = evaluate(gvae.load_model(path), images, stored["iw_samples"], seed=stored["seed"])
    # Same bits, same seed: equal up to float summation order across thread counts.
    assert fresh["neg_elbo"] == pytest.approx(stored["neg_elbo"], abs=0.01)
    assert fresh["iw_nll"] == pytest.approx(stored["iw_nll"], abs=0.01)
