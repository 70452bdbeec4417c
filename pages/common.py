"""Streamlit helpers shared by the pages: the model selector, caching, query params.

Not a page itself. Pages import it; no page imports another page.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

import gvae  # lazy (PEP 562): listing models and their cards needs no torch

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
TALK_KEY = "talk_mode"


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
def _load(path: str, mtime_ns: int) -> gvae.CategoricalVAE:
    return gvae.load_model(path)


def load(path: str) -> gvae.CategoricalVAE:
    """A model loaded once per file version and shared by every session (read-only)."""
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


def current_model() -> tuple[gvae.CategoricalVAE, dict]:
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
            st.sidebar.warning(
                f"Unknown model {wanted!r} in the URL; using {good[0] if good else 'none'}."
            )
    if st.session_state.get(MODEL_KEY) not in good and good:
        st.session_state[MODEL_KEY] = good[0]
    if good:
        st.sidebar.selectbox("Model", good, key=MODEL_KEY, help="Shared by every page.")
        if st.session_state[MODEL_KEY] != good[0] or "model" in st.query_params:
            st.query_params["model"] = st.session_state[MODEL_KEY]  # deep-linkable
    for e in entries:
        if e["error"] is not None:
            st.sidebar.error(
                f"**{Path(e['path']).name}** cannot be loaded: {e['error']}",
                icon=":material/error:",
            )


def talk_mode() -> bool:
    """Presentation mode: bigger images, explanations hidden."""
    return bool(st.session_state.get(TALK_KEY, False))


def explain(markdown: str) -> None:
    """Explanatory text, hidden in presentation mode."""
    if not talk_mode():
        st.markdown(markdown)


def query_value(name: str, parse: Callable[[str], T], default: T) -> T:
    """A parsed query parameter; a malformed one warns and falls back to `default`."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except (ValueError, TypeError) as error:
        st.warning(f"Ignoring the URL parameter {name}={raw!r}: {error}. Using the default.")
        return default


def image_scale(base: int) -> int:
    """Upscale factor for digits: larger on a projector."""
    return base * 2 if talk_mode() else base


_warm_up_lock = threading.Lock()
_warm_up_started = False
WARM_UP_DELAY_S = 1.5  # lets the browser fetch the first page's scripts and images first


def _import_ml_stack() -> None:
    try:
        import gvae.app.figures  # noqa: F401  (plotly)
        import gvae.app.latent  # noqa: F401  (torch)
    except Exception:  # noqa: BLE001  the page that needs them reports the error
        pass


def warm_up_in_background() -> None:
    """Import torch and plotly in a thread, once per server, shortly after the first page.

    Home's first paint needs neither (gvae.catalog, gvae.app.prior), and the import (~3 s of
    CPU, holding the GIL) would slow the browser's remaining fetches: started at once it
    made the cold start about 1 s slower than started WARM_UP_DELAY_S later (A/B, 6 starts
    each). It still finishes before the first decode or chart unless someone clicks
    within a few seconds; then that page imports what it needs itself.
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
