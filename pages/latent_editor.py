"""Latent editor: one category per latent variable, the decoded digit at once."""

import zlib

import numpy as np
import streamlit as st

from gvae.app.figures import atlas_figure, posterior_heatmap
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, png_bytes, to_uint8, upscale
from gvae.app.latent import (
    argmax_code,
    atlas_codes,
    decode_to_images,
    format_code,
    interpolation_path,
    parse_code,
)
from pages.common import current_model, explain, image_scale, query_value, use_app_navigation

use_app_navigation()  # a deep link on a fresh server still gets app.py's frame

model, entry = current_model()
N, K = model.config.latent_dim, model.config.categorical_dim
gallery_images, gallery_labels, _ = load_gallery()
rng = np.random.default_rng()


@st.cache_data(show_spinner=False)
def gallery_png() -> bytes:
    """The gallery's picture never changes: encode it once per server, not per rerun."""
    return png_bytes(image_grid(gallery_images.reshape(-1, 28, 28), ncols=15, scale=2))


# -- state: the code lives in session_state["code"] and in the URL (?z=...) -------------
def set_code(code, start: bool = False) -> None:
    st.session_state.code = [int(v) for v in code]
    for i, v in enumerate(st.session_state.code):
        st.session_state[f"z{i}"] = v
    if start:
        st.session_state.start_code = list(st.session_state.code)


def on_variable_change(i: int) -> None:
    st.session_state.code[i] = st.session_state[f"z{i}"]
    st.session_state.pop("posterior", None)  # q(z|x) describes the digit, not the edit


def on_random() -> None:
    set_code(rng.integers(K, size=N), start=True)
    st.session_state.pop("posterior", None)


def on_randomize_one() -> None:
    code = list(st.session_state.code)
    i = int(rng.integers(N))
    code[i] = int((code[i] + rng.integers(1, K)) % K)  # always a different category
    set_code(code)


def on_reset() -> None:
    set_code(st.session_state.start_code)


def on_gallery() -> None:
    index = st.session_state.gallery_pick
    if index is None:
        return
    code, q = argmax_code(model, gallery_images[index])
    set_code(code, start=True)
    st.session_state.posterior = (index, q)


def on_atlas_click() -> None:
    points = st.session_state.atlas.selection.get("points", [])
    if points:
        variable, category = int(points[0]["y"]), int(points[0]["x"])
        code = list(st.session_state.code)
        code[variable] = category
        set_code(code)


def on_new_b() -> None:
    st.session_state.code_b = rng.integers(K, size=N).tolist()


if len(st.session_state.get("code", [])) != N or any(v >= K for v in st.session_state.code):
    first_digit, _ = argmax_code(model, gallery_images[0])
    set_code(query_value("z", lambda s: parse_code(s, N, K), first_digit), start=True)
if "start_code" not in st.session_state:
    st.session_state.start_code = list(st.session_state.code)
for i in range(N):  # widgets forget their state on other pages: restore it from the code
    st.session_state.setdefault(f"z{i}", st.session_state.code[i])
st.session_state.setdefault("code_b", [int(v) for v in np.arange(N) % K])
code = st.session_state.code
st.query_params["z"] = format_code(code)

# -- page ----------------------------------------------------------------------------
st.title("Latent editor")
explain(
    f"The model's latent code is **{N} categorical variables with {K} categories each** "
    f"({K}^{N} possible codes). Pick a category for each variable and the decoder draws "
    "the digit at once. Start from a random code or from the code of a real test digit "
    "(the per-variable argmax of q(z|x)); the atlas shows what every single change would do."
)

buttons = st.columns(4)
buttons[0].button("Random code", icon=":material/casino:", on_click=on_random, width="stretch")
buttons[1].button(
    "Randomize one variable", icon=":material/shuffle:", on_click=on_randomize_one, width="stretch"
)
buttons[2].button(
    "Reset",
    icon=":material/restart_alt:",
    on_click=on_reset,
    width="stretch",
    help="Back to the starting code",
)
show_sample = buttons[3].toggle(
    "Binary sample", key="show_sample", help="A Bernoulli draw from the means"
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

editor, view = st.columns([3, 2], gap="large")
with editor:
    st.subheader("Code")
    for i in range(N):
        label, control = st.columns([1, 9], vertical_alignment="center")
        label.markdown(f"**z{i}**")
        control.segmented_control(
            f"z{i}",
            options=list(range(K)),
            key=f"z{i}",
            required=True,
            on_change=on_variable_change,
            args=(i,),
            label_visibility="collapsed",
        )

means = decode_to_images(model, [code])[0]  # (28, 28) Bernoulli means
with view:
    st.subheader("Decoded digit")
    if show_sample:
        seed = zlib.crc32(format_code(code).encode())  # the same code, the same sample
        picture = (np.random.default_rng(seed).random(means.shape) < means).astype(np.float32)
    else:
        picture = means
    st.image(
        upscale(to_uint8(picture), image_scale(12)),
        caption=f"z = {format_code(code)}",
        output_format="PNG",
    )
    posterior = st.session_state.get("posterior")
    if posterior is not None:
        index, q = posterior
        x_col, r_col = st.columns(2)
        x_col.image(
            upscale(to_uint8(gallery_images[index].reshape(28, 28)), 6),
            caption=f"input: a {gallery_labels[index]}",
            output_format="PNG",
        )
        r_col.image(
            upscale(to_uint8(means), 6), caption="its argmax code, decoded", output_format="PNG"
        )
        st.plotly_chart(posterior_heatmap(q, code), width="stretch", key="posterior_heatmap")

st.subheader("Atlas: every single-variable change")
explain("Row i, column k: the current code with z_i set to k. Click a cell to make that change.")
atlas = decode_to_images(model, atlas_codes(code, K))  # (N*K, 28, 28), one batch
st.plotly_chart(
    atlas_figure(image_grid(atlas, ncols=K, pad=2, scale=2), N, K, code),
    key="atlas",
    on_select=on_atlas_click,
    selection_mode="points",
    width="stretch",
    config={"displayModeBar": False},
)

st.subheader("Interpolation, one variable at a time")
explain("From the current code A to a code B, changing one variable per frame.")
b_cols = st.columns([1, 3])
b_cols[0].button("New B", icon=":material/casino:", on_click=on_new_b, width="stretch")
b_cols[1].text(f"A = {format_code(code)}\nB = {format_code(st.session_state.code_b)}")
path = interpolation_path(code, st.session_state.code_b)
st.image(
    image_grid(decode_to_images(model, path), ncols=len(path), scale=2),
    caption=f"{len(path) - 1} changes",
    output_format="PNG",
)
