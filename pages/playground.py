"""Gumbel playground: softmax sharpening into argmax as tau drops, and why it works."""

import numpy as np
import pandas as pd
import streamlit as st

from gvae.app import params
from gvae.app import playground as pg
from gvae.app.figures import (
    estimator_figure,
    frequency_figure,
    sample_bars,
    sharpening_animation,
    simplex_figure,
)
from pages.common import explain, query_value, use_app_navigation

use_app_navigation()  # a deep link on a fresh server still gets app.py's frame

TAUS = [float(f"{t:.3g}") for t in np.logspace(-2, 1, 31)]  # 0.01 ... 10, log-spaced
ESTIMATOR_TAUS = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]


def default_probs(k: int) -> list[float]:
    if k == 3:
        return list(pg.ARTICLE_PROBS)
    weights = np.arange(1, k + 1, dtype=float)
    return (weights / weights.sum()).round(3).tolist()


def format_probs(p) -> str:
    return ", ".join(f"{v:g}" for v in p)


def parse_probs(text: str) -> np.ndarray:
    return pg.validate_probs([v for v in text.replace(";", ",").split(",") if v.strip()])


# The animation and the estimator plot do not depend on tau: built once per (probs, seed)
# and shared read-only (cache_resource: no copy), so moving tau only redraws what it moves.
@st.cache_resource(show_spinner=False, max_entries=64)
def animation_figure(labels: tuple, probs: tuple, seed: int):
    noise = pg.fixed_noise(len(probs), seed)
    frames = {t: pg.soft_sample(np.array(probs), noise, t) for t in reversed(TAUS)}
    return sharpening_animation(labels, probs, frames)


@st.cache_resource(show_spinner="Measuring the estimators…", max_entries=16)
def estimator_plot(probs: tuple):
    stats = pg.estimator_stats(np.array(probs), ESTIMATOR_TAUS, n=100_000, seed=0)
    return estimator_figure(ESTIMATOR_TAUS, stats)


@st.cache_data(show_spinner=False, max_entries=32)
def frequencies(probs: tuple, n: int, seed: int):
    p = np.array(probs)
    return pg.gumbel_max_frequencies(p, n, seed), pg.inverse_cdf_frequencies(p, n, seed)


# -- state, seeded from the URL on a session's first run ---------------------------------
if "pg_probs" not in st.session_state:
    probs0 = query_value("p", parse_probs, np.array(pg.ARTICLE_PROBS))
    st.session_state.pg_k = len(probs0)
    st.session_state.pg_probs = format_probs(np.round(probs0, 4))
    st.session_state.pg_tau = query_value(
        "tau", lambda s: params.parse_tau(s, TAUS), 1.0 if 1.0 in TAUS else TAUS[20]
    )
    st.session_state.pg_seed = query_value("seed", params.parse_seed, 0)


def on_k_change() -> None:
    st.session_state.pg_probs = format_probs(default_probs(st.session_state.pg_k))


def on_new_noise() -> None:
    st.session_state.pg_seed = (st.session_state.pg_seed + 1) % (params.MAX_SEED + 1)


st.title("Gumbel playground")
explain(
    "A categorical sample can be written as **argmax(log π + g)** with Gumbel noise g: the "
    "*Gumbel-Max trick*. Replacing the argmax by a softmax with temperature τ makes the sample "
    "differentiable; as τ drops, the soft sample sharpens into the one-hot argmax."
)
if not st.session_state.get("talk_mode"):
    c1, c2, c3 = st.columns(3)
    c1.markdown("**Gumbel noise**")
    c1.latex(r"g = -\log(-\log U),\ U \sim \mathcal{U}(0, 1)")
    c2.markdown("**Gumbel-Max trick**")
    c2.latex(r"\arg\max_k\,(\log \pi_k + g_k) \sim \mathrm{Cat}(\pi)")
    c3.markdown("**Gumbel-Softmax relaxation**")
    c3.latex(r"y = \mathrm{softmax}\big((\log \pi + g)/\tau\big)")

controls = st.columns([1, 3, 3, 1, 1], vertical_alignment="bottom")
controls[0].number_input("K", min_value=2, max_value=10, step=1, key="pg_k", on_change=on_k_change)
controls[1].text_input("Class probabilities π (normalized for you)", key="pg_probs")
controls[2].select_slider("Temperature τ (log scale)", options=TAUS, key="pg_tau")
controls[3].number_input("Noise seed", min_value=0, step=1, key="pg_seed")
controls[4].button("New noise", icon=":material/casino:", on_click=on_new_noise, width="stretch")

