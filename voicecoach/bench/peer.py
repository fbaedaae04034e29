"""The naive peer: PocketSphinx's full English language model, then command phrases looked up in the text."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import pocketsphinx

from voicecoach.core import commands
from voicecoach.core.commands import Intent
from voicecoach.hear import SAMPLE_RATE, Heard

log = logging.getLogger(__name__)

FRAMES_PER_SECOND = 100
_ALTERNATE = re.compile(r"\(\d+\)$")


class NaivePeer:
    """What simple voice projects do (PocketSphinx's own `LiveSpeech` loop): its Endpointer cuts the
    stream, the default decoder transcribes each stretch with the full language model, and any
    command phrase found in the words is a command. No grammar, no rejection, no narrowing."""

    name = "peer-pocketsphinx-lm"

    def __init__(self, phrases: Mapping[str, Intent] | None = None) -> None:
        self.phrases = dict(commands.PHRASES if phrases is None else phrases)
        self._longest = max(len(p.split()) for p in self.phrases)
        self._decoder = pocketsphinx.Decoder(loglevel="FATAL")
        self._endpointer = pocketsphinx.Endpointer()
        self._pending = b""
        self._fed_bytes = 0  # everything fed; Heard times count from the first sample
        self._origin = 0.0  # where the current endpointer's clock started
        self._in_utterance = False
        self._utterance_start = 0.0
        self.transcripts: list[tuple[float, str]] = []  # (start seconds, text) of every stretch decoded

    def listen_for(self, intents: frozenset[Intent]) -> None:
        """A naive project listens for everything, always."""

    def feed(self, pcm: bytes) -> list[Heard]:
        self._fed_bytes += len(pcm)
        self._pending += pcm
        size = self._endpointer.frame_bytes
        heard: list[Heard] = []
        while len(self._pending) >= size:
            frame, self._pending = self._pending[:size], self._pending[size:]
            heard += self._take(self._endpointer.process(frame), final=False)
        return heard

    def flush(self) -> list[Heard]:
        """The stream ended: decode what is pending; the next feed starts a new stream."""
        size = self._endpointer.frame_bytes
        pending, self._pending = self._pending, b""
        heard = self._take(self._endpointer.process(pending.ljust(size, b"\0")), final=True) if pending else []
        if self._in_utterance:
            heard += self._take(None, final=True)
        self._endpointer = pocketsphinx.Endpointer()
        self._origin = self._fed_bytes / 2 / SAMPLE_RATE
        return heard

    def _take(self, speech: bytes | None, final: bool) -> list[Heard]:
        if speech is not None:
            if not self._in_utterance:
                self._decoder.start_utt()
                self._in_utterance = True
                self._utterance_start = self._origin + self._endpointer.speech_start
            self._decoder.process_raw(speech)
        if self._in_utterance and (final or not self._endpointer.in_speech):
            self._decoder.end_utt()
            self._in_utterance = False
            return self._match()
        return []

    def _match(self) -> list[Heard]:
        """Command phrases in the transcript, longest first, left to right."""
        words = [
            (_ALTERNATE.sub("", s.word).lower(), s.start_frame, s.end_frame)
            for s in self._decoder.seg()
            if not s.word.startswith(("<", "[", "+"))
        ]
        text = " ".join(w for w, _, _ in words)
        if text:
            self.transcripts.append((self._utterance_start, text))
        heard, i = [], 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                phrase = " ".join(w for w, _, _ in words[i : i + n])
                if phrase in self.phrases:
                    start = self._utterance_start + words[i][1] / FRAMES_PER_SECOND
                    end = self._utterance_start + (words[i + n - 1][2] + 1) / FRAMES_PER_SECOND
                    heard.append(Heard(self.phrases[phrase], phrase, 1.0, start, end))
                    i += n
                    break
            else:
                i += 1
        return heard
