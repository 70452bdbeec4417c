"""Temperature annealing for the Gumbel-Softmax relaxation (Jang et al. 2017, section 4.1).

tau_t = max(tau_min, tau0 * exp(-rate * t)), t the global step floored to a multiple of
`every`. A pure function of the global step, so a resumed run continues the same curve.
(The reference article multiplies the current tau by exp(-rate * batch_idx) instead,
which compounds within an epoch and restarts every epoch.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TemperatureSchedule:
    tau0: float = 1.0
    tau_min: float = 0.5
    rate: float = 3e-5
    every: int = 1000

    def __post_init__(self) -> None:
        if not self.tau0 > 0:
            raise ValueError(f"tau0 must be > 0, got {self.tau0!r}")
        if not 0 < self.tau_min <= self.tau0:
            raise ValueError(f"tau_min must be in (0, tau0={self.tau0}], got {self.tau_min!r}")
        if not self.rate >= 0:
            raise ValueError(f"rate must be >= 0, got {self.rate!r}")
        if not (isinstance(self.every, int) and self.every >= 1):
            raise ValueError(f"every must be a positive integer, got {self.every!r}")

    def __call__(self, step: int) -> float:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        t = (step // self.every) * self.every
        return max(self.tau_min, self.tau0 * math.exp(-self.rate * t))
