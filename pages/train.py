"""Train: watch a categorical VAE learn, live. Stop, resume and save with nothing lost."""

import math
import time
from dataclasses import fields

import numpy as np
import streamlit as st

import gvae
from gvae.app.figures import loss_figure, tau_figure, thin
from gvae.app.gallery import load_gallery
from gvae.app.images import image_grid, png_bytes
from gvae.app.jobs import TrainingJob, device_choices, prepare_workers
from gvae.app.saving import NeedsConfirmation, SaveRefused, save_target
from gvae.app.text import escape_markdown
from gvae.config import QUICK_DEMO as D  # the widgets' defaults
from gvae.config import field_type
from gvae.data import TRAIN_IMAGES
from gvae.weights import SUFFIX
from pages.common import (
    chart,
    explain,
    job_board,
    keep_alive,
    message,
    session_key,
    talk_mode,
    use_app_navigation,
)
from pages.state import keep

use_app_navigation()

JOB_KEY = "train_job"  # the session's job, as the board last showed it
SAVED_KEY = "t_saved_names"  # lower-case names of the files this session saved
CONFIRM_KEY = "t_confirm_overwrite"  # the existing file the person is asked about
PREVIEW_EVERY_S = 3.0  # reconstructions and samples are redrawn this often
REDRAW_EVERY_S = 2.0  # status, curves and previews, while training
CARD_EVAL = {"n_images": 1000, "iw_samples": 100}  # the quick test-set score saved in cards
DEVICES = device_choices()
prepare_workers()  # the training process server imports torch while the person reads


