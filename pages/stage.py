"""The stage: talk mode and the theme, kept in the session and the URL (?talk=1,
?theme=dark), what the keys t (talk mode) and d (dark theme) do (the app's one key
listener, in pages/talk_kit.py, sends them through this component) and the styles that
make every page readable from the back of a room at 1280 x 720.

Not a page itself. app.py calls setup() before st.set_page_config and frame() after
st.navigation; pages read talk_mode() and draw charts through pages.common.chart().
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import streamlit as st
from streamlit import config

import gvae.app
from pages.common import (
    SESSION_KEY,
    TALK_KEY,
    THEME_KEY,
    job_board,
    keep_alive,
    session_key,
    talk_mode,
    theme,
)

STAGE_JS = (Path(gvae.app.__file__).resolve().parent / "web" / "stage.js").read_text()
BOARD_KEY_FORM = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as pages.common.session_key makes
# Not style-isolated: it draws nothing, and the live views stay the only shadow roots.
_component = st.components.v2.component("gvae_stage", js=STAGE_JS, isolate_styles=False)

# Talk mode: body text 24 px, headings to match, less chrome above the page. Streamlit's
# sizes are in rem (16 px); the live components size themselves (data.talk).
TALK_CSS = """
<style>
.stMain .block-container { padding-top: 3.25rem; padding-bottom: 1rem; }
.stMain [data-testid="stMarkdownContainer"] :is(p, li, td, th),
.stMain [data-testid="stTable"] :is(td, th),
.stMain [data-testid="stWidgetLabel"] :is(p, label),
.stMain [data-testid="stCaptionContainer"],
.stMain [data-testid="stCaptionContainer"] p,
.stMain [data-testid="stImageCaption"],
.stMain button p,
.stMain input, .stMain textarea,
.stMain [data-baseweb="select"] div,
.stMain [data-testid="stMetricLabel"] p,
.stMain [data-testid="stExpander"] summary p,
.stMain [data-testid="stTickBarMin"], .stMain [data-testid="stTickBarMax"],
.stMain [data-testid="stSliderThumbValue"] { font-size: 24px; }
.stMain [data-testid="stMetricValue"],
.stMain [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p { font-size: 2.5rem; }
.stMain [data-testid="stMetricDelta"] * { white-space: normal; overflow: visible; }
.stMain [data-testid="stMetricLabel"] * { white-space: normal; overflow: visible; }
.stMain h1 { font-size: 2.6rem; padding: 0 0 0.5rem 0; }
.stMain :is(h2, h3) { font-size: 1.9rem; padding: 0.25rem 0; }
.stMain .katex { font-size: 1.5em; }
</style>
"""

# Both themes: captions and faded text at AA contrast (Streamlit's are about 3.8:1 in light).
BASE_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stImageCaption"] { color: inherit; opacity: 0.85; }
/* A metric wraps instead of cutting its value ("355 / 20…"). */
[data-testid="stMetricValue"] > div { white-space: normal; overflow: visible; text-overflow: clip; }
</style>
"""


# Dark theme: the primary button's light blue needs dark text (white on it is 2.5:1).
DARK_CSS = """
<style>
[data-testid="stBaseButton-primary"]:not(:disabled),
[data-testid="stBaseButton-primary"]:not(:disabled) p { color: #0f1419; }
</style>
"""


def _from_url() -> None:
    """First run of a session: take talk and theme from the URL."""
    if TALK_KEY not in st.session_state:
        st.session_state[TALK_KEY] = st.query_params.get("talk") in ("1", "true", "on")
    if THEME_KEY not in st.session_state:
        wanted = st.query_params.get("theme")
        if wanted in ("light", "dark"):
            st.session_state[THEME_KEY] = wanted == "dark"
        else:  # the browser's current theme (its stored choice or the system's)
            st.session_state[THEME_KEY] = st.context.theme.type == "dark"
        st.session_state["gvae_theme_chosen"] = wanted in ("light", "dark")


def setup() -> str:
    """Read the stage from the URL; returns the sidebar state for st.set_page_config."""
    _from_url()
    return "collapsed" if talk_mode() else "auto"


def _on_key() -> None:
    """The keys t and d, as the state they ask for (pages/talk_kit.py): "t:on", "t:off",
    "d:dark", "d:light"."""
    key = (st.session_state.get("gvae_stage") or {}).get("key")
    if key in ("t:on", "t:off"):
        st.session_state[TALK_KEY] = key == "t:on"
    elif key in ("d:dark", "d:light"):
        _set_theme(key == "d:dark")


def _on_restore() -> None:
    """The tab's job-board key from before this page load: adopt it, so its training is
    still its own after a reload, unless this session already has a run of its own. The
    key is the tab's 128-bit secret; nothing else is taken from the message."""
    offered = (st.session_state.get("gvae_stage") or {}).get("restore")
    key = session_key()[0]
    if not isinstance(offered, str) or not BOARD_KEY_FORM.fullmatch(offered) or offered == key:
        return
    view = job_board().view(key)
    if view.job is None and view.position is None and not view.starting:
        st.session_state[SESSION_KEY] = offered
        keep_alive()


def _set_theme(dark: bool) -> None:
    st.session_state[THEME_KEY] = dark
    st.session_state["gvae_theme_chosen"] = True


def _on_theme_toggle() -> None:
    st.session_state["gvae_theme_chosen"] = True


def _keep_in_url() -> None:
    """Navigation drops the query string: put the stage back on every run."""
    if talk_mode():
        st.query_params["talk"] = "1"
    elif "talk" in st.query_params:
        del st.query_params["talk"]
    if st.session_state.get("gvae_theme_chosen"):
        st.query_params["theme"] = theme()


def _url_path(page) -> str:
    try:
        return page.url_path or ""
    except AttributeError:  # a page whose script AppTest could not find by path
        return ""


def page_paths(pages: list) -> list[str]:
    """Every page's path, as the browser's location.pathname shows it."""
    base = config.get_option("server.baseUrlPath").strip("/")
    prefix = f"/{base}/" if base else "/"
    return sorted({prefix + _url_path(p) for p in pages})


def frame(pages: list) -> None:
    """Sidebar switches, the keys t and d, the theme sync and the styles."""
    with st.sidebar:
        st.toggle("Talk mode (t)", key=TALK_KEY, help="Large type for a projector: key t")
        st.toggle("Dark theme (d)", key=THEME_KEY, on_change=_on_theme_toggle, help="Key d")
        chosen = theme() if st.session_state.get("gvae_theme_chosen") else None
        _component(  # in the sidebar: it draws nothing and takes no room from the page
            key="gvae_stage",
            # the list as JSON text: a list in a component's data makes Streamlit import
            # pandas before the page draws
            data={
                "theme": chosen,
                "paths": json.dumps(page_paths(pages)),
                "talk": talk_mode(),
                "dark": theme() == "dark",
                "board": session_key()[0],
                "adopt": job_board().session_count() > 0,  # any run a tab could own
            },
            on_key_change=_on_key,
            on_restore_change=_on_restore,
        )
    _keep_in_url()
    st.html(BASE_CSS + (DARK_CSS if theme() == "dark" else "") + (TALK_CSS if talk_mode() else ""))
