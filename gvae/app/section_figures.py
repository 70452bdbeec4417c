"""Plotly figures of the article's sections (KL, ELBO, reparameterization, Gumbel,
implementation): plain data in, go.Figure out, in the style of gvae.app.figures."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gvae.app.figures import COLORS, IN_BOX, _layout

P_COLOR, Q_COLOR = "#4c78a8", "#f58518"
ESTIMATOR_COLORS = {"reparam": "#54a24b", "score": "#e45756", "score_baseline": "#b279a2"}
ESTIMATOR_NAMES = {
    "reparam": "reparameterized 2(μ + σε)",
    "score": "score function f(z)·∂log N/∂μ",
    "score_baseline": "score function, baseline E[f]",
}


def _fmt(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.3f}"


# -- §3 KL ---------------------------------------------------------------------------------
def _arrow(fig: go.Figure, start: tuple, end: tuple, color: str | None = None) -> None:
    """An arrow from `start` to `end`, both in data coordinates."""
    fig.add_annotation(
        x=end[0],
        y=end[1],
        ax=start[0],
        ay=start[1],
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=3,
        arrowwidth=2,
        arrowcolor=color,
    )


def distributions_figure(labels, p, q) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=list(labels), y=list(p), name="P", marker_color=P_COLOR)
    fig.add_bar(x=list(labels), y=list(q), name="Q", marker_color=Q_COLOR)
    return _layout(fig, "Two categorical distributions", barmode="group", yaxis_range=[0, 1.05])


def kl_decomposition_figure(s: dict) -> go.Figure:
    """Cross-entropy = entropy + KL, for both directions, as stacked bars (nats)."""
    fig = go.Figure()
    entropies = [s["h_p"], s["h_q"]]
    kls = [s["kl_pq"], s["kl_qp"]]
    shown = [k if math.isfinite(k) else 0.0 for k in kls]
    # The numbers are the rows' labels, beside the bars: a label at a bar's end ran into the
    # next segment's text once the type grew for a projector.
    rows = [
        f"KL(P‖Q) = {_fmt(kls[0])}<br>H(P,Q) = {_fmt(s['h_pq'])}",
        f"KL(Q‖P) = {_fmt(kls[1])}<br>H(Q,P) = {_fmt(s['h_qp'])}",
    ]
    fig.add_bar(
        y=rows,
        x=entropies,
        orientation="h",
        name="entropy H(P) / H(Q)",
        marker_color="#9d9d9d",
        text=[f"H = {e:.3f}" for e in entropies],
        textposition="inside",
    )
    fig.add_bar(
        y=rows,
        x=shown,
        orientation="h",
        name="KL: the extra nats",
        marker_color=COLORS["kl"],
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(
        fig,
        "Cross-entropy = entropy + KL (nats)",
        height=280,
        barmode="stack",
        xaxis_title="nats",
    )


def kl_terms_figure(labels, terms_pq, terms_qp) -> go.Figure:
    """Each category's term p log(p/q); terms can be negative, their sum cannot."""
    fig = go.Figure()
    for terms, name, color in (
        (terms_pq, "P log(P/Q), sums to KL(P‖Q)", P_COLOR),
        (terms_qp, "Q log(Q/P), sums to KL(Q‖P)", Q_COLOR),
    ):
        finite = np.where(np.isfinite(terms), terms, np.nan)
        fig.add_bar(
            x=list(labels),
            y=finite.tolist(),
            name=name,
            marker_color=color,
            text=["∞" if np.isinf(t) else "" for t in terms],
            textposition="outside",
        )
    return _layout(fig, "Where the divergence comes from", barmode="group", yaxis_title="nats")


def variable_kl_figure(
    per_digit, mean, max_kl: float, order=None, digit_label: str = ""
) -> go.Figure:
    """Per-variable KL(q(z_i|x) ‖ uniform) for one digit, and its average over images."""
    n = len(per_digit)
    order = list(range(n)) if order is None else list(order)
    names = [f"z{i}" for i in order]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[float(per_digit[i]) for i in order],
        name=f"this digit{digit_label}",
        marker_color=COLORS["kl"],
    )
    if mean is not None:
        fig.add_scatter(
            x=names,
            y=[float(mean[i]) for i in order],
            mode="markers",
            name="average over the images",
            marker=dict(symbol="diamond", size=11, color="#1b1f24"),
        )
    fig.add_hline(
        y=max_kl,
        line_dash="dash",
        line_color="#9d9d9d",
        annotation_text=f"log K = {max_kl:.3f}: certain of one category",
        annotation_position="top right",
    )
    fig.update_xaxes(type="category")
    return _layout(
        fig,
        "KL(q(z_i|x) ‖ uniform) per latent variable",
        yaxis_title="nats",
        yaxis_range=[0, max_kl * 1.15],
    )


