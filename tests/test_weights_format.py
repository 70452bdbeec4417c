"""The safetensors weights format: round trip, listing without torch, and every way an
untrusted file in the weights folder can be wrong (issue 18's probes among them)."""

import contextlib
import json
import os
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gvae
from gvae import (
    CategoricalVAE,
    CheckpointError,
    ModelConfig,
    infer,
    list_weights,
    load_model,
    save_model,
)
from gvae.app.prior import decode_grid, stored_grid
from gvae.weights import (
    DEFAULT_WEIGHTS,
    MAX_HEADER_BYTES,
    PREVIEW_SEED,
    SUFFIX,
    WEIGHTS_DIR,
    expected_shapes,
    is_shipped,
)

SHIPPED = sorted(WEIGHTS_DIR.glob(f"*{SUFFIX}"))
SMALL = ModelConfig(latent_dim=3, categorical_dim=4, hidden=(16,), image_size=16)


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return CategoricalVAE(SMALL)


def rewrite_header(path, edit) -> None:
    """Apply `edit` to the parsed header of a weights file and write it back in place."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def set_meta(key, value):
    def edit(header):
        header["__metadata__"][key] = value if isinstance(value, str) else json.dumps(value)

    return edit


# -- round trip ----------------------------------------------------------------------------
def test_round_trip_rebuilds_the_architecture_from_the_file(tmp_path, small_model):
    card = {
        "note": "hello",
        "metrics": {"neg_elbo": 2.0, "iw_nll": 1.5, "n_images": 3, "iw_samples": 2},
    }
    path = save_model(small_model, tmp_path / f"m{SUFFIX}", card=card)
    loaded = load_model(path)
    assert loaded.config == small_model.config and loaded.card == card and not loaded.training
    for (name, a), (_, b) in zip(small_model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_the_header_declares_exactly_the_models_tensors():
    model = CategoricalVAE(SMALL)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {
        k: v for k, v in expected_shapes(SMALL).items() if not k.startswith("preview")
    } == shapes


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, small_model):
    save_model(small_model, tmp_path / f"m{SUFFIX}")
    save_model(small_model, tmp_path / f"m{SUFFIX}")  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == [f"m{SUFFIX}"]  # one file per model


def test_failed_save_keeps_the_previous_file(tmp_path, small_model, monkeypatch):
    path = save_model(small_model, tmp_path / f"m{SUFFIX}", card={"v": 1})

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_model(small_model, path, card={"v": 2})
    monkeypatch.undo()
    assert load_model(path).card == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == [f"m{SUFFIX}"]


def test_default_path_is_found_relative_to_the_package(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # never the working directory
    assert DEFAULT_WEIGHTS.is_absolute() and DEFAULT_WEIGHTS.parent == WEIGHTS_DIR
    assert WEIGHTS_DIR.parent == ROOT


def test_shipped_names_are_recognized_in_any_case():
    assert is_shipped(WEIGHTS_DIR / "GVAE-DEFAULT.safetensors")
    assert is_shipped(WEIGHTS_DIR / "gvae-Gumbel.pt")
    assert not is_shipped(WEIGHTS_DIR / "my-model.safetensors")


# -- the shipped files -----------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_stored_preview_is_what_the_weights_decode(path):
    stored = stored_grid(path, PREVIEW_SEED)
    fresh = decode_grid(infer.load(path), PREVIEW_SEED)
    assert stored is not None and stored.shape == fresh.shape and stored.dtype == np.uint8
    # One grey level at most: float sums differ with the thread count.
    assert np.abs(stored.astype(int) - fresh.astype(int)).max() <= 1
    assert stored_grid(path, PREVIEW_SEED + 1) is None  # other seeds are decoded live


def run_without_torch(code: str) -> str:
    """Run `code` in a fresh Python in which `import torch` fails."""
    prelude = "import sys; sys.modules['torch'] = None\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_shipped_weights_are_listed_without_torch():
    out = run_without_torch(
        """
        import gvae
        entries = gvae.list_weights()
        print(sum(e.ok and e.card["metrics"]["n_images"] == 10000 for e in entries), len(entries))
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


def test_write_card_rewrites_the_card_and_the_preview(tmp_path, tiny_model_path, data_dir):
    from gvae.evaluate import main as evaluate_main

    path = tmp_path / f"tiny{SUFFIX}"
    path.write_bytes(tiny_model_path.read_bytes())
    args = [str(path), "--limit", "20", "--iw-samples", "5", "--write-card", "--no-progress"]
    assert evaluate_main([*args, "--data-dir", str(data_dir)]) == 0
    entry = {e.name: e for e in list_weights(tmp_path)}["tiny"]
    assert entry.card["metrics"]["n_images"] == 20 == gvae.load_card(path)["metrics"]["n_images"]
    assert np.array_equal(stored_grid(path, 0), decode_grid(infer.load(path), 0))


