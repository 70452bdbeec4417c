"""A training run in a process of its own, for interactive front ends.

Why a process and not a thread: a front end such as Streamlit redraws in Python threads
of its own interpreter, and a training thread needs the GIL between any two torch ops,
so every redraw would stall training. In its own process the Trainer shares only the CPU
with the UI (docs/benchmarks.md has the measurements).

The worker process owns the Trainer and answers requests between two steps, so a stop
takes effect after the step in progress and every answer describes whole steps. It never
writes unasked, so a front end that stops reading (a user on another page) never stalls
it. Workers fork from a server process that has imported torch once, so a Start after
the first one is answered in a fraction of a second. A ThreadTuner picks the worker's
torch thread count from what trains fastest beside the UI.

A job can be suspended: the worker writes the Trainer's whole state to a file between two
steps and exits, freeing its memory and CPU; the job still reads its weights from that
file, and restore() continues the run exactly where it stopped. Which jobs run, wait or
are suspended is decided by gvae.app.board.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import multiprocessing
import os
import platform
import shutil
import sys
import threading
import time
import weakref
from multiprocessing import forkserver
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gvae import infer
from gvae.config import ModelConfig, TrainConfig
from gvae.data import ensure_mnist
from gvae.errors import GvaeError, MissingDataError

if TYPE_CHECKING:  # the worker imports torch; the front end's handle only when it must
    from gvae.model import CategoricalVAE
    from gvae.trainer import Trainer

HISTORY_COLUMNS = ("step", "epoch", "loss", "reconstruction", "kl", "tau", "lr")
REFRESH_S = 0.05  # reads within this long of the last answer reuse it
REPLY_TIMEOUT_S = 120.0  # a worker answers between two steps; this is only a safety net

# Forked from a single-threaded server that already imported torch: fast to start, and
# safe where forking the (multi-threaded) front end itself would not be. (The server
# finds gvae from the working directory, as `streamlit run app.py` from the project
# root has it; elsewhere each worker imports torch itself, a few seconds slower.)
_CONTEXT = multiprocessing.get_context("forkserver")
# torch.optim's constructor imports torch._dynamo on first use (1.3 s on a 2-core Xeon):
# preloaded here, once, so no Start waits for it.
_CONTEXT.set_forkserver_preload(["gvae.app.jobs", "gvae.trainer", "torch._dynamo"])
_RAISED_AS = {
    "ValueError": ValueError,
    "MissingDataError": MissingDataError,
    "DataFileError": MissingDataError,  # its message names the file and the problem
}
WORKER_NAME = b"gvae-training"  # the worker's process name, as `ps` and /proc/<pid>/comm show it


def prepare_workers() -> None:
    """Start the worker server now; it imports torch in the background, so the first
    Start need not wait for it. Returns at once; calling it again costs nothing."""
    forkserver.ensure_running()


def device_choices() -> list[str]:
    """The Train form's device choices, without importing torch in the front end: torch's
    own list once it is imported, else 'auto', 'cpu' and what the machine visibly has
    (check_start then asks torch)."""
    if "torch" in sys.modules:
        from gvae.trainer import available_devices

        return available_devices()
    devices = ["auto", "cpu"]
    if shutil.which("nvidia-smi") or Path("/dev/nvidia0").exists():
        devices.append("cuda")
    if sys.platform == "darwin" and platform.machine() == "arm64":
        devices.append("mps")
    return devices


def check_start(config: TrainConfig, data_dir=None) -> None:
    """What creating a job would reject, checked here without starting a process: no
    torch (ModuleNotFoundError), an unavailable device (ValueError), missing or damaged
    MNIST (MissingDataError)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # a viewing-only install
        raise ModuleNotFoundError("No module named 'torch'")
    if config.device not in ("auto", "cpu"):  # only torch knows; the worker imports it anyway
        from gvae.trainer import pick_device

        pick_device(config.device)
    ensure_mnist(data_dir)


