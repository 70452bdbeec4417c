"""The training engine, shared by the command line (gvae.train) and the app's Train page.

`Trainer` owns everything a run needs (model, optimizer, temperature schedule, RNG,
history) and advances one optimizer step at a time, so a caller can stop it between any
two steps, save it, and resume it later with nothing lost.
"""

from __future__ import annotations

import io
import math
import os
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from gvae.config import ModelConfig, TrainConfig
from gvae.data import binarize, load_mnist
from gvae.errors import CheckpointError, NonFiniteLossError
from gvae.gumbel import sample_gumbel
from gvae.model import CategoricalVAE
from gvae.schedule import TemperatureSchedule
from gvae.weights import atomic_write, save_model

STATE_FORMAT = "gvae-training-state"
# GVAE_COMPILE=1 runs the loss and its backward through torch.compile: faster steps after
# a compilation that costs many seconds, so it pays off in long runs only. Off by default.
COMPILE_ENV = "GVAE_COMPILE"


def prepare_cpu() -> None:
    """Set this process up for training on the CPU, before torch starts its threads.

    1. Subnormal floats count as zero. Relaxed samples at a low tau hold values below
       1e-38; x86 CPUs handle such floats in microcode, far slower than normal ones, and
       zero is as good here. torch's threads copy the setting when they start: a late call
       left them slow (9 instead of 5 ms a step from epoch 2).
    2. glibc keeps freed memory. Every step frees and reallocates activations of 80-400 KB;
       by default glibc hands such blocks back to the kernel (mmap above 128 KB, trimming
       the heap's top) and the next step faults them in again, page by page: 80 faults a
       step with one thread, 13 with two. With both thresholds raised they stay in the
       heap (1 fault a step, a 5% faster step on one thread; docs/benchmarks.md).

    The one place gvae sets these: gvae.train, the Train page's worker and the benchmarks."""
    torch.set_flush_denormal(True)
    _keep_freed_memory()


def _keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD) on glibc; False elsewhere.
    32 MiB is the largest mmap threshold glibc accepts on 64-bit systems."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # glibc and musl's stub have it; musl's does nothing
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, mmap_threshold)) and bool(
        mallopt(m_trim_threshold, trim_threshold)
    )


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda, then mps, then cpu; anything else is taken as given."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was asked for, but CUDA is not available here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device {name!r} was asked for, but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    """Device choices on this machine: 'auto', 'cpu', then 'cuda' / 'mps' where present."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of n training images in one epoch: a function of (seed, epoch) alone."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


@dataclass
class StepMetrics:
    step: int  # optimizer steps done so far, counting this one
    epoch: int  # epoch this step belongs to, from 0
    loss: float  # negative ELBO of the batch, nats per image
    reconstruction: float
    kl: float
    tau: float
    lr: float
    steps_per_s: float  # smoothed throughput

    def to_dict(self) -> dict:
        return asdict(self)


