"""Plotly figure builders: plain data in, go.Figure out. Pages only lay them out."""

from __future__ import annotations

import contextlib
import copy
import re

import numpy as np
import plotly.graph_objects as go

# plotly looks pandas up in sys.modules without importing it, so while another thread
# imports pandas (the app's warm-up, another session's table) a figure built here would
# meet it half-initialized ("partially initialized module 'pandas' has no attribute
# 'Series'"). Importing it before the first figure waits until it is whole; the library
# alone (no Streamlit, no pandas) skips it.
with contextlib.suppress(ImportError):
    import pandas  # noqa: F401

from gvae.app.palette import COLORS
from gvae.config import ESTIMATORS

# Chart text at a projector's sizes (px): ticks, axis titles, figure and subplot titles.
TALK_FONTS = {"tick": 18, "axis": 20, "title": 22, "legend": 18}
TEXT_COLORS = {"light": "#1b1f24", "dark": "#e6edf3"}  # .streamlit/config.toml textColor
DARK_HEATMAP = [[0.0, "#0f1419"], [1.0, "#79a7d8"]]  # dark backgroundColor to primaryColor
# The name of a label drawn inside a shape of its figure: in talk mode it grows to the
# ticks' size only, which its box is sized for, not to the titles'.
IN_BOX = "in-box"


def _put(tree: dict, path: str, value) -> None:
    """tree["a"]["b"]["c"] = value for path "a.b.c", making the dicts on the way."""
    *parents, leaf = path.split(".")
    for name in parents:
        tree = tree.setdefault(name, {})
    tree[leaf] = value


def themed(figure: go.Figure | dict, theme: str, talk: bool) -> go.Figure:
    """A copy of a figure in the app's theme ("light" or "dark") and, for a talk, at
    projector sizes: the one place that styles the app's charts.

    Text takes the theme's text colour (Streamlit's grey tick labels are 3.7:1 on white),
    set on titles, legends and colour bars too (left unset, they take Streamlit's template:
    the browser's theme at the first draw, the other one while a page switches in place);
    backgrounds are transparent, so a chart never lights up a dark page. Edited as plain
    dicts: plotly's validated setters cost 20-30 ms a chart, most of a slide's server time."""
    spec = figure.to_dict() if isinstance(figure, go.Figure) else copy.deepcopy(figure)
    layout, color = spec.setdefault("layout", {}), TEXT_COLORS[theme]
    for path in ("font.color", "title.font.color", "legend.font.color"):
        _put(layout, path, color)
    layout["paper_bgcolor"] = layout["plot_bgcolor"] = "rgba(0,0,0,0)"
    axes = {"xaxis", "yaxis"} | {k for k in layout if re.fullmatch(r"[xy]axis\d+", k)}
    for axis in axes:
        _put(layout, f"{axis}.tickfont.color", color)
        _put(layout, f"{axis}.title.font.color", color)
    for trace in spec.get("data", []):
        if trace.get("type") == "heatmap":
            _put(trace, "colorbar.tickfont.color", color)
            _put(trace, "colorbar.title.font.color", color)
            if theme == "dark":  # a heatmap's zero is the page's background, not a white block
                trace["colorscale"] = DARK_HEATMAP
    for note in layout.get("annotations", []):
        if note.get("bgcolor") is None:  # a label on a box keeps the colour chosen for it
            _put(note, "font.color", color)
        if talk:
            _put(note, "font.size", TALK_FONTS["tick" if note.get("name") == IN_BOX else "title"])
    if talk:
        f = TALK_FONTS
        _put(layout, "font.size", f["tick"])
        _put(layout, "title.font.size", f["title"])
        _put(layout, "legend.font.size", f["legend"])
        layout["legend"]["itemwidth"] = 30
        for axis in axes:
            _put(layout, f"{axis}.tickfont.size", f["tick"])
            _put(layout, f"{axis}.title.font.size", f["axis"])
    # Already valid (built by plotly, edited with known keys): no second validation.
    return go.Figure(spec, _validate=False)


def _layout(fig: go.Figure, title: str, height: int = 320, **kwargs) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, y=0.98, yanchor="top"),  # title on top, legend below it
        height=height,
        margin=dict(l=10, r=10, t=80, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        **kwargs,
    )
    return fig


