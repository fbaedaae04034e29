"""Audio in and out: the small microphone and speaker interfaces, with real and fake implementations.

Real devices live in `microphone`, `speaker` and `devices` (sounddevice/PortAudio); file-backed
fakes for tests and simulation live in `fakes`. This module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from voicecoach.speak import Audio

# Called once per queued clip: True if it played to the end, False if stop() cut or dropped it.
OnDone = Callable[[bool], None]


class AudioInput(Protocol):
    """A source of 16 kHz mono 16-bit little-endian PCM (voicecoach.hear.SAMPLE_RATE)."""

    def read(self, timeout: float | None = None) -> bytes:
        """The next chunk; b"" if none came within `timeout` seconds or the input has ended.
        Raises AudioError when the device has gone away."""

    @property
    def ended(self) -> bool:
        """True once no more audio will come (a file ran out, or the device was closed or lost)."""

    def close(self) -> None: ...


class AudioOutput(Protocol):
    """Plays clips one after another; stop() cuts the current one and drops the rest at once."""

    def play(self, audio: Audio, on_done: OnDone | None = None) -> None: ...

    def stop(self) -> None: ...

    @property
    def now_playing(self) -> str | None:
        """The text of the clip being heard now ("" for a tone), or None when silent."""

    def close(self) -> None: ...
