"""§3 KL divergence: two categoricals you set, both directions, cross-entropy − entropy; then
the real model's KL to its prior, variable by variable."""

import math
import os

import numpy as np
import streamlit as st

from gvae.app import kl as klm
from gvae.app.gallery import load_gallery
from gvae.app.images import to_uint8, upscale
from gvae.app.latent import format_code
from gvae.app.params import parse_choice, parse_flag, parse_probs, validate_probs
from gvae.app.section_figures import (
    distributions_figure,
    kl_decomposition_figure,
    kl_terms_figure,
    variable_kl_figure,
)
from pages.common import current_model, explain, load, message, query_value, use_app_navigation
from pages.state import keep, seed, slide_sets
from pages.talk_kit import chart, gallery_digit_picker, kl_bars, kl_bars_value

use_app_navigation()

PRESETS = {
    "the article's colours against uniform": ([0.05, 0.25, 0.7], [1 / 3, 1 / 3, 1 / 3]),
    "two modes against one": ([0.45, 0.05, 0.05, 0.45], [0.1, 0.2, 0.6, 0.1]),
    "Q misses a category": ([0.5, 0.3, 0.2], [0.6, 0.4, 0.0]),
    "the same distribution": ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]),
}
LABELS_3 = ("Red", "Blue", "White")  # the article's categories


def fmt(p) -> str:
    return ",".join(f"{v:.3g}" for v in p)


def set_bars(p, q) -> None:
    st.session_state.kl_k = len(p)
    for name, values in (("p", p), ("q", q)):
        for i, v in enumerate(values):
            st.session_state[f"kl_{name}{i}"] = round(float(v), 2)


def on_preset() -> None:
    if st.session_state.kl_preset is not None:
        set_bars(*PRESETS[st.session_state.kl_preset])


def on_drag() -> None:
    """The draggable bars were let go: their P and Q become the sliders' values."""
    bars = kl_bars_value("kl_drag")
    if bars and len(bars.get("p", [])) == len(bars.get("q", [])) == st.session_state.kl_k:
        set_bars(bars["p"], bars["q"])


def on_k() -> None:
    k = st.session_state.kl_k
    set_bars(np.full(k, 1 / k), np.arange(1, k + 1) / (k * (k + 1) / 2))


def bars_from_url() -> tuple:
    """P and Q from ?p=...&q=..., else the first preset; a Q of another length is uniform."""
    p0, q0 = PRESETS[next(iter(PRESETS))]
    p0 = query_value("p", parse_probs, np.array(p0))
    q0 = query_value("q", parse_probs, np.array(q0) if len(q0) == len(p0) else None)
    if q0 is None or len(q0) != len(p0):
        if q0 is not None:
            st.warning(f"p has {len(p0)} categories and q {len(q0)}: Q set to uniform.")
        q0 = np.full(len(p0), 1 / len(p0))
    return p0, q0


# -- state: the URL on a session's first run, then what the session kept --------------------
if "kl_k" not in st.session_state or slide_sets("p", "q"):
    set_bars(*bars_from_url())
seed("kl_preset", "preset", parse_choice(list(PRESETS)), None)

st.title("KL divergence")
st.latex(
    r"\mathrm{KL}(P\,\|\,Q)=\sum_x P(x)\log\frac{P(x)}{Q(x)}"
    r"=\underbrace{-\sum_x P(x)\log Q(x)}_{H(P,\,Q)}-\underbrace{\Big(-\sum_x P(x)\log P(x)\Big)}_{H(P)}"
)
explain(
    "How many extra nats per draw you pay when data from P is coded with a code built for Q "
    "(the article's section 3). It is never negative, zero only when P = Q, and **not "
    "symmetric**: set the bars and compare the two directions."
)

st.header("Two distributions you set", anchor="asymmetry")
controls, view = st.columns([2, 3], gap="large")
with controls:
    top = st.columns([1, 2], vertical_alignment="bottom")
    top[0].number_input("Categories K", min_value=2, max_value=10, key="kl_k", on_change=on_k)
    top[1].selectbox(
        "Start from",
        list(PRESETS),
        key="kl_preset",
        on_change=on_preset,
        index=None,
        placeholder="a prepared pair…",
    )
    k = int(st.session_state.kl_k)
    labels = list(LABELS_3) if k == 3 else [f"c{i}" for i in range(k)]
    heads = st.columns(2)
    heads[0].markdown("**P** (normalized for you)")
    heads[1].markdown("**Q** (normalized for you)")
    for i in range(k):
        row = st.columns(2)
        for col, name in zip(row, ("p", "q")):
            st.session_state.setdefault(f"kl_{name}{i}", round(1 / k, 2))
            col.slider(f"{name.upper()}({labels[i]})", 0.0, 1.0, step=0.01, key=f"kl_{name}{i}")
    weights = {
        name: [float(st.session_state[f"kl_{name}{i}"]) for i in range(k)] for name in ("p", "q")
    }

try:
    p, q = validate_probs(weights["p"]), validate_probs(weights["q"])
except ValueError as error:
    message("error", f"{error}. Raise at least one bar of each distribution above 0.")
    st.stop()
