"""The spotter's head: a small temporal convolution network over 16 speech embeddings (about 2 s).

Two 1-D convolutions (kernel 3, the second dilated by 2) with ReLU, then the maximum over time and
the last time step side by side, then one linear layer to a score for each class ("none" and the
intents). Plain numpy: the weights are a handful of arrays, run the same in training and at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 16
NAMES = ("mean", "std", "w1", "b1", "w2", "b2", "w3", "b3")


def unfold(x: np.ndarray, kernel: int, dilation: int) -> np.ndarray:
    """(batch, time, channels) -> (batch, time - (kernel-1)*dilation, kernel*channels)."""
    span = (kernel - 1) * dilation
    steps = x.shape[1] - span
    return np.concatenate([x[:, j * dilation : j * dilation + steps] for j in range(kernel)], axis=2)


@dataclass
class Head:
    """The weights of the head; `forward` gives class probabilities for windows (batch, 16, 96)."""

    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray  # (3*96, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (3*hidden, hidden)
    b2: np.ndarray
    w3: np.ndarray  # (2*hidden, classes)
    b3: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in NAMES}

    @property
    def parameters(self) -> int:
        return sum(getattr(self, name).size for name in NAMES[2:])

    def logits(self, windows: np.ndarray) -> np.ndarray:
        x = (windows.astype(np.float32) - self.mean) / self.std
        h1 = np.maximum(unfold(x, 3, 1) @ self.w1 + self.b1, 0)
        h2 = np.maximum(unfold(h1, 3, 2) @ self.w2 + self.b2, 0)
        pooled = np.concatenate([h2.max(axis=1), h2[:, -1]], axis=1)
        return pooled @ self.w3 + self.b3

    def forward(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities (batch, classes) for windows (batch, 16, 96)."""
        z = self.logits(windows)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class EnrolledHead(Head):
    """A head fine-tuned on one user's voice (its own weights), heard together with the shipped
    head `base`: each class's probability is the shipped head's, or the user's head's where that is
    higher and the shipped head gives the class at least `gate`. So every command the shipped model
    would act on is still acted on (a voice that was not enrolled loses nothing, but for the second
    of quiet after a command the user's head fired), and the user's
    head can only lift classes the shipped head already finds plausible. `arrays` are the user's."""

    base: Head
    gate: float

    def forward(self, windows: np.ndarray) -> np.ndarray:
        shipped = self.base.forward(windows)
        own = super().forward(windows)
        return np.maximum(shipped, np.where(shipped >= self.gate, own, 0.0))
