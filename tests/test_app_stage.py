"""AppTest of the stage: talk mode and theme from the URL and kept in it, the key
listener's messages, and settings that survive a visit to another page."""

import pytest
from conftest import assert_no_exception, new_app


def test_talk_and_theme_come_from_the_url_and_stay_in_it_on_every_page():
    at = new_app(query={"talk": "1", "theme": "dark"})
    assert_no_exception(at)
    assert at.session_state["talk_mode"] is True and at.session_state["gvae_dark"] is True
    assert any(".stMain" in h.proto.body and "24px" in h.proto.body for h in at.get("html"))
    for page in ("pages/train.py", "pages/playground.py", "pages/home.py"):
        at.switch_page(page).run()
        assert_no_exception(at)
        assert at.query_params["talk"] == "1" and at.query_params["theme"] == "dark"


def test_without_talk_the_page_keeps_its_normal_type_and_no_talk_param():
    at = new_app()
    assert at.session_state["talk_mode"] is False
    assert "talk" not in at.query_params
    assert not any("24px" in h.proto.body for h in at.get("html"))
    at.sidebar.toggle(key="talk_mode").set_value(True).run()
    assert at.query_params["talk"] == "1"
    at.sidebar.toggle(key="talk_mode").set_value(False).run()
    assert "talk" not in at.query_params


def test_the_train_form_survives_a_visit_to_home():
    at = new_app(page="pages/train.py")
    at.number_input(key="t_epochs").set_value(400)
    at.select_slider(key="t_train_size").set_value(500).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()
    assert_no_exception(at)
    assert at.number_input(key="t_epochs").value == 400
    assert at.select_slider(key="t_train_size").value == 500


def test_the_playground_keeps_tau_pi_and_seed_across_pages():
    at = new_app(page="pages/playground.py", query={"tau": "0.1", "seed": "7"})
    at.text_input(key="pg_probs").set_value("0.2, 0.3, 0.5").run()
    at.switch_page("pages/home.py").run()
    at.query_params.clear()  # the sidebar's navigation drops the page's own parameters
    at.switch_page("pages/playground.py").run()
    assert_no_exception(at)
    assert at.session_state["pg_tau"] == 0.1
    assert at.text_input(key="pg_probs").value == "0.2, 0.3, 0.5"
    assert at.number_input(key="pg_seed").value == 7


def test_chart_styling_reads_on_a_projector_and_in_the_dark():
    import numpy as np
    import plotly.graph_objects as go
    import streamlit as st

    from gvae.app.figures import TALK_FONTS, TEXT_COLORS, posterior_heatmap
    from pages.common import styled

    q = np.full((20, 10), 0.1)
    original = posterior_heatmap(q)
    st.session_state["talk_mode"], st.session_state["gvae_dark"] = True, True
    try:
        fig = styled(original)
    finally:
        del st.session_state["talk_mode"], st.session_state["gvae_dark"]
    assert isinstance(fig, go.Figure) and fig is not original
    assert fig.layout.xaxis.tickfont.size == TALK_FONTS["tick"] >= 18
    assert fig.layout.title.font.size == TALK_FONTS["title"] >= 22
    assert fig.layout.xaxis.tickfont.color == TEXT_COLORS["dark"]
    # Titles, legends and colour bars too: left unset, they take Streamlit's template, which
    # is the browser's theme at the first draw (the light one, while a page turns dark).
    assert fig.layout.title.font.color == fig.layout.legend.font.color == TEXT_COLORS["dark"]
    assert fig.data[0].colorbar.tickfont.color == TEXT_COLORS["dark"]
    heat = fig.data[0]
    assert heat.colorscale[0][1] == "#0f1419"  # zero is the dark page, not white
    assert original.data[0].colorscale[0][1] != "#0f1419"  # the input is left as it was
    assert original.layout.xaxis.tickfont.size is None


@pytest.mark.parametrize(
    "page, kind, key, value",
    [
        ("pages/kl.py", "slider", "kl_p0", 0.4),
        ("pages/gumbel.py", "text_input", "gb_probs", "0.1, 0.9"),
        ("pages/elbo.py", "number_input", "elbo_seed", 7),
        ("pages/reparameterization.py", "slider", "rp_mu", -1.5),
    ],
)
def test_a_section_pages_widgets_survive_a_visit_to_another_page(page, kind, key, value):
    """One mechanism (pages.state) keeps every page's widgets, not only the Train form's."""
    at = new_app(page=page, timeout=120)
    getattr(at, kind)(key=key).set_value(value).run()
    at.switch_page("pages/home.py").run()
    at.query_params.clear()  # the sidebar's navigation drops the page's own parameters
    at.switch_page(page).run()
    assert_no_exception(at)
    assert getattr(at, kind)(key=key).value == value