# -- §4 ELBO --------------------------------------------------------------------------------
def sample_nll_figure(nll, kl: float) -> go.Figure:
    """−log p(x|z) of each posterior sample, their mean, and the exact KL on top."""
    nll = np.asarray(nll)
    fig = go.Figure()
    fig.add_bar(
        x=[f"z⁽{i + 1}⁾" for i in range(len(nll))],
        y=nll.tolist(),
        name="−log p(x|z) of each sample",
        marker_color=COLORS["reconstruction"],
    )
    mean = float(nll.mean())
    # The two levels are named in the legend: a label on the line ran into the bars.
    ends = ["z⁽1⁾", f"z⁽{len(nll)}⁾"]
    fig.add_scatter(
        x=ends,
        y=[mean, mean],
        mode="lines",
        line=dict(color=COLORS["reconstruction"], dash="dash"),
        name=f"mean {mean:.1f}: the reconstruction term",
    )
    fig.add_scatter(
        x=ends,
        y=[mean + kl] * 2,
        mode="lines",
        line=dict(color=COLORS["loss"]),
        name=f"+ KL {kl:.1f} = −ELBO ≈ {mean + kl:.1f}",
    )
    return _layout(fig, "Reconstruction from samples z ~ q(z|x)", yaxis_title="nats")


def iw_figure(curve: dict) -> go.Figure:
    """The importance-weighted bound against k (mean ± one standard deviation over repeats)."""
    ks, mean, std = curve["ks"], np.array(curve["iw_mean"]), np.array(curve["iw_std"])
    fig = go.Figure()
    fig.add_scatter(
        x=ks + ks[::-1],
        y=(mean + std).tolist() + (mean - std)[::-1].tolist(),
        fill="toself",
        fillcolor="rgba(76,120,168,0.18)",
        line=dict(width=0),
        hoverinfo="skip",
        name="± one standard deviation",
    )
    fig.add_scatter(
        x=ks,
        y=mean.tolist(),
        mode="lines+markers",
        name=f"IW bound, mean of {curve['repeats']}",
        line=dict(color=COLORS["loss"], width=3),
    )
    elbo = float(np.mean(curve["elbo_mean"]))
    fig.add_hline(
        y=elbo,
        line_dash="dash",
        line_color=COLORS["reconstruction"],
        annotation_text=f"−ELBO ≈ {elbo:.2f} (k = 1 in expectation)",
    )
    fig.update_xaxes(type="log", dtick=1, title="k, importance samples")
    return _layout(
        fig, "The bound tightens as k grows (nats, lower is tighter)", yaxis_title="nats"
    )


# -- §5 reparameterization --------------------------------------------------------------------
def graph_figure() -> go.Figure:
    """Two computation graphs: sampling cuts μ, σ off from z; z = μ + σε does not."""
    fig = go.Figure()
    nodes = {  # name: (x, y, text, color)
        "mu1": (0, 1.6, "μ", P_COLOR),
        "sig1": (0, 0.6, "σ", P_COLOR),
        "s1": (1.5, 1.1, "sample<br>z ~ N(μ, σ²)", "#e45756"),
        "f1": (3, 1.1, "f(z)", "#1b1f24"),
        "mu2": (5, 1.8, "μ", P_COLOR),
        "sig2": (5, 1.1, "σ", P_COLOR),
        "eps2": (5, 0.4, "ε ~ N(0, 1)", "#9d9d9d"),
        "z2": (6.5, 1.1, "z = μ + σε", COLORS["kl"]),
        "f2": (8, 1.1, "f(z)", "#1b1f24"),
    }
    edges = [
        ("mu1", "s1", "#e45756"),
        ("sig1", "s1", "#e45756"),
        ("s1", "f1", "#1b1f24"),
        ("mu2", "z2", COLORS["kl"]),
        ("sig2", "z2", COLORS["kl"]),
        ("eps2", "z2", "#9d9d9d"),
        ("z2", "f2", "#1b1f24"),
    ]
    for a, b, color in edges:
        (x0, y0, *_), (x1, y1, *_) = nodes[a], nodes[b]
        _arrow(fig, (x0 + 0.25, y0), (x1 - 0.45, y1), color)
    for x, y, text, color in nodes.values():
        fig.add_annotation(
            x=x,
            y=y,
            text=f"<b>{text}</b>",
            showarrow=False,
            font=dict(color=text_on(color), size=15),
            bgcolor=color,
            borderpad=8,
        )
    fig.add_annotation(
        x=1.5,
        y=-0.2,
        text="no gradient reaches μ, σ",
        showarrow=False,
        font=dict(color="#e45756", size=14),
    )
    fig.add_annotation(
        x=6.9,
        y=-0.2,
        text="∂z/∂μ = 1, ∂z/∂σ = ε",
        showarrow=False,
        font=dict(color=COLORS["kl"], size=14),
    )
    fig.add_annotation(x=1.5, y=2.2, text="sampling", showarrow=False, font=dict(size=17))
    fig.add_annotation(x=6.5, y=2.2, text="reparameterized", showarrow=False, font=dict(size=17))
    fig.update_xaxes(visible=False, range=[-0.6, 8.6])
    fig.update_yaxes(visible=False, range=[-0.4, 2.4])
    return _layout(fig, "Why a sample blocks the gradient", height=300, showlegend=False)


