"""Gumbel playground: softmax sharpening into argmax as tau drops, and why it works.

τ and π move in the page (pages/live.py, gvae/app/web/live.js): the bars, the entropy,
the table and the simplex follow the hand from the Gumbel draw this script chose and
sends along; the script hears the settled τ and π, keeps them in session state and the
URL, and draws what does not depend on τ.
"""

import numpy as np
import pandas as pd
import streamlit as st

from gvae.app import params
from gvae.app import playground as pg
from gvae.app.figures import estimator_figure, frequency_figure
from gvae.app.live import TAU_RANGE, float64_bytes, parse_playground_edit
from pages import live, state
from pages.common import chart, explain, message, table, talk_mode, use_app_navigation

use_app_navigation()

ESTIMATOR_TAUS = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
PLAYGROUND = "live_playground"  # the component's key; its state "edit" is the page's report


def format_probs(p) -> str:
    return ", ".join(f"{v:g}" for v in p)


# The estimator plot does not depend on tau: built once per probs and shared read-only.
@st.cache_resource(show_spinner="Measuring the estimators…", max_entries=16)
def estimator_plot(probs: tuple):
    stats = pg.estimator_stats(np.array(probs), ESTIMATOR_TAUS, n=100_000, seed=0)
    return estimator_figure(ESTIMATOR_TAUS, stats)