def test_digits(n: int = 8) -> np.ndarray:
    """n of the shipped gallery's test digits (loaded once per process by gvae)."""
    images, _, _ = load_gallery()
    return images[:: max(1, len(images) // n)][:n]


def job() -> TrainingJob | None:
    return st.session_state.get(JOB_KEY)


def board_view():
    """This session's training as the server's job board has it (job, place in the queue,
    notices); the job is mirrored into the session state for the callbacks."""
    view = job_board().view(session_key()[0])
    if view.job is None:
        st.session_state.pop(JOB_KEY, None)
    else:
        st.session_state[JOB_KEY] = view.job
    return view


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
    keep(key)  # the form survives a visit to another page


def read_config() -> gvae.TrainConfig:
    """The widgets' values as a TrainConfig; ValueError says what is wrong."""
    values = {}
    for f in fields(gvae.TrainConfig):
        kind, optional = field_type(f)
        value = st.session_state[f"t_{f.name}"]
        values[f.name] = None if optional and not value else kind(value)
    return gvae.TrainConfig(**values)


CONFIRM_START_KEY = "t_confirm_start"


def on_start(confirmed: bool = False) -> None:
    st.session_state.pop("train_message", None)
    st.session_state.pop(CONFIRM_START_KEY, None)
    current = job()
    if not confirmed and current is not None and not current.running and not current.done:
        st.session_state[CONFIRM_START_KEY] = True  # a stopped run would be discarded: ask
        return
    try:
        config = read_config()
        job_board().start(*session_key(), config)  # ends the session's previous run
    except (ValueError, gvae.GvaeError) as error:  # bad input, no or damaged MNIST...: say why
        st.session_state.train_message = ("error", f"Not started: {error}")
    except ImportError as error:  # a viewing-only install (no torch)
        st.session_state.train_message = (
            "error",
            f"Not started: training needs torch ({error}); pip install torch torchvision",
        )


def on_cancel_start() -> None:
    st.session_state.pop(CONFIRM_START_KEY, None)


def on_stop() -> None:
    job_board().stop(session_key()[0])


def on_resume() -> None:
    st.session_state.pop("train_message", None)
    st.session_state.pop(CONFIRM_START_KEY, None)
    job_board().resume(session_key()[0])


def on_reset() -> None:
    job_board().reset(session_key()[0])  # ends its process, deletes a paused state
    st.session_state.pop(JOB_KEY, None)
    st.session_state.pop("train_message", None)


def on_save(confirmed: bool = False) -> None:
    current = job()
    if current is None:
        return
    saved_here = st.session_state.setdefault(SAVED_KEY, set())
    try:
        path = save_target(
            st.session_state.t_save_name, gvae.user_weights_dir(), saved_here, confirmed
        )
    except NeedsConfirmation as ask:
        st.session_state[CONFIRM_KEY] = ask.path.name
        st.session_state.train_message = (
            "warning",
            f"{ask.path.name} already exists and was not saved from this session. "
            "Overwrite it, or choose another name.",
        )
        return
    except SaveRefused as error:
        st.session_state.train_message = ("error", f"Not saved: {error}")
        return
    st.session_state.pop(CONFIRM_KEY, None)
    existed = path.exists()
    try:
        metrics = current.save(
            path, CARD_EVAL["n_images"], CARD_EVAL["iw_samples"], {"source": "Train page"}
        )
    except gvae.GvaeError as error:  # a full disk, a read-only folder, damaged MNIST...
        kept = f" {path.name} is unchanged." if existed else " Nothing was written."
        st.session_state.train_message = ("error", f"Not saved: {error}.{kept}")
        return
    saved_here.add(path.name.lower())
    st.session_state.train_message = (
        "success",
        f"Saved {path.name} (test −ELBO {metrics['neg_elbo']:.1f}, IW-NLL {metrics['iw_nll']:.1f} nats, "
        f"{metrics['note']}). It is in the model selector now.",
    )


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def queue_status(view) -> None:
    """Where this session's run stands while it waits for a training slot."""
    if view.starting:
        st.info("Starting the training process…", icon=":material/hourglass_top:")
    elif view.position is not None:
        runs = "one training" if view.max_jobs == 1 else f"{view.max_jobs} trainings"
        st.info(
            f"Waiting for a free training slot: you are {ordinal(view.position)} in line. "
            f"This server runs {runs} at a time, each at full speed; yours starts by itself "
            "when a slot frees. Keep this page open: a run nobody watches leaves the queue.",
            icon=":material/hourglass_top:",
        )


# -- page ----------------------------------------------------------------------------
st.title("Train")
explain(
    "Train a categorical VAE on MNIST right here. Training runs in the background: switch pages "
    "and come back, it keeps going (a run nobody looks at for a few minutes pauses, and Resume "
    "continues it). The defaults give recognizable digits about 20 s after Start on a "
    "2-core CPU; the full recipe of the shipped model is in its model card."
)

view = board_view()
current = view.job
running = current is not None and current.running
waiting = view.position is not None or view.starting
# The fragment reruns the whole page when any of these change (buttons, Save section).
st.session_state.t_phase = (id(current), running, waiting)

with st.expander("Hyperparameters", expanded=current is None and not talk_mode()):
    columns = st.columns(4)
    for i, f in enumerate(fields(gvae.TrainConfig)):  # one widget per field, in field order
        config_widget(f, columns[i % 4])

# A stopped run is what a speaker comes back to: Resume leads, and Start asks first.
resumable = current is not None and not running and not waiting and not current.done
b = st.columns(4)
b[0].button(
    "Start",
    icon=":material/play_arrow:",
    on_click=on_start,
    disabled=running or waiting,
    type="secondary" if resumable else "primary",
    width="stretch",
    key="t_start",
)
b[1].button(
    "Stop",
    icon=":material/stop:",
    on_click=on_stop,
    disabled=not (running or waiting),
    width="stretch",
    key="t_stop",
)
b[2].button(
    "Resume",
    icon=":material/resume:",
    on_click=on_resume,
    width="stretch",
    key="t_resume",
    disabled=not resumable,
    type="primary" if resumable else "secondary",
)
b[3].button(
    "Reset",
    icon=":material/restart_alt:",
    on_click=on_reset,
    disabled=current is None and not waiting,
    width="stretch",
    key="t_reset",
)

if resumable and st.session_state.get(CONFIRM_START_KEY):
    st.warning(
        f"Start a fresh run? The stopped run (step {current.step:,}) is discarded; "
        "Resume continues it.",
        icon=":material/warning:",
    )
    yes, no = st.columns(2)
    yes.button("Start fresh", key="t_start_fresh", on_click=on_start, args=(True,), width="stretch")
    no.button("Keep it", key="t_keep", on_click=on_cancel_start, width="stretch")

for note in (st.session_state.get("train_message"), view.notice):
    if note:
        message(*note)  # plain text: it may quote a file name, a path or an error


def curves(history: list[dict], smoothing: float, talk: bool, job_id: int | None) -> list:
    """The loss and τ charts of `history`; returns the layout's columns (talk mode: loss, τ
    and the previews side by side, all on one 1280 x 720 screen)."""
    columns = st.columns([6, 3, 4]) if talk else st.columns([3, 2])
    # One pair of figures per run, refilled at each redraw (cheaper than building anew).
    figures = st.session_state.get("t_figures")
    if figures is None or figures["job"] != job_id:
        figures = st.session_state.t_figures = {"job": job_id, "loss": None, "tau": None}
    shown = thin(history, max_points=500)  # enough for a chart, cheap to redraw
    figures["loss"] = loss_figure(shown, smoothing, figures["loss"])
    figures["tau"] = tau_figure(shown, figures["tau"])
    if job_id is None:
        span_the_planned_run(figures)
    chart(figures["loss"], columns[0], width="stretch", key="t_loss")
    chart(figures["tau"], columns[1], width="stretch", key="t_tau")
    return columns


def span_the_planned_run(figures: dict) -> None:
    """Before Start, the empty charts span the run the form describes: its steps, the loss
    from 0 to 600 nats (a fresh model starts near 545), τ from 0 to τ0."""
    try:
        config = read_config()
    except (ValueError, TypeError):  # the form says what is wrong when Start is pressed
        return
    steps = config.total_steps(config.train_size or TRAIN_IMAGES)
    figures["loss"].update_layout(
        xaxis_range=[0, steps], yaxis_range=[0, 600], yaxis2_range=[0, 60], showlegend=False
    )
    figures["tau"].update_layout(xaxis_range=[0, steps], yaxis_range=[0, 1.1 * config.tau0])


# While training, the page redraws every REDRAW_EVERY_S: on 2 cores each browser redraw
# takes CPU the training needs, and 2 s instead of 1 s gave it about 28 % more steps/s
# (benchmarks.browser digits). While the worker comes up it looks often, so the curves follow
# the moment it is ready.
@st.fragment(run_every=0.25 if view.starting else REDRAW_EVERY_S if running or waiting else None)
def live_view() -> None:
    keep_alive()  # a fragment run is the session watching, too
    view = board_view()
    current = view.job
    if (
        id(current),
        current is not None and current.running,
        view.position is not None or view.starting,
    ) != st.session_state.get("t_phase"):
        st.rerun()  # started, stopped, paused or admitted since the page ran: redraw it all
    queue_status(view)
    if current is None:
        if view.position is None and not view.starting:
            st.info("Set the hyperparameters and press Start.")
        # Empty axes where the curves will be: the browser loads and lays out the charts
        # now, not in the first seconds of training, when it took the CPU from the run.
        curves([], st.session_state.get("t_smoothing", 0.6), talk_mode(), None)
        return
    history = current.history()
    if current.error:
        message("error", f"Training stopped: {current.error}")
    step, total = current.step, current.total_steps
    eta = current.eta_seconds()
    last = history[-1] if history else {}
    steps_per_s = f"{last.get('steps_per_s', 0):.0f}"
    eta_text = f"{eta:.0f} s" if eta is not None and current.running else "—"
    loss_text = f"{last.get('loss', float('nan')):.1f}"
    talk = talk_mode()
    if talk:  # one line, so that curves and previews share the screen with the buttons
        st.markdown(
            f"**{current.status}** · step {step:,} / {total:,} · {steps_per_s} steps/s · "
            f"ETA {eta_text} · −ELBO {loss_text}"
        )
    else:
        m = st.columns(5)
        m[0].metric("Status", current.status)
        m[1].metric("Step", f"{step} / {total}")
        m[2].metric("Steps/s", steps_per_s)
        m[3].metric("ETA", eta_text)
        m[4].metric("−ELBO (batch)", loss_text)
    st.progress(step / max(total, 1))

    if talk:  # the slider's last value, without the slider
        smoothing = st.session_state.get("t_smoothing", 0.6)
    else:
        smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, key="t_smoothing")
        keep("t_smoothing")
    columns = curves(history, smoothing, talk, id(current))

    preview = st.session_state.get("t_preview")
    stale = preview is None or preview["job"] != id(current)
    due = stale or preview["step"] != step and time.time() - preview["time"] > PREVIEW_EVERY_S
    if due and current.has_weights:  # a dead worker's weights are gone; its last preview stays
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
    p1, p2 = (columns[2], columns[2]) if talk else st.columns(2)
    p1.image(
        preview["pairs"],
        caption=f"digits and reconstructions, step {preview['step']:,}"
        if talk
        else f"test digits (top) and reconstructions from their argmax codes (bottom), step {preview['step']}",
        output_format="PNG",  # the bytes are PNG already: no re-encoding
    )
    p2.image(
        preview["samples"],
        caption=f"prior samples, step {preview['step']:,}"
        if talk
        else f"samples from the uniform prior, step {preview['step']}",
        output_format="PNG",  # the bytes are PNG already: no re-encoding
    )


live_view()

if current is not None and not running and current.step > 0:
    st.subheader("Save")
    if not current.has_weights:
        st.warning("The training process is gone, and its weights with it; its history is kept.")
    s = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    s[0].text_input(
        "Name",
        value=f"my-{current.config.estimator}-{current.step}",
        key="t_save_name",
    )
    keep("t_save_name")
    s[1].button(
        "Save to weights/",
        icon=":material/save:",
        on_click=on_save,
        width="stretch",
        key="t_save",
        disabled=not current.has_weights,
    )
    s[2].download_button(
        "Checkpoint",
        icon=":material/download:",
        data=current.checkpoint_bytes,  # a callable: built on click, not at every rerun
        file_name=f"gvae-trained{SUFFIX}",
        width="stretch",
        key="t_download",
        disabled=not current.has_weights,
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
    asked = st.session_state.get(CONFIRM_KEY)
    typed = st.session_state.get("t_save_name", "").strip()
    if asked and typed.lower().removesuffix(SUFFIX) == asked.lower().removesuffix(SUFFIX):
        st.button(
            f"Overwrite {escape_markdown(asked)}",
            icon=":material/warning:",
            on_click=on_save,
            kwargs={"confirmed": True},
            key="t_overwrite",
        )
