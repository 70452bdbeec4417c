"""The benchmark commands run end to end in a tiny mode (their numbers are not asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.browser import CHROMIUM

pytestmark = pytest.mark.usefixtures("data_dir")


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_speed_benchmark_tiny():
    out = run(
        "benchmarks.speed",
        "--steps",
        "20",
        "--warmup",
        "2",
        "--rss-steps",
        "5",
        "--decode-repeats",
        "5",
        "--process-repeats",
        "1",
        "--epoch-images",
        "200",
    )
    assert out.startswith("machine: ") and "torch " in out and "threads" in out
    assert "python -m benchmarks.article_loop" in out and "python -m gvae.train" in out
    assert "per-epoch speed-up, whole processes" in out
    assert "speed-up over the article-style loop" in out and "arithmetic floor" in out
    assert "matrix products alone / floor" in out and "ceiling of the per-epoch speed-up" in out
    assert "peak RSS" in out and "decode 200 codes" in out


def test_first_digits_benchmark_tiny():
    out = run(
        "benchmarks.first_digits",
        "--set",
        "epochs=1",
        "train_size=500",
        "--seeds",
        "0",
        "--every",
        "0.1",
        "--test-images",
        "50",
        "--target",
        "1000",
    )
    assert "epochs=1" in out and "train_size=500" in out
    assert "| 0 |" in out and "median over seeds" in out  # 1000 nats: reached at once


def test_profile_benchmark_tiny():
    out = run("benchmarks.profile_step", "--steps", "5")
    assert "matrix products" in out and "Adam" in out and "arithmetic floor" in out


def test_quality_benchmark_tiny(tmp_path):
    out = run(
        "experiments.estimators",
        "--epochs",
        "1",
        "--max-steps",
        "5",
        "--train-size",
        "500",
        "--test-limit",
        "20",
        "--iw-samples",
        "5",
        "--no-progress",
        "--save-dir",
        str(tmp_path),
    )
    for estimator in ("gumbel", "st-gumbel", "reinmax"):
        assert f"| {estimator} |" in out
        assert (tmp_path / f"gvae-{estimator}.safetensors").exists()


def test_app_benchmark_tiny():
    out = run("benchmarks.app", "editor", "playground", "--reruns", "2")
    assert "latent editor: one category change" in out and "playground: one tau change" in out


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")
def test_instant_benchmark_tiny():
    out = run(
        "benchmarks.instant", "--starts", "1", "--pages", "Home", "--no-walk", "--sessions", "2"
    )
    assert (
        "Streamlit alone: a title, an image" in out and "Streamlit alone: a title, a chart" in out
    )
    assert "Home" in out and "torch loaded: False" in out
