"""§7 Implementation: the architecture as a diagram, and the reference article's code beside
gvae's, each of its five bugs with what it measurably does."""

import numpy as np
import streamlit as st

from gvae.app import article
from gvae.app.bounds import binarize_digit
from gvae.app.estimators import PUBLISHED_NOTE, estimator_rows, recipe_text
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid
from gvae.app.params import parse_choice
from gvae.app.section_figures import architecture_figure, sigmoid_log_figure, tau_schedule_figure
from pages.common import current_model, explain, table, use_app_navigation
from pages.state import keep, seed
from pages.talk_kit import chart

use_app_navigation()

BUG_KEYS = list(article.BUGS)

model, entry = current_model()
cfg = model.config
images, labels, _ = load_gallery()


@st.cache_data(show_spinner=False, max_entries=8)
def gallery_bits() -> np.ndarray:
    """The gallery's digits binarized once (seed 0 per digit): the x the likelihood scores."""
    return np.concatenate([binarize_digit(im, seed=0) for im in load_gallery()[0]])


x = gallery_bits()

st.title("The implementation, and the article's five bugs")
st.header("The model", anchor="architecture")
chart(architecture_figure(article.architecture(cfg)), "impl_architecture", "architecture")
st.caption(
    f"{entry['name']}: {cfg.latent_dim} categorical variables × {cfg.categorical_dim} categories, "
    f"{article.parameter_count(cfg):,} parameters. Encoder and decoder are MLPs with ReLU between "
    "layers and nothing after the last: the encoder returns the logits of q(z|x), the decoder the "
    "logits of Bernoulli pixels."
)


@st.cache_data(show_spinner=False, max_entries=1)
def estimator_table() -> tuple[list[dict], str]:
    """The three cards, read once per server, not at every rerun of this page."""
    return estimator_rows(), recipe_text()


st.header("Three estimators, trained alike", anchor="estimators")
rows, recipe = estimator_table()
table(rows, hide_index=True)
st.caption(f"{recipe} {PUBLISHED_NOTE}")

st.header("The article's five bugs, measured", anchor="bugs")
explain(
    "gvae follows the article's model and fixes five bugs in its code. Each one: what it does, "
    "measured, then the article's lines beside gvae's (read from gvae's own source, so they "
    "cannot go stale; comments marked ◀ are ours)."
)
seed("impl_bug", "bug", parse_choice(BUG_KEYS), BUG_KEYS[0])
st.segmented_control(
    "Bug",
    BUG_KEYS,
    format_func=lambda b: f"{BUG_KEYS.index(b) + 1}. {article.BUGS[b][0]}",
    key="impl_bug",
    required=True,
    label_visibility="collapsed",
)
keep("impl_bug")
bug = st.session_state.impl_bug or BUG_KEYS[0]
st.query_params["bug"] = bug
what = article.BUGS[bug][1]
st.subheader(f"{BUG_KEYS.index(bug) + 1}. {what[0].upper()}{what[1:]}")

results = article.load_results()


def training_table(variants: list[str]) -> None:
    """The short trainings' rows for these variants, beside gvae's, and where they came from."""
    if results is None:
        st.info(
            "The short trainings behind this comparison have not been run here: "
            "`python -m experiments.article_bugs` writes experiments/article_bugs.json."
        )
        return
    rows = {v: results["runs"][v] for v in ["gvae", *variants] if v in results["runs"]}
    table(
        {
            "run": list(rows),
            "test −ELBO": [r["neg_elbo"] for r in rows.values()],
            f"test IW-NLL (k = {results['iw_samples']})": [r["iw_nll"] for r in rows.values()],
            "train loss (last batch)": [r["final_train_loss"] for r in rows.values()],
            "KL (last batch)": [r["final_train_kl"] for r in rows.values()],
            "logits exactly 0": [r["zero_logit_share"] for r in rows.values()],
        },
        hide_index=True,
    )
    for variant in variants:
        sentence = article.comparison(results, variant)
        if sentence:
            st.markdown(sentence)
    st.caption(
        f"`{results['command'].strip()}`: {results['steps']:,} steps of batch {results['batch_size']} "
        f"(the article's 3 epochs), Adam {results['lr']:g}, τ = {results['tau']:g}, seed {results['seed']}, "
        f"the same initial weights, batches and noise for every run; scored by gvae.metrics.evaluate "
        f"on the first {results['test_images']:,} images of the binarized test set (nats per image). "
        f"{results['machine']}, torch {results['torch_version']}."
    )


if bug == "relu_logits":
    effect = article.relu_effect(model, x)
    m = st.columns(3)
    m[0].metric(
        "This model's logits below 0",
        f"{100 * effect['negative_share']:.1f} %",
        help="a ReLU would set them to 0",
    )
    m[1].metric(
        "Variables with every logit ≤ 0",
        f"{100 * effect['dead_variable_share']:.1f} %",
        help="ReLU makes their q exactly uniform",
    )
    m[2].metric("KL without → with ReLU", f"{effect['kl']:.1f} → {effect['kl_relu']:.1f} nats")
    training_table(["relu_logits"])
    explain(
        "Softmax ignores a shift shared by a variable's logits, so in principle a ReLU after the "
        "last layer costs no expressiveness: the layer can add a constant. What it does is cut "
        "gradients: every logit below 0 becomes exactly 0 and passes no gradient back, and a "
        "variable whose logits are all ≤ 0 becomes exactly uniform. The metrics apply a ReLU to "
        f"this model's logits on the {len(x)} gallery digits (without retraining); the table "
        "trains with it, and its last column is the share of dead logits on the test images."
    )
