"""§5 The reparameterization trick: why a sample blocks the gradient, z = μ + σε, and the
score-function (REINFORCE) estimator's variance against the reparameterized one, measured."""

import numpy as np
import pandas as pd
import streamlit as st

from gvae.app import reparam
from gvae.app.params import MAX_SEED, parse_choice, parse_float_in, parse_seed
from gvae.app.section_figures import (
    gradient_histogram_figure,
    graph_figure,
    normal_samples_figure,
    running_mean_figure,
    std_against_mu_figure,
)
from pages.common import explain, table, use_app_navigation
from pages.state import keep, seed
from pages.talk_kit import chart

use_app_navigation()

SAMPLE_COUNTS = [100, 1_000, 10_000, 100_000]

seed("rp_mu", "mu", parse_float_in(-3.0, 3.0, digits=1), 1.0)  # the slider's steps
seed("rp_sigma", "sigma", parse_float_in(0.1, 3.0, digits=1), 0.5)
seed("rp_n", "n", parse_choice(SAMPLE_COUNTS), 1_000)
seed("rp_seed", "seed", parse_seed, 0)


def new_samples() -> None:
    st.session_state.rp_seed = (int(st.session_state.rp_seed) + 1) % (MAX_SEED + 1)


st.title("The reparameterization trick")
st.latex(
    r"z\sim\mathcal{N}(\mu,\sigma^2)\quad\Longrightarrow\quad z=\mu+\sigma\,\varepsilon,\ \ \varepsilon\sim\mathcal{N}(0,1)"
)
explain(
    "Training needs ∂/∂μ of an expectation over z. A sample is not a function of μ that autograd "
    "can follow; written as μ + σε it is, with all the randomness in ε (the article's section 5). "
    "The Gumbel-Max trick is the same move for categorical variables."
)

controls = st.columns(
    [3, 3, 3, 2, 3], vertical_alignment="bottom"
)  # the button label whole in talk mode
controls[0].slider("μ", -3.0, 3.0, step=0.1, key="rp_mu")
controls[1].slider("σ", 0.1, 3.0, step=0.1, key="rp_sigma")
controls[2].select_slider("Samples n", options=SAMPLE_COUNTS, key="rp_n")
controls[3].number_input("Seed", min_value=0, max_value=MAX_SEED, step=1, key="rp_seed")
controls[4].button("New samples", icon=":material/casino:", on_click=new_samples, width="stretch")
keep("rp_mu", "rp_sigma", "rp_n", "rp_seed")
mu, sigma = float(st.session_state.rp_mu), float(st.session_state.rp_sigma)
n, sample_seed = int(st.session_state.rp_n), int(st.session_state.rp_seed)
st.query_params.update(
    {"mu": f"{mu:g}", "sigma": f"{sigma:g}", "n": str(n), "seed": str(sample_seed)}
)

# -- 1. why sampling blocks the gradient -------------------------------------------------------
st.header("A sample has no gradient", anchor="blocked")
graph, demo = st.columns([3, 2], gap="large")
with graph:
    chart(graph_figure(), "rp_graph", "reparameterization-graph")


def autograd_panel() -> None:
    """torch's autograd on this μ and σ, run in a subprocess (the server never imports
    torch): the page draws first and the panel fills in a few seconds later."""
    d = reparam.autograd_demo_later(mu, sigma, seed=sample_seed)
    if d is None:
        st.caption("Running torch's autograd on these values…")
        return
    if isinstance(d, str):
        st.info(f"This panel runs torch's autograd live; install torch to see it. ({d})")
        return
    st.markdown("**What autograd sees** (torch.distributions, live)")
    st.code(
        f"mu = torch.tensor({mu:g}, requires_grad=True); sigma = torch.tensor({sigma:g}, requires_grad=True)\n"
        f"z = Normal(mu, sigma).sample()    # {d['sample_value']:.4f}, grad_fn={d['sample_grad_fn']}\n"
        f"(z ** 2).backward()                # RuntimeError: {d['sample_error']}\n"
        f"z = Normal(mu, sigma).rsample()   # {d['rsample_value']:.4f}, grad_fn=<{d['rsample_grad_fn']}>\n"
        f"z.backward()                       # mu.grad = {d['dz_dmu']:g}, sigma.grad = ε = {d['dz_dsigma']:.4f}",
        language="python",
        wrap_lines=True,
    )
    explain(
        "`sample()` returns a number cut off from μ and σ; `rsample()` computes μ + σε, so "
        "∂z/∂μ = 1 and ∂z/∂σ = ε flow back to the encoder that produced μ and σ."
    )


