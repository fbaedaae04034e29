"""Speaking: phrases in, rendered audio out; the shapes shared by synthesisers, speakers and fakes.

This module imports nothing heavy: `Audio` holds a numpy array, but numpy is only imported by the
modules that make or play one (`tts`, `tones`, `voicecoach.audio`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    import numpy as np

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
