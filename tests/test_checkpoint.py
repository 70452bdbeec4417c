"""Checkpoint round-trip and every way a weights file can be wrong."""

import pickle

import pytest
import torch

import gvae
from gvae import CategoricalVAE, CheckpointError, ModelConfig, list_weights, load_model, save_model
from gvae.catalog import file_sha256, read_twin


class NotATensor:  # anything weights_only must refuse to unpickle
    def __reduce__(self):
        return (print, ("this would run at load time",))


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return CategoricalVAE(ModelConfig(latent_dim=3, categorical_dim=4, hidden=(16,)))


def test_round_trip_rebuilds_the_architecture_from_the_file(tmp_path, small_model):
    path = save_model(small_model, tmp_path / "m.pt", card={"note": "hello", "metrics": {"x": 1.5}})
    loaded = load_model(path)
    assert loaded.config == small_model.config
    assert loaded.card == {"note": "hello", "metrics": {"x": 1.5}}
    assert not loaded.training
    for (name, a), (_, b) in zip(small_model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    # The file is a plain dict of tensors and primitives.
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "gvae-checkpoint"


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, small_model):
    save_model(small_model, tmp_path / "m.pt")
    save_model(small_model, tmp_path / "m.pt")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]  # file and twin


def test_failed_save_keeps_the_previous_file(tmp_path, small_model, monkeypatch):
    path = save_model(small_model, tmp_path / "m.pt", card={"v": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(small_model, path, card={"v": 2})
    monkeypatch.undo()
    assert load_model(path).card == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.pt"]
    assert read_twin(path, file_sha256(path))["v"] == 1  # the twin still describes the file


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file") as info:
        load_model(tmp_path / "nope.pt")
    assert "nope.pt" in str(info.value)


def test_corrupt_file(tmp_path, small_model):
    path = save_model(small_model, tmp_path / "m.pt")
    path.write_bytes(path.read_bytes()[:500])  # truncated
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_model(path)
    (tmp_path / "noise.pt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError, match="noise.pt"):
        load_model(tmp_path / "noise.pt")


def test_foreign_file(tmp_path, small_model):
    torch.save(small_model.state_dict(), tmp_path / "bare.pt")  # a bare state_dict
    with pytest.raises(CheckpointError, match="not a gvae checkpoint"):
        load_model(tmp_path / "bare.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a gvae checkpoint"):
        load_model(tmp_path / "list.pt")


def test_pickled_payload_is_refused_without_running_it(tmp_path, capsys):
    with open(tmp_path / "evil.pt", "wb") as f:
        torch.save({"format": "gvae-checkpoint", "payload": NotATensor()}, f)
    with pytest.raises(CheckpointError, match="pickled objects"):
        load_model(tmp_path / "evil.pt")
    assert "would run" not in capsys.readouterr().out
    (tmp_path / "raw.pt").write_bytes(pickle.dumps({"format": "gvae-checkpoint"}))
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "raw.pt")


def test_config_and_shape_mismatch(tmp_path, small_model):
    path = save_model(small_model, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"]["latent_dim"] = 5  # the stored weights are for 3
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path / "mismatch.pt")
    payload["config"]["latent_dim"] = -1
    torch.save(payload, tmp_path / "invalid.pt")
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_model(tmp_path / "invalid.pt")


def test_list_weights_reports_bad_files_instead_of_raising(tmp_path, small_model):
    save_model(small_model, tmp_path / "good.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    entries = {e.name: e for e in list_weights(tmp_path)}
    assert entries["good"].ok
    assert not entries["broken"].ok
    assert "not a readable PyTorch file" in entries["broken"].error


def test_default_path_is_found_relative_to_the_package(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # never the working directory
    assert gvae.DEFAULT_WEIGHTS.is_absolute()
    assert gvae.DEFAULT_WEIGHTS.parent == gvae.WEIGHTS_DIR
    assert gvae.WEIGHTS_DIR.parent == gvae.checkpoint.Path(gvae.__file__).resolve().parent.parent
