"""gvae: a categorical VAE you can click through.  Run: streamlit run app.py

`streamlit run` finds the `st.App` below and serves this same file as the app's script.
The App's lifespan starts importing the ML stack (torch alone takes ~2.5 s) the moment
the server starts, while the browser is still fetching Streamlit's frontend, so the
first page is drawn that much sooner.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st


def _import_ml_stack() -> None:
    import gvae.figures  # noqa: F401  (plotly)
    import pages.common  # noqa: F401  (gvae -> torch)


@asynccontextmanager
async def _warm_up(_app):
    threading.Thread(target=_import_ml_stack, name="gvae-warm-up", daemon=True).start()
    yield


app = st.App(__file__, lifespan=_warm_up)

if __name__ == "__main__":  # the app's script (uvicorn imports this file as a module)
    from pages.common import TALK_KEY, model_selector, use_app_navigation

    use_app_navigation()
    st.set_page_config(
        page_title="gvae — categorical VAE", page_icon=":material/casino:", layout="wide"
    )

    pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/latent_editor.py", title="Latent editor", icon=":material/tune:"),
        st.Page("pages/playground.py", title="Gumbel playground", icon=":material/casino:"),
    ]
    page = st.navigation(pages)

    with st.sidebar:
        model_selector()
        st.toggle("Presentation mode", key=TALK_KEY, help="Bigger images, explanations hidden")

    page.run()
