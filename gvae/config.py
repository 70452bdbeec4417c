"""Configuration dataclasses: what the model is, and how it is trained.

Each field carries its help text, range and choices as metadata, and everything else is
generated from them: validation (here, once), the command-line options (`add_arguments`,
`from_args`) and the Train page's form. Adding a hyperparameter is one line below.
Weights files store `ModelConfig` as a dict, so a loaded file rebuilds exactly the
architecture it was trained with (nanoGPT's habit of saving the model arguments).
"""

from __future__ import annotations

import argparse
import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields

# The gradient estimators gvae.gumbel implements. Named here, not there, so that configs,
# cards and the model list work without importing torch (the app's first paint needs none).
ESTIMATORS = ("gumbel", "st-gumbel", "reinmax")
LR_SCHEDULES = ("constant", "cosine")
MAX_SEED = 2**32 - 1  # epoch_order multiplies the seed by ~1e6: stays inside torch's 64 bits


def param(default, help: str, *, low=None, high=None, open_low=False, choices=None, options=None):
    """A config field: default, help text, range [low, high] (or (low, high] with
    open_low), allowed `choices`, and suggested `options` for a form's slider."""
    meta = dict(help=help, low=low, high=high, open_low=open_low, choices=choices, options=options)
    return field(default=default, metadata=meta)


def field_type(f) -> tuple[type, bool]:
    """(int, float or str, whether None is allowed) of a config field."""
    hint = _HINTS[f.name]
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in args if a is not type(None)), type(None) in args
    return hint, False


def _check(owner: str, f, value) -> None:
    """Type, range and choices of one field, from its metadata."""
    kind, optional = field_type(f)
    name, meta = f"{owner}.{f.name}" if owner == "ModelConfig" else f.name, f.metadata
    if value is None:
        if not optional:
            raise ValueError(f"{name} must be set, got None")
        return
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if kind is float and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {value!r}")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ValueError(f"{name} must be one of {', '.join(meta['choices'])}; got {value!r}")
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (value <= low if meta["open_low"] else value < low)
    if too_low or (high is not None and value > high):
        bracket = "(" if meta["open_low"] else "["
        upper = f"{high}]" if high is not None else "inf)"
        raise ValueError(f"{name} must be in {bracket}{low}, {upper}, got {value!r}")


def _validate(config) -> None:
    for f in fields(config):
        _check(type(config).__name__, f, getattr(config, f.name))


