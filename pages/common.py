"""Streamlit helpers shared by the pages: the model selector, caching, query params,
plain-text messages and each session's place on the server's job board.

Not a page itself. Pages import it; no page imports another page.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

import gvae  # lazy (PEP 562): listing models and their cards needs no torch
from gvae.app.board import JobBoard, shared_board
from gvae.app.params import MAX_QUERY_CHARS
from gvae.app.text import cut, escape_markdown
from gvae.infer import Network

T = TypeVar("T")


def use_app_navigation() -> None:
    """Route every run through app.py's st.navigation.

    Streamlit treats a pages/ folder beside app.py as a legacy multipage app until the
    first st.navigation call of the process (AppTest resets that flag on every run). A deep
    link on a fresh server (/latent_editor) would then run the page script alone, without
    app.py's sidebar, and AppTest would nest two navigations. Turning the legacy routing
    off and rerunning makes app.py's st.navigation route every request.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


MODEL_KEY = "model_name"  # session state and query parameter of the chosen model
TALK_KEY = "talk_mode"  # session state of talk mode (?talk=1), pages/stage.py
THEME_KEY = "gvae_dark"  # session state of the theme (?theme=dark): True for dark


def _folder_signature(folder: Path) -> tuple:
    """Names, sizes and mtimes of the folder's files and the shipped default: the cache
    key of the listing, so a saved, replaced or deleted file is seen at the next rerun."""
    try:
        files = sorted(folder.iterdir()) + [gvae.DEFAULT_WEIGHTS]
    except OSError:  # missing, or not a folder: gvae.list_weights says so in its listing
        files = [gvae.DEFAULT_WEIGHTS]
    signature = []
    for p in files:
        with contextlib.suppress(OSError):
            info = p.stat()
            signature.append((str(p), info.st_size, info.st_mtime_ns))
    return tuple(signature)


@st.cache_data(show_spinner=False)
def _entries(folder: str, signature: tuple) -> list[dict]:  # signature: the cache key
    return [{**asdict(e), "path": str(e.path)} for e in gvae.list_weights(folder)]


def model_entries() -> list[dict]:
    """Every model file the app can offer, the shipped default first; bad files keep
    their error message instead of raising."""
    folder = gvae.user_weights_dir()
    return _entries(str(folder), _folder_signature(folder))


@st.cache_resource(show_spinner="Loading model…")
def _load(path: str, mtime_ns: int) -> Network:
    return gvae.infer.load(path)


def load(path: str) -> Network:
    """A model's numpy network (gvae.infer, no torch), loaded once per file version and
    shared by every session (read-only)."""
    return _load(path, os.stat(path).st_mtime_ns)


def selected_entry() -> dict | None:
    good = [e for e in model_entries() if e["error"] is None]
    if not good:
        return None
    name = st.session_state.get(MODEL_KEY)
    return next((e for e in good if e["name"] == name), good[0])


def current_entry() -> dict:
    """The sidebar's model as listed (card, config), not loaded; stops the page with a
    message if there is none."""
    entry = selected_entry()
    if entry is None:
        st.error(
            f"No loadable model in {gvae.user_weights_dir()}. Train one on the Train page "
            "or restore weights/gvae-default.safetensors."
        )
        st.stop()
    return entry


def current_model() -> tuple[Network, dict]:
    """The model chosen in the sidebar, loaded; stops the page with a message if none loads."""
    entry = current_entry()
    return load(entry["path"]), entry


def model_selector() -> None:
    """Sidebar: pick the model shared by every page; list unloadable files with why."""
    entries = model_entries()
    good = [e["name"] for e in entries if e["error"] is None]
    wanted = st.query_params.get("model")
    if wanted is not None and MODEL_KEY not in st.session_state:
        if wanted in good:
            st.session_state[MODEL_KEY] = wanted
        else:
            message(
                "warning",
                f"Unknown model {cut(repr(wanted))} in the URL; using {good[0] if good else 'none'}.",
                where=st.sidebar,
            )
    if st.session_state.get(MODEL_KEY) not in good and good:
        st.session_state[MODEL_KEY] = good[0]
    if good:
        st.sidebar.selectbox("Model", good, key=MODEL_KEY, help="Shared by every page.")
        if st.session_state[MODEL_KEY] != good[0] or "model" in st.query_params:
            st.query_params["model"] = st.session_state[MODEL_KEY]  # deep-linkable
    for e in entries:
        if e["error"] is not None:
            message(
                "error",
                f"{cut(Path(e['path']).name)} cannot be loaded: {cut(e['error'], 300)}",
                where=st.sidebar,
                icon=":material/error:",
            )


