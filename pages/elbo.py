"""§4 The VAE loss: the ELBO of one digit from samples, and the importance-weighted bound
tightening toward log p(x) as the number of samples grows."""

import numpy as np
import streamlit as st

from gvae.app.bounds import (
    GALLERY_IW_REPEATS,
    binarize_digit,
    gallery_iw_curve,
    sample_terms,
)
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid
from gvae.app.params import MAX_SEED, parse_choice, parse_seed
from gvae.app.section_figures import iw_figure, sample_nll_figure
from pages.common import current_model, explain, table, use_app_navigation
from pages.state import keep, seed
from pages.talk_kit import chart, gallery_digit_picker

use_app_navigation()

SAMPLE_COUNTS = [1, 4, 8, 16, 32, 64]

model, entry = current_model()
images, labels, indices = load_gallery()

st.title("The VAE loss: the ELBO")
st.latex(
    r"\log p(x)\;\ge\;\underbrace{\mathbb{E}_{q(z|x)}\big[\log p(x|z)\big]}_{\text{reconstruction}}"
    r"\;-\;\underbrace{\mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)}_{\text{exact, no sampling}}"
    r"\;=\;\mathrm{ELBO}"
)
explain(
    "log p(x) needs a sum over all 10²⁰ codes; the evidence lower bound needs only samples from "
    "the encoder's q(z|x). The gap is KL(q(z|x) ‖ p(z|x)), how far the encoder is from the true "
    "posterior (the article's section 4). Here, for one test digit: draw codes z ~ q(z|x), "
    "decode them, and score the digit's pixels under each decoding."
)

st.header("One digit, a few samples", anchor="samples")
seed("elbo_n", "n", parse_choice(SAMPLE_COUNTS), 16)
seed("elbo_seed", "seed", parse_seed, 0)


def new_samples() -> None:
    st.session_state.elbo_seed = (int(st.session_state.elbo_seed) + 1) % (MAX_SEED + 1)


controls, view = st.columns([1, 3], gap="large")
with controls:
    index = gallery_digit_picker("elbo_digit")
    st.select_slider("Samples z ~ q(z|x)", options=SAMPLE_COUNTS, key="elbo_n")
    st.button("New samples", icon=":material/casino:", on_click=new_samples, width="stretch")
    st.number_input("Sample seed", min_value=0, max_value=MAX_SEED, step=1, key="elbo_seed")
keep("elbo_n", "elbo_seed")
n, sample_seed = int(st.session_state.elbo_n), int(st.session_state.elbo_seed)
st.query_params.update({"digit": str(index), "n": str(n), "seed": str(sample_seed)})

x = binarize_digit(images[index], seed=0)  # the bits the likelihood scores
terms = sample_terms(model, x, n, sample_seed)
with controls:
    pair = np.stack([images[index].reshape(28, 28), x.reshape(28, 28)])
    st.image(
        image_grid(pair, ncols=2, scale=4),
        caption=f"test image #{indices[index]}: grey, and binarized once (seed 0) — the x scored",
        output_format="PNG",
    )
with view:
    m = st.columns(4)
    se = terms["reconstruction_se"]
    m[0].metric(
        "Reconstruction",
        f"{terms['reconstruction']:.1f}",
        help=f"−log p(x|z) in nats, mean over the {n} samples"
        + (f" (± {se:.1f} s.e.)" if n > 1 else ""),
    )
    m[1].metric(
        "KL(q(z|x) ‖ p(z))",
        f"{terms['kl']:.2f}",
        help=f"nats, exact; at most N log K = {terms['max_kl']:.1f}",
    )
    m[2].metric("−ELBO estimate", f"{terms['neg_elbo']:.1f}", help="nats: reconstruction + KL")
    m[3].metric("Samples", f"{n}", help=f"seed {sample_seed}")
    chart(sample_nll_figure(terms["nll"], terms["kl"]), "elbo_samples", "elbo-samples")
    decoded = terms["means"].reshape(-1, 28, 28)
    st.image(
        image_grid(decoded, ncols=min(16, n), scale=2 if n > 16 else 3),
        caption="the decoder's Bernoulli means for each sampled code z⁽ⁱ⁾, in the bars' order",
        output_format="PNG",
    )
explain(
    "Each sample is one code drawn from q(z|x) by the Gumbel-Max trick; its bar is how many nats "
    "the decoder needs to describe this digit's pixels from that code. Their mean estimates "
    "the reconstruction term; **New samples** draws again, and the estimate moves by about its "
    "standard error. The KL term is computed exactly from q's probabilities."
)

# -- the importance-weighted bound --------------------------------------------------------------
st.header("A tighter bound from more samples", anchor="iw")
st.latex(
    r"-\log p(x)\;\le\;-\log\frac{1}{k}\sum_{i=1}^{k}\frac{p(x|z^{(i)})\,p(z^{(i)})}{q(z^{(i)}|x)}"
    r",\qquad z^{(i)}\sim q(z|x)"
)


with st.spinner("Scoring 1 to 1,000 samples…"):  # shown only if it takes over 0.5 s
    curve = gallery_iw_curve(model, index)
left, right = st.columns([3, 2], gap="large")
with left:
    chart(iw_figure(curve), "elbo_iw", "elbo-iw-bound")
with right:
    last = curve["iw_mean"][-1]
    st.metric(f"−log p(x) ≈ IW bound, k = {curve['ks'][-1]:,}", f"{last:.2f} nats")
    gap = float(np.mean(curve["elbo_mean"])) - last
    st.metric(
        "Gap −ELBO − IW bound",
        f"{gap:.2f} nats",
        help="The ELBO's gap is KL(q(z|x) ‖ p(z|x)); since the IW bound is still above "
        "−log p(x), this is a lower bound on that gap.",
    )
    table(
        {
            "k": curve["ks"],
            "IW bound (mean)": np.round(curve["iw_mean"], 2),
            "std over repeats": np.round(curve["iw_std"], 2),
        },
        hide_index=True,
    )
explain(
    f"Burda et al. (2016): averaging k importance weights inside the log gives a bound that is "
    f"never looser than the ELBO and tightens toward −log p(x) as k grows. Each point is the mean "
    f"of {GALLERY_IW_REPEATS} independent estimates, computed by gvae.metrics.image_bounds, the function "
    "that scores the shipped models (their cards report k = 1,000 over the whole test set). "
    "With k = 1 the bound is the ELBO itself, estimated from one sample."
)
