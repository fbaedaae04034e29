"""From class probabilities every 80 ms to commands: one rule, used at run time and when tuning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Decider:
    """Fires the likeliest allowed intent once its probability has reached the threshold at
    `persist_steps` steps in a row (a lone spike is not a command), then stays quiet for
    `refractory_steps` steps so one phrase is one command. Class 0 is "none"."""

    threshold: float
    refractory_steps: int
    persist_steps: int = 1
    quiet_until: int = 0
    step: int = 0
    _candidate: int = 0
    _run: int = 0

    def __call__(self, probabilities: np.ndarray, allowed: np.ndarray) -> int | None:
        """The class fired at this step (None: nothing); `allowed` masks the classes listened for."""
        self.step += 1
        scores = np.where(allowed, probabilities, 0.0)
        scores[0] = 0.0
        best = int(scores.argmax())
        if scores[best] >= self.threshold:
            self._run = self._run + 1 if best == self._candidate else 1
            self._candidate = best
        else:
            self._run, self._candidate = 0, 0
        if self.step <= self.quiet_until or self._run < self.persist_steps:
            return None
        self.quiet_until = self.step + self.refractory_steps
        self._run, self._candidate = 0, 0
        return best


def fired(
    probabilities: np.ndarray, threshold: float, refractory_steps: int, persist_steps: int = 1
) -> list[tuple[int, int]]:
    """(step, class) of every command fired over a sequence of probabilities (steps, classes)."""
    decider = Decider(threshold, refractory_steps, persist_steps)
    allowed = np.ones(probabilities.shape[1], dtype=bool)
    events = []
    for step, row in enumerate(probabilities):
        cls = decider(row, allowed)
        if cls is not None:
            events.append((step, cls))
    return events
