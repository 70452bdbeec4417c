"""AppTest of the latent editor: what the server keeps (the code, the URL, the digit it
renders for the first paint) and how it follows the page's settled edits.

The page decodes in the browser (tests/test_browser_live.py drives that); here the edits
arrive as the browser sends them, through the component's state value "edit".
"""

import base64
import io
import json

import numpy as np
import pytest
from conftest import (
    assert_no_exception,
    component_data,
    network_of,
    new_app,
    send_component_state,
    shown,
    torch_argmax_code,
    torch_images,
)
from PIL import Image

import gvae
from gvae.app.gallery import load_gallery
from gvae.app.images import to_uint8
from gvae.app.latent import atlas_codes, format_code
from gvae.app.live import binary_sample, model_blob, version

PAGE = "pages/latent_editor.py"
EDITOR = "live_editor"


@pytest.fixture(scope="module")
def model():
    return gvae.load_model()


def editor(at) -> dict:
    return component_data(at, EDITOR)


def fallback_pixels(at) -> np.ndarray:
    """The digit the server rendered for the page (a PNG data URL), as uint8 (28, 28)."""
    url = editor(at)["fallback"]
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def send_edit(at, seq: int, code, start=None, b=None, sample=False):
    data = editor(at)
    payload = {
        "seq": seq,
        "code": list(code),
        "start": list(start if start is not None else data["start"]),
        "b": list(b if b is not None else data["b"]),
        "sample": sample,
    }
    return send_component_state(at, EDITOR, "edit", payload)


def test_page_mounts_the_editor_with_the_code_its_digit_and_the_decoder(model):
    at = new_app(page=PAGE)
    assert_no_exception(at)
    data = editor(at)
    assert (data["N"], data["K"]) == (20, 10)
    assert len(data["code"]) == 20 and all(0 <= v < 10 for v in data["code"])
    assert at.query_params["z"] == format_code(data["code"])
    # Without the page's script, the same code and the same digit are there.
    expected = to_uint8(torch_images(model, [data["code"]])[0]).astype(int)
    assert np.abs(fallback_pixels(at) - expected).max() <= 1  # numpy vs torch rounding
    assert data["decoder"]["version"] == version(model_blob(network_of(model)))
    assert data["decoder"]["url"].endswith(".bin") and data["module"].endswith(".js")


def test_a_settled_edit_updates_the_code_the_url_and_the_digit(model):
    at = new_app(page=PAGE)
    before = editor(at)["code"]
    # The single change with the most visible effect (a trained VAE may leave a few
    # variables nearly unused), found with the atlas function.
    atlas = torch_images(model, atlas_codes(before, 10))
    base = torch_images(model, [before])[0]
    variable, category = divmod(int(np.abs(atlas - base).reshape(200, -1).max(axis=1).argmax()), 10)
    after = list(before)
    after[variable] = category
    before_pixels = fallback_pixels(at)
    send_edit(at, 1, after)
    assert_no_exception(at)
    data = editor(at)
    assert data["code"] == after and data["ack"] == 1  # the page learns its edit arrived
    assert at.session_state.code == after
    assert at.query_params["z"] == format_code(after)
    assert np.abs(fallback_pixels(at).astype(int) - before_pixels).max() > 50
    # The atlas and the interpolation views get the same code.
    assert component_data(at, "live_atlas")["code"] == after
    assert component_data(at, "live_interpolation")["code"] == after


def test_an_edit_carries_the_start_b_and_the_binary_sample(model):
    at = new_app(page=PAGE)
    code, start, b = [1] * 20, [2] * 20, [3] * 20
    send_edit(at, 5, code, start=start, b=b, sample=True)
    data = editor(at)
    assert (data["code"], data["start"], data["b"], data["sample"]) == (code, start, b, True)
    means = torch_images(model, [code])[0]
    assert np.array_equal(fallback_pixels(at), to_uint8(binary_sample(means)))
    assert set(np.unique(fallback_pixels(at))) <= {0, 255}


@pytest.mark.parametrize(
    "payload",
    [
        "0123",
        {"seq": 1, "code": [0] * 19, "start": [0] * 20, "b": [0] * 20, "sample": False},
        {"seq": 1, "code": [10] * 20, "start": [0] * 20, "b": [0] * 20, "sample": False},
        {"seq": 1, "code": ["1"] * 20, "start": [0] * 20, "b": [0] * 20, "sample": False},
        {"seq": -1, "code": [0] * 20, "start": [0] * 20, "b": [0] * 20, "sample": False},
        {"seq": 1, "code": [0] * 20, "start": [0] * 20, "b": [0] * 20, "sample": "yes"},
        {"seq": 1, "code": [0] * 20},
    ],
)
def test_a_malformed_edit_changes_nothing(payload):
    at = new_app(page=PAGE)
    before = editor(at)
    send_component_state(at, EDITOR, "edit", payload)
    assert_no_exception(at)
    after = editor(at)
    assert (after["code"], after["start"], after["b"], after["ack"]) == (
        before["code"],
        before["start"],
        before["b"],
        before["ack"],
    )


