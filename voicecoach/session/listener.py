"""The listener: microphone audio through the echo canceller to the recogniser, judged by the EchoGuard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.core.commands import Intent
from voicecoach.core.events import Command
from voicecoach.hear import SAMPLE_RATE, Heard, Recogniser
from voicecoach.hear.echo import EchoCanceller
from voicecoach.hear.reference import EchoPresence, ReferenceTrack
from voicecoach.session.bargein import EchoGuard
from voicecoach.session.loop import Timeline

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
REALIGN_SECONDS = (1.0, 30.0)  # of audio: how often the listener checks the microphone's time against the
# clock, at first (the first chunks may have waited in the queue for seconds) and at most (the window doubles)
ALIGN_TOLERANCE_SECONDS = 0.01


class Listener:
    """Feeds microphone audio to the recogniser and judges what it hears against the EchoGuard.

    With an echo canceller and the reference track, the coach's own voice is first taken out of
    the audio. Heard times are in the audio; `origin` is the session time at which it began."""

    def __init__(
        self,
        recogniser: Recogniser,
        guard: EchoGuard,
        timeline: Timeline,
        origin: float = 0.0,
        canceller: EchoCanceller | None = None,
        reference: ReferenceTrack | None = None,
    ):
        self.recogniser, self.guard, self.timeline, self.origin = recogniser, guard, timeline, origin
        self.canceller, self.reference = canceller, reference
        self.echo = EchoPresence()
        self._cancelling = False
        self._intents: frozenset[Intent] | None = None
        self.fed_seconds = 0.0  # audio fed to the recogniser so far
        self._least_lag = float("inf")
        self._window_from = 0.0
        self._window_seconds = REALIGN_SECONDS[0]
        # While enrolment has the microphone, every chunk (echo cancelled) goes here instead and no
        # command is taken; the recogniser still hears it, so its time stays the microphone's.
        self.divert: Callable[[bytes], None] | None = None

    def align(self, now: float, pcm: bytes) -> None:
        """A microphone (re)opened and `pcm` is its first chunk, read at session time `now`."""
        self.origin = now - self.fed_seconds - len(pcm) / 2 / SAMPLE_RATE
        self._least_lag, self._window_from = float("inf"), self.fed_seconds
        self._window_seconds = REALIGN_SECONDS[0]

    def keep_aligned(self, now: float, pcm: bytes) -> float:
        """`pcm` is the next chunk, read at session time `now`: keep the microphone's time on the clock.

        The microphone counts time in samples, the clock in seconds, and the two never quite agree
        (a sound card's crystal is off by up to 100 ppm, about 3 s in 8 hours), nor does the first
        chunk come fresh (it may have waited in the queue). So the lag of each chunk, how long after
        its last sample it was read, is watched, and at the end of each window of audio (one second
        at first, doubling up to thirty) the least lag seen, that of the chunk read at once, is taken
        out. Returns this chunk's lag."""
        lag = now - (self.origin + self.fed_seconds + len(pcm) / 2 / SAMPLE_RATE)
        self._least_lag = min(self._least_lag, lag)
        if self.fed_seconds - self._window_from >= self._window_seconds:
            if abs(self._least_lag) > ALIGN_TOLERANCE_SECONDS:
                log.debug("microphone time off the clock by %.0f ms; realigned", 1000 * self._least_lag)
                self.origin += self._least_lag
            self._least_lag, self._window_from = float("inf"), self.fed_seconds
            self._window_seconds = min(2 * self._window_seconds, REALIGN_SECONDS[1])
        return lag

    def listen_for(self, intents: frozenset[Intent]) -> None:
        if intents != self._intents:
            self._intents = intents
            self.recogniser.listen_for(intents)

    def hear(self, pcm: bytes, now: float, final: bool = False) -> list[Command]:
        """Commands heard in this chunk, stamped `now` (when they were recognised)."""
        if self.canceller is not None and self.reference is not None and pcm:
            played = self.reference.read(self.origin + self.fed_seconds, len(pcm) // 2)
            cleaned = self.canceller.process(pcm, played)  # always run, so it stays converged
            if self.echo.update(pcm, played) != self._cancelling:
                self._cancelling = self.echo.present
                log.info(
                    "echo %s (correlation %.2f): %s",
                    "found" if self._cancelling else "gone",
                    self.echo.correlation,
                    "cancelling it" if self._cancelling else "using the raw microphone",
                )
            if self._cancelling:
                pcm = cleaned
        self.fed_seconds += len(pcm) / 2 / SAMPLE_RATE
        heard = self.recogniser.flush() if final else self.recogniser.feed(pcm)
        divert = self.divert
        if divert is not None:
            divert(pcm)
            return []
        return [command for h in heard if (command := self._judge(h, now)) is not None]

    def _judge(self, heard: Heard, now: float) -> Command | None:
        lag = self.canceller.delay_samples / SAMPLE_RATE if self._cancelling and self.canceller else 0.0
        start, end = self.origin + heard.start_seconds - lag, self.origin + heard.end_seconds - lag
        reason = self.guard.verdict(heard.intent, heard.phrase, start, end)
        if reason is not None:
            self.timeline.add(
                now,
                "ignored",
                phrase=heard.phrase,
                intent=heard.intent.value,
                confidence=round(heard.confidence, 3),
                reason=reason,
            )
            return None
        log.info(
            "heard %r (%s, %.2f), %.0f ms after it ended",
            heard.phrase,
            heard.intent.value,
            heard.confidence,
            1000 * (now - end),
        )
        return Command(heard.intent, heard.phrase, now, heard.confidence)
