"""Running a recogniser over a stream through its live path, and scoring what it heard against the clips."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voicecoach.bench.stream import Placed
from voicecoach.core.commands import Intent
from voicecoach.hear import SAMPLE_RATE, Heard, Recogniser

log = logging.getLogger(__name__)

CHUNK_SAMPLES = (320, 512, 640, 1024)  # 20, 32, 40 and 64 ms, as audio callbacks deliver it


@dataclass(frozen=True)
class Event:
    """A Heard, and the stream position (seconds) at which feed() returned it."""

    heard: Heard
    returned_seconds: float
    reason: str | None = None  # why the barge-in guard ignored it (None: it got through)


@dataclass
class Parts:
    """What each engine inside a fused recogniser would have acted on alone (its `take_alone`), as
    events on the same stream, and the CPU seconds each took."""

    events: dict[str, list[Event]] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    audio_seconds: float = 0.0


@dataclass
class Cost:
    """CPU seconds spent inside recogniser calls, and the audio seconds they were given.

    Keep one Cost per recogniser: its audio_seconds is also where the recogniser's clock stands
    (Heard times count from the first sample it was ever fed)."""

    cpu_seconds: float = 0.0
    audio_seconds: float = 0.0

    def add(self, other: Cost) -> None:
        self.cpu_seconds += other.cpu_seconds
        self.audio_seconds += other.audio_seconds


def run(
    recogniser: Recogniser,
    stream: np.ndarray,
    rng: np.random.Generator,
    cost: Cost,
    before_chunk: Callable[[int, np.ndarray], np.ndarray] | None = None,
    judge: Callable[[Heard], str | None] | None = None,
    parts: Parts | None = None,
) -> list[Event]:
    """Feed `stream` in chunks of 20-64 ms, then flush. `before_chunk(first_sample, chunk)` may change
    each chunk first (an echo canceller); its time is not counted as the recogniser's. `judge` gives
    each Heard its verdict at the moment it is returned (the barge-in guard). Event times are
    seconds from the start of `stream`. `parts` collects, from a fused recogniser, what each engine
    inside it would have acted on alone."""
    origin = cost.audio_seconds
    events: list[Event] = []
    take_alone: Callable[[], Any] | None = getattr(recogniser, "take_alone", None) if parts is not None else None

    def alone(returned: float) -> None:
        if take_alone is None or parts is None:
            return
        tally = take_alone()
        for name, heard in tally.heard.items():
            parts.events.setdefault(name, []).extend(event(h, returned) for h in heard)
        for name, seconds in tally.cpu_seconds.items():
            parts.cpu_seconds[name] = parts.cpu_seconds.get(name, 0.0) + seconds

    def event(heard: Heard, returned: float) -> Event:
        here = dataclasses.replace(
            heard, start_seconds=heard.start_seconds - origin, end_seconds=heard.end_seconds - origin
        )
        return Event(here, returned, judge(here) if judge else None)

    at = 0
    while at < len(stream):
        size = int(rng.choice(CHUNK_SAMPLES))
        chunk = stream[at : at + size]
        if before_chunk is not None:
            chunk = before_chunk(at, chunk)
        started = time.process_time()
        heard = recogniser.feed(chunk.astype("<i2").tobytes())
        cost.cpu_seconds += time.process_time() - started
        at += len(chunk)
        events += [event(h, at / SAMPLE_RATE) for h in heard]
        alone(at / SAMPLE_RATE)
    started = time.process_time()
    heard = recogniser.flush()
    cost.cpu_seconds += time.process_time() - started
    alone(len(stream) / SAMPLE_RATE)
    if parts is not None:
        parts.audio_seconds += len(stream) / SAMPLE_RATE
    cost.audio_seconds += len(stream) / SAMPLE_RATE
    return events + [event(h, len(stream) / SAMPLE_RATE) for h in heard]


def overlapping(events: list[Event], place: Placed) -> list[Event]:
    return [
        e for e in events if e.heard.start_seconds < place.end_seconds and place.start_seconds < e.heard.end_seconds
    ]


@dataclass(frozen=True)
class Outcome:
    """What became of one clip: accepted as expected, what else was heard over it, and the latency."""

    accepted: bool
    heard: tuple[str, ...]
    latency_ms: float | None


def score(events: list[Event], placed: list[Placed], expected: list[Intent | None]) -> list[Outcome]:
    """For each clip: accepted when the expected intent is heard with times overlapping the clip."""
    outcomes = []
    for place, intent in zip(placed, expected):
        over = overlapping(events, place)
        hits = [e for e in over if intent is not None and e.heard.intent is intent]
        latency = 1000 * (hits[0].returned_seconds - place.speech_end_seconds) if hits else None
        outcomes.append(Outcome(bool(hits), tuple(e.heard.phrase for e in over), latency))
    return outcomes


def fraction(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None
