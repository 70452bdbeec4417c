"""The app as a whole: every page from a fresh session, malformed URLs, talk mode."""

import pytest
from conftest import assert_no_exception, component_data, new_app

PAGES = ["pages/home.py", "pages/train.py", "pages/latent_editor.py", "pages/playground.py"]
MALFORMED = {
    "pages/home.py": [{"model": "no-such-model"}],
    "pages/train.py": [{"model": "../../etc/passwd"}],
    "pages/latent_editor.py": [
        {"z": "12"},
        {"z": "zzzzzzzzzzzzzzzzzzzz"},
        {"z": "1234567890123456789A"},
    ],
    "pages/playground.py": [
        {"tau": "-1"},
        {"tau": "nan"},
        {"p": "0,0,0"},
        {"p": "nan,1,1"},
        {"seed": "x"},
    ],
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_from_a_fresh_session(page):
    at = new_app(page=page)
    assert_no_exception(at)
    assert at.title, "every page has a title"
    assert at.sidebar.selectbox(key="model_name").value == "gvae-default"


@pytest.mark.parametrize("page, query", [(p, q) for p, qs in MALFORMED.items() for q in qs])
def test_malformed_query_parameters_warn_and_fall_back(page, query):
    at = new_app(query, page=page)
    assert_no_exception(at)
    warnings = [w.value for w in at.warning] + [w.value for w in at.sidebar.warning]
    assert any(next(iter(query)) in w for w in warnings), warnings


def test_home_shows_samples_and_the_model_card():
    at = new_app()
    assert_no_exception(at)
    assert any("Model card" in s.value for s in at.subheader)
    before = at.image[0].value
    at.button(key="home_new_samples").click().run()
    assert at.image[0].value != before


def test_model_selection_is_deep_linkable(tmp_path, monkeypatch, tiny_model_path):
    (tmp_path / "tiny.safetensors").write_bytes(tiny_model_path.read_bytes())
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(tmp_path))
    at = new_app({"model": "tiny"})
    assert_no_exception(at)
    assert at.sidebar.selectbox(key="model_name").value == "tiny"
    assert any("tiny" in s.value for s in at.subheader)


def test_presentation_mode_hides_explanations_and_tells_the_live_views():
    at = new_app(page="pages/latent_editor.py")
    normal_text = len(at.markdown)
    assert component_data(at, "live_editor")["talk"] is False
    at.sidebar.toggle(key="talk_mode").set_value(True).run()
    assert_no_exception(at)
    assert len(at.markdown) < normal_text
    assert component_data(at, "live_editor")["talk"] is True  # larger type in the page
