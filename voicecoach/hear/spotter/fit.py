"""Training the head with plain numpy: back-propagation by hand, Adam, class weights, label smoothing.

`train` builds a head from scratch (`voicecoach train-spotter`); `fine_tune` moves a trained one
towards a user's voice on the device (enrolment), with some layers frozen and the rest pulled back
towards where they started.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from voicecoach.hear.spotter.head import WINDOW, Head, unfold

log = logging.getLogger(__name__)


def _fold(grad: np.ndarray, kernel: int, dilation: int, time_steps: int) -> np.ndarray:
    """The gradient of `unfold`: (batch, steps, kernel*channels) back to (batch, time, channels)."""
    batch, steps, width = grad.shape
    channels = width // kernel
    out = np.zeros((batch, time_steps, channels), dtype=grad.dtype)
    for j in range(kernel):
        out[:, j * dilation : j * dilation + steps] += grad[:, :, j * channels : (j + 1) * channels]
    return out


def new_head(mean: np.ndarray, std: np.ndarray, classes: int, hidden: int, rng: np.random.Generator) -> Head:
    def he(fan_in: int, fan_out: int) -> np.ndarray:
        return (rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out))).astype(np.float32)

    dim = len(mean)
    return Head(
        mean.astype(np.float32),
        std.astype(np.float32),
        he(3 * dim, hidden),
        np.zeros(hidden, np.float32),
        he(3 * hidden, hidden),
        np.zeros(hidden, np.float32),
        (he(2 * hidden, classes) * 0.5),
        np.zeros(classes, np.float32),
    )


def gradients(
    head: Head,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    smoothing: float,
    dropout: float,
    rng: np.random.Generator,
    sample_weights: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients for one batch of normalised windows x (batch, 16, 96) with labels y;
    `weights` per class, `sample_weights` (optional) per window."""
    batch = len(x)
    u1 = unfold(x, 3, 1)
    h1 = np.maximum(u1 @ head.w1 + head.b1, 0)
    u2 = unfold(h1, 3, 2)
    h2 = np.maximum(u2 @ head.w2 + head.b2, 0)
    arg = h2.argmax(axis=1)
    pooled = np.concatenate([h2.max(axis=1), h2[:, -1]], axis=1)
    keep = (rng.random(pooled.shape) >= dropout).astype(np.float32) / (1 - dropout)
    dropped = pooled * keep
    z = dropped @ head.w3 + head.b3
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    classes = p.shape[1]
    target = np.full((batch, classes), smoothing / classes, dtype=np.float32)
    target[np.arange(batch), y] += 1 - smoothing
    each = weights[y] if sample_weights is None else weights[y] * sample_weights
    w = each[:, None] / each.sum()
    loss = float(-(w * target * np.log(p + 1e-9)).sum())
    dz = (p - target) * w
    grads = {"w3": dropped.T @ dz, "b3": dz.sum(axis=0)}
    dpool = (dz @ head.w3.T) * keep
    hidden = h2.shape[2]
    dh2 = np.zeros_like(h2)
    b_idx, c_idx = np.meshgrid(np.arange(batch), np.arange(hidden), indexing="ij")
    dh2[b_idx, arg, c_idx] += dpool[:, :hidden]
    dh2[:, -1] += dpool[:, hidden:]
    dh2 *= h2 > 0
    grads["w2"] = u2.reshape(-1, u2.shape[2]).T @ dh2.reshape(-1, hidden)
    grads["b2"] = dh2.sum(axis=(0, 1))
    dh1 = _fold(dh2 @ head.w2.T, 3, 2, h1.shape[1]) * (h1 > 0)
    grads["w1"] = u1.reshape(-1, u1.shape[2]).T @ dh1.reshape(-1, dh1.shape[2])
    grads["b1"] = dh1.sum(axis=(0, 1))
    return loss, grads


def train(
    windows: np.ndarray,
    labels: np.ndarray,
    classes: int,
    *,
    hidden: int = 32,
    epochs: int = 30,
    batch: int = 256,
    rate: float = 2e-3,
    decay: float = 1e-4,
    smoothing: float = 0.05,
    dropout: float = 0.2,
    input_noise: float = 0.15,
    seed: int = 0,
    none_weight: float = 1.0,
    sample_weights: np.ndarray | None = None,
) -> Head:
    """A head trained on windows (n, 16, 96) float16 and labels (n,); classes are balanced by weight,
    and `sample_weights` (optional) weigh windows within a class."""
    rng = np.random.default_rng(seed)
    flat = windows.reshape(-1, windows.shape[2]).astype(np.float32)
    mean, std = flat.mean(axis=0), flat.std(axis=0) + 1e-3
    head = new_head(mean, std, classes, hidden, rng)
    weights = class_weights(labels, classes, none_weight)
    _adam(
        head, windows, labels, weights, epochs, batch, rate, decay, smoothing, dropout, input_noise, rng, sample_weights
    )
    return head


TRAINABLE = ("w1", "b1", "w2", "b2", "w3", "b3")


