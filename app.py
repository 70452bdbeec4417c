"""gvae: a categorical VAE you can click through.  Run: streamlit run app.py

Home's first paint imports no torch (the model list and card come from the weights files'
safetensors headers, the first samples from the preview stored in the file); torch and
plotly load in the background once the first page is out, so the first decode or chart
finds them ready.
"""

from pathlib import Path

import streamlit as st

from gvae.app import pages as registry
from pages import stage
from pages.common import (
    keep_alive,
    model_selector,
    preload_frontend,
    use_app_navigation,
    warm_up_in_background,
)
from pages.state import keep_kept
from pages.talk_kit import mount_talk_keys

ICON = str(Path(__file__).resolve().parent / "gvae" / "app" / "assets" / "favicon.png")

use_app_navigation()
sidebar = stage.setup()  # talk mode and theme from the session, or the URL on a first run
st.set_page_config(
    page_title="gvae — categorical VAE",
    page_icon=ICON,
    layout="wide",
    initial_sidebar_state=sidebar,
)


def streamlit_pages() -> dict[str, list[st.Page]]:
    """st.navigation's sections, built from the one table of pages (gvae.app.pages)."""
    return {
        section: [
            st.Page(
                p.script,
                title=p.title,
                icon=p.icon,
                url_path=p.url_path or None,
                default=p is registry.DEFAULT,
            )
            for p in group
        ]
        for section, group in registry.by_section().items()
    }


sections = streamlit_pages()
pages = [p for group in sections.values() for p in group]
page = st.navigation(sections)
keep_alive()  # this session is watched: its training may go on (gvae.app.board)

with st.sidebar:
    model_selector()
stage.frame(pages)  # talk mode, theme, keys t and d, and the styles
keep_kept()  # widgets a page keeps (pages.state) survive a visit to another page

mount_talk_keys(page)  # PageDown / PageUp / arrows move through talk.toml from any page
page.run()
warm_up_in_background()
with st.sidebar:
    preload_frontend()  # the lazily loaded element code, while the first page is read