def talk_mode() -> bool:
    """Talk mode: large type for a projector, explanations cut to a line (pages/stage.py)."""
    return bool(st.session_state.get(TALK_KEY, False))


def theme() -> str:
    """ "dark" or "light": the theme the app asks the browser for (pages/stage.py)."""
    return "dark" if st.session_state.get(THEME_KEY) else "light"


def explain(markdown: str, line: str | None = None) -> None:
    """Explanatory text; in talk mode only its one-`line` summary, if it has one."""
    if not talk_mode():
        st.markdown(markdown)
    elif line:
        st.markdown(line)


def styled(figure):
    """A copy of a Plotly figure in the page's theme and, in talk mode, at projector sizes
    (gvae.app.figures.themed). Every page draws its charts through chart()."""
    from gvae.app.figures import themed

    return themed(figure, theme(), talk_mode())


def chart(figure, where=st, filename: str | None = None, **kwargs):
    """st.plotly_chart of styled(figure), in Streamlit's theme; the toolbar's camera saves
    a 1920 x 1080 PNG for slides, named `filename` (or the chart's key)."""
    from gvae.app.export import chart_config

    kwargs.setdefault("config", chart_config(filename or kwargs.get("key") or "gvae-chart"))
    return where.plotly_chart(styled(figure), theme="streamlit", **kwargs)


def table(data, where=st, hide_index: bool | None = None) -> None:
    """A table of numbers: st.dataframe (sortable, scrollable), or in talk mode st.table,
    whose HTML cells take the talk's 24 px (st.dataframe paints its cells on a canvas at
    its own 14 px, out of reach of the page's styles)."""
    if talk_mode():
        where.table(data, hide_index=hide_index)
    else:
        where.dataframe(data, hide_index=hide_index, width="stretch")


def message(kind: str, text: str, where=st, **kwargs) -> None:
    """st.error / warning / info / success showing `text` literally: alerts render
    Markdown, and a message quoting a file or a URL must not (no links, images, HTML)."""
    getattr(where, kind)(escape_markdown(text), **kwargs)