def normal_samples_figure(samples: dict, mu: float, sigma: float) -> go.Figure:
    fig = go.Figure()
    colors = {"sampled": "#e45756", "reparameterized": COLORS["kl"]}
    names = {"sampled": "torch.normal(μ, σ)", "reparameterized": "μ + σ·ε"}
    for key, values in samples.items():
        fig.add_histogram(
            x=values,
            histnorm="probability density",
            name=names[key],
            marker_color=colors[key],
            opacity=0.55,
            nbinsx=60,
        )
    xs = np.linspace(mu - 4 * sigma, mu + 4 * sigma, 200)
    pdf = np.exp(-0.5 * ((xs - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    fig.add_scatter(x=xs, y=pdf, mode="lines", name="N(μ, σ²)", line=dict(color="#1b1f24"))
    return _layout(fig, "The same distribution, two ways", barmode="overlay", xaxis_title="z")


def gradient_histogram_figure(grads: dict, exact: float) -> go.Figure:
    fig = go.Figure()
    ranges = np.array([np.percentile(g, [1, 99]) for g in grads.values()])
    low, high = ranges[:, 0].min(), ranges[:, 1].max()
    for name, g in grads.items():
        fig.add_histogram(
            x=g,
            histnorm="probability density",
            name=ESTIMATOR_NAMES[name],
            marker_color=ESTIMATOR_COLORS[name],
            opacity=0.5,
            xbins=dict(start=float(low), end=float(high), size=float(high - low) / 80),
        )
    fig.add_vline(
        x=exact, line_color="#1b1f24", line_width=3, annotation_text=f"exact 2μ = {exact:.3g}"
    )
    return _layout(
        fig,
        "One-sample gradient estimates of d/dμ E[z²]",
        barmode="overlay",
        xaxis_title="estimate",
        xaxis_range=[float(low), float(high)],
    )


def running_mean_figure(curves: dict, exact: float) -> go.Figure:
    """Running mean of each estimator against the number of samples (log axis)."""
    fig = go.Figure()
    for name, (counts, means) in curves.items():
        fig.add_scatter(
            x=counts.tolist(),
            y=means.tolist(),
            mode="lines",
            name=ESTIMATOR_NAMES[name],
            line=dict(color=ESTIMATOR_COLORS[name], width=3),
        )
    fig.add_hline(y=exact, line_color="#1b1f24", line_dash="dash", annotation_text="exact")
    fig.update_xaxes(type="log", dtick=1, title="samples averaged")
    return _layout(
        fig, "Averages settle on the exact gradient — at different speeds", yaxis_title="estimate"
    )


def std_against_mu_figure(
    mus, analytic: dict, measured: dict | None = None, mu_now=None
) -> go.Figure:
    fig = go.Figure()
    for name, values in analytic.items():
        fig.add_scatter(
            x=list(mus),
            y=list(values),
            mode="lines",
            name=ESTIMATOR_NAMES[name] + " (analytic)",
            line=dict(color=ESTIMATOR_COLORS[name], width=3),
        )
    if measured:
        for name, value in measured.items():
            fig.add_scatter(
                x=[mu_now],
                y=[value],
                mode="markers",
                name=f"measured now ({name})",
                showlegend=False,
                marker=dict(color=ESTIMATOR_COLORS[name], size=14, symbol="x"),
            )
    fig.update_yaxes(type="log", dtick=1, title="standard deviation of one estimate")
    return _layout(fig, "Spread of one estimate against μ (σ fixed)", xaxis_title="μ")


# -- §6 Gumbel -------------------------------------------------------------------------------
def gumbel_density_figure(samples, xs, pdf) -> go.Figure:
    fig = go.Figure()
    fig.add_histogram(
        x=samples,
        histnorm="probability density",
        name=f"{len(samples):,} draws of −log(−log U)",
        marker_color=COLORS["soft"],
        opacity=0.6,
        xbins=dict(start=float(xs[0]), end=float(xs[-1]), size=float(xs[-1] - xs[0]) / 90),
    )
    fig.add_scatter(
        x=list(xs),
        y=list(pdf),
        mode="lines",
        name="exp(−(g + e^−g))",
        line=dict(color="#1b1f24", width=3),
    )
    return _layout(fig, "The standard Gumbel density", xaxis_title="g", barmode="overlay")


def slicing_figure(labels, probs, u: float, pick: int, left, right) -> go.Figure:
    """The unit interval cut into slices of width π_k; U falls into one of them."""
    palette = [
        "#e45756",
        "#4c78a8",
        "#9d9d9d",
        "#54a24b",
        "#f58518",
        "#b279a2",
        "#72b7b2",
        "#eeca3b",
        "#ff9da6",
        "#9d755d",
    ]
    fig = go.Figure()
    for k, (label, p) in enumerate(zip(labels, probs)):
        fig.add_bar(
            y=["U(0, 1)"],
            x=[float(right[k] - left[k])],
            base=[float(left[k])],
            orientation="h",
            name=f"{label}: π = {p:.3g}, cumulative {right[k]:.3g}",
            marker=dict(
                color=palette[k % len(palette)],
                line=dict(color="#1b1f24", width=4 if k == pick else 0),
            ),
            text=[label],
            textposition="inside",
            insidetextanchor="middle",
        )
    fig.add_vline(x=u, line_color="#1b1f24", line_width=4)
    fig.add_annotation(  # under the axis's ticks and title, at any type size up to a talk's
        x=u,
        y=0,
        yref="paper",
        yshift=-64,
        text=f"<b>U = {u:.2f} → {labels[pick]}</b>",
        showarrow=False,
        yanchor="top",
        font=dict(size=16),
    )
    fig.update_xaxes(
        range=[0, 1],
        tickvals=[0, *[float(r) for r in right]],
        tickformat=".2f",
        title="cumulative probability",
    )
    fig = _layout(
        fig,
        "Inverse-CDF sampling: slice [0, 1] by the cumulative sums",
        height=330,
        barmode="stack",
    )
    return fig.update_layout(margin=dict(b=100))  # room for U's label under the axis


def gumbel_max_figure(labels, log_pi, noise, pick: int) -> go.Figure:
    """log π, one Gumbel draw g and their sum per category; the argmax of the sum marked."""
    total = np.asarray(log_pi) + np.asarray(noise)
    fig = go.Figure()
    fig.add_bar(x=list(labels), y=list(log_pi), name="log π", marker_color=COLORS["pi"])
    fig.add_bar(x=list(labels), y=list(noise), name="g (Gumbel noise)", marker_color=COLORS["soft"])
    fig.add_bar(
        x=list(labels),
        y=total.tolist(),
        name="log π + g",
        marker_color=[COLORS["hard"] if k == pick else "#1b1f24" for k in range(len(labels))],
        text=["argmax" if k == pick else "" for k in range(len(labels))],
        textposition="outside",
    )
    return _layout(fig, "Gumbel-Max: argmax(log π + g)", barmode="group", yaxis_title="value")


# -- §7 implementation ------------------------------------------------------------------------
def relative_luminance(hex_color: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_on(fill: str) -> str:
    """White or near-black, whichever reads better on `fill` (white on the orange box was
    2.5:1, under WCAG's 4.5)."""
    return max(("#ffffff", "#1b1f24"), key=lambda text: contrast_ratio(text, fill))


def architecture_figure(stages: list[dict]) -> go.Figure:
    """The model as boxes, left to right, colored by role. Each label fits its box at the
    projector's 18 px (tests/test_browser_stage.py measures it)."""
    colors = {"data": "#9d9d9d", "encoder": P_COLOR, "sample": COLORS["hard"], "decoder": Q_COLOR}
    fig = go.Figure()
    n = len(stages)
    for i, stage in enumerate(stages):
        x0, x1 = i * 1.25, i * 1.25 + 1.0
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x1,
            y0=0.15,
            y1=0.85,
            fillcolor=colors[stage["kind"]],
            line=dict(width=0),
            layer="below",
        )
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=0.62,
            text=f"<b>{stage['size']}</b>",
            showarrow=False,
            name=IN_BOX,
            font=dict(color=text_on(colors[stage["kind"]]), size=17),
            bgcolor=colors[stage["kind"]],  # the box's own colour: the label keeps its text colour
        )
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=0.36,
            text=stage["label"].replace("\n", "<br>"),
            showarrow=False,
            name=IN_BOX,
            font=dict(color=text_on(colors[stage["kind"]]), size=11),
            bgcolor=colors[stage["kind"]],
        )
        if i < n - 1:
            _arrow(fig, (x1, 0.5), (x1 + 0.25, 0.5))
    encoder_end = max(i for i, s in enumerate(stages) if s["kind"] == "encoder")
    for text, first, last in (
        ("encoder q(z|x)", 1, encoder_end),
        ("decoder p(x|z)", encoder_end + 2, n - 2),
    ):
        fig.add_annotation(
            x=(first * 1.25 + last * 1.25 + 1.0) / 2,
            y=1.0,
            text=f"<b>{text}</b>",
            showarrow=False,
            font=dict(size=15),
        )
    fig.add_annotation(
        x=(encoder_end + 0.5) * 1.25,
        y=0.0,
        text="KL(q ‖ uniform) from the logits",
        showarrow=False,
        font=dict(size=13, color=COLORS["kl"]),
    )
    fig.update_xaxes(visible=False, range=[-0.2, n * 1.25])
    fig.update_yaxes(visible=False, range=[-0.1, 1.1])
    return _layout(fig, "The categorical VAE", height=260, showlegend=False)


def tau_schedule_figure(article, gvae, batches_per_epoch: int, stride: int = 10) -> go.Figure:
    """τ against the step for both loops; every `stride`-th step is drawn (both change at
    most every 100 steps, so nothing is lost), epochs marked."""
    steps = np.arange(0, len(article), stride)
    fig = go.Figure()
    for values, name, color in (
        (article, "the article's loop", COLORS["hard"]),
        (gvae, "max(τ_min, τ0·exp(−r·t)), t global", COLORS["kl"]),
    ):
        fig.add_scatter(
            x=steps,
            y=np.asarray(values)[steps],
            mode="lines",
            name=name,
            line=dict(color=color, width=3),
        )
    epochs = len(article) // batches_per_epoch
    every = max(1, epochs // 10)  # at most ten epoch lines
    for epoch in range(every, epochs, every):
        fig.add_vline(x=epoch * batches_per_epoch, line_color="#d0d0d0", line_width=1)
    return _layout(
        fig,
        "τ over training: same constants, two loops",
        xaxis_title=f"step ({batches_per_epoch} per epoch; a grey line every {every} epochs)",
        yaxis_title="τ",
    )


def sigmoid_log_figure(curves: dict) -> go.Figure:
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("−log p(x = 0 | l), nats", "its gradient d/dl")
    )
    styles = {
        "exact": ("BCE with logits (gvae)", COLORS["kl"], "solid"),
        "naive": ("−log(1 − sigmoid(l))", COLORS["hard"], "dot"),
        "article": ("Bernoulli(probs=sigmoid(l))", COLORS["reconstruction"], "dash"),
    }
    x = curves["logit"].tolist()
    for name, (label, color, dash) in styles.items():
        for col, key in ((1, name), (2, f"{name}_grad")):
            y = np.where(np.isfinite(curves[key]), curves[key], np.nan).tolist()
            fig.add_scatter(
                x=x,
                y=y,
                mode="lines",
                name=label,
                showlegend=col == 1,
                line=dict(color=color, dash=dash, width=3),
                row=1,
                col=col,
            )
    fig.update_xaxes(title="pixel logit l (the pixel is 0)")
    ceiling = float(np.nanmax(curves["article"]))
    title = f"Sigmoid, then log: the loss stops at {ceiling:.1f} nats and its gradient at 0"
    return _layout(fig, title, height=360)