@dataclass(frozen=True)
class ModelConfig:
    latent_dim: int = param(20, "N: number of categorical latent variables", low=1, high=1024)
    categorical_dim: int = param(
        10, "K: categories per variable (K = 1 would carry no information)", low=2, high=1024
    )
    hidden: tuple[int, ...] = param((512, 256), "encoder widths; the decoder mirrors them")
    image_size: int = param(784, "28 x 28 MNIST pixels, flattened", low=1, high=1 << 20)

    def __post_init__(self) -> None:
        # A list from JSON becomes a tuple, so configs compare and hash.
        hidden = self.hidden if isinstance(self.hidden, (list, tuple)) else [self.hidden]
        object.__setattr__(self, "hidden", tuple(hidden))
        for f in fields(self):
            if f.name != "hidden":
                _check("ModelConfig", f, getattr(self, f.name))
        if not (
            1 <= len(self.hidden) <= 8
            and all(
                isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 1 << 14
                for h in self.hidden
            )
        ):
            raise ValueError(
                f"ModelConfig.hidden must be 1 to 8 integers in [1, 16384], got {self.hidden!r}"
            )

    @property
    def code_size(self) -> int:
        """Width of the flattened latent code, N * K."""
        return self.latent_dim * self.categorical_dim

    def to_dict(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise ValueError(f"a model config must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {unknown}")
        return cls(**data)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults follow Jang et al. (2017) and the reference article."""

    epochs: int = param(10, "passes over the training set", low=1, high=100_000)
    max_steps: int | None = param(None, "stop after this many steps in total", low=1)
    batch_size: int = param(100, "images per step", low=1, high=60_000)
    lr: float = param(1e-3, "Adam learning rate", low=0, open_low=True, high=10)
    lr_schedule: str = param(
        "constant", "cosine decays lr to lr_min over the whole run", choices=LR_SCHEDULES
    )
    lr_min: float = param(0.0, "final lr of the cosine schedule (at most lr)", low=0, high=10)
    tau0: float = param(1.0, "initial Gumbel-Softmax temperature", low=0, open_low=True, high=100)
    tau_min: float = param(0.5, "temperature floor (at most tau0)", low=0, open_low=True, high=100)
    anneal_rate: float = param(3e-5, "r in tau = max(tau_min, tau0 exp(-r t))", low=0, high=1)
    anneal_every: int = param(1000, "steps between temperature updates", low=1)
    estimator: str = param("gumbel", "gradient estimator (gvae.gumbel)", choices=ESTIMATORS)
    train_size: int | None = param(
        None,
        "train on the first n images (none: all 60,000)",
        low=1,
        high=60_000,
        options=(500, 1000, 5000, 10_000, 60_000),
    )
    seed: int = param(0, "seeds initialization, data order and all noise", low=0, high=MAX_SEED)
    device: str = param("auto", "auto (cuda, then mps, then cpu), cpu, cuda[:i] or mps")

    def __post_init__(self) -> None:
        _validate(self)
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min must be in [0, lr={self.lr}], got {self.lr_min!r}")
        if self.tau_min > self.tau0:
            raise ValueError(f"tau_min must be in (0, tau0={self.tau0}], got {self.tau_min!r}")
        kind, _, index = self.device.partition(":")
        if not (
            self.device == "auto"
            or kind in ("cpu", "mps")
            and not index
            or kind == "cuda"
            and (not index or index.isdigit())
        ):
            raise ValueError(f"device must be auto, cpu, cuda[:i] or mps; got {self.device!r}")

    def steps_per_epoch(self, n_images: int) -> int:
        return max(1, n_images // self.batch_size)

    def total_steps(self, n_images: int) -> int:
        """Optimizer steps of the whole run over `n_images` training images."""
        total = self.epochs * self.steps_per_epoch(n_images)
        return min(total, self.max_steps) if self.max_steps else total

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Known fields only: a state written by an older version still loads."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_HINTS = {**typing.get_type_hints(ModelConfig), **typing.get_type_hints(TrainConfig)}


# -- the command line, generated from the fields -------------------------------------------
def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(
    parser: argparse.ArgumentParser, cls=TrainConfig, defaults=None, exclude=()
) -> None:
    """One option per field of `cls`, with its help, type and choices. Every option
    defaults to None ("not given"), so callers can tell a given flag from a default;
    `from_args` fills in the defaults (from `defaults`, a config, or the class's own)."""
    base = defaults or cls()
    for f in fields(cls):
        if f.name in exclude:
            continue
        kind, _ = field_type(f)
        default = getattr(base, f.name)
        parser.add_argument(
            flag(f.name),
            type=kind,
            default=None,
            choices=f.metadata["choices"],
            help=f"{f.metadata['help']} (default: {default})",
        )


def given(args: argparse.Namespace, cls=TrainConfig) -> dict:
    """The config fields set on the command line."""
    values = {f.name: getattr(args, f.name, None) for f in fields(cls)}
    return {name: value for name, value in values.items() if value is not None}


def from_args(args: argparse.Namespace, cls=TrainConfig, defaults=None):
    """The config that `add_arguments`' options describe; ValueError if it is invalid."""
    base = (defaults or cls()).to_dict()
    return cls.from_dict({**base, **given(args, cls)})


# The Train page's starting point: recognizable digits (test -ELBO <= 130 nats) soon after
# Start, then a little more (all 60,000 images, 7 epochs = 4,200 steps, tau annealed from
# 1 to its floor of 0.5 by step ~700). All the images get there in fewer steps than a
# 10,000-image subset (median 2,722 against 3,157: docs/benchmarks.md, first_digits);
# python -m benchmarks.first_digits times it.
QUICK_DEMO = TrainConfig(epochs=7, train_size=60_000, anneal_rate=1e-3, anneal_every=100)
