"""From class probabilities every 80 ms to commands: one rule, used at run time and when tuning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decider:
    """Fires the likeliest allowed intent whose probability reaches the threshold, then stays quiet
    for `refractory_steps` steps so one phrase is one command. Class 0 is "none"."""

    threshold: float
    refractory_steps: int
    quiet_until: int = 0
    step: int = 0

    def __call__(self, probabilities: np.ndarray, allowed: np.ndarray) -> int | None:
        """The class fired at this step (None: nothing); `allowed` masks the classes listened for."""
        self.step += 1
        if self.step <= self.quiet_until:
            return None
        scores = np.where(allowed, probabilities, 0.0)
        scores[0] = 0.0
        best = int(scores.argmax())
        if scores[best] < self.threshold:
            return None
        self.quiet_until = self.step + self.refractory_steps
        return best


def fired(probabilities: np.ndarray, threshold: float, refractory_steps: int) -> list[tuple[int, int]]:
    """(step, class) of every command fired over a sequence of probabilities (steps, classes)."""
    decider = Decider(threshold, refractory_steps)
    allowed = np.ones(probabilities.shape[1], dtype=bool)
    events = []
    for step, row in enumerate(probabilities):
        cls = decider(row, allowed)
        if cls is not None:
            events.append((step, cls))
    return events