def test_picking_a_gallery_digit_sets_the_argmax_code_and_an_edit_clears_q(model):
    images, labels, _ = load_gallery()
    at = new_app(page=PAGE)
    at.pills(key="gallery_pick").set_value(4).run()
    assert_no_exception(at)
    expected = torch_argmax_code(model, images[4])
    assert editor(at)["code"] == expected and editor(at)["start"] == expected
    # q(z|x) is shown as a 20 x 10 heatmap beside the editor.
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["type"] == "heatmap" and np.array(heatmap["z"]).shape == (20, 10)
    edited = list(expected)
    edited[0] = (edited[0] + 1) % 10
    send_edit(at, 1, edited)
    assert not at.get("plotly_chart")  # q(z|x) described the test digit, not the edit


def test_the_page_echoes_only_edits_it_applied():
    """A rerun that has not seen the page's latest edit says so (ack), so the page keeps it."""
    at = new_app(page=PAGE)
    send_edit(at, 3, [4] * 20)
    assert editor(at)["ack"] == 3
    at.run()  # a rerun for another reason: same code, same ack
    assert editor(at)["ack"] == 3 and editor(at)["code"] == [4] * 20


def test_a_valid_deep_link_sets_the_code():
    code = "01234567890123456789"
    at = new_app({"z": code}, page=PAGE)
    assert_no_exception(at)
    assert format_code(editor(at)["code"]) == code
    assert not at.warning


@pytest.mark.parametrize(
    "bad", ["123", "0123456789012345678x", "abcdefghijabcdefghij", "1" * 21, ""]
)
def test_a_malformed_deep_link_warns_and_falls_back(bad):
    at = new_app({"z": bad}, page=PAGE)
    assert_no_exception(at)
    assert any("Ignoring the URL parameter z" in w.value for w in at.warning)
    assert len(editor(at)["code"]) == 20 and at.query_params["z"] != bad


def test_a_corrupt_weights_file_is_reported_not_raised(tmp_path, monkeypatch, tiny_model_path):
    (tmp_path / "broken.safetensors").write_bytes(b"this is not a checkpoint")
    (tmp_path / "tiny.safetensors").write_bytes(tiny_model_path.read_bytes())
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(tmp_path))
    at = new_app(page=PAGE)
    assert_no_exception(at)
    errors = [shown(e.value) for e in at.sidebar.error]
    assert any("broken.safetensors" in e and "cannot be loaded" in e for e in errors)
    assert "broken" not in at.sidebar.selectbox[0].options
    assert "tiny" in at.sidebar.selectbox[0].options


def test_choosing_another_model_sends_its_decoder(tmp_path, monkeypatch, tiny_model_path):
    tiny_path = tmp_path / tiny_model_path.name  # whatever the weights format
    tiny_path.write_bytes(tiny_model_path.read_bytes())
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(tmp_path))
    at = new_app(page=PAGE)
    first = editor(at)["decoder"]
    at.sidebar.selectbox[0].set_value("tiny").run()
    assert_no_exception(at)
    second = editor(at)["decoder"]
    assert second["version"] != first["version"] and second["url"] != first["url"]
    tiny = gvae.load_model(tiny_path)
    assert second["version"] == version(model_blob(network_of(tiny)))


def test_rows_are_marked_by_how_much_the_model_uses_each_variable(model):
    """The editor's row shading is the per-variable KL to the uniform prior, as a share of
    log K: averaged over the gallery, then the chosen test digit's own."""
    import math

    from gvae.app.kl import variable_kl

    at = new_app(page=PAGE)
    images, _, _ = load_gallery()
    expected = variable_kl(network_of(model), images).mean(axis=0) / math.log(10)
    usage = np.array(editor(at)["usage"])
    assert usage.shape == (20,) and ((usage >= 0) & (usage <= 1)).all()
    np.testing.assert_allclose(usage, expected, atol=1e-4)
    at.pills(key="gallery_pick").set_value(4).run()
    assert_no_exception(at)
    own = variable_kl(network_of(model), images[[4]])[0] / math.log(10)
    np.testing.assert_allclose(editor(at)["usage"], own, atol=1e-4)
    # The model's total KL for that digit is the sum of the rows' (gvae.elbo.kl_to_uniform).
    import torch

    from gvae.elbo import kl_to_uniform

    with torch.no_grad():
        logits = model.encode(torch.tensor(images[[4]]))
    assert float(kl_to_uniform(logits)[0]) == pytest.approx(own.sum() * math.log(10), abs=1e-3)