def query_value(name: str, parse: Callable[[str], T], default: T) -> T:
    """A parsed query parameter; a malformed, out-of-range or overlong one warns (quoted
    short, as plain text) and falls back to `default`. Nothing a URL holds raises."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        if len(raw) > MAX_QUERY_CHARS:
            raise ValueError(f"longer than {MAX_QUERY_CHARS:,} characters")
        return parse(raw)
    except Exception as error:  # noqa: BLE001  any failure to parse is the URL's fault
        message(
            "warning",
            f"Ignoring the URL parameter {name}={cut(repr(raw))}: {cut(error, 160)}. "
            "Using the default.",
        )
        return default


def image_scale(base: int) -> int:
    """Upscale factor for digits: larger on a projector."""
    return base * 2 if talk_mode() else base


_warm_up_lock = threading.Lock()
_warm_up_started = False
WARM_UP_DELAY_S = 1.5  # lets the browser fetch the first page's scripts and images first


_ml_stack_lock = threading.Lock()  # one thread imports them; another waits, then finds them


def _import_ml_stack() -> None:
    """plotly, the parts of it a chart uses (plotly imports a validator module per trace
    type and property on first use: most of a first chart's cost), and pandas (tables)."""
    with _ml_stack_lock, contextlib.suppress(Exception):  # a page reports the error
        import pandas  # noqa: F401
        import plotly.graph_objects as go

        from gvae.app.figures import themed

        fig = go.Figure([go.Scatter(x=[0], y=[0]), go.Bar(x=[0], y=[0]), go.Heatmap(z=[[0]])])
        fig.add_annotation(text="a", showarrow=False)
        fig.update_layout(title="a", legend_font_size=20, height=100)
        fig.update_xaxes(title="a")
        themed(fig, "light", talk=True).to_json()  # what st.plotly_chart sends


def warm_up_in_background() -> None:
    """Import plotly in a thread, once per server, shortly after the first page.

    Home's first paint needs no plotly (gvae.weights reads headers and the stored
    preview), and the import, holding the GIL, would slow the browser's remaining fetches
    if started at once. It finishes before the first chart unless someone clicks within
    a second or two; then that page imports it itself. (No page imports torch.)
    """
    global _warm_up_started
    with _warm_up_lock:
        if _warm_up_started:
            return
        _warm_up_started = True
    timer = threading.Timer(WARM_UP_DELAY_S, _import_ml_stack)
    timer.daemon = True
    timer.name = "gvae-warm-up"
    timer.start()


# -- the session's place on the server's job board -------------------------------------
SESSION_KEY = "gvae_session_key"


def session_presence(session_id: str) -> str | None:
    """What Streamlit's runtime knows of a session: "connected" (a tab is open),
    "disconnected" (kept a while in case the tab comes back), "gone" (closed or expired),
    or None where no server runtime runs (AppTest)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    runtime = Runtime.instance()
    if runtime.is_active_session(session_id):
        return "connected"
    # No public call finds a disconnected session kept for reconnection: ask the manager.
    manager = getattr(runtime, "_session_mgr", None)
    if manager is None:
        return None
    return "disconnected" if manager.get_session_info(session_id) is not None else "gone"


def job_board() -> JobBoard:
    """The server-wide training job board (GVAE_MAX_JOBS, GVAE_IDLE_S)."""
    return shared_board(presence=session_presence)


def session_key() -> tuple[str, str | None]:
    """This session's key on the job board (random, kept in its state: AppTest gives every
    session the same id) and its Streamlit session id."""
    key = st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex)
    ctx = get_script_run_ctx(suppress_warning=True)
    return key, ctx.session_id if ctx else None


def keep_alive() -> None:
    """Mark this session as watched now: every script run and polling fragment calls it,
    so a training nobody looks at can be paused (gvae.app.board)."""
    job_board().touch(*session_key())


# -- Streamlit's lazily loaded frontend code, loaded while the first page is read ---------
PRELOAD_KEY = "gvae_preload"  # None: not yet; "now": this run draws; "done"
PRELOAD_JS = """
export default function ({ setTriggerValue }) {
  // Once the first page is drawn and the browser idle: this mounts at the end of the run.
  setTimeout(() => requestIdleCallback(() => setTriggerValue("idle", true), { timeout: 1000 }),
             300);
}
"""
PRELOAD_CSS = """
.st-key-gvae-preloaded { position: fixed; left: -10000px; top: 0; width: 320px;
  visibility: hidden; pointer-events: none; }
"""
_preload_component = st.components.v2.component(
    "gvae_preload", js=PRELOAD_JS, html="", isolate_styles=False
)


def _on_preload_idle() -> None:
    st.session_state[PRELOAD_KEY] = "now"


@st.fragment
def preload_frontend() -> None:
    """Draw a hidden chart, formula, code block and table once per session, as soon as the
    first page is drawn: Streamlit's frontend fetches and compiles the code of each kind
    of element (plotly.js, KaTeX, the code highlighter, the data grid: megabytes of
    JavaScript) when a page first shows one, so without this the first slide with a chart
    waited a second for it. A fragment: only this reruns, the page stays as it is."""
    state = st.session_state.get(PRELOAD_KEY)
    if state == "now":
        st.session_state[PRELOAD_KEY] = "done"
        _import_ml_stack()  # here or in the warm-up thread, never in both at once
        st.html(f"<style>{PRELOAD_CSS}</style>")
        with st.container(key="gvae-preloaded"):
            figure = {"data": [{"type": "bar", "y": [1]}], "layout": {"height": 80}}
            st.plotly_chart(figure, config={"staticPlot": True})
            st.latex("x")
            st.code("x", language="python")
            st.dataframe({"x": [1]})
    elif state is None:
        _preload_component(key="gvae_preload_idle", on_idle_change=_on_preload_idle)
