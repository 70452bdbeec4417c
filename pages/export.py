"""Export for slides: the digit, the atlas and an interpolation as projector-sized PNGs, and
GIFs of τ sharpening a sample, of an interpolation and of a training time-lapse."""

import numpy as np
import streamlit as st

from gvae.app import explorable, export
from gvae.app import gumbel_vae as gv
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, to_uint8, upscale
from gvae.app.latent import (
    atlas_codes,
    format_code,
    interpolation_path,
    parse_code,
)
from gvae.app.playground import ARTICLE_LABELS, ARTICLE_PROBS, fixed_noise, soft_sample
from pages.common import current_model, message, query_value, use_app_navigation
from pages.state import slide_sets
from pages.talk_kit import gallery_digit_picker

use_app_navigation()

model, entry = current_model()
N, K = model.config.latent_dim, model.config.categorical_dim
images, labels, _ = load_gallery()
W, H = export.PROJECTOR
GW, GH = export.GIF_SIZE

st.title("Export for slides")
st.markdown(
    f"**Charts**: every chart on the article's pages (KL, ELBO, reparameterization, Gumbel, "
    f"implementation) saves itself as a {export.CHART_EXPORT_WIDTH} × "
    f"{export.CHART_EXPORT_HEIGHT} PNG from the camera button of its toolbar (hover the chart). "
    f"**Pictures** below: PNGs at {W} × {H}, pixels enlarged by a whole factor so they stay "
    f"sharp, and GIFs at {GW} × {GH}. Model: **{entry['name']}**."
)

# -- the code --------------------------------------------------------------------------------
st.header("The code", anchor="code")
source, preview = st.columns([2, 1], gap="large")
with source:
    index = gallery_digit_picker("ex_digit", "Start from a test digit's argmax code")
    digit_code, _ = model.argmax_code(images[index])
    url_code = query_value("z", lambda s: parse_code(s, N, K), None)
    if "ex_code" not in st.session_state or slide_sets("z"):
        st.session_state.ex_code = format_code(url_code or digit_code)
    if st.session_state.get("ex_from") != index:  # a new digit picked: take its code
        if st.session_state.get("ex_from") is not None:
            st.session_state.ex_code = format_code(digit_code)
        st.session_state.ex_from = index
    st.text_input(f"Code A ({N} digits, one per variable)", key="ex_code")
    try:
        code = parse_code(st.session_state.ex_code, N, K)
    except ValueError as error:
        message("error", f"{error}. Using the digit's code instead.")
        code = digit_code
    other = st.selectbox(
        "Code B, for the interpolation: another test digit's code",
        options=list(range(len(labels))),
        index=(index + 1) % len(labels),
        format_func=lambda j: f"a {labels[j]} (gallery #{j})",
        key="ex_other",
    )
    code_b, _ = model.argmax_code(images[other])
st.query_params.update({"z": format_code(code), "digit": str(index)})
digit = model.images([code])[0]
with preview:
    st.image(upscale(to_uint8(digit), 8), caption=f"z = {format_code(code)}", output_format="PNG")


# -- PNGs ---------------------------------------------------------------------------------------
def digit_png() -> bytes:
    return export.png(export.projector_image(to_uint8(digit), f"z = {format_code(code)}"))


def atlas_png() -> bytes:
    atlas = model.images(atlas_codes(code, K))  # (N*K, 28, 28), row i*K + k
    by_category = atlas.reshape(N, K, 28, 28).transpose(1, 0, 2, 3).reshape(-1, 28, 28)
    grid = image_grid(by_category, ncols=N, pad=2)  # landscape: columns z0..z{N-1}, rows 0..K-1
    return export.png(
        export.projector_image(
            grid, f"atlas of z = {format_code(code)}: column i sets z_i to the row's category"
        )
    )


path = interpolation_path(code, code_b)
path_images = model.images(path)


def interpolation_png() -> bytes:
    strip = image_grid(path_images, ncols=min(len(path), 11), pad=2)
    return export.png(
        export.projector_image(strip, f"{len(path) - 1} one-variable steps from A to B")
    )