def class_weights(labels: np.ndarray, classes: int, none_weight: float = 1.0) -> np.ndarray:
    """A weight per class, balancing rare classes against common ones (the square root of the ratio)."""
    counts = np.bincount(labels, minlength=classes).astype(np.float32)
    weights = np.where(counts > 0, (counts.sum() / classes) / np.maximum(counts, 1), 0.0) ** 0.5
    weights[0] *= none_weight
    return weights.astype(np.float32)


def _adam(
    head: Head,
    windows: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    batch: int,
    rate: float,
    decay: float,
    smoothing: float,
    dropout: float,
    input_noise: float,
    rng: np.random.Generator,
    sample_weights: np.ndarray | None,
    names: tuple[str, ...] = TRAINABLE,
    anchor: dict[str, np.ndarray] | None = None,
    level: int = logging.INFO,
) -> None:
    """Adam over `names` with a cosine-decaying rate; `decay` pulls each weight towards its value in
    `anchor` (towards zero without one)."""
    m = {k: np.zeros_like(getattr(head, k)) for k in names}
    v = {k: np.zeros_like(getattr(head, k)) for k in names}
    step = 0
    started = time.process_time()
    for epoch in range(epochs):
        order = rng.permutation(len(windows))
        lr = rate * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        total = 0.0
        for first in range(0, len(order), batch):
            pick = order[first : first + batch]
            x = (windows[pick].astype(np.float32) - head.mean) / head.std
            x += rng.normal(0, input_noise, x.shape).astype(np.float32)
            picked = None if sample_weights is None else sample_weights[pick]
            loss, grads = gradients(head, x, labels[pick], weights, smoothing, dropout, rng, picked)
            total += loss * len(pick)
            step += 1
            for k in names:
                w = getattr(head, k)
                g = grads[k] + decay * (w - anchor[k] if anchor is not None else w)
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                mh, vh = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                setattr(head, k, (w - lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32))
        log.log(level, "epoch %d: loss %.4f (%.0f s)", epoch + 1, total / len(order), time.process_time() - started)


def fine_tune(
    base: Head,
    windows: np.ndarray,
    labels: np.ndarray,
    *,
    trainable: tuple[str, ...] = TRAINABLE,
    anchor_weight: float = 1e-2,
    epochs: int = 8,
    batch: int = 128,
    rate: float = 1e-3,
    smoothing: float = 0.05,
    dropout: float = 0.2,
    input_noise: float = 0.1,
    seed: int = 0,
    sample_weights: np.ndarray | None = None,
    none_weight: float = 1.0,
) -> Head:
    """A copy of `base` trained further on windows (n, 16, 96) and labels (n,): only the arrays in
    `trainable` move, each pulled back towards `base` by `anchor_weight`; the input normalisation
    stays the base's, so the windows mean what they meant to it."""
    rng = np.random.default_rng(seed)
    head = Head(**{name: array.copy() for name, array in base.arrays().items()})
    anchor = {k: getattr(base, k) for k in trainable}
    weights = class_weights(labels, head.w3.shape[1], none_weight)
    _adam(
        head,
        windows,
        labels,
        weights,
        epochs,
        batch,
        rate,
        anchor_weight,
        smoothing,
        dropout,
        input_noise,
        rng,
        sample_weights,
        trainable,
        anchor,
        logging.DEBUG,
    )
    return head


def merge(heads: list[Head]) -> Head:
    """One head whose scores are the mean of `heads`' (an ensemble, run as one wider head): the
    convolutions side by side (the second block-diagonal, each member reading only its own
    channels), the last layer stacked and divided by the count. The members must share their input
    normalisation, as heads trained on the same windows do."""
    first, count = heads[0], len(heads)
    if any(not (np.array_equal(h.mean, first.mean) and np.array_equal(h.std, first.std)) for h in heads):
        raise ValueError("heads with different input normalisation cannot be merged")
    hidden = first.b1.shape[0]
    taps = first.w2.shape[0] // hidden
    wide = hidden * count
    w2 = np.zeros((taps * wide, wide), np.float32)
    w3 = np.zeros((2 * wide, first.w3.shape[1]), np.float32)
    for m, h in enumerate(heads):
        own = slice(m * hidden, (m + 1) * hidden)
        for tap in range(taps):
            w2[tap * wide + m * hidden : tap * wide + (m + 1) * hidden, own] = h.w2[tap * hidden : (tap + 1) * hidden]
        w3[own] = h.w3[:hidden] / count  # the maximum over time
        w3[wide + m * hidden : wide + (m + 1) * hidden] = h.w3[hidden:] / count  # the last step
    return Head(
        first.mean,
        first.std,
        np.concatenate([h.w1 for h in heads], axis=1),
        np.concatenate([h.b1 for h in heads]),
        w2,
        np.concatenate([h.b2 for h in heads]),
        w3,
        np.mean([h.b3 for h in heads], axis=0).astype(np.float32),
    )


def stack(embeddings: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Windows (n, 16, 96) ending at each of `ends`."""
    return embeddings[ends[:, None] - np.arange(WINDOW - 1, -1, -1)[None, :]]
