"""Shared fixtures. Tests read real MNIST from ../shared/data and never download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Everything under test (the library, the app, subprocesses) finds MNIST here.
os.environ.setdefault("GVAE_DATA_DIR", str(SHARED_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["GVAE_DATA_DIR"])
    if not (path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST is expected under {path}/MNIST/raw (set GVAE_DATA_DIR)")
    return path