# -- the worker process -----------------------------------------------------------------
class ThreadTuner:
    """Uses, for the next 20 s, the number of torch threads that trained fastest in a 2 s
    trial of each; then tries again.

    Why: torch's threads meet at the end of every op, so when the UI (the Streamlit server
    and a browser drawing the page) takes part of a core, every op waits for the thread
    that lost its core; with the page open one thread can beat two, without it two win
    (docs/benchmarks.md, browser train). Trials are timed on the wall clock, so the stalls while the page
    redraws count: a per-step median would hide them."""

    def __init__(
        self,
        most: int,
        use_s=20.0,
        trial_s=2.0,
        warmup_s=3.0,
        clock=time.perf_counter,
        set_threads=None,
    ):
        self.candidates = sorted({most, 1}, reverse=True)
        self.use_s, self.trial_s, self.warmup_s, self.clock = use_s, trial_s, warmup_s, clock
        if set_threads is None:
            import torch

            set_threads = torch.set_num_threads
        self.set_threads = set_threads
        self.steps_per_s: dict[int, float] = {}  # each candidate's last trial
        self.begin()

    def _plan(self):
        """Endless (threads, seconds, is_trial) phases. First a warm-up with the most
        threads, untimed: right after a Start the browser draws the page afresh, which
        made the first trial pick 1 thread where 2 train 22 % faster (measured with benchmarks.browser train)."""
        yield self.candidates[0], self.warmup_s, False
        while True:
            if len(self.candidates) > 1:
                for threads in self.candidates:
                    yield threads, self.trial_s, True
            fastest = max(self.candidates, key=lambda n: self.steps_per_s.get(n, 0.0))
            yield fastest, self.use_s, False

    def begin(self) -> None:
        """A fresh plan, at every start or resume: warm up, then try each count again."""
        self._phases = self._plan()
        self._next_phase()

    def _next_phase(self) -> None:
        self.threads, self._length, self._is_trial = next(self._phases)
        self.set_threads(self.threads)
        self.restart()

    def restart(self) -> None:
        """Time the current phase from the next step on (e.g. after a pause)."""
        self._started, self._steps = None, 0

    def step_done(self) -> None:
        """Call after each step; may change the thread count for the next one."""
        now = self.clock()
        if self._started is None:  # the first step after a change or pause is not timed
            self._started = now
            return
        self._steps += 1
        if now - self._started >= self._length:
            if self._is_trial:
                self.steps_per_s[self.threads] = self._steps / (now - self._started)
            self._next_phase()


def _view(trainer: Trainer, running: bool, error: str | None, since: int) -> dict:
    """What the front end sees: the run's position and the history rows it lacks."""
    return {
        "step": trainer.step,
        "total_steps": trainer.total_steps,
        "running": running,
        "error": error,
        "rows": trainer.history[since:],
    }


def _weights(trainer: Trainer) -> dict:
    # numpy, not tensors: torch may register shared-memory pickling for tensors.
    state = {k: v.detach().cpu().numpy() for k, v in trainer.model.state_dict().items()}
    return {"state": state, "card": trainer.card()}  # the card holds the model config


