"""The estimator table's seeds (experiments.estimators --record-seeds, gvae.app.estimators):
recorded only across runs of one recipe, and shown as mean ± sample standard deviation."""

import numpy as np
import pytest
import torch

import gvae
from experiments.estimators import record_seeds
from gvae.app.estimators import estimator_rows
from gvae.config import ESTIMATORS
from gvae.weights import load_card

RECIPE = {"epochs": 200, "lr": 1e-3, "tau_min": 0.5}


def save_run(folder, estimator, seed, neg_elbo, recipe=RECIPE):
    """A weights file as experiments.estimators saves it: its own test metrics in the card."""
    torch.manual_seed(seed)
    card = {
        "train_config": {**recipe, "seed": seed, "estimator": estimator},
        "train_seconds": 100.0 + seed,
        "bench_metrics": {"neg_elbo": neg_elbo, "iw_nll": neg_elbo - 7, "iw_samples": 1000},
    }
    folder.mkdir(exist_ok=True)
    gvae.save_model(gvae.CategoricalVAE(), folder / f"gvae-{estimator}.safetensors", card)


def test_seed_runs_are_recorded_and_shown_as_mean_and_spread(tmp_path):
    elbos = {0: 96.0, 1: 97.0, 2: 95.5}
    for seed, neg_elbo in elbos.items():
        for estimator in ESTIMATORS:
            save_run(tmp_path / str(seed), estimator, seed, neg_elbo)
    record_seeds(tmp_path / "0", [tmp_path / "1", tmp_path / "2"])

    card = load_card(tmp_path / "0" / "gvae-reinmax.safetensors")
    assert [run["seed"] for run in card["seed_runs"]] == [0, 1, 2]
    assert [run["neg_elbo"] for run in card["seed_runs"]] == list(elbos.values())
    assert card["bench_metrics"]["neg_elbo"] == 96.0  # the shipped run's card is kept
    values = np.array(list(elbos.values()))
    row = estimator_rows(tmp_path / "0")[2]
    assert row["seeds"] == "3"
    assert row["−ELBO over seeds"] == f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
    assert row["IW-NLL over seeds"] == f"{values.mean() - 7:.2f} ± {values.std(ddof=1):.2f}"


def test_one_seed_shows_no_spread(tmp_path):
    for estimator in ESTIMATORS:
        save_run(tmp_path, estimator, 0, 96.0)
    row = estimator_rows(tmp_path)[0]
    assert row["seeds"] == "1" and row["−ELBO over seeds"] == "—"


def test_runs_of_another_recipe_are_refused(tmp_path):
    for estimator in ESTIMATORS:
        save_run(tmp_path / "0", estimator, 0, 96.0)
        save_run(tmp_path / "1", estimator, 1, 96.0, recipe={**RECIPE, "tau_min": 0.3})
    with pytest.raises(SystemExit, match="differ in more than their seed"):
        record_seeds(tmp_path / "0", [tmp_path / "1"])
    assert "seed_runs" not in load_card(tmp_path / "0" / "gvae-gumbel.safetensors")