@st.cache_data(show_spinner=False, max_entries=32)
def frequencies(probs: tuple, n: int, seed: int):
    p = np.array(probs)
    return pg.gumbel_max_frequencies(p, n, seed), pg.inverse_cdf_frequencies(p, n, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def simplex_noise_bytes(k: int, seed: int) -> bytes:
    return float64_bytes(pg.simplex_noise(k, pg.SIMPLEX_POINTS, seed))


# -- state, seeded from the URL on a session's first run ---------------------------------
state.seed(
    "pg_probs",
    "p",
    lambda t: format_probs(np.round(params.parse_probs(t), 4)),
    format_probs(pg.ARTICLE_PROBS),
)
# the seeded π is valid (a bad URL value fell back)
if "pg_k" not in st.session_state or state.slide_sets("p"):
    st.session_state.pg_k = len(params.parse_probs(st.session_state.pg_probs))
state.seed("pg_tau", "tau", lambda t: params.parse_tau(t, *TAU_RANGE), 1.0)
state.seed("pg_seed", "seed", params.parse_seed, 0)
SAMPLE_COUNTS = [1_000, 10_000, 100_000]
state.seed("pg_n", "n", params.parse_choice(SAMPLE_COUNTS), 10_000)
st.session_state.setdefault("pg_ack", 0)


def on_k_change() -> None:
    st.session_state.pg_probs = format_probs(pg.default_probs(st.session_state.pg_k))


def on_new_noise() -> None:
    st.session_state.pg_seed = (st.session_state.pg_seed + 1) % (params.MAX_SEED + 1)


def on_edit() -> None:
    """τ or π settled in the page: adopt them (a malformed report changes nothing)."""
    try:
        edit = parse_playground_edit(live.edit_of(PLAYGROUND), st.session_state.pg_k)
    except ValueError:
        return
    st.session_state.pg_tau = edit.tau
    st.session_state.pg_probs = format_probs(np.round(edit.probs, 4))
    st.session_state.pg_ack = edit.seq


st.title("Gumbel playground")
explain(
    "A categorical sample can be written as **argmax(log π + g)** with Gumbel noise g: the "
    "*Gumbel-Max trick*. Replacing the argmax by a softmax with temperature τ makes the sample "
    "differentiable; as τ drops, the soft sample sharpens into the one-hot argmax."
)
# The equations are the talk: kept in talk mode, without their headings.
c1, c2, c3 = st.columns(3)
if not talk_mode():
    c1.markdown("**Gumbel noise**")
    c2.markdown("**Gumbel-Max trick**")
    c3.markdown("**Gumbel-Softmax relaxation**")
c1.latex(r"g = -\log(-\log U),\ U \sim \mathcal{U}(0, 1)")
c2.latex(r"\arg\max_k\,(\log \pi_k + g_k) \sim \mathrm{Cat}(\pi)")
c3.latex(r"y = \mathrm{softmax}\big((\log \pi + g)/\tau\big)")

controls = st.columns([1, 4, 1.2, 1.6], vertical_alignment="bottom")
controls[0].number_input("K", min_value=2, max_value=10, step=1, key="pg_k", on_change=on_k_change)
controls[1].text_input(
    "π (or drag the grey bars)"
    if talk_mode()
    else "Class probabilities π (normalized for you; or drag the grey bars)",
    key="pg_probs",
)
controls[2].number_input(
    "Noise seed", min_value=0, max_value=params.MAX_SEED, step=1, key="pg_seed"
)
controls[3].button("New noise", icon=":material/casino:", on_click=on_new_noise, width="stretch")

try:
    probs = params.parse_probs(st.session_state.pg_probs)
    if len(probs) != st.session_state.pg_k:
        raise ValueError(f"K = {st.session_state.pg_k} but {len(probs)} probabilities were given")
    st.session_state.pg_valid = probs
except ValueError as error:
    # A typo mid-talk must not blank the demo: it keeps showing the last valid π.
    probs = st.session_state.get("pg_valid")
    if probs is None or len(probs) != st.session_state.pg_k:
        probs = np.asarray(pg.default_probs(st.session_state.pg_k))
        probs = probs / probs.sum()
    message(
        "error",
        f"Invalid class probabilities: {error}. Enter {st.session_state.pg_k} non-negative "
        f"numbers, not all zero, e.g. {format_probs(pg.default_probs(st.session_state.pg_k))}. "
        f"Showing π = {format_probs(np.round(probs, 4))} meanwhile.",
    )

k, tau, seed = len(probs), float(st.session_state.pg_tau), int(st.session_state.pg_seed)
labels = list(pg.ARTICLE_LABELS) if k == 3 else [f"c{i}" for i in range(k)]
st.query_params.update(
    {"tau": f"{tau:g}", "p": ",".join(f"{v:.4g}" for v in probs), "seed": str(seed)}
)

noise = pg.fixed_noise(k, seed)
soft, hard = pg.soft_sample(probs, noise, tau), pg.hard_sample(probs, noise)
simplex = None
if k == 3:
    noise_bytes = simplex_noise_bytes(k, seed)
    url = live.serve(noise_bytes, "application/octet-stream", "simplex", f"simplex-{seed}.bin")
    simplex = {"url": url, "n": pg.SIMPLEX_POINTS}
live.mount(
    "playground",
    PLAYGROUND,
    {
        "labels": labels,
        "probs": probs.tolist(),
        "noise": noise.tolist(),  # float64, exact through JSON: the page's draw is this one
        "tau": tau,
        "seed": seed,
        "ack": st.session_state.pg_ack,
        "simplex": simplex,
        # What the server computes at this τ (the page recomputes them as τ moves).
        "soft": soft.tolist(),
        "hard": hard.tolist(),
        "entropy": pg.entropy(soft),
        "talk": talk_mode(),
    },
    on_edit=on_edit,
)
explain(
    "Drag τ (or press ▶ Play): the same Gumbel draw g sharpens from nearly uniform to the "
    "one-hot argmax. Drag a grey π bar to change the class probabilities. "
    + (
        "The triangle holds 3,000 relaxed samples: at high τ they spread inside, as τ → 0 "
        "they collapse onto the corners, in proportion π. "
        if k == 3
        else "Set K = 3 to see relaxed samples on the simplex. "
    )
    + "*New noise* draws another g."
)

st.subheader("Gumbel-Max is exact")
n = st.select_slider("Samples N", options=SAMPLE_COUNTS, key="pg_n")
state.keep("pg_k", "pg_probs", "pg_seed", "pg_n")
st.query_params["n"] = str(n)
gumbel_max, inverse_cdf = frequencies(tuple(probs), n, seed)
tolerance = pg.frequency_tolerance(probs, n)
chart(
    frequency_figure(labels, probs, gumbel_max, inverse_cdf, tolerance),
    width="stretch",
    key="frequencies",
)
table(
    pd.DataFrame(
        {"π": probs, "Gumbel-Max": gumbel_max, "inverse CDF": inverse_cdf, "±4 s.e.": tolerance},
        index=labels,
    ).round(4),
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
table(examples, e1)
table(
    pd.DataFrame({"soft forward": soft, "straight-through forward": hard}, index=labels).round(4),
    e2,
)

st.subheader("Gradient estimators against τ")
explain(
    "For f(z) = (z·c − ½)², c_j = j/(K−1), the exact gradient of E[f(z)] with respect to the logits "
    "is J(π)ᵀf with J = diag(π) − ππᵀ. Each estimator's mean over 100,000 draws gives its bias; "
    "the relaxed estimator's bias shrinks as τ falls while its variance grows; straight-through "
    "stays biased; ReinMax (Liu et al. 2023) is exact for this quadratic f at τ = 1."
)
chart(estimator_plot(tuple(probs)), width="stretch", key="estimators")