@st.fragment(run_every=0.25)
def autograd_panel_when_ready() -> None:
    """Polls until the subprocess answers, then reruns the page once, which draws it."""
    if reparam.autograd_demo_later(mu, sigma, seed=sample_seed) is not None:
        st.rerun()
    autograd_panel()


with demo:
    if reparam.autograd_demo_later(mu, sigma, seed=sample_seed) is None:
        autograd_panel_when_ready()
    else:
        autograd_panel()

# -- 2. the same distribution ---------------------------------------------------------------------
st.header("z = μ + σε is the same distribution", anchor="same")
chart(
    normal_samples_figure(reparam.normal_samples(mu, sigma, n, sample_seed), mu, sigma),
    "rp_same",
    "reparameterization-same-distribution",
)

# -- 3. two gradient estimators ------------------------------------------------------------------
st.header("Two unbiased gradients, very different noise", anchor="variance")
st.latex(
    r"\frac{\partial}{\partial\mu}\mathbb{E}[z^2]=2\mu:\qquad"
    r"\underbrace{2(\mu+\sigma\varepsilon)}_{\text{reparameterized}}\qquad\text{vs}\qquad"
    r"\underbrace{z^2\,\frac{\partial\log\mathcal{N}(z;\mu,\sigma^2)}{\partial\mu}=z^2\,\frac{z-\mu}{\sigma^2}}_{\text{score function (REINFORCE)}}"
)
grads = reparam.per_sample_gradients(mu, sigma, n, sample_seed)
summary = reparam.estimator_summary(grads, mu, sigma)
exact = reparam.exact_gradient(mu, sigma)
estimates = pd.DataFrame(
    {
        "μ + σε": summary["reparam"],
        "REINFORCE": summary["score"],
        "REINFORCE − b": summary["score_baseline"],
    }
).loc[["mean", "std", "analytic_std", "se", "z"]]
estimates.index = [
    "mean",
    "std of one",
    "std, analytic",
    "s.e. of the mean",
    "(mean − 2μ) / s.e.",
]
top = st.columns([3, 2], gap="large")
with top[0]:
    chart(gradient_histogram_figure(grads, exact), "rp_hist", "reparameterization-estimates")
with top[1]:
    ratio = summary["score"]["std"] / summary["reparam"]["std"]
    m = st.columns(2)
    m[0].metric("Exact gradient 2μ", f"{exact:.3g}")
    m[1].metric(
        "Noise ratio",
        f"{ratio:.1f}×",
        help=f"score-function std ÷ reparameterized std, measured on {n:,} samples",
    )
    table(estimates.round(3))
    st.caption(
        f"μ + σε: the reparameterized gradient; REINFORCE: the score function; b: the baseline "
        f"E[f] = μ² + σ². {n:,} draws of ε (seed {sample_seed}), shared by the estimators; each "
        "gradient in closed form, checked against autograd by the tests. |(mean − 2μ) / s.e.| stays below about 3 "
        "for an unbiased estimator."
    )
bottom = st.columns(2, gap="large")
with bottom[0]:
    curves = {k: reparam.running_means(v) for k, v in grads.items()}
    chart(running_mean_figure(curves, exact), "rp_running", "reparameterization-running-mean")
with bottom[1]:
    mus = np.linspace(-3, 3, 121)
    analytic = {k: [reparam.analytic_std(float(m_), sigma)[k] for m_ in mus] for k in grads}
    measured = {k: v["std"] for k, v in summary.items()}
    chart(std_against_mu_figure(mus, analytic, measured, mu), "rp_std", "reparameterization-std")
explain(
    "Both estimators average to 2μ, but the score function multiplies f(z) by a noisy weight "
    "(z − μ)/σ², so one estimate spreads far wider (variance μ⁴/σ² + 14μ² + 15σ² against 4σ²): "
    "it needs many more samples for the same precision. Subtracting the baseline E[f] keeps it "
    "unbiased and narrows it, but not to the reparameterized spread. A categorical sample has no "
    "μ + σε form: the Gumbel-Softmax relaxation provides one, at the price of a bias that "
    "depends on τ (the playground's estimator chart)."
)
