"""Home: what a categorical VAE is, live samples from the prior, and the model card.

Its first paint needs no torch: the card and config come from the model list and the
first grid is stored beside the weights (gvae.app.prior). Other seeds are decoded live.
"""

import math

import numpy as np
import streamlit as st

from gvae.app.images import png_bytes, upscale
from gvae.app.prior import COUNT, decode_grid, stored_grid
from gvae.app.text import code_span, cut, escape_markdown
from gvae.config import ModelConfig
from pages.common import current_entry, explain, image_scale, load, use_app_navigation

use_app_navigation()

JANG_2017_NATS = 101.5  # Jang et al. (ICLR 2017), categorical VAE, statically binarized MNIST

entry = current_entry()
card = entry["card"]
name = escape_markdown(cut(entry["name"]))  # file names and card fields are shown as text


def text(value, limit: int = 80) -> str:
    """A card field (read from a file) as plain text in Markdown."""
    return escape_markdown(cut(value, limit))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value, spec: str) -> str:
    """A card's number formatted by `spec`, or the field as text if it is no number."""
    return format(value, spec) if is_number(value) else text(value)


cfg = ModelConfig.from_dict(entry["config"])
N, K = cfg.latent_dim, cfg.categorical_dim

st.title("gvae — a categorical VAE you can click through")
explain(
    f"A **variational autoencoder** compresses an image x into a latent code z and draws it back. "
    f"Here z is **discrete**: {N} categorical variables with {K} categories each, a code like "
    f"`3 0 9 …` — {K}^{N} possible codes. The encoder gives q(z|x), a distribution over each "
    "variable's categories; the decoder maps a one-hot code to Bernoulli pixel probabilities. "
    "Sampling a category is not differentiable, so training uses the **Gumbel-Softmax** trick: "
    "a soft, temperature-controlled stand-in for the sample (Jang et al. 2017; Maddison et al. 2017).",
    line=f"Images → a code of {N} categorical variables × {K} categories → images.",
)


@st.cache_data(show_spinner=False, max_entries=32)
def prior_png(path: str, sha256: str, seed: int, scale: int) -> bytes:  # sha256: the version
    """The grid of `seed` as PNG, once per file version, seed and scale: the file's stored
    preview for seed 0, else a live decode."""
    grid = stored_grid(path, seed)
    if grid is None:
        grid = decode_grid(load(path), seed)
    return png_bytes(upscale(grid, scale))


def new_samples() -> None:
    st.session_state.home_seed = int(np.random.default_rng().integers(1 << 31))


left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Samples from the prior")
    st.button("New samples", icon=":material/casino:", key="home_new_samples", on_click=new_samples)
    seed = st.session_state.setdefault("home_seed", 0)
    st.image(
        prior_png(entry["path"], entry["sha256"], seed, image_scale(3)),
        caption=f"{COUNT} codes drawn uniformly from the prior, decoded by {name} "
        "(Bernoulli means)",
        output_format="PNG",  # the bytes are PNG already: no re-encoding
    )

with right:
    st.subheader(f"Model card: {name}")
    st.markdown(
        f"- **Architecture**: encoder {cfg.image_size}-{'-'.join(map(str, cfg.hidden))}-{cfg.code_size}, "
        f"decoder {cfg.code_size}-{'-'.join(map(str, reversed(cfg.hidden)))}-{cfg.image_size}, "
        f"{N} × {K} categorical latents, Bernoulli pixels"
    )
    metrics = card.get("metrics")
    if isinstance(metrics, dict) and metrics:
        m = st.columns(2)
        iw_nll = metrics.get("iw_nll")
        m[0].metric("Test −ELBO (nats)", number(metrics.get("neg_elbo"), ".2f"))
        m[1].metric(
            f"Test IW-NLL, k = {number(metrics.get('iw_samples'), '')}",
            number(iw_nll, ".2f"),
            delta=f"{iw_nll - JANG_2017_NATS:+.1f} vs Jang et al. 2017"
            if is_number(iw_nll)
            else None,
            delta_color="inverse",
        )
        note = metrics.get("note", metrics.get("protocol", ""))
        st.caption(
            f"On {number(metrics.get('n_images'), ',')} test images. {text(note, 200)}. "
            f"Jang et al. (2017) report {JANG_2017_NATS} nats on a statically binarized MNIST, "
            "so the comparison is indicative, not exact."
        )
    else:
        st.info(
            "This model's card holds no test metrics yet (run python -m gvae.evaluate --write-card)."
        )
    recipe = card.get("train_config", {})
    if isinstance(recipe, dict) and recipe:
        st.markdown(
            f"- **Training**: {text(card.get('steps', '?'))} steps, estimator "
            f"{code_span(cut(recipe.get('estimator')))}, batch {text(recipe.get('batch_size'))}, "
            f"lr {text(recipe.get('lr'))} ({text(recipe.get('lr_schedule'))}), "
            f"τ {text(recipe.get('tau0'))} → {text(recipe.get('tau_min'))}, seed {text(recipe.get('seed'))}, "
            f"{text(card.get('train_seconds', '?'))} s on {text(card.get('device', '?'))}, "
            f"torch {text(card.get('torch_version', '?'))}"
        )
    if card.get("command"):
        # A code span, not st.code: the code block's highlighter is a lazily loaded
        # script that delays Home's first paint by about a second on 2 cores.
        st.markdown(f"- **Command**: {code_span(cut(card['command'], 600))}")

st.subheader("Explore")
links = st.columns(3)
links[0].page_link(
    "pages/train.py", label="**Train** — watch it learn, live", icon=":material/model_training:"
)
links[1].page_link(
    "pages/latent_editor.py",
    label="**Latent editor** — click through codes",
    icon=":material/tune:",
)
links[2].page_link(
    "pages/playground.py", label="**Gumbel playground** — τ and the trick", icon=":material/casino:"
)

if not st.session_state.get("talk_mode"):
    st.subheader("The theory, briefly")
    with st.expander("The ELBO"):
        st.latex(r"\log p(x) \ge \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))")
        st.markdown(
            "Training maximizes this evidence lower bound; the loss curves show its negative "
            "as reconstruction + KL, in nats per image."
        )
    with st.expander("KL to the uniform prior"):
        st.latex(
            r"\mathrm{KL}(q\,\|\,\mathrm{Uniform}(K)) = \sum_{n=1}^{N}\sum_{k=1}^{K} q_{nk}\,(\log q_{nk} + \log K)"
        )
        st.markdown(
            f"Exact, no sampling. It is 0 when q is uniform and at most N log K = {N * math.log(K):.1f} nats."
        )
    with st.expander("The reparameterization trick"):
        st.latex(r"z = \mu + \sigma\,\varepsilon,\quad \varepsilon \sim \mathcal{N}(0, 1)")
        st.markdown(
            "A Gaussian sample written as a deterministic function of the parameters and "
            "parameter-free noise lets gradients flow through it. Categorical samples need a "
            "different route: the Gumbel-Max trick."
        )
    with st.expander("The Gumbel-Max trick and its relaxation"):
        st.latex(
            r"z = \mathrm{onehot}\big(\arg\max_k (\log \pi_k + g_k)\big),\quad g_k = -\log(-\log U_k)"
        )
        st.latex(r"y_k = \mathrm{softmax}\big((\log \pi + g)/\tau\big)_k")
        st.markdown(
            "The argmax is exact but has no gradient; the softmax at temperature τ is its "
            "differentiable relaxation, annealed toward 0 during training. Straight-through "
            "uses the one-hot z forward and y's gradient backward."
        )