def smooth(values, weight: float) -> np.ndarray:
    """Exponential moving average (TensorBoard's smoothing), debiased at the start."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(values) == 0:
        return values
    out, average = np.empty_like(values), 0.0
    for i, v in enumerate(values):
        average = weight * average + (1 - weight) * v
        out[i] = average / (1 - weight ** (i + 1))
    return out


def thin(history: list[dict], max_points: int = 2000) -> list[dict]:
    """At most max_points rows, evenly spaced, the last row always kept."""
    if len(history) <= max_points:
        return history
    stride = -(-len(history) // max_points)
    return history[::stride] + ([history[-1]] if (len(history) - 1) % stride else [])


LOSS_TERMS = (("loss", "total (−ELBO)"), ("reconstruction", "reconstruction"), ("kl", "KL"))


def loss_figure(history: list[dict], smoothing: float = 0.0, fig: go.Figure | None = None):
    """Total loss, reconstruction and KL (nats per image) against step.

    Pass a figure this function returned as `fig` to refill it in place: about ten times
    cheaper than building a new one, which matters for a chart redrawn every second.
    """
    if fig is None:
        fig = go.Figure()
        for key, name in LOSS_TERMS:
            # KL (tens of nats) on its own right-hand axis: on the loss axis, which starts
            # near 520 nats, it would be a flat line at 0.
            axis = "y2" if key == "kl" else "y"
            fig.add_scatter(mode="lines", name=name, line=dict(color=COLORS[key]), yaxis=axis)
        _layout(fig, "Loss (nats per image)", xaxis_title="step", yaxis_title="nats")
        fig.update_layout(
            yaxis2=dict(
                title=dict(text="KL (nats)"),
                overlaying="y",
                side="right",
                showgrid=False,
                rangemode="tozero",
            )
        )
    step = np.array([h["step"] for h in history])
    with fig.batch_update():
        for trace, (key, _) in zip(fig.data, LOSS_TERMS):
            trace.x, trace.y = step, smooth([h[key] for h in history], smoothing)
    return fig


def tau_figure(history: list[dict], fig: go.Figure | None = None) -> go.Figure:
    """τ against step; `fig` as in loss_figure."""
    if fig is None:
        fig = go.Figure()
        fig.add_scatter(mode="lines", name="τ", line=dict(color=COLORS["tau"], shape="hv"))
        _layout(fig, "Temperature τ", height=240, xaxis_title="step", yaxis_title="τ")
        fig.update_xaxes(nticks=4)  # a narrow chart: few step ticks, none turned sideways
    with fig.batch_update():
        fig.data[0].x = np.array([h["step"] for h in history])
        fig.data[0].y = np.array([h["tau"] for h in history])
    return fig


def frequency_figure(labels, probs, gumbel_max, inverse_cdf, tolerance) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=list(labels), y=list(probs), name="π", marker_color=COLORS["pi"])
    fig.add_bar(
        x=list(labels),
        y=list(gumbel_max),
        name="Gumbel-Max: argmax(log π + g)",
        marker_color=COLORS["hard"],
        error_y=dict(type="data", array=list(tolerance), visible=True),
    )
    fig.add_bar(
        x=list(labels),
        y=list(inverse_cdf),
        name="inverse CDF (article)",
        marker_color=COLORS["soft"],
    )
    return _layout(fig, "Sample frequencies against π", barmode="group")


def estimator_figure(taus, stats: dict) -> go.Figure:
    """Bias and standard deviation of each gradient estimator against τ (log axes)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("bias ‖E[ĝ] − ∇‖", "standard deviation of ĝ")
    )
    names = {
        "gumbel": "Gumbel-Softmax (relaxed)",
        "st-gumbel": "straight-through",
        "reinmax": "ReinMax",
    }
    for estimator in ESTIMATORS:
        color = COLORS[estimator]
        s = stats[estimator]
        fig.add_scatter(
            x=list(taus),
            y=s["bias"],
            name=names[estimator],
            mode="lines+markers",
            line=dict(color=color),
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=list(taus),
            y=s["std"],
            name=names[estimator],
            mode="lines+markers",
            line=dict(color=color, dash="dot"),
            showlegend=False,
            row=1,
            col=2,
        )
    # Decades only: Plotly labels a log axis's 2 and 5 in smaller type ("0.1, 2, 5, 1").
    fig.update_xaxes(type="log", title="τ", dtick=1)
    fig.update_yaxes(type="log", dtick=1)
    return _layout(fig, "Gradient estimators of ∂E[f(z)]/∂θ against τ", height=380)


def posterior_heatmap(q: np.ndarray, code=None) -> go.Figure:
    """q(z|x) as an N x K heatmap; the chosen category of each variable outlined."""
    n, k = q.shape
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(q).tolist(),
            x=list(range(k)),
            y=[f"z{i}" for i in range(n)],
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title="q"),
            hovertemplate="%{y}, category %{x}: q = %{z:.3f}<extra></extra>",
        )
    )
    if code is not None:
        fig.add_scatter(
            x=list(code),
            y=[f"z{i}" for i in range(n)],
            mode="markers",
            marker=dict(symbol="square-open", size=14, color="#e45756", line=dict(width=2)),
            name="code",
        )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "q(z|x)", height=520, xaxis_title="category", showlegend=False)