def test_an_old_checkpoint_converts_with_its_card(tmp_path, small_model):
    from gvae.convert import main as convert_main

    old = tmp_path / "old.pt"
    payload = {
        "format": "gvae-checkpoint",
        "version": 1,
        "config": SMALL.to_dict(),
        "state_dict": small_model.state_dict(),
        "card": {"steps": 7, "sha256": "of the old bytes"},
    }
    torch.save(payload, old)
    assert "convert it with python -m gvae.convert" in list_weights(tmp_path)[-1].error
    assert convert_main([str(old)]) == 0
    new = load_model(tmp_path / f"old{SUFFIX}")
    assert new.card == {"steps": 7}  # the twin's byte hash described the old file only
    assert all(torch.equal(a, b) for a, b in zip(small_model.parameters(), new.parameters()))


# -- untrusted files: each is listed with its error, never raised, never hangs ---------------
def error_of(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    entry = {e.path.name: e for e in list_weights(path.parent)}[path.name]
    assert not entry.ok and entry.error == info.value.problem
    return info.value.problem


@pytest.fixture
def good(tmp_path, small_model):
    return save_model(small_model, tmp_path / f"m{SUFFIX}", card={"steps": 3})


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_model(tmp_path / f"nope{SUFFIX}")


def test_garbage_and_truncations(tmp_path, good):
    (tmp_path / f"noise{SUFFIX}").write_bytes(b"\x00garbage" * 100)
    assert "not a safetensors file" in error_of(tmp_path / f"noise{SUFFIX}")
    data = good.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        (tmp_path / f"cut{SUFFIX}").write_bytes(data[:cut])
        error_of(tmp_path / f"cut{SUFFIX}")


def test_a_pickle_is_not_a_weights_file(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    torch.save({"x": Payload()}, tmp_path / f"evil{SUFFIX}")
    assert "not a safetensors file" in error_of(tmp_path / f"evil{SUFFIX}")


def test_a_foreign_safetensors_file_is_refused(tmp_path):
    import safetensors.torch

    safetensors.torch.save_file({"w": torch.zeros(3)}, tmp_path / f"foreign{SUFFIX}")
    assert "not a gvae weights file" in error_of(tmp_path / f"foreign{SUFFIX}")


def test_a_huge_declared_model_is_refused_before_anything_is_allocated(good):
    rewrite_header(good, set_meta("model_config", {**SMALL.to_dict(), "hidden": [10**9]}))
    assert "hidden" in error_of(good)
    # 12,000 x 12,000 fits the config's limits but not the 1.4 KB of data: refused at once.
    rewrite_header(good, set_meta("model_config", {**SMALL.to_dict(), "hidden": [12000, 12000]}))
    start = time.perf_counter()
    assert "do not match the config" in error_of(good) or "not of shape" in error_of(good)
    assert time.perf_counter() - start < 2.0


def test_a_header_that_lies_about_shapes_or_offsets_is_refused(good):
    def grow(header):
        header["decoder.0.weight"]["shape"] = [16, 13]

    rewrite_header(good, grow)
    assert "not of shape" in error_of(good)


def test_an_oversized_header_length_is_refused(tmp_path):
    (tmp_path / f"h{SUFFIX}").write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}")
    assert "header length" in error_of(tmp_path / f"h{SUFFIX}")


@pytest.mark.parametrize(
    "card, problem",
    [
        ([1, 2], "not a mapping"),
        ({"metrics": {"neg_elbo": "lots", "iw_nll": 1, "n_images": 1, "iw_samples": 1}}, "metrics"),
        ({"steps": -4}, "steps"),
        ({"train_config": "recipe"}, "train_config"),
        ({"seed_runs": [{"neg_elbo": 96.0, "iw_nll": None}]}, "seed_runs"),
        ({"seed_runs": "three"}, "seed_runs"),
    ],
)
def test_a_card_of_the_wrong_shape_is_refused(good, card, problem):
    rewrite_header(good, set_meta("card", card))
    assert problem in error_of(good)


def test_special_files_never_hang_the_listing(tmp_path, good):
    os.mkfifo(tmp_path / f"fifo{SUFFIX}")
    (tmp_path / f"folder{SUFFIX}").mkdir()
    os.symlink("/dev/zero", tmp_path / f"zero{SUFFIX}")
    start = time.perf_counter()
    entries = {e.path.name: e for e in list_weights(tmp_path)}
    assert time.perf_counter() - start < 5.0
    for name in ("fifo", "folder", "zero"):
        assert "not a regular file" in entries[f"{name}{SUFFIX}"].error, name
    assert entries[good.name].ok


def test_a_file_over_the_size_limit_is_refused(good, monkeypatch):
    monkeypatch.setattr(gvae.weights, "MAX_FILE_BYTES", 100)
    assert "the limit is" in read_header_error(good)


def read_header_error(path) -> str:
    with pytest.raises(CheckpointError) as info:
        gvae.weights.read_bytes(path, gvae.weights.MAX_FILE_BYTES)
    return info.value.problem


def test_a_weights_folder_that_is_a_file_still_lists_the_default(tmp_path):
    (tmp_path / "not-a-folder").write_text("x")
    entries = list_weights(tmp_path / "not-a-folder")
    assert [e.path for e in entries] == [DEFAULT_WEIGHTS]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_files_give_an_error_or_a_model_never_an_exception(tmp_path, data):
    """Random bytes, truncations and byte flips of a real file: load_model raises only
    CheckpointError, and list_weights reports instead of raising."""
    base = (tmp_path / "base.bin").read_bytes() if (tmp_path / "base.bin").exists() else None
    if base is None:
        torch.manual_seed(0)
        save_model(CategoricalVAE(SMALL), tmp_path / "base.bin")
        base = (tmp_path / "base.bin").read_bytes()
    kind = data.draw(st.sampled_from(["random", "truncate", "flip", "header"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=2000))
    elif kind == "truncate":
        blob = base[: data.draw(st.integers(0, len(base)))]
    elif kind == "flip":
        at = data.draw(st.integers(0, len(base) - 1))
        blob = base[:at] + bytes([base[at] ^ data.draw(st.integers(1, 255))]) + base[at + 1 :]
    else:  # a flip inside the JSON header, where parsing is most fragile
        (n,) = struct.unpack("<Q", base[:8])
        at = data.draw(st.integers(8, 8 + n - 1))
        blob = base[:at] + bytes([data.draw(st.integers(0, 255))]) + base[at + 1 :]
    path = tmp_path / f"fuzz{SUFFIX}"
    path.write_bytes(blob)
    with contextlib.suppress(CheckpointError):
        load_model(path)
    entry = next(e for e in list_weights(tmp_path) if e.path == path)
    assert entry.ok or entry.error


def test_every_page_survives_a_folder_of_bad_files(tmp_path, monkeypatch, good):
    """Issue 18's probes together in one weights folder: every page draws, no exception."""
    from conftest import assert_no_exception, new_app

    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / f"dir{SUFFIX}").mkdir()
    os.mkfifo(folder / f"fifo{SUFFIX}")
    os.symlink("/dev/zero", folder / f"zero{SUFFIX}")
    (folder / f"md{SUFFIX}").write_bytes(good.read_bytes())
    rewrite_header(
        folder / f"md{SUFFIX}", set_meta("card", {"command": "![x](http://example.com/x.png)"})
    )
    (folder / f"huge{SUFFIX}").write_bytes(good.read_bytes())
    rewrite_header(
        folder / f"huge{SUFFIX}", set_meta("model_config", {**SMALL.to_dict(), "hidden": [10**9]})
    )
    (folder / f"list{SUFFIX}").write_bytes(good.read_bytes())
    rewrite_header(folder / f"list{SUFFIX}", set_meta("card", [1]))
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(folder))
    for page in (None, "pages/latent_editor.py", "pages/playground.py", "pages/train.py"):
        at = new_app(page=page)
        assert_no_exception(at)
        errors = " ".join(e.value for e in at.sidebar.error)
        for name in ("dir", "fifo", "zero", "huge", "list"):
            assert f"{name}{SUFFIX}" in errors, (page, name)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 4000), flip_at=st.integers(0, 3999), flip=st.integers(1, 255))
def test_fuzzed_files_in_the_weights_folder_never_break_a_page(
    tmp_path_factory, monkeypatch, cut, flip_at, flip
):
    """A damaged file (a header byte flipped, then truncated) beside a good one: Home and
    its sidebar draw within AppTest's time limit, with no exception, and list the file."""
    from conftest import assert_no_exception, new_app

    folder = tmp_path_factory.mktemp("fuzz")
    torch.manual_seed(0)
    data = bytearray(save_model(CategoricalVAE(SMALL), folder / "x.bin").read_bytes())
    (folder / "x.bin").unlink()
    data[flip_at % len(data)] ^= flip
    (folder / f"fuzzed{SUFFIX}").write_bytes(bytes(data[: cut or len(data)]))
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(folder))
    at = new_app(timeout=30)
    assert_no_exception(at)
    loadable = "fuzzed" in at.sidebar.selectbox[0].options
    reported = any(f"fuzzed{SUFFIX}" in e.value for e in at.sidebar.error)
    assert loadable != reported  # listed as a model, or with its error: never neither
