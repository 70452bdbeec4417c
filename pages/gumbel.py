"""§6 Categorical sampling: the inverse-CDF "slicing" sampler, the Gumbel density, the
Gumbel-Max trick, and τ acting on the real VAE. (The playground covers the relaxation.)"""

import numpy as np
import streamlit as st

from gvae.app import gumbel_vae as gv
from gvae.app.figures import posterior_heatmap
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, to_uint8, upscale
from gvae.app.latent import format_code
from gvae.app.params import MAX_SEED, parse_float_in, parse_probs, parse_seed, parse_tau
from gvae.app.playground import ARTICLE_LABELS, ARTICLE_PROBS, fixed_noise
from gvae.app.section_figures import gumbel_density_figure, gumbel_max_figure, slicing_figure
from pages.common import current_model, explain, message, use_app_navigation
from pages.state import keep, seed
from pages.talk_kit import chart, gallery_digit_picker

use_app_navigation()

# 0.01 ... 100: this model's logits span about ±100, so its relaxed code is near uniform
# only at τ ~ 100 (the playground's π needs no more than 10).
TAUS = [float(f"{t:.3g}") for t in np.logspace(-2, 2, 41)]


def nearest(stops, tau: float) -> float:
    """The slider stop closest to tau on a log scale."""
    return min(stops, key=lambda s: abs(np.log(s) - np.log(tau)))


def format_probs(p) -> str:
    return ", ".join(f"{v:g}" for v in p)


seed("gb_u", "u", parse_float_in(0.0, 0.999, digits=3), 0.31)
seed("gb_seed", "seed", parse_seed, 0)
seed("gb_tau", "tau", lambda t: nearest(TAUS, parse_tau(t, TAUS[0], TAUS[-1])), 1.0)
seed("gb_probs", "p", lambda t: format_probs(parse_probs(t)), format_probs(ARTICLE_PROBS))


def new_noise() -> None:
    st.session_state.gb_seed = (int(st.session_state.gb_seed) + 1) % (MAX_SEED + 1)


st.title("Sampling a category")
explain(
    "The article's section 6: two exact ways to draw a category from π, and why the second one "
    "is the one that can be relaxed into a differentiable sample."
)

# -- 1. inverse CDF --------------------------------------------------------------------------
st.header("Slicing the unit interval", anchor="slicing")
controls = st.columns([3, 2, 1], vertical_alignment="bottom")
controls[0].text_input("Class probabilities π (normalized for you)", key="gb_probs")
controls[1].slider("U ~ Uniform(0, 1)", 0.0, 0.999, step=0.001, key="gb_u")
controls[2].button("New noise", icon=":material/casino:", on_click=new_noise, width="stretch")
keep("gb_probs", "gb_u", "gb_seed")
try:
    probs = parse_probs(st.session_state.gb_probs)
except ValueError as error:
    message(
        "error",
        f"Invalid class probabilities: {error}. Enter 2 to 10 non-negative numbers, e.g. "
        "0.05, 0.25, 0.7.",
    )
    st.stop()
k = len(probs)
labels = list(ARTICLE_LABELS) if k == 3 else [f"c{i}" for i in range(k)]
u, noise_seed = float(st.session_state.gb_u), int(st.session_state.gb_seed)
left, right = gv.slices(probs)
pick = gv.inverse_cdf_pick(probs, u)
chart(slicing_figure(labels, probs, u, pick, left, right), "gb_slices", "gumbel-slicing")
st.latex(
    r"\theta_{\mathrm{cum}}=[" + ",\\ ".join(f"{r:.3g}" for r in right) + r"],\qquad"
    rf"\arg\max(\theta_{{\mathrm{{cum}}}}\ge U={u:.3f})=\arg\max(["
    + ",\\ ".join(r"\mathrm{T}" if r >= u else r"\mathrm{F}" for r in right)
    + rf"])=\text{{{labels[pick]}}}"
)
explain(
    "Each category owns a slice of [0, 1) as wide as its probability; a uniform U lands in slice k "
    "with probability π_k. (The article's U = 0.31 with θ_cum = [0.05, 0.3, 1] gives "
    "[False, False, True], White; its text says Blue, which needs U ≤ 0.3.) Exact, but the "
    "argmax over a comparison has no useful gradient with respect to π."
)

