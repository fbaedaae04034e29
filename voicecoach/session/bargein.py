"""Barge-in without hearing itself: was a heard command the user, or the coach's own voice?

The coach keeps listening while it talks, and its speaker leaks into the microphone. Two rules
decide, from what the coach said and when (times on the session clock):

1. While the coach is speaking, and for `tail_seconds` after (room echo, output latency), only the
   intents that must act at once (pause, stop, skip) can interrupt; anything else heard then is
   taken as the coach hearing itself ("next exercise", "hold", numbers).
2. A command whose every word is in what the coach was saying at that moment ("Say pause at any
   time", "Stopping here") is its own voice, whatever the intent.

Pure logic, no audio: the speaker reports what it played, the listener asks for a verdict.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from voicecoach.core.commands import IMMEDIATE, Intent, normalise


@dataclass(frozen=True)
class GuardSettings:
    """How long after speech the guard stays wary, and how much history it keeps."""

    tail_seconds: float = 0.6
    history_seconds: float = 60.0


@dataclass
class _Spoken:
    text: str
    start: float
    end: float
    words: frozenset[str]


class EchoGuard:
    """Remembers what the coach said and when; judges heard commands against it."""

    def __init__(self, settings: GuardSettings = GuardSettings()):
        self.settings = settings
        self._spoken: collections.deque[_Spoken] = collections.deque()
        self._lock = threading.Lock()  # the speaker's, the listener's and the loop's threads all use it

    def spoke(self, text: str, start: float, end: float) -> None:
        """The coach says `text` from `start` to `end` (an estimate; `cut` or `finished` corrects it)."""
        with self._lock:
            self._spoken.append(_Spoken(text, start, end, frozenset(normalise(text).split())))
            while self._spoken and self._spoken[0].end < end - self.settings.history_seconds:
                self._spoken.popleft()

    def cut(self, now: float) -> None:
        """The speaker was silenced at `now`: what was queued was never heard, what played stopped."""
        with self._lock:
            self._spoken = collections.deque(s for s in self._spoken if s.start < now)
            for spoken in self._spoken:
                spoken.end = min(spoken.end, now)

    def finished(self, text: str, now: float) -> None:
        """The speaker reports that the clip saying `text` ended at `now`."""
        with self._lock:
            for spoken in reversed(self._spoken):
                if spoken.text == text and spoken.start <= now:
                    spoken.end = now
                    return

    def speaking_during(self, start: float, end: float) -> list[str]:
        """What the coach was saying at any moment from `start` to `end` (with the tail)."""
        with self._lock:
            return [s.text for s in self._overlapping(start, end)]

    def _overlapping(self, start: float, end: float) -> list[_Spoken]:
        tail = self.settings.tail_seconds
        return [s for s in self._spoken if s.start < end and start < s.end + tail]

    def verdict(self, intent: Intent, phrase: str, start: float, end: float) -> str | None:
        """None to accept the command; otherwise why it is taken as the coach's own voice."""
        with self._lock:
            overlapping = self._overlapping(start, end)
        if not overlapping:
            return None
        if intent not in IMMEDIATE:
            return "only pause, stop and skip can interrupt speech"
        words = normalise(phrase).split()
        for spoken in overlapping:
            if all(any(said.startswith(word) for said in spoken.words) for word in words):
                return f"the coach was saying it: {spoken.text!r}"
        return None
