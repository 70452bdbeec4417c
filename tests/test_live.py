"""gvae.app.live: the decoder blob the page runs, the shared pixel thresholds, and the
checks on what the page sends back. (The page's JavaScript is pinned in
tests/test_browser_live.py.)"""

import numpy as np
import pytest
import torch
from conftest import network_of

import gvae
from gvae import infer
from gvae.app.live import (
    binary_sample,
    hash32,
    model_blob,
    parse_editor_edit,
    parse_playground_edit,
    pixel_thresholds,
    read_model_blob,
    version,
)
from gvae.config import ModelConfig


def blob_decode(blob: bytes, codes: np.ndarray) -> np.ndarray:
    """The page's algorithm in numpy, from the blob alone: one-hot layer 1 as a sum of
    weight rows, ReLU between layers, sigmoid last."""
    header, data = read_model_blob(blob)
    n, k = header["latent_dim"], header["categorical_dim"]
    h = None
    for index, layer in enumerate(header["layers"]):
        w = data[layer["weight"] : layer["weight"] + layer["in"] * layer["out"]]
        w = w.reshape(layer["in"], layer["out"]).astype(np.float64)
        b = data[layer["bias"] : layer["bias"] + layer["out"]].astype(np.float64)
        if index == 0:  # one-hot input: the sum of the chosen rows, (B, out)
            h = b + w[np.arange(n) * k + codes].sum(axis=1)
            continue
        h = b + np.maximum(h, 0) @ w
    return 1 / (1 + np.exp(-h))


def test_the_blob_holds_the_decoder_exactly():
    model = gvae.load_model()
    blob = model_blob(infer.load())
    codes = np.random.default_rng(0).integers(10, size=(64, 20))
    expected = model.decode_codes(torch.as_tensor(codes)).numpy()
    assert np.abs(blob_decode(blob, codes) - expected).max() < 1e-5
    header, data = read_model_blob(blob)
    assert [(la["in"], la["out"]) for la in header["layers"]] == [
        (200, 256),
        (256, 512),
        (512, 784),
    ]
    assert (header["latent_dim"], header["categorical_dim"]) == (20, 10)


def test_the_blob_holds_the_encoder_exactly():
    """The page's encoder reads its layers from the same blob: ReLU between them, logits
    out, as CategoricalVAE.encode."""
    model = gvae.load_model()
    header, data = read_model_blob(model_blob(infer.load()))
    x = np.random.default_rng(0).random((16, 784))
    h = x
    for index, layer in enumerate(header["encoder"]):
        w = data[layer["weight"] : layer["weight"] + layer["in"] * layer["out"]]
        b = data[layer["bias"] : layer["bias"] + layer["out"]]
        h = (np.maximum(h, 0) if index else h) @ w.reshape(layer["in"], layer["out"]) + b
    with torch.no_grad():
        expected = model.encode(torch.as_tensor(x, dtype=torch.float32)).numpy().reshape(16, -1)
    assert np.abs(h - expected).max() < 1e-4
    assert data.size == sum(p.numel() for p in model.parameters())


def test_other_sizes_work_and_versions_follow_the_weights():
    torch.manual_seed(0)
    model = gvae.CategoricalVAE(ModelConfig(latent_dim=4, categorical_dim=3, hidden=(16, 8)))
    blob = model_blob(network_of(model))
    codes = np.array([[0, 1, 2, 0], [2, 2, 1, 1]])
    expected = model.decode_codes(torch.as_tensor(codes)).numpy()
    assert np.abs(blob_decode(blob, codes) - expected).max() < 1e-6
    with torch.no_grad():
        model.decoder[0].bias[0] += 1
    assert version(model_blob(network_of(model))) != version(blob)


def test_pixel_thresholds_are_uniform_and_fixed():
    u = pixel_thresholds(784)
    assert np.array_equal(u, pixel_thresholds(784))
    assert u.min() > 0 and u.max() < 1
    # 784 uniforms: mean 1/2 and every decile populated (a hash, not a PRNG, but well mixed)
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / 784)
    assert np.bincount((u * 10).astype(int), minlength=10).min() > 40
    assert hash32(np.array([1, 2]))[0] != hash32(np.array([1, 2]))[1]


def test_binary_sample_is_a_bernoulli_draw_with_the_fixed_thresholds():
    means = np.full((28, 28), 0.3)
    x = binary_sample(means)
    assert set(np.unique(x)) == {0.0, 1.0} and abs(x.mean() - 0.3) < 0.06
    assert np.array_equal(binary_sample(np.zeros(784)), np.zeros(784))
    assert np.array_equal(binary_sample(np.ones(784)), np.ones(784))


def test_editor_edits_are_checked():
    good = {"seq": 2, "code": [1] * 3, "start": [0] * 3, "b": [2] * 3, "sample": True}
    edit = parse_editor_edit(good, 3, 3)
    assert (edit.seq, edit.code, edit.start, edit.code_b, edit.sample) == (
        2,
        [1] * 3,
        [0] * 3,
        [2] * 3,
        True,
    )
    for bad in [
        None,
        [],
        {**good, "seq": "2"},
        {**good, "seq": True},
        {**good, "code": [1, 1]},
        {**good, "code": [1, 1, 3]},
        {**good, "b": [1.0, 1, 1]},
        {**good, "start": [-1, 0, 0]},
        {**good, "sample": 1},
    ]:
        with pytest.raises(ValueError):
            parse_editor_edit(bad, 3, 3)


def test_playground_edits_are_checked():
    edit = parse_playground_edit({"seq": 1, "tau": 0.5, "probs": [1, 3]}, 2)
    assert edit.tau == 0.5 and np.allclose(edit.probs, [0.25, 0.75])
    for bad in [
        {"seq": 1, "tau": 0.001, "probs": [1, 1]},
        {"seq": 1, "tau": 11, "probs": [1, 1]},
        {"seq": 1, "tau": float("nan"), "probs": [1, 1]},
        {"seq": 1, "tau": "1", "probs": [1, 1]},
        {"seq": 1, "tau": 1, "probs": [1, 1, 1]},
        {"seq": 1, "tau": 1, "probs": [0, 0]},
        {"seq": 1, "tau": 1, "probs": [-1, 2]},
        {"tau": 1, "probs": [1, 1]},
    ]:
        with pytest.raises(ValueError):
            parse_playground_edit(bad, 2)