keep("kl_preset", "kl_k", *(f"kl_{name}{i}" for name in ("p", "q") for i in range(k)))
st.query_params.update({"p": fmt(p), "q": fmt(q)})

s = klm.summary(p, q)
with view:
    # The numbers live in the bars' component: they follow the hand while it drags.
    kl_bars("kl_drag", labels, p, q, on_drag)
    st.caption(
        "Drag a bar: the others of its distribution make room, and KL(P‖Q), KL(Q‖P), the "
        "entropy H(P) and the cross-entropy H(P, Q) (nats) follow the hand. The sliders set "
        "exact values."
    )
left, right = st.columns([4, 3])
with left:
    chart(kl_decomposition_figure(s), "kl_decomposition", "kl-cross-entropy")
with right:
    chart(kl_terms_figure(labels, klm.kl_terms(p, q), klm.kl_terms(q, p)), "kl_terms", "kl-terms")
with st.expander("P and Q as a chart, for slides"):
    chart(distributions_figure(labels, p, q), "kl_bars", "kl-distributions")
explain(
    "KL(P‖Q) weighs the log-ratio by **P**: it punishes Q for missing what P has (a Q of 0 "
    "where P > 0 costs infinitely many nats). KL(Q‖P) weighs by **Q**: it punishes Q for "
    "putting mass where P has little. Minimizing the first spreads Q over every mode of P; "
    "minimizing the second lets Q settle on one mode. Since H(P) does not depend on Q, "
    "minimizing KL(P‖Q) over Q is minimizing the cross-entropy."
)

# -- the real model ---------------------------------------------------------------------------
st.header("What the model's KL term measures", anchor="model")
st.latex(
    r"\mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)=\sum_{i=1}^{N}\underbrace{\sum_{k=1}^{K}"
    r"q_{ik}\,(\log q_{ik}+\log K)}_{0\ \le\ \mathrm{KL}_i\ \le\ \log K}"
)
explain(
    "With a uniform prior, each latent variable contributes between 0 (q(z_i|x) uniform: the "
    "variable says nothing about this digit) and log K (certain of one category). The bars "
    "show which variables this model uses for a digit, and on average."
)
model, entry = current_model()
N, K = model.config.latent_dim, model.config.categorical_dim
images, gallery_labels, _ = load_gallery()


@st.cache_data(show_spinner="Averaging the KL over the test images…", max_entries=8)
def mean_kl(path: str, sha256: str | None, mtime_ns: int) -> tuple[np.ndarray, str, int]:
    """Mean per-variable KL over the reference images, once per model file version."""
    data, where = klm.average_images(limit=1000)
    per_image = klm.variable_kl(load(path), data)
    return per_image.mean(0), where, len(data)


average, where, count = mean_kl(
    entry["path"], entry.get("sha256"), os.stat(entry["path"]).st_mtime_ns
)
picker, shown = st.columns([1, 3])
with picker:
    index = gallery_digit_picker("kl_digit")
    st.image(
        upscale(to_uint8(images[index].reshape(28, 28)), 6),
        caption=f"test image #{load_gallery()[2][index]} (grey levels, as the editor encodes it)",
        output_format="PNG",
    )
    seed("kl_sorted", "sorted", parse_flag, True)
    st.toggle("Largest KL first", key="kl_sorted")
    keep("kl_sorted")
digit_kl = klm.variable_kl(model, images[index : index + 1])[0]  # (N,)
order = klm.ranked_variables(digit_kl) if st.session_state.kl_sorted else None
code, _ = model.argmax_code(images[index])
with shown:
    chart(
        variable_kl_figure(digit_kl, average, math.log(K), order, f" (a {gallery_labels[index]})"),
        "kl_variables",
        "kl-per-variable",
    )
st.query_params.update({"digit": str(index), "sorted": "1" if st.session_state.kl_sorted else "0"})

ranked = klm.ranked_variables(digit_kl)
used = [i for i in ranked if digit_kl[i] > 0.5]
unused = klm.unused_variables(average)
c = st.columns(3)
c[0].metric(
    "KL of this digit",
    f"{digit_kl.sum():.2f} nats",
    help=f"The ELBO's KL term: the sum of the bars. At most N log K = {N * math.log(K):.1f}.",
)
c[1].metric("Variables above 0.5 nats", f"{len(used)} of {N}")
c[2].metric(f"Average KL, {count:,} images", f"{average.sum():.2f} nats")
st.markdown(
    "**The variables that matter for this digit**: "
    + ", ".join(f"z{i} ({digit_kl[i]:.2f})" for i in ranked[:6])
    + (
        f". **Nearly unused on average** (< 0.05 nats): {', '.join(f'z{i}' for i in unused)}."
        if unused
        else ". Every variable carries information on average."
    )
)
st.page_link(
    "pages/latent_editor.py",
    label=f"Open this digit's code in the latent editor (z = {format_code(code)}): try z{ranked[0]} first",
    icon=":material/tune:",
    query_params={"z": format_code(code)},
)
st.caption(
    f"Averages over {where}; the digit's KL from its grey levels, as the latent editor encodes it."
)