st.header("Pictures at projector size", anchor="png")
cols = st.columns(3)
for col, (name, build, what) in zip(
    cols,
    (
        ("digit", digit_png, "the decoded digit"),
        ("atlas", atlas_png, f"the atlas: all {N * K} single-variable changes"),
        ("interpolation", interpolation_png, f"the interpolation A → B, {len(path)} codes"),
    ),
):
    col.download_button(
        f"{name}.png",
        data=build,
        file_name=f"gvae-{name}-{format_code(code)}.png",
        mime="image/png",
        icon=":material/image:",
        width="stretch",
        key=f"ex_{name}_png",
        help=f"{what}, {W} × {H}",
    )
    col.caption(f"{what}, {W} × {H}")

# -- GIFs ---------------------------------------------------------------------------------------
st.header("Animations", anchor="gif")
TAUS = [float(f"{t:.3g}") for t in np.logspace(1, -2, 31)]  # 10 ... 0.01


def tau_gif() -> bytes:
    probs = np.array(ARTICLE_PROBS)
    noise = fixed_noise(len(probs), 0)
    soft = {t: soft_sample(probs, noise, t) for t in TAUS}
    decoded = gv.relaxed_decode(model, images[index], gv.code_noise(N, K, 0), TAUS)
    digits = dict(zip(TAUS, decoded["means"]))
    return export.tau_sharpening_gif(ARTICLE_LABELS, probs, soft, digits)


def interpolation_gif() -> bytes:
    return export.interpolation_gif(path_images, [format_code(c) for c in path])


g = st.columns(3)
g[0].download_button(
    "τ sharpening.gif",
    data=tau_gif,
    file_name="gvae-tau-sharpening.gif",
    mime="image/gif",
    icon=":material/animation:",
    width="stretch",
    key="ex_tau_gif",
)
g[0].caption(
    f"The article's π = {', '.join(map(str, ARTICLE_PROBS))} and one Gumbel draw as τ falls from 10 to "
    f"0.01, beside this digit decoded from its relaxed code at the same τ; {len(TAUS)} frames."
)
g[1].download_button(
    "interpolation.gif",
    data=interpolation_gif,
    file_name="gvae-interpolation.gif",
    mime="image/gif",
    icon=":material/animation:",
    width="stretch",
    key="ex_interp_gif",
)
g[1].caption(f"Code A to code B, one variable per frame; {len(path)} frames.")
with g[2]:
    upload = st.file_uploader("A Train page history (CSV)", type=["csv"], key="ex_history")
    job = st.session_state.get("train_job")  # this session's Train page run, if any
    history, problem = None, None
    if upload is not None:
        try:
            history = export.read_history_csv(upload.getvalue())
        except ValueError as error:
            problem = str(error)
    elif job is not None and hasattr(job, "history"):
        history = [
            {k: float(r[k]) for k in export.HISTORY_FIELDS}
            for r in job.history()
            if all(k in r for k in export.HISTORY_FIELDS)
        ] or None
    if problem:
        message("error", f"That file cannot be used: {problem}")
    elif history:
        st.download_button(
            "training time-lapse.gif",
            data=lambda: export.training_timelapse_gif(history),
            file_name="gvae-training.gif",
            mime="image/gif",
            icon=":material/animation:",
            width="stretch",
            key="ex_train_gif",
        )
        st.caption(f"{len(history):,} history rows, drawn in 48 frames.")
    else:
        st.caption(
            "Upload the history CSV the Train page downloads, or train on the Train page in this session."
        )

# -- the one-file explorable ----------------------------------------------------------------
st.header("Offline explorable", anchor="explorable")
st.markdown(
    "The latent editor (with its drawing pad) and the Gumbel playground as **one HTML file** "
    f"with **{entry['name']}** inside: no server, no network. Mail it, put it on any static "
    "host, or open it from a USB stick: every phone in the room can run it."
)
st.download_button(
    "gvae-explorable.html",
    data=lambda: explorable.build_html(model, entry["name"]).encode(),
    file_name=f"gvae-{entry['name']}.html",
    mime="text/html",
    icon=":material/download:",
    key="ex_explorable",
    help="about 2.8 MB; the same file as gvae-explorable --out FILE.html",
)