def _name_process(name: bytes) -> None:
    """Set the process name `ps` shows (Linux), so an operator can tell workers apart."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(15, name, 0, 0, 0)  # 15: PR_SET_NAME


def _load_trainer(config: TrainConfig, data_dir: str, state_path: str | None) -> Trainer:
    from gvae.trainer import Trainer

    if state_path is None:
        return Trainer(config, data_dir=data_dir)
    return Trainer.load_state(state_path, data_dir=data_dir)  # a suspended run, exactly


def _worker_main(
    conn, config: TrainConfig, data_dir: str, state_path: str | None = None, since: int = 0
) -> None:
    import torch

    _name_process(WORKER_NAME)
    from gvae.trainer import prepare_cpu

    prepare_cpu()  # as gvae.train does
    try:
        trainer = _load_trainer(config, data_dir, state_path)
    except Exception as error:  # sent back, raised by TrainingJob() in the front end
        conn.send(("error", type(error).__name__, str(error)))
        return
    conn.send(("ready", _view(trainer, False, None, since)))
    tuner = ThreadTuner(torch.get_num_threads())
    running, error = False, None
    while True:
        if not running or conn.poll():  # idle: wait for a request; running: peek
            try:
                command, since, *args = conn.recv()
            except EOFError:  # the front end went away
                return
            if command == "close":
                return
            if command == "run" and not trainer.done:
                running, error = True, None
                tuner.begin()
            elif command in ("stop", "suspend"):
                running = False
            reply = _weights(trainer) if command == "weights" else {}
            if command == "suspend":  # between two steps: the state is whole
                try:
                    trainer.save_state(args[0])  # atomic: never half-written
                    reply = {"card": trainer.card()}
                except Exception as failure:  # e.g. a full disk: keep the worker
                    reply = {"suspend_error": f"{type(failure).__name__}: {failure}"}
            conn.send(("ok", {**_view(trainer, running, error, since), **reply}))
            if command == "suspend" and "card" in reply:
                return
        if running:
            try:
                trainer.train_step()
                tuner.step_done()
            except GvaeError as failure:  # e.g. a NaN loss: the last good weights are kept
                running, error = False, str(failure)
            except Exception as failure:  # shown in the UI rather than lost in a process
                running, error = False, f"{type(failure).__name__}: {failure}"
            running = running and not trainer.done


def _shut_down(process, conn) -> None:
    """Ask the worker to exit, then make sure it has (at close, GC or interpreter exit)."""
    with contextlib.suppress(OSError, ValueError):  # already gone or closed
        conn.send(("close", 0))
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
    conn.close()


# -- the front end's handle -------------------------------------------------------------
class TrainingJob:
    """One training run in a worker process. Creating it loads the data and builds the
    Trainer there; bad hyperparameters raise ValueError and missing MNIST raises
    MissingDataError, here, before anything starts."""

    def __init__(self, config: TrainConfig, data_dir=None):
        self.config = config
        self._data_dir = ensure_mnist(data_dir)  # here, where a download or its failure is visible
        self._lock = threading.Lock()  # one request at a time, from any thread
        self._history: list[dict] = []
        self._view: dict = {}
        self._refreshed_at = float("-inf")
        self._failure: str | None = None  # set if the worker dies under us
        self._closed = False
        self._suspended: dict | None = None  # {"path", "card"} while suspended to a file
        self._spawn(state_path=None)

    def _spawn(self, state_path: str | None) -> None:
        """Start a worker: a fresh run, or the run saved at state_path."""
        self._conn, child_conn = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(
            target=_worker_main,
            args=(child_conn, self.config, str(self._data_dir), state_path, len(self._history)),
            name="gvae-training",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self._finalizer = weakref.finalize(self, _shut_down, self.process, self._conn)
        kind, *payload = self._receive()
        if kind == "error":
            self._finalizer()
            self._closed = True
            error_type, message = payload
            raise _RAISED_AS.get(error_type, GvaeError)(message)
        self._apply(payload[0])

    # -- talking to the worker ----------------------------------------------------------
    def _receive(self):
        if not self._conn.poll(REPLY_TIMEOUT_S):
            raise GvaeError(f"the training process did not answer in {REPLY_TIMEOUT_S:.0f} s")
        return self._conn.recv()

    def _request(self, command: str) -> dict:
        with self._lock:
            if self._failure is None and not self._closed:
                try:
                    self._conn.send((command, len(self._history)))
                    self._apply(self._receive()[1])
                except (EOFError, OSError, GvaeError) as error:
                    self._failure = f"the training process ended unexpectedly ({error})"
                    self._view = {**self._view, "running": False}
            return self._view

    def _apply(self, view: dict) -> None:
        self._history.extend(view.pop("rows"))
        self._view = view
        self._refreshed_at = time.monotonic()

    def refresh(self) -> None:
        """Fetch the worker's progress, unless the last answer is fresher than REFRESH_S."""
        if time.monotonic() - self._refreshed_at > REFRESH_S:
            self._request("sync")

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        """Start, or resume where it stopped: same step, optimizer state and history."""
        self._request("run")

    def stop(self) -> None:
        """Stop after the step in progress; returns once the worker has stopped."""
        self._request("stop")

    def close(self) -> None:
        """End the worker process and delete a suspended state; the job can only be read
        (history, status) from then on."""
        with self._lock:
            self._finalizer()
            self._closed = True
            self._view = {**self._view, "running": False}
            if self._suspended is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._suspended["path"])
                self._suspended = None

    def suspend(self, path) -> bool:
        """Stop training, write the run's whole state to `path` and end the worker, which
        frees its memory; the weights stay readable, and restore() continues the run
        exactly. False (and the worker kept) if the state could not be written."""
        with self._lock:
            if self._failure is not None or self._closed:
                return False
            try:
                self._conn.send(("suspend", len(self._history), str(path)))
                reply = self._receive()[1]
            except (EOFError, OSError, GvaeError) as error:
                self._failure = f"the training process ended unexpectedly ({error})"
                self._view = {**self._view, "running": False}
                return False
            error = reply.pop("suspend_error", None)
            card = reply.pop("card", None)
            self._apply(reply)
            if error is not None:
                return False
            self._finalizer()  # the worker has exited: join it
            self._closed = True
            self._suspended = {"path": str(path), "card": card}
            return True

    def restore(self) -> None:
        """Start a worker again from the suspended state (stopped, at the same step);
        the state file is deleted once the worker has read it. No-op if not suspended."""
        with self._lock:
            if self._suspended is None:
                return
            path = self._suspended["path"]
            self._spawn(state_path=path)  # raises like TrainingJob() on failure
            self._closed, self._suspended = False, None
            with contextlib.suppress(OSError):
                os.unlink(path)

    @property
    def suspended(self) -> bool:
        return self._suspended is not None

    @property
    def has_weights(self) -> bool:
        """Whether snapshot() can read weights: from the worker, or the suspended state."""
        return self.suspended or self.alive

    # -- what a front end reads ---------------------------------------------------------
    @property
    def alive(self) -> bool:
        """Whether the worker is there to answer: its weights can be read."""
        self.refresh()
        return self._failure is None and not self._closed

    @property
    def step(self) -> int:
        self.refresh()
        return self._view["step"]

    @property
    def total_steps(self) -> int:
        return self._view["total_steps"]

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    @property
    def running(self) -> bool:
        self.refresh()
        return self._view["running"]

    @property
    def error(self) -> str | None:
        self.refresh()
        return self._view["error"] or self._failure

    @property
    def status(self) -> str:
        if self.running:
            return "running"
        if self.error:
            return "failed"
        if self.done:
            return "finished"
        if self.suspended:
            return "paused"
        return "stopped" if self.step > 0 else "ready"

    def history(self) -> list[dict]:
        """One dict per step done (StepMetrics fields); a copy, safe to keep."""
        self.refresh()
        return list(self._history)

    def eta_seconds(self) -> float | None:
        history = self.history()
        if not history or history[-1]["steps_per_s"] <= 0:
            return None
        return (self.total_steps - self.step) / history[-1]["steps_per_s"]

    def snapshot(self) -> tuple[CategoricalVAE, dict]:
        """The model between two steps, in eval mode, and its card (recipe and progress):
        from the worker, or from the state file of a suspended job."""
        import torch

        from gvae.model import CategoricalVAE

        reply = self._request("weights")  # a suspended job answers at once, without weights
        if "state" in reply:
            model = CategoricalVAE(ModelConfig.from_dict(reply["card"]["model_config"]))
            model.load_state_dict({k: torch.from_numpy(v) for k, v in reply["state"].items()})
            return model.eval(), reply["card"]
        suspended = self._suspended
        if suspended is None:
            raise GvaeError(f"no weights to read: {self._failure or 'the job is closed'}")
        state = torch.load(suspended["path"], map_location="cpu", weights_only=True)
        model = CategoricalVAE(ModelConfig.from_dict(state["model_config"]))
        model.load_state_dict(state["model"])
        return model.eval(), suspended["card"]

    def network(self) -> infer.Network:
        """The model between two steps as gvae.infer's numpy network (no torch here);
        None for a suspended job, whose weights are in its state file."""
        reply = self._request("weights")
        if "state" not in reply:
            return None
        config = ModelConfig.from_dict(reply["card"]["model_config"])
        return infer.from_arrays(config, reply["state"], reply["card"])

    def preview(self, digits: np.ndarray, n_samples: int = 16, seed: int = 0):
        """Reconstructions of `digits` (n, D) from their argmax codes, and n_samples
        decoded draws from the prior (the same draws at every call, so they can be compared
        as training goes on). Both (n, D) Bernoulli means."""
        net = self.network()
        if net is None:  # suspended: read the state file (torch)
            model, _ = self.snapshot()
            net = infer.from_arrays(
                model.config, {k: v.numpy() for k, v in model.state_dict().items()}
            )
        c = net.config
        recon = net.decode_codes(net.encode(digits).argmax(-1))
        prior = np.random.default_rng(seed).integers(
            0, c.categorical_dim, (n_samples, c.latent_dim)
        )
        return recon, net.decode_codes(prior)

    def checkpoint_bytes(self) -> bytes:
        """The current weights and card as a weights file's bytes, e.g. for a download."""
        from gvae.weights import to_bytes

        return to_bytes(*self.snapshot())

    def history_csv(self) -> str:
        """One CSV row per step: step, epoch, loss, reconstruction, kl, tau, lr."""
        out = io.StringIO()
        writer = csv.DictWriter(out, HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history())
        return out.getvalue()

    def save(self, path, eval_images: int = 1000, iw_samples: int = 100, card: dict | None = None):
        """Save a snapshot with its card: the recipe and a quick test-set score that says
        how it was computed (the first `eval_images` test images, k = `iw_samples`).
        A failed write raises SaveError with a one-line reason."""
        from gvae.app.saving import write_weights
        from gvae.data import fixed_test_set
        from gvae.metrics import evaluate

        model, recipe = self.snapshot()
        test, _ = fixed_test_set(limit=eval_images)
        metrics = evaluate(model, test, iw_samples, seed=0)
        metrics["note"] = f"quick score: first {eval_images} test images, k = {iw_samples}"
        write_weights(model, path, card={**recipe, **(card or {}), "metrics": metrics})
        return metrics