class Trainer:
    """One training run of a CategoricalVAE. Not thread-safe: drive it from one thread,
    and use `stop_event` (a threading.Event) to ask it to stop from another."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        images: torch.Tensor | None = None,
        model_config: ModelConfig | None = None,
        data_dir=None,
    ):
        self.config = config or TrainConfig()
        self.device = pick_device(self.config.device)
        if images is None:
            images, _ = load_mnist("train", data_dir, limit=self.config.train_size)
        elif self.config.train_size is not None:
            images = images[: self.config.train_size]
        if images.ndim != 2 or len(images) == 0:
            raise ValueError(
                f"images must be a non-empty (n, pixels) tensor, got {tuple(images.shape)}"
            )
        self.images = images.to(self.device)  # (n, D) grey levels in [0, 1]

        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG left untouched
            torch.manual_seed(self.config.seed)
            self.model = CategoricalVAE(model_config or ModelConfig()).to(self.device)
        # The fused kernel updates all parameters in one pass: ~3 ms less per CPU step.
        self._params = list(self.model.parameters())
        self.optimizer = torch.optim.Adam(self._params, lr=self.config.lr, fused=True)
        c = self.config
        self.schedule = TemperatureSchedule.of(c)
        # One generator for all training noise (binarization, Gumbel draws), saved with
        # the state so a resumed run draws exactly what an uninterrupted one would.
        self.generator = torch.Generator(self.device).manual_seed(c.seed)
        self.step = 0
        self.history: list[dict] = []
        # The recipes a resumed run had before a flag changed it: {"until_step", "train_config"}.
        self.earlier_phases: list[dict] = []
        self.stop_event = threading.Event()
        self.elapsed_s = 0.0  # time spent inside train_step, summed over sessions
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, its image order)
        # Batch buffers reused every step: fresh ones cost page faults at every step.
        self._grey: torch.Tensor | None = None  # (B, D) grey levels
        self._noise: torch.Tensor | None = None  # (B, D) uniform draws
        self._binary: torch.Tensor | None = None  # (B, D) the binarized batch
        self._steps_per_s = 0.0
        self._last_step_end = float("-inf")
        self._compiled_loss = self._compile() if os.environ.get(COMPILE_ENV) == "1" else None

    # -- the plan of the run ---------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return self.config.steps_per_epoch(len(self.images))

    @property
    def total_steps(self) -> int:
        return self.config.total_steps(len(self.images))

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps

    def lr_at(self, step: int) -> float:
        c = self.config
        if c.lr_schedule == "constant":
            return c.lr
        progress = min(1.0, step / max(1, self.total_steps))  # cosine (Loshchilov & Hutter 2017)
        return c.lr_min + 0.5 * (c.lr - c.lr_min) * (1 + math.cos(math.pi * progress))

    def _batch(self, step: int) -> torch.Tensor:
        """Grey-level batch for `step`, gathered into a reused buffer. Each epoch's order
        is a function of (seed, epoch), so resuming mid-epoch continues the same order."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, epoch_order(len(self.images), self.config.seed, epoch))
        b = min(self.config.batch_size, len(self.images))
        index = self._order[1][position * b : (position + 1) * b].to(self.device)
        if self._grey is None:
            self._grey = self.images.new_empty((b, self.images.shape[1]))
            self._noise, self._binary = torch.empty_like(self._grey), torch.empty_like(self._grey)
        return torch.index_select(self.images, 0, index, out=self._grey)

    # -- one step --------------------------------------------------------------------
    def _compile(self):
        """model.loss through torch.compile, compiled here (forward and backward, on a blank
        batch), or None where that fails. tau is a dynamic input: no recompiling as it anneals."""
        c, b = self.model.config, min(self.config.batch_size, len(self.images))
        x = torch.zeros(b, c.image_size, device=self.device)
        noise = torch.zeros(b, c.latent_dim, c.categorical_dim, device=self.device)
        try:
            compiled = torch.compile(self.model.loss, dynamic=True)
            compiled(
                x, self.schedule(self.step), self.config.estimator, None, noise
            ).loss.backward()
        except Exception as error:  # no C++ compiler, an unsupported platform or op...
            warnings.warn(f"torch.compile failed ({error}); training eagerly", stacklevel=3)
            return None
        finally:
            for p in self._params:
                p.grad = None
        return compiled

    def _loss(self, x: torch.Tensor, tau: float):
        """The batch's loss terms, through torch.compile where GVAE_COMPILE=1 asked for it.
        The Gumbel noise is drawn here then, so both paths draw the same numbers."""
        estimator = self.config.estimator
        if self._compiled_loss is None:
            return self.model.loss(x, tau, estimator, self.generator)
        c = self.model.config
        shape = (len(x), c.latent_dim, c.categorical_dim)
        noise = sample_gumbel(shape, self.generator, x.dtype, x.device)
        try:
            return self._compiled_loss(x, tau, estimator, None, noise)
        except Exception as error:  # a recompilation that fails: eager from now on
            warnings.warn(f"torch.compile failed ({error}); training eagerly", stacklevel=3)
            self._compiled_loss = None
            return self.model.loss(x, tau, estimator, None, noise)

    def train_step(self) -> StepMetrics:
        start = time.perf_counter()
        if not self.model.training:
            self.model.train()
        tau, lr = self.schedule(self.step), self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        grey = self._batch(self.step)
        x = binarize(grey, self.generator, self._noise, out=self._binary)  # dynamic binarization
        terms = self._loss(x, tau)
        loss = terms.loss.item()
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"non-finite loss ({loss}) at step {self.step}; "
                "the model keeps its last good weights. Try a lower lr or a higher tau_min."
            )
        for p in self._params:
            p.grad = None
        terms.loss.backward()
        # Every gradient flows back through the encoder's first layer, and its bias
        # gradient sums that layer's output gradient over the batch, so a NaN or inf
        # anywhere in the backward pass shows up in the sum of these 512 numbers.
        if not math.isfinite(self.model.encoder[0].bias.grad.sum().item()):
            for p in self._params:
                p.grad = None
            raise NonFiniteLossError(
                f"non-finite gradient at step {self.step}; the model keeps its last good "
                "weights. Try a lower lr or a higher tau_min."
            )
        self.optimizer.step()

        epoch = self.step // self.steps_per_epoch
        self.step += 1
        end = time.perf_counter()
        dt = end - start
        self.elapsed_s += dt
        # Throughput from one step's end to the next (time between steps included, e.g. a
        # UI thread holding the GIL); after a pause (stop, resume) from the step alone.
        since_last = end - self._last_step_end
        rate = 1.0 / max(since_last if since_last < 5.0 else dt, 1e-9)
        self._last_step_end = end
        self._steps_per_s = rate if self._steps_per_s == 0 else 0.9 * self._steps_per_s + 0.1 * rate
        metrics = StepMetrics(
            step=self.step,
            epoch=epoch,
            loss=loss,
            reconstruction=terms.reconstruction.item(),
            kl=terms.kl.item(),
            tau=tau,
            lr=lr,
            steps_per_s=self._steps_per_s,
        )
        self.history.append(metrics.to_dict())
        return metrics

    def steps(self) -> Iterator[StepMetrics]:
        """Yield one StepMetrics per step until the run is done or stop_event is set."""
        while not self.done and not self.stop_event.is_set():
            yield self.train_step()

    def run(self) -> None:
        for _ in self.steps():
            pass

    # -- saving and resuming ---------------------------------------------------------
    def card(self) -> dict:
        """The training recipe and where the run got to, for a model card."""
        last = self.history[-1] if self.history else {}
        return {
            "model_config": self.model.config.to_dict(),
            "train_config": self.config.to_dict(),
            "seed": self.config.seed,
            "steps": self.step,
            "epochs_completed": self.step / self.steps_per_epoch,
            "train_images": len(self.images),
            "train_seconds": round(self.elapsed_s, 1),
            "final_train_metrics": {k: last[k] for k in ("loss", "reconstruction", "kl", "tau")}
            if last
            else {},
            "torch_version": str(torch.__version__),  # a str subclass: plain str for weights_only
            "device": str(self.device),
            **({"earlier_phases": self.earlier_phases} if self.earlier_phases else {}),
        }

    def save_model(self, path, card: dict | None = None) -> Path:
        return save_model(self.model, path, card={**self.card(), **(card or {})})

    def state_dict(self) -> dict:
        return {
            "format": STATE_FORMAT,
            "model_config": self.model.config.to_dict(),
            "train_config": self.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state().cpu(),
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "history": self.history,
            "earlier_phases": self.earlier_phases,
        }

    def save_state(self, path) -> Path:
        """The resumable state as a torch file (optimizer state and RNG included); written
        atomically, so an interrupted save keeps the previous state."""
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        return atomic_write(path, buffer.getvalue())

    @classmethod
    def from_state(cls, state: dict, images=None, data_dir=None, **overrides) -> Trainer:
        """Rebuild a run from state_dict(); `overrides` may change e.g. epochs."""
        config = TrainConfig.from_dict({**state["train_config"], **overrides})
        trainer = cls(config, images, ModelConfig.from_dict(state["model_config"]), data_dir)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.generator.set_state(state["generator"])
        trainer.step = state["step"]
        trainer.elapsed_s = state["elapsed_s"]
        trainer.history = list(state["history"])
        trainer.earlier_phases = list(state.get("earlier_phases", []))
        before = TrainConfig.from_dict(state["train_config"]).to_dict()
        if config.to_dict() != before:  # a flag changed the recipe from here on
            trainer.earlier_phases.append({"until_step": state["step"], "train_config": before})
        return trainer

    @classmethod
    def load_state(cls, path, images=None, data_dir=None, **overrides) -> Trainer:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise CheckpointError(path, f"cannot read training state: {error}") from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise CheckpointError(path, f"not a gvae training state (format={STATE_FORMAT!r})")
        return cls.from_state(state, images, data_dir, **overrides)
