"""Streamlit's side of the live components (gvae/app/web/live.js): serve, mount, listen.

One st.components.v2 component, "gvae_live", draws four views: the latent editor, its
atlas, its interpolation, and the Gumbel playground. Its inline script is a short
loader; the module itself (about 60 kB), its stylesheet, the model's weights (decoder
and encoder, 4.6 MB) and the playground's noise are served as files by Streamlit's media
file manager under content-hashed URLs, so a rerun sends a few hundred bytes of JSON, and
the browser fetches the module once per page load and the weights once per model version
(live.js caches both). The pure parts (weights to bytes, edit validation) live in gvae.app.live.

Not a page itself. Pages import it; no page imports another page.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit import config, runtime

import gvae.app
from gvae.app import live as live_data

WEB = Path(gvae.app.__file__).resolve().parent / "web"
MODULE_JS = (WEB / "live.js").read_bytes()  # restart the app to see edits (no file watcher)
MODULE_CSS = (WEB / "live.css").read_bytes()

# Imports the module (once per page load: the browser keeps modules by URL) and hands it
# the render call. The URL is made absolute: the loader itself runs from a blob: URL.
LOADER_JS = """
export default async function (component) {
  const { data, parentElement } = component;
  try {
    const module = await import(new URL(data.module, window.location.origin).href);
    return module.default(component);
  } catch (error) {
    const note = document.createElement("pre");
    note.textContent = "The live view could not start: " + error;
    parentElement.replaceChildren(note);
  }
}
"""

_component = st.components.v2.component("gvae_live", js=LOADER_JS)


def serve(data: bytes, mimetype: str, slot: str, name: str | None = None) -> str:
    """A URL path at which this session's browser can fetch `data`.

    The media file manager keeps a file while a session references it in some slot (one
    per kind of file: a new decoder replaces the old one, which is then freed) and names
    it by a hash of its content and `name`, so the same bytes keep the same URL.
    """
    manager = runtime.get_instance().media_file_mgr
    url = manager.add(data, mimetype, f"gvae-live.{slot}", file_name=name or slot)
    base = config.get_option("server.baseUrlPath").strip("/")
    return f"/{base}{url}" if base else url


def module_urls() -> dict:
    return {
        "module": serve(MODULE_JS, "application/javascript", "live.js"),  # a .js URL
        "css": serve(MODULE_CSS, "text/css", "live.css"),
    }


@st.cache_resource(show_spinner=False, max_entries=8)
def _decoder_asset(path: str, sha256: str | None, mtime_ns: int, _model) -> tuple[bytes, str]:
    blob = live_data.model_blob(_model)
    return blob, live_data.version(blob)


def decoder_url(model, entry: dict) -> dict:
    """The selected model's weights for the page (gvae.app.live.model_blob): {url, version},
    one blob per file version."""
    path = str(entry["path"])
    blob, version = _decoder_asset(path, entry.get("sha256"), os.stat(path).st_mtime_ns, model)
    return {
        "url": serve(blob, "application/octet-stream", "decoder", f"decoder-{version}.bin"),
        "version": version,
    }


def png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def mount(view: str, key: str, data: dict, on_edit: Callable[[], None] | None = None, **kw):
    """Mount one view of the component. `on_edit` runs when the page reports a settled edit;
    st.session_state[key]["edit"] then holds it."""
    callbacks = {"on_edit_change": on_edit} if on_edit else {}
    return _component(key=key, data={"view": view, **module_urls(), **data}, **callbacks, **kw)


def edit_of(key: str):
    """The last edit the page reported for the component mounted at `key`, or None."""
    state = st.session_state.get(key)
    return state.get("edit") if state else None