try:
    probs = parse_probs(st.session_state.pg_probs)
    if len(probs) != st.session_state.pg_k:
        raise ValueError(f"K = {st.session_state.pg_k} but {len(probs)} probabilities were given")
except ValueError as error:
    st.error(
        f"Invalid class probabilities: {error}. Enter {st.session_state.pg_k} non-negative numbers, not all zero, e.g. {format_probs(default_probs(st.session_state.pg_k))}."
    )
    st.stop()

k, tau, seed = len(probs), float(st.session_state.pg_tau), int(st.session_state.pg_seed)
labels = list(pg.ARTICLE_LABELS) if k == 3 else [f"c{i}" for i in range(k)]
st.query_params.update(
    {"tau": f"{tau:g}", "p": ",".join(f"{v:.4g}" for v in probs), "seed": str(seed)}
)

noise = pg.fixed_noise(k, seed)
soft, hard = pg.soft_sample(probs, noise, tau), pg.hard_sample(probs, noise)

left, right = st.columns([3, 2])
left.plotly_chart(sample_bars(labels, probs, soft, hard, tau), width="stretch", key="bars")
with right:
    st.metric(
        "Entropy of the soft sample (nats)",
        f"{pg.entropy(soft):.3f}",
        help="0 for a one-hot vector, log K for uniform",
    )
    st.dataframe(
        pd.DataFrame(
            {"π": probs, "g": noise.numpy(), "soft sample": soft, "hard sample": hard}, index=labels
        ).round(4),
        width="stretch",
    )
    explain(
        "The noise g stays fixed while τ moves: the same sample sharpens. *New noise* draws another."
    )

st.plotly_chart(
    animation_figure(tuple(labels), tuple(probs), seed), width="stretch", key="animation"
)

st.subheader("The simplex")
if k == 3:
    samples = pg.simplex_samples(probs, tau, 3000, seed)
    st.plotly_chart(simplex_figure(samples, labels, probs, tau), width="stretch", key="simplex")
    explain(
        "High τ: samples spread inside the triangle. As τ → 0 they collapse onto the corners, in proportion π."
    )
else:
    st.info("Set K = 3 to see relaxed samples on the ternary simplex.")

st.subheader("Gumbel-Max is exact")
n = st.select_slider("Samples N", options=[1_000, 10_000, 100_000], value=10_000, key="pg_n")
gumbel_max, inverse_cdf = frequencies(tuple(probs), n, seed)
tolerance = pg.frequency_tolerance(probs, n)
st.plotly_chart(
    frequency_figure(labels, probs, gumbel_max, inverse_cdf, tolerance),
    width="stretch",
    key="frequencies",
)
st.dataframe(
    pd.DataFrame(
        {"π": probs, "Gumbel-Max": gumbel_max, "inverse CDF": inverse_cdf, "±4 s.e.": tolerance},
        index=labels,
    ).round(4),
    width="stretch",
)
explain(
    "The inverse-CDF sampler of the article picks the first category whose cumulative probability "
    "exceeds U ~ Uniform(0, 1). Both samplers agree with π within 4 standard errors √(π(1−π)/N)."
)

st.subheader("Straight-through: skip a gradient, keep a value")
explain(
    "The article's example: c = 2(a + b), d = c², f = 4d, loss = 3f with a = 1, b = 2. "
    "With `d = (d - c).detach() + c`, d keeps its value but passes c's gradient through "
    "untouched — exactly what straight-through does to a one-hot sample."
)
st.latex(r"y_{\text{hard}} = \mathrm{onehot}(\arg\max y) \;-\; \mathrm{sg}(y) + y")
examples = pd.DataFrame(
    {
        "plain": pg.straight_through_example(False),
        "skip d's gradient": pg.straight_through_example(True),
    }
)
e1, e2 = st.columns(2)
e1.dataframe(examples, width="stretch")
e2.dataframe(
    pd.DataFrame({"soft forward": soft, "straight-through forward": hard}, index=labels).round(4),
    width="stretch",
)

st.subheader("Gradient estimators against τ")
explain(
    "For f(z) = (z·c − ½)², c_j = j/(K−1), the exact gradient of E[f(z)] with respect to the logits "
    "is J(π)ᵀf with J = diag(π) − ππᵀ. Each estimator's mean over 100,000 draws gives its bias; "
    "the relaxed estimator's bias shrinks as τ falls while its variance grows; straight-through "
    "stays biased; ReinMax (Liu et al. 2023) is exact for this quadratic f at τ = 1."
)
st.plotly_chart(estimator_plot(tuple(probs)), width="stretch", key="estimators")