elif bug == "tau_schedule":
    epochs = 40  # long enough for gvae's schedule to reach its floor
    art = article.article_taus(epochs)
    ours = article.schedule_taus(len(art))
    chart(
        tau_schedule_figure(art, ours, article.ARTICLE_BATCHES_PER_EPOCH),
        "impl_tau",
        "tau-schedule",
    )
    m = st.columns(3)
    m[0].metric("Article: lowest τ ever reached", f"{art.min():.3f}")
    m[1].metric(f"gvae: τ after {epochs} epochs", f"{ours[-1]:.3f}")
    m[2].metric(
        "gvae: τ reaches τ_min = 0.5 at step",
        f"{int(np.argmax(ours <= 0.5)):,}" if (ours <= 0.5).any() else f"> {len(ours):,}",
    )
    explain(
        "Both use the article's constants (τ0 = 1, r = 3·10⁻⁵, τ_min = 0.5, an update every 100 "
        "batches). The article multiplies the *current* τ by exp(−r·batch_idx), so the decay "
        "compounds within an epoch, and resets τ to 1 at the start of every epoch: it never "
        f"goes below {art.min():.3f} and the annealing it describes never happens. Jang et al.'s "
        "τ = max(τ_min, τ0·exp(−r·t)) of the global step t keeps falling across epochs. Computed "
        "from both loops as written (gvae.app.article.article_taus, gvae.schedule)."
    )
elif bug == "grey_pixels":
    floor = article.grey_entropy_floor(images)
    m = st.columns(2)
    m[0].metric(
        "Floor of the grey-pixel 'likelihood'",
        f"{floor.mean():.1f} nats per image",
        help="mean over the gallery",
    )
    m[1].metric(
        "Grey pixels in the gallery",
        f"{100 * ((images > 0) & (images < 1)).mean():.1f} %",
        help="neither 0 nor 1",
    )
    training_table(["grey_pixels"])
    explain(
        "A Bernoulli likelihood is defined for x ∈ {0, 1}. Fed grey levels, −log p becomes a "
        "cross-entropy whose minimum is the entropy Σ_d H(x_d) of the grey pixels, not 0: the "
        "loss the article prints is not −log p(x) of any data, so it is not comparable with "
        "published nats. gvae draws binary pixels from the grey levels afresh for every batch "
        "(dynamic binarization) and scores a fixed binarized test set."
    )
elif bug == "sigmoid_log":
    curves = article.sigmoid_log_curves(np.linspace(-5, 40, 451))
    chart(sigmoid_log_figure(curves), "impl_sigmoid", "sigmoid-then-log")
    sat = article.saturation(model, x)
    m = st.columns(3)
    m[0].metric(
        "This model's saturated pixels",
        f"{100 * sat['saturated_share']:.2f} %",
        help="float32 sigmoid returns exactly 0 or 1",
    )
    m[1].metric("Largest |pixel logit|", f"{sat['max_abs_logit']:.0f}")
    m[2].metric(
        "Pixels the naive log scores ∞",
        f"{sat['infinite_pixels']}",
        help=f"of {sat['pixels']:,}, on the gallery's argmax codes",
    )
    training_table(["sigmoid_log"])
    explain(
        "In float32, sigmoid(l) rounds to exactly 1 for l > 16.6: then log(1 − sigmoid(l)) is −∞ "
        "and its gradient NaN. torch.distributions.Bernoulli(probs=…) avoids the infinity by "
        "clamping p inside [ε, 1 − ε], so the loss stops at −log ε = 15.9 nats and its gradient "
        "at 0: a confidently wrong pixel stops being corrected. gvae never forms sigmoid(l): it "
        "computes max(l, 0) − l·x + log(1 + e^−|l|), PyTorch's binary_cross_entropy_with_logits "
        "formula, exact at any l, and its gradient sigmoid(l) − x."
    )
else:  # raw_logits
    decoded = article.raw_logit_decoding(model, x)
    show = list(range(0, len(x), 3))[:10]
    rows = [images[show]] + [decoded[k]["means"][show] for k in ("argmax", "probs", "raw_logits")]
    st.image(
        image_grid(np.concatenate(rows).reshape(-1, 28, 28), ncols=len(show), scale=3),
        caption="rows: the input; decoded from the one-hot argmax code (gvae); from q(z|x) itself; "
        "from the raw encoder logits (the article's sample_img(random=False))",
        output_format="PNG",
    )
    m = st.columns(3)
    for col, (name, label) in zip(
        m,
        (
            ("argmax", "one-hot argmax code"),
            ("probs", "q(z|x) probabilities"),
            ("raw_logits", "raw logits"),
        ),
    ):
        col.metric(
            f"−log p(x|·), {label}",
            f"{decoded[name]['nll'].mean():,.1f} nats",
            help=f"mean over the {len(x)} gallery digits, binarized",
        )
    low, high = decoded["logit_range"]
    explain(
        f"The decoder was trained on codes whose entries lie in [0, 1] and sum to 1 per variable. "
        f"This model's logits range from {low:.0f} to {high:.0f}: fed to the decoder they are far "
        "outside anything it has seen. gvae decodes only one-hot codes (decode_codes) or relaxed "
        "samples; the argmax of q(z|x) is the deterministic choice."
    )

code_left, code_right = st.columns(2, gap="medium")
code_left.markdown("**The article**")
code_left.code(article.ARTICLE_CODE[bug], language="python", wrap_lines=True)
code_right.markdown("**gvae**")
code_right.code(article.gvae_source(bug), language="python", wrap_lines=True)
