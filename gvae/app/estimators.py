"""The estimator table: gumbel, st-gumbel and reinmax trained with one recipe and an equal
budget (`python -m experiments.estimators`), read from the shipped models' cards, whose
metrics come from `gvae-evaluate --write-card`, beside what the papers report."""

from __future__ import annotations

import statistics
from pathlib import Path

from gvae.config import ESTIMATORS
from gvae.weights import SUFFIX, WEIGHTS_DIR, load_card

# Jang, Gu & Poole (ICLR 2017), Table 1, VAE (Cat.), 20 x 10: test negative bounds with
# m = 1000 samples, on a fixed binarization with a learned prior, SGD with momentum.
# Liu et al. (NeurIPS 2023) report ReinMax on other shapes (8x4 ... 64x8, 10x30), none 20x10.
PUBLISHED = {"gumbel": 101.5, "st-gumbel": 107.8}
PUBLISHED_NOTE = (
    "Published: Jang et al. (2017), Table 1, the same 20 × 10 latent space: a test bound with "
    "1,000 samples, like the IW-NLL column, on MNIST binarized once (other bits than gvae's "
    "test set), with a learned prior and SGD with momentum, so the comparison is indicative. "
    "Liu et al. (2023) report ReinMax on other latent shapes only (8 × 4 to 64 × 8, 10 × 30)."
)


def estimator_rows(folder: Path = WEIGHTS_DIR) -> list[dict]:
    """One row per estimator from gvae-<estimator>.safetensors' card."""
    rows = []
    for estimator in ESTIMATORS:
        card = load_card(Path(folder) / f"gvae-{estimator}{SUFFIX}")
        metrics, recipe = card.get("metrics", {}), card.get("train_config", {})
        rows.append(
            {
                "estimator": estimator,
                "test −ELBO": _fixed(metrics.get("neg_elbo")),
                "test IW-NLL": _fixed(metrics.get("iw_nll")),
                **over_seeds(card.get("seed_runs", [])),
                "published bound": _fixed(PUBLISHED.get(estimator), 1),
                "train minutes": _fixed(card.get("train_seconds", 0) / 60, 0),
                "τ": f"{recipe.get('tau0')} → {recipe.get('tau_min')}",
            }
        )
    return rows


def over_seeds(runs: list[dict]) -> dict:
    """Mean ± sample standard deviation of the test metrics over the seeds the card records
    (`python -m experiments.estimators --record-seeds`); dashes for fewer than two."""
    columns = {"−ELBO over seeds": "neg_elbo", "IW-NLL over seeds": "iw_nll"}
    spread = {"seeds": str(max(1, len(runs)))}
    for column, key in columns.items():
        values = [run[key] for run in runs]
        enough = len(values) >= 2
        spread[column] = (
            f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if enough else "—"
        )
    return spread


def _fixed(value, digits: int = 2) -> str:
    """A number as the table shows it (st.table would print every float with 4 decimals)."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "—"


def recipe_text(folder: Path = WEIGHTS_DIR) -> str:
    """The shared recipe, as the first estimator's card records it."""
    card = load_card(Path(folder) / f"gvae-{ESTIMATORS[0]}{SUFFIX}")
    r = card.get("train_config", {})
    k = card.get("metrics", {}).get("iw_samples", "?")
    return (
        f"One recipe for all three: {r.get('epochs')} epochs of batch {r.get('batch_size')}, "
        f"Adam {r.get('lr')} with {r.get('lr_schedule')} decay, τ = max({r.get('tau_min')}, "
        f"{r.get('tau0')}·exp(−{r.get('anneal_rate')}·t)). Test −ELBO and IW-NLL are the shipped "
        f"models' (seed {r.get('seed')}); the columns over seeds give mean ± standard deviation; "
        f"all scored on the 10,000 binarized test images with k = {k} (docs/evaluation.md)."
    )