# -- 2. the Gumbel distribution -----------------------------------------------------------------
st.header("The Gumbel distribution", anchor="density")
density, maxtrick = st.columns(2, gap="large")
with density:
    xs = np.linspace(-3, 8, 300)
    chart(
        gumbel_density_figure(gv.gumbel_samples(20_000, noise_seed), xs, gv.gumbel_pdf(xs)),
        "gb_density",
        "gumbel-density",
    )
    st.latex(r"g=-\log(-\log U),\quad p(g)=e^{-(g+e^{-g})}")
with maxtrick:
    noise = fixed_noise(k, noise_seed)
    log_pi = np.log(np.clip(probs, 1e-30, None))
    gm = gv.gumbel_max_pick(probs, noise)
    chart(gumbel_max_figure(labels, log_pi, noise, gm), "gb_max", "gumbel-max")
    st.latex(r"\arg\max_k\,(\log\pi_k+g_k)\sim\mathrm{Categorical}(\pi)")
explain(
    f"Add one Gumbel draw to each log-probability and take the argmax: an exact sample from π "
    f"(the playground checks the frequencies). This draw (seed {noise_seed}) picks "
    f"**{labels[gm]}**. The randomness is now separate from π, as ε was in z = μ + σε; only "
    "the argmax remains, and a softmax at temperature τ replaces it."
)

# -- 3. τ in the real VAE ------------------------------------------------------------------------
st.header("τ in the real VAE", anchor="vae")
st.latex(r"y=\mathrm{softmax}\big((\log q(z|x)+g)/\tau\big)\ \longrightarrow\ \text{decoder}")
model, entry = current_model()
N, K = model.config.latent_dim, model.config.categorical_dim
images, gallery_labels, _ = load_gallery()
pick_col, tau_col = st.columns([1, 3], vertical_alignment="bottom")
with pick_col:
    index = gallery_digit_picker("gb_digit")
with tau_col:
    st.select_slider("Temperature τ (log scale)", options=TAUS, key="gb_tau")
keep("gb_tau")
tau = float(st.session_state.gb_tau)
st.query_params.update(
    {
        "p": ",".join(f"{v:.4g}" for v in probs),
        "u": f"{u:g}",
        "seed": str(noise_seed),
        "tau": f"{tau:g}",
        "digit": str(index),
    }
)

code_noise = gv.code_noise(N, K, noise_seed)
now = gv.relaxed_decode(model, images[index], code_noise, [tau])
strip = gv.relaxed_decode(model, images[index], code_noise, gv.TAU_STRIP)
a, b, c = st.columns([1, 1, 2], gap="medium")
a.image(
    upscale(to_uint8(images[index].reshape(28, 28)), 8),
    caption=f"input: a {gallery_labels[index]}",
    output_format="PNG",
)
b.image(
    upscale(to_uint8(now["means"][0].reshape(28, 28)), 8),
    caption=f"decoded from y at τ = {tau:g} (entropy {gv.mean_entropy(now['relaxed'][0]):.2f} nats per variable)",
    output_format="PNG",
)
with c:
    chart(
        posterior_heatmap(now["relaxed"][0], now["hard_code"]).update_layout(
            title_text=f"the relaxed code y at τ = {tau:g}", height=420
        ),
        "gb_code",
        "gumbel-relaxed-code",
    )
frames = np.concatenate([strip["means"], strip["hard_means"][None]]).reshape(-1, 28, 28)
st.image(
    image_grid(frames, ncols=len(frames), scale=4),
    caption="τ = "
    + ", ".join(f"{t:g}" for t in gv.TAU_STRIP)
    + f", then the one-hot Gumbel-Max code {format_code(now['hard_code'])}",
    output_format="PNG",
)
explain(
    f"One Gumbel draw (N × K = {N} × {K} values, seed {noise_seed}) is held fixed while τ moves: at "
    "high τ every variable's y is near uniform and the decoder sees a blur of all categories; as τ "
    "falls, each row sharpens to the Gumbel-Max category and the picture to the digit decoded "
    "from a one-hot code. τ acts relative to the logits' scale: this encoder's logits span "
    "tens of nats, so the blur needs τ near 100. Training decodes these relaxed y (at τ between "
    "1 and 0.3 for the default model); the editor decodes one-hot codes."
)
