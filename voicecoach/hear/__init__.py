"""Hearing: 16 kHz mono 16-bit PCM in, heard commands out. Recognisers know phrases, never exercises.

Every engine implements `Recogniser`; its grammar comes from `voicecoach.core.commands.PHRASES`, so
what can be heard and what the coach understands are one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voicecoach.core.commands import Intent

SAMPLE_RATE = 16_000
SAMPLE_WIDTH_BYTES = 2


@dataclass(frozen=True)
class Heard:
    """One command heard in the audio; times count from the first sample fed to the recogniser."""

    intent: Intent
    phrase: str
    confidence: float
    start_seconds: float
    end_seconds: float


class Recogniser(Protocol):
    """A streaming command recogniser."""

    name: str

    def feed(self, pcm: bytes) -> list[Heard]:
        """Take the next chunk of 16 kHz mono 16-bit little-endian PCM, any length; return what was
        heard in it (usually nothing)."""

    def flush(self) -> list[Heard]:
        """The audio has ended (or paused for good): decide on whatever is pending."""

    def listen_for(self, intents: frozenset[Intent]) -> None:
        """Narrow the grammar to the intents that make sense now (all of them until told)."""
