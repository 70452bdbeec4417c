"""AppTest of the latent editor: controls drive the decoded digit, atlas, deep links."""

import json

import numpy as np
import pytest
from conftest import assert_no_exception, new_app, shown

import gvae
from gvae.app.gallery import load_gallery
from gvae.app.latent import argmax_code, atlas_codes, decode_to_images, format_code

PAGE = "pages/latent_editor.py"


@pytest.fixture(scope="module")
def model():
    return gvae.load_model()


def controls(at) -> list[int]:
    return [at.segmented_control(key=f"z{i}").value for i in range(20)]


def decoded_image_url(at) -> str:
    return next(i.value[0] for i in at.image if any("z = " in (c or "") for c in i.captions))


def test_page_renders_with_twenty_controls_of_ten_categories():
    at = new_app(page=PAGE)
    assert_no_exception(at)
    assert len(at.segmented_control) == 20
    assert all(list(c.options) == [str(k) for k in range(10)] for c in at.segmented_control)
    assert at.query_params["z"] == format_code(controls(at))


def test_setting_a_category_changes_the_decoded_digit(model):
    at = new_app(page=PAGE)
    before_code, before_url = controls(at), decoded_image_url(at)
    # The single change with the most visible effect (a trained VAE may leave a few
    # variables nearly unused), found with the atlas function the page calls.
    atlas = decode_to_images(model, atlas_codes(before_code, 10))
    base = decode_to_images(model, [before_code])[0]
    cell = int(np.abs(atlas - base).reshape(200, -1).max(axis=1).argmax())
    variable, category = divmod(cell, 10)
    at.segmented_control(key=f"z{variable}").set_value(category).run()
    assert_no_exception(at)
    after_code = controls(at)
    assert after_code[variable] == category
    assert sum(a != b for a, b in zip(before_code, after_code)) == 1
    assert at.query_params["z"] == format_code(after_code)
    # The pixels differ (through the function the page calls) and so does the image served.
    before, after = decode_to_images(model, [before_code, after_code])
    assert np.abs(before - after).max() > 0.2
    assert decoded_image_url(at) != before_url


def test_picking_a_gallery_digit_sets_the_argmax_code(model):
    images, labels, _ = load_gallery()
    at = new_app(page=PAGE)
    at.pills(key="gallery_pick").set_value(4).run()
    assert_no_exception(at)
    expected, _ = argmax_code(model, images[4])
    assert controls(at) == expected
    # q(z|x) is shown as a 20 x 10 heatmap beside the editor.
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["type"] == "heatmap" and np.array(heatmap["z"]).shape == (20, 10)


def test_atlas_and_interpolation_render(model):
    at = new_app(page=PAGE)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    atlas = next(s for s in specs if s["layout"].get("images"))
    assert atlas["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    cells = next(t for t in atlas["data"] if t.get("name") == "cells")
    assert len(cells["x"]) == 200  # one clickable point per (variable, category)
    assert any("changes" in (c or "") for img in at.image for c in img.captions)


def test_buttons_change_the_code():
    at = new_app(page=PAGE)
    start = controls(at)
    at.button[1].click().run()  # randomize one variable
    one = controls(at)
    assert sum(a != b for a, b in zip(start, one)) == 1
    at.button[2].click().run()  # reset
    assert controls(at) == start
    at.button[0].click().run()  # random code
    assert_no_exception(at)
    assert len(controls(at)) == 20


def test_a_valid_deep_link_sets_the_controls():
    code = "01234567890123456789"
    at = new_app({"z": code}, page=PAGE)
    assert_no_exception(at)
    assert format_code(controls(at)) == code
    assert not at.warning


@pytest.mark.parametrize(
    "bad", ["123", "0123456789012345678x", "abcdefghijabcdefghij", "1" * 21, ""]
)
def test_a_malformed_deep_link_warns_and_falls_back(bad):
    at = new_app({"z": bad}, page=PAGE)
    assert_no_exception(at)
    assert any("Ignoring the URL parameter z" in w.value for w in at.warning)
    assert len(controls(at)) == 20 and at.query_params["z"] != bad


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
