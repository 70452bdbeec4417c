"""Train: watch a categorical VAE learn, live. Stop, resume and save with nothing lost."""

import math
import re
import time
from dataclasses import fields

import numpy as np
import streamlit as st

import gvae
from gvae.app.figures import loss_figure, tau_figure, thin
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, png_bytes
from gvae.app.jobs import TrainingJob, prepare_workers
from gvae.config import QUICK_DEMO as D  # the widgets' defaults
from gvae.config import field_type
from gvae.trainer import available_devices
from gvae.weights import DEFAULT_WEIGHTS, SUFFIX
from pages.common import explain, use_app_navigation

use_app_navigation()  # a deep link on a fresh server still gets app.py's frame

JOB_KEY = "train_job"
PREVIEW_EVERY_S = 3.0  # reconstructions and samples are redrawn this often
CARD_EVAL = {"n_images": 1000, "iw_samples": 100}  # the quick test-set score saved in cards
DEVICES = available_devices()
prepare_workers()  # the training process server imports torch while the person reads


def test_digits(n: int = 8) -> np.ndarray:
    """n of the shipped gallery's test digits (loaded once per process by gvae)."""
    images, _, _ = load_gallery()
    return images[:: max(1, len(images) // n)][:n]


def job() -> TrainingJob | None:
    return st.session_state.get(JOB_KEY)


def label(name: str) -> str:
    """A field's label from its name: tau_min -> "τ min", lr_schedule -> "LR schedule"."""
    words = name.replace("tau", "τ").split("_")
    words = ["LR" if w == "lr" else w for w in words]
    return " ".join(words)[0].upper() + " ".join(words)[1:]


def step_for(value: float) -> float:
    """A number input's step: a tenth of the default's order of magnitude."""
    return 10 ** (math.floor(math.log10(value)) - 1) if value > 0 else 1e-4


def config_widget(f, container) -> None:
    """The widget of one TrainConfig field, from its type and metadata (gvae.config)."""
    kind, optional = field_type(f)
    meta, key, default = f.metadata, f"t_{f.name}", getattr(D, f.name)
    common = dict(key=key, help=meta["help"])
    choices = DEVICES if f.name == "device" else meta["choices"]  # devices: this machine's
    if choices:
        container.selectbox(label(f.name), choices, index=list(choices).index(default), **common)
    elif meta["options"]:
        container.select_slider(label(f.name), options=meta["options"], value=default, **common)
    elif kind is int:
        container.number_input(
            label(f.name) + (" (0: none)" if optional else ""),
            min_value=0 if optional else meta["low"],
            max_value=meta["high"],
            value=default or 0,
            step=1,
            **common,
        )
    else:
        container.number_input(
            label(f.name),
            min_value=float(meta["low"]) if meta["low"] is not None else None,
            max_value=float(meta["high"]) if meta["high"] is not None else None,
            value=float(default),
            step=step_for(default),
            format="%g",
            **common,
        )


def read_config() -> gvae.TrainConfig:
    """The widgets' values as a TrainConfig; ValueError says what is wrong."""
    values = {}
    for f in fields(gvae.TrainConfig):
        kind, optional = field_type(f)
        value = st.session_state[f"t_{f.name}"]
        values[f.name] = None if optional and not value else kind(value)
    return gvae.TrainConfig(**values)


def on_start() -> None:
    st.session_state.pop("train_message", None)
    try:
        config = read_config()
        new_job = TrainingJob(config)  # a worker process; raises MissingDataError without MNIST
    except (ValueError, gvae.GvaeError) as error:  # bad input, no MNIST...: say why
        st.session_state.train_message = ("error", f"Not started: {error}")
        return
    st.session_state[JOB_KEY] = new_job
    new_job.start()


def on_stop() -> None:
    if job():
        job().stop()


def on_resume() -> None:
    if job():
        job().start()


def on_reset() -> None:
    if job():
        job().close()  # ends its process
    st.session_state.pop(JOB_KEY, None)
    st.session_state.pop("train_message", None)


def valid_name(name: str) -> str:
    name = name.strip().removesuffix(SUFFIX)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise ValueError(
            "use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    if name == DEFAULT_WEIGHTS.stem:
        raise ValueError(f"{name} is the shipped default and cannot be overwritten")
    return name


def on_save() -> None:
    current = job()
    try:
        name = valid_name(st.session_state.t_save_name)
    except ValueError as error:
        st.session_state.train_message = ("error", f"Not saved: {error}")
        return
    path = gvae.user_weights_dir() / f"{name}{SUFFIX}"
    metrics = current.save(
        path, CARD_EVAL["n_images"], CARD_EVAL["iw_samples"], {"source": "Train page"}
    )
    st.session_state.train_message = (
        "success",
        f"Saved {path.name} (test −ELBO {metrics['neg_elbo']:.1f}, IW-NLL {metrics['iw_nll']:.1f} nats, "
        f"{metrics['note']}). It is in the model selector now.",
    )


# -- page ----------------------------------------------------------------------------
st.title("Train")
explain(
    "Train a categorical VAE on MNIST right here. Training runs in the background: switch pages "
    "and come back, it keeps going. The defaults give recognizable digits in about a minute on a "
    "laptop CPU; the full recipe of the shipped model is in its model card."
)

current = job()
running = current is not None and current.running
st.session_state.t_was_running = running  # the fragment compares against this

with st.expander("Hyperparameters", expanded=current is None):
    columns = st.columns(4)
    for i, f in enumerate(fields(gvae.TrainConfig)):  # one widget per field, in field order
        config_widget(f, columns[i % 4])

b = st.columns(4)
b[0].button(
    "Start",
    icon=":material/play_arrow:",
    on_click=on_start,
    disabled=running,
    type="primary",
    width="stretch",
    key="t_start",
)
b[1].button(
    "Stop",
    icon=":material/stop:",
    on_click=on_stop,
    disabled=not running,
    width="stretch",
    key="t_stop",
)
b[2].button(
    "Resume",
    icon=":material/resume:",
    on_click=on_resume,
    width="stretch",
    key="t_resume",
    disabled=current is None or running or current.done,
)
b[3].button(
    "Reset",
    icon=":material/restart_alt:",
    on_click=on_reset,
    disabled=current is None,
    width="stretch",
    key="t_reset",
)

message = st.session_state.get("train_message")
if message:
    getattr(st, message[0])(message[1])


@st.fragment(run_every=1.0 if running else None)
def live_view() -> None:
    current = job()
    if current is None:
        st.info("Set the hyperparameters and press Start.")
        return
    history = current.history()
    if current.error:
        st.error(f"Training stopped: {current.error}")
    step, total = current.step, current.total_steps
    eta = current.eta_seconds()
    last = history[-1] if history else {}
    m = st.columns(5)
    m[0].metric("Status", current.status)
    m[1].metric("Step", f"{step} / {total}")
    m[2].metric("Steps/s", f"{last.get('steps_per_s', 0):.0f}")
    m[3].metric("ETA", f"{eta:.0f} s" if eta is not None and current.running else "—")
    m[4].metric("−ELBO (batch)", f"{last.get('loss', float('nan')):.1f}")
    st.progress(step / max(total, 1))

    smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, key="t_smoothing")
    shown = thin(history, max_points=500)  # enough for a chart, cheap to redraw every second
    left, right = st.columns([3, 2])
    # One pair of figures per run, refilled at each redraw (cheaper than building anew).
    figures = st.session_state.get("t_figures")
    if figures is None or figures["job"] != id(current):
        figures = st.session_state.t_figures = {"job": id(current), "loss": None, "tau": None}
    figures["loss"] = loss_figure(shown, smoothing, figures["loss"])
    figures["tau"] = tau_figure(shown, figures["tau"])
    left.plotly_chart(figures["loss"], width="stretch", key="t_loss")
    right.plotly_chart(figures["tau"], width="stretch", key="t_tau")

    preview = st.session_state.get("t_preview")
    stale = preview is None or preview["job"] != id(current)
    due = stale or preview["step"] != step and time.time() - preview["time"] > PREVIEW_EVERY_S
    if due and current.alive:  # a dead worker's weights are gone; its last preview stays
        digits = test_digits()
        recon, samples = current.preview(digits, n_samples=16)
        pairs = np.concatenate([digits, recon]).reshape(-1, 28, 28)
        preview = {
            "job": id(current),
            "step": step,
            "time": time.time(),
            # Encoded once here, not at each redraw: PNG encoding was a fifth of a redraw.
            "pairs": png_bytes(image_grid(pairs, ncols=len(digits), scale=3)),
            "samples": png_bytes(image_grid(samples.reshape(-1, 28, 28), ncols=8, scale=3)),
        }
        st.session_state.t_preview = preview
    if preview is None or preview["job"] != id(current):
        return
    p1, p2 = st.columns(2)
    p1.image(
        preview["pairs"],
        caption=f"test digits (top) and reconstructions from their argmax codes (bottom), step {preview['step']}",
        output_format="PNG",  # the bytes are PNG already: no re-encoding
    )
    p2.image(
        preview["samples"],
        caption=f"samples from the uniform prior, step {preview['step']}",
        output_format="PNG",  # the bytes are PNG already: no re-encoding
    )

    if not current.running and st.session_state.get("t_was_running"):
        st.rerun()  # the run ended between two fragment runs: redraw the buttons too


live_view()

if current is not None and not running and current.step > 0:
    st.subheader("Save")
    if not current.alive:
        st.warning("The training process is gone, and its weights with it; its history is kept.")
    s = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    s[0].text_input(
        "Name",
        value=f"my-{current.config.estimator}-{current.step}",
        key="t_save_name",
    )
    s[1].button(
        "Save to weights/",
        icon=":material/save:",
        on_click=on_save,
        width="stretch",
        key="t_save",
        disabled=not current.alive,
    )
    s[2].download_button(
        "Checkpoint",
        icon=":material/download:",
        data=current.checkpoint_bytes,  # a callable: built on click, not at every rerun
        file_name=f"gvae-trained{SUFFIX}",
        width="stretch",
        key="t_download",
        disabled=not current.alive,
    )
    s[3].download_button(
        "History CSV",
        icon=":material/download:",
        data=current.history_csv,
        file_name="gvae-history.csv",
        mime="text/csv",
        width="stretch",
        key="t_csv",
    )
