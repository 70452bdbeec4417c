"""gvae: a categorical VAE you can click through.  Run: streamlit run app.py

Home's first paint imports no torch (the model list and card come from the weights files'
safetensors headers, the first samples from the preview stored in the file); torch and
plotly load in the background once the first page is out, so the first decode or chart
finds them ready.
"""

from pathlib import Path

import streamlit as st

from pages import stage
from pages.common import (
    keep_alive,
    keep_widget_state,
    model_selector,
    use_app_navigation,
    warm_up_in_background,
)
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

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/latent_editor.py", title="Latent editor", icon=":material/tune:"),
    st.Page("pages/playground.py", title="Gumbel playground", icon=":material/casino:"),
    # The article, section by section (issue 16), and the talk that walks through it.
    # The URL paths are the page names of talk.toml (gvae.app.talk.PAGES).
    st.Page(
        "pages/kl.py", title="§3 KL divergence", icon=":material/compare_arrows:", url_path="kl"
    ),
    st.Page("pages/elbo.py", title="§4 The ELBO", icon=":material/functions:", url_path="elbo"),
    st.Page(
        "pages/reparameterization.py",
        title="§5 Reparameterization",
        icon=":material/call_split:",
        url_path="reparameterization",
    ),
    st.Page(
        "pages/gumbel.py",
        title="§6 Gumbel-Max",
        icon=":material/stacked_bar_chart:",
        url_path="gumbel",
    ),
    st.Page(
        "pages/implementation.py",
        title="§7 Implementation",
        icon=":material/code:",
        url_path="implementation",
    ),
    st.Page("pages/talk.py", title="Talk", icon=":material/slideshow:", url_path="talk"),
    st.Page(
        "pages/export.py", title="Export for slides", icon=":material/download:", url_path="export"
    ),
]
page = st.navigation(pages)
keep_alive()  # this session is watched: its training may go on (gvae.app.board)

with st.sidebar:
    model_selector()
stage.frame(pages)  # talk mode, theme, keys t and d, and the styles
keep_widget_state()  # the Train form and the playground survive a visit to another page

mount_talk_keys(page)  # PageDown / PageUp / arrows move through talk.toml from any page
page.run()
warm_up_in_background()
