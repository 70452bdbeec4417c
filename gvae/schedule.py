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

    @classmethod
    def of(cls, config) -> TemperatureSchedule:
        """The schedule of a TrainConfig, whose values were validated when it was made."""
        return cls(config.tau0, config.tau_min, config.anneal_rate, config.anneal_every)

    def __call__(self, step: int) -> float:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        t = (step // self.every) * self.every
        return max(self.tau_min, self.tau0 * math.exp(-self.rate * t))
