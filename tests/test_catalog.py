"""The torch-free model list (JSON twins) and the stored first grid of Home."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT

import gvae
from gvae.app.prior import STORED_SEED, decode_grid, load_stored_grid, stored_grid_path
from gvae.catalog import file_sha256, list_weights, read_twin, twin_path

SHIPPED = sorted(gvae.WEIGHTS_DIR.glob("*.pt"))


def run_without_torch(code: str) -> str:
    """Run `code` in a fresh interpreter where `import torch` fails; returns its stdout."""
    script = "import sys\nsys.modules['torch'] = None  # import torch -> ImportError\n"
    result = subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def entries_by_name(folder):
    return {e.name: e for e in list_weights(folder)}


def test_a_saved_model_is_listed_the_same_from_its_twin_as_from_its_file(tmp_path, tiny_model_path):
    path = tmp_path / "tiny.pt"
    gvae.save_model(gvae.load_model(tiny_model_path), path, card={"note": "twin"})
    from_twin = entries_by_name(tmp_path)["tiny"]
    twin_path(path).unlink()
    from_file = entries_by_name(tmp_path)["tiny"]
    assert from_twin.ok and from_file.ok
    assert from_twin.config == from_file.config == gvae.ModelConfig().to_dict()
    assert from_twin.card["note"] == from_file.card["note"] == "twin"
    assert from_twin.sha256 == from_file.sha256 == file_sha256(path)


def test_a_twin_of_other_bytes_is_not_trusted(tmp_path, tiny_model_path):
    path = tmp_path / "tiny.pt"
    gvae.save_model(gvae.load_model(tiny_model_path), path)
    path.write_bytes(path.read_bytes()[:1000])  # truncated after its twin was written
    entry = entries_by_name(tmp_path)["tiny"]
    assert not entry.ok and "corrupt or truncated" in entry.error


@pytest.mark.parametrize("twin", ["{not json", "[]", '{"sha256": "SHA"}'])
def test_a_damaged_twin_falls_back_to_loading_the_file(tmp_path, tiny_model_path, twin):
    path = tmp_path / "tiny.pt"
    gvae.save_model(gvae.load_model(tiny_model_path), path)
    twin_path(path).write_text(twin.replace("SHA", file_sha256(path)))  # no model_config
    entry = entries_by_name(tmp_path)["tiny"]
    assert entry.ok and entry.config == gvae.ModelConfig().to_dict()


def test_the_shipped_weights_are_listed_without_torch():
    out = run_without_torch(
        """
        import gvae
        entries = gvae.list_weights()
        print(sum(e.ok and e.sha256 is not None for e in entries), len(entries))
        """
    )
    assert out.split() == [str(len(SHIPPED))] * 2


def test_home_draws_its_first_page_without_torch():
    out = run_without_torch(
        """
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file("app.py", default_timeout=60).run()
        assert not at.exception, [e.value for e in at.exception]
        print(len(at.image), at.image[0].captions[0])
        print(sys.modules["torch"])
        """
    )
    first, second = out.strip().splitlines()[-2:]
    assert first.startswith("1 32 codes drawn uniformly from the prior, decoded by gvae-default")
    assert second == "None"  # nothing imported torch


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_stored_grid_is_what_the_weights_decode(path):
    stored = load_stored_grid(path, file_sha256(path), STORED_SEED)
    assert stored is not None, f"missing or stale {stored_grid_path(path).name}"
    fresh = decode_grid(gvae.load_model(path), STORED_SEED)
    assert stored.shape == fresh.shape and stored.dtype == np.uint8
    # One grey level at most: float sums differ with the thread count.
    assert np.abs(stored.astype(int) - fresh.astype(int)).max() <= 1


def test_a_stored_grid_is_only_used_for_its_weights_and_seed():
    path = gvae.DEFAULT_WEIGHTS
    sha256 = json.loads(twin_path(path).read_text())["sha256"]
    assert load_stored_grid(path, sha256, STORED_SEED) is not None
    assert load_stored_grid(path, "0" * 64, STORED_SEED) is None
    assert load_stored_grid(path, sha256, STORED_SEED + 1) is None
    assert load_stored_grid(path, None, STORED_SEED) is None


def test_a_damaged_stored_grid_is_ignored(tmp_path):
    weights = tmp_path / "m.pt"
    stored_grid_path(weights).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert load_stored_grid(weights, "0" * 64, STORED_SEED) is None


def test_write_card_rewrites_the_twin_and_the_stored_grid(tmp_path, tiny_model_path, data_dir):
    from gvae.evaluate import main as evaluate_main

    path = tmp_path / "tiny.pt"
    path.write_bytes(tiny_model_path.read_bytes())
    args = [str(path), "--limit", "20", "--iw-samples", "5", "--write-card", "--no-progress"]
    assert evaluate_main([*args, "--data-dir", str(data_dir)]) == 0
    entry = entries_by_name(tmp_path)["tiny"]
    assert entry.sha256 == file_sha256(path)
    assert read_twin(path, entry.sha256) is not None  # the file changed; its twin follows
    assert entry.card["metrics"]["n_images"] == 20 == gvae.load_card(path)["metrics"]["n_images"]
    stored = load_stored_grid(path, entry.sha256, STORED_SEED)
    assert stored is not None
    assert np.array_equal(stored, decode_grid(gvae.load_model(path), STORED_SEED))
