"""A training run in a background thread, for interactive front ends.

The thread only calls the Trainer; it never touches any UI. A front end keeps one
TrainingJob per user session and reads `history`, `status` and `error` whenever it redraws.
"""

from __future__ import annotations

import atexit
import copy
import csv
import io
import threading
import time
import weakref

import numpy as np
import torch

from gvae.checkpoint import model_to_bytes, save_model
from gvae.data import fixed_test_set
from gvae.errors import GvaeError
from gvae.gumbel import one_hot_argmax
from gvae.metrics import evaluate
from gvae.trainer import Trainer

_LIVE_JOBS: weakref.WeakSet = weakref.WeakSet()
HISTORY_COLUMNS = ("step", "epoch", "loss", "reconstruction", "kl", "tau", "lr")


@atexit.register
def _stop_all_jobs() -> None:
    """Stop running jobs at interpreter exit, so no thread dies inside a torch kernel."""
    for job in list(_LIVE_JOBS):
        job.stop()


class TrainingJob:
    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.lock = threading.Lock()  # held for each step, so snapshots see whole steps
        self.error: str | None = None
        self.thread: threading.Thread | None = None
        self.started_at: float | None = None

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        """Start or resume in a new thread; the Trainer continues where it stopped."""
        if self.running or self.trainer.done:
            return
        self.error = None
        self.trainer.stop_event.clear()
        self.started_at = time.perf_counter()
        self.thread = threading.Thread(target=self._loop, name="gvae-training", daemon=True)
        _LIVE_JOBS.add(self)
        self.thread.start()

    def stop(self, wait: bool = True) -> None:
        """Ask the thread to stop after the step in progress."""
        self.trainer.stop_event.set()
        if wait and self.thread is not None:
            self.thread.join(timeout=30)

    def _loop(self) -> None:
        trainer = self.trainer
        try:
            while not trainer.done and not trainer.stop_event.is_set():
                with self.lock:
                    trainer.train_step()
        except GvaeError as error:
            self.error = str(error)
        except Exception as error:  # surfaced in the UI rather than lost in a thread
            self.error = f"{type(error).__name__}: {error}"

    # -- what a front end reads ----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def status(self) -> str:
        if self.running:
            return "running"
        if self.error:
            return "failed"
        if self.trainer.done:
            return "finished"
        return "stopped" if self.trainer.step > 0 else "ready"

    def history(self) -> list[dict]:
        return list(self.trainer.history)  # a copy: the thread appends while we draw

    def snapshot_model(self):
        """A copy of the model between two steps, in eval mode, for previews and saving."""
        with self.lock:
            model = copy.deepcopy(self.trainer.model)
        return model.cpu().eval()

    @torch.no_grad()
    def preview(self, digits: np.ndarray, n_samples: int = 16, seed: int = 0):
        """Reconstructions of `digits` (n, D) from their argmax codes, and n_samples
        decoded draws from the prior (the same draws at every call, so they can be compared
        as training goes on). Both (n, D) Bernoulli means."""
        model = self.snapshot_model()
        z_logits = model.encode(torch.tensor(digits, dtype=torch.float32))  # a copy
        recon = torch.sigmoid(model.decode(one_hot_argmax(z_logits))).numpy()
        samples = model.decode_codes(
            model.sample_prior(n_samples, torch.Generator().manual_seed(seed))
        )
        return recon, samples.numpy()

    def eta_seconds(self) -> float | None:
        history = self.trainer.history
        if not history or history[-1]["steps_per_s"] <= 0:
            return None
        return (self.trainer.total_steps - self.trainer.step) / history[-1]["steps_per_s"]

    def checkpoint_bytes(self) -> bytes:
        """The current weights and card as a checkpoint file's bytes, e.g. for a download."""
        return model_to_bytes(self.snapshot_model(), self.trainer.card())

    def history_csv(self) -> str:
        """One CSV row per step: step, epoch, loss, reconstruction, kl, tau, lr."""
        out = io.StringIO()
        writer = csv.DictWriter(out, HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history())
        return out.getvalue()

    def save(self, path, eval_images: int = 1000, iw_samples: int = 100, card: dict | None = None):
        """Save a snapshot with its card: the recipe and a quick test-set score that says
        how it was computed (the first `eval_images` test images, k = `iw_samples`)."""
        model = self.snapshot_model()
        test, _ = fixed_test_set(limit=eval_images)
        metrics = evaluate(model, test, iw_samples, seed=0)
        metrics["note"] = f"quick score: first {eval_images} test images, k = {iw_samples}"
        save_model(model, path, card={**self.trainer.card(), **(card or {}), "metrics": metrics})
        return metrics
