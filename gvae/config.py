"""Configuration dataclasses: what the model is, and how it is trained.

Checkpoints store `ModelConfig` as a plain dict, so a loaded file rebuilds exactly the
architecture it was trained with (nanoGPT's habit of saving the model arguments).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

# The gradient estimators gvae.gumbel implements. Named here, not there, so that configs,
# cards and the model list work without importing torch (the app's first paint needs none).
ESTIMATORS = ("gumbel", "st-gumbel", "reinmax")
LR_SCHEDULES = ("constant", "cosine")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class ModelConfig:
    latent_dim: int = 20  # N: number of categorical latent variables
    categorical_dim: int = 10  # K: categories per variable
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    image_size: int = 784  # 28 x 28 MNIST pixels, flattened

    def __post_init__(self) -> None:
        # A list from JSON or a checkpoint becomes a tuple, so configs compare and hash.
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for name in ("latent_dim", "categorical_dim", "image_size"):
            value = getattr(self, name)
            _require(
                isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                f"ModelConfig.{name} must be a positive integer, got {value!r}",
            )
        _require(
            self.categorical_dim >= 2,
            f"ModelConfig.categorical_dim must be at least 2 (a categorical with one "
            f"category carries no information), got {self.categorical_dim}",
        )
        _require(
            len(self.hidden) >= 1
            and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in self.hidden),
            f"ModelConfig.hidden must be a non-empty sequence of positive integers, "
            f"got {self.hidden!r}",
        )

    @property
    def code_size(self) -> int:
        """Width of the flattened latent code, N * K."""
        return self.latent_dim * self.categorical_dim

    def to_dict(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        _require(not unknown, f"unknown ModelConfig fields: {unknown}")
        return cls(**data)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults follow Jang et al. (2017) and the reference article."""

    epochs: int = 10
    max_steps: int | None = None  # stop early after this many optimizer steps in total
    batch_size: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"  # "cosine" decays lr to lr_min over the whole run
    lr_min: float = 0.0
    tau0: float = 1.0  # initial Gumbel-Softmax temperature
    tau_min: float = 0.5  # floor of the annealed temperature
    anneal_rate: float = 3e-5  # r in tau_t = max(tau_min, tau0 * exp(-r t))
    anneal_every: int = 1000  # recompute tau every this many steps
    estimator: str = "gumbel"  # gradient estimator, one of ESTIMATORS (gvae.gumbel)
    train_size: int | None = None  # use the first n training images (None: all 60,000)
    seed: int = 0
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu

    def __post_init__(self) -> None:
        def positive_int(name: str) -> None:
            v = getattr(self, name)
            _require(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                f"{name} must be a positive integer, got {v!r}",
            )

        for name in ("epochs", "batch_size", "anneal_every"):
            positive_int(name)
        if self.max_steps is not None:
            positive_int("max_steps")
        if self.train_size is not None:
            positive_int("train_size")
        _require(
            isinstance(self.seed, int) and self.seed >= 0, f"seed must be >= 0, got {self.seed!r}"
        )
        _require(0 < self.lr < 10, f"lr must be in (0, 10), got {self.lr!r}")
        _require(0 <= self.lr_min <= self.lr, f"lr_min must be in [0, lr], got {self.lr_min!r}")
        _require(self.tau0 > 0, f"tau0 must be > 0, got {self.tau0!r}")
        _require(
            0 < self.tau_min <= self.tau0,
            f"tau_min must be in (0, tau0={self.tau0}], got {self.tau_min!r}",
        )
        _require(self.anneal_rate >= 0, f"anneal_rate must be >= 0, got {self.anneal_rate!r}")
        _require(
            self.estimator in ESTIMATORS,
            f"estimator must be one of {', '.join(ESTIMATORS)}; got {self.estimator!r}",
        )
        _require(
            self.lr_schedule in LR_SCHEDULES,
            f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {self.lr_schedule!r}",
        )
        _require(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps"),
            f"device must be auto, cpu, cuda[:i] or mps; got {self.device!r}",
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# The Train page's starting point: recognizable digits (test -ELBO <= 130 nats) about
# 3,000 steps after Start, within the run (10,000 images, 4,000 steps, tau annealed from 1
# to its floor of 0.5 by step ~700). python -m benchmarks.first_digits times it.
QUICK_DEMO = TrainConfig(epochs=40, train_size=10_000, anneal_rate=1e-3, anneal_every=100)
