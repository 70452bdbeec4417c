"""Latent editor: one category per latent variable, the decoded digit at once.

The grid, the digit, the atlas and the interpolation are drawn and decoded in the page
(pages/live.py, gvae/app/web/live.js); this script holds the code in session state and
the URL, starts codes from test digits, and renders the same digit on the server for the
first paint and for anything that cannot run the page's script.
"""

import math

import numpy as np
import streamlit as st

from gvae.app.figures import posterior_heatmap
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, png_bytes, to_uint8, upscale
from gvae.app.kl import variable_kl
from gvae.app.latent import format_code, parse_code
from gvae.app.live import binary_sample, parse_editor_edit
from pages import live
from pages.common import (
    chart,
    current_model,
    explain,
    query_value,
    talk_mode,
    use_app_navigation,
)
from pages.state import slide_sets

use_app_navigation()

model, entry = current_model()
N, K = model.config.latent_dim, model.config.categorical_dim
gallery_images, gallery_labels, _ = load_gallery()
EDITOR = "live_editor"  # the component's key; its state "edit" is the page's last report


@st.cache_data(show_spinner=False, max_entries=16)
def gallery_usage(path: str, sha256: str) -> list[float]:  # path and sha256: the version
    """Per-variable KL to the uniform prior averaged over the gallery's test digits, as a
    share of log K: which variables this model uses (gvae.app.kl.variable_kl)."""
    return usage_shares(variable_kl(model, gallery_images).mean(axis=0))


def usage_shares(per_variable_kl) -> list[float]:
    return [round(float(v) / math.log(K), 4) for v in per_variable_kl]


@st.cache_data(show_spinner=False)
def gallery_png() -> bytes:
    """The gallery's picture never changes: encode it once per server, not per rerun."""
    return png_bytes(image_grid(gallery_images.reshape(-1, 28, 28), ncols=15, scale=2))


# -- state: the code lives in session_state["code"] and in the URL (?z=...) -------------
def set_code(code, start: bool = False) -> None:
    st.session_state.code = [int(v) for v in code]
    if start:
        st.session_state.start_code = list(st.session_state.code)


def on_gallery() -> None:
    index = st.session_state.gallery_pick
    if index is None:
        return
    code, q = model.argmax_code(gallery_images[index])
    set_code(code, start=True)
    st.session_state.posterior = (index, q)


def on_edit() -> None:
    """The page's code settled: adopt it (a malformed report changes nothing)."""
    try:
        edit = parse_editor_edit(live.edit_of(EDITOR), N, K)
    except ValueError:
        return
    if edit.code != st.session_state.code:
        st.session_state.pop("posterior", None)  # q(z|x) describes the digit, not the edit
    set_code(edit.code)
    st.session_state.start_code = edit.start
    st.session_state.code_b = edit.code_b
    st.session_state.show_sample = edit.sample
    st.session_state.edit_ack = edit.seq


def valid(code) -> bool:
    return len(code) == N and all(0 <= v < K for v in code)


if not valid(st.session_state.get("code", [])) or slide_sets("z"):
    first_digit, _ = model.argmax_code(gallery_images[0])
    set_code(query_value("z", lambda s: parse_code(s, N, K), first_digit), start=True)
if not valid(st.session_state.get("start_code", [])):
    st.session_state.start_code = list(st.session_state.code)
if not valid(st.session_state.get("code_b", [])):
    st.session_state.code_b = [int(v) for v in np.arange(N) % K]
st.session_state.setdefault("show_sample", False)
st.session_state.setdefault("edit_ack", 0)
code = st.session_state.code
st.query_params["z"] = format_code(code)

# The same digit as the page draws, for its first paint and for AppTest.
means = model.images([code])[0]  # (28, 28) Bernoulli means
picture = binary_sample(means) if st.session_state.show_sample else means
shared = {
    "N": N,
    "K": K,
    "code": code,
    "start": st.session_state.start_code,
    "b": st.session_state.code_b,
    "sample": st.session_state.show_sample,
    "ack": st.session_state.edit_ack,
    "decoder": live.decoder_url(model, entry),
    "talk": talk_mode(),
    # Row shading: the chosen test digit's per-variable KL, else the gallery's average.
    "usage": usage_shares(variable_kl(model, gallery_images[[posterior[0]]])[0])
    if (posterior := st.session_state.get("posterior")) is not None
    else gallery_usage(entry["path"], entry["sha256"]),
}

# -- page ----------------------------------------------------------------------------
st.title("Latent editor")
explain(
    f"**{N} categorical variables with {K} categories each** ({K}^{N} codes). Click a cell "
    "to set a variable, drag across cells to paint, hover to preview a change; arrow keys "
    "move a cursor and 0–9 set its variable. A row's shading: how much the model uses it."
)
live.mount(
    "editor",
    EDITOR,
    {**shared, "draw": True, "fallback": live.png_data_url(png_bytes(to_uint8(picture)))},
    on_edit=on_edit,
)

with st.expander("Start from a test digit", expanded=False):
    st.image(gallery_png(), output_format="PNG")  # "auto" would re-encode it as JPEG
    st.pills(
        "Test digit (in the order shown)",
        options=list(range(len(gallery_labels))),
        format_func=lambda j: f"{gallery_labels[j]} (#{j + 1})",
        key="gallery_pick",
        on_change=on_gallery,
    )
posterior = st.session_state.get("posterior")
if posterior is not None:
    index, q = posterior
    x_col, r_col, q_col = st.columns([1, 1, 3])
    x_col.image(
        upscale(to_uint8(gallery_images[index].reshape(28, 28)), 6),
        caption=f"input: a {gallery_labels[index]}",
        output_format="PNG",
    )
    r_col.image(
        upscale(to_uint8(means), 6), caption="its argmax code, decoded", output_format="PNG"
    )
    chart(posterior_heatmap(q, code), q_col, width="stretch", key="posterior_heatmap")

st.subheader("Atlas: every single-variable change")
explain("Row i, column k: the current code with z_i set to k (outlined: the current code).")
live.mount("atlas", "live_atlas", shared)

st.subheader("Interpolation, one variable at a time")
explain("From the current code A to a code B, one variable per step: drag along the strip.")
live.mount("interpolation", "live_interpolation", shared)
