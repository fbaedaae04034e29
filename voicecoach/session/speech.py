"""Spoken output: each utterance rendered, played through our own stream, and told to the EchoGuard.

The volume is a gain applied as each clip is played (and to the echo canceller's reference, which
must be what the speaker really plays), never a setting of the synthesiser: renders are made once,
at full volume, and a change of volume ("louder", "quieter") renders nothing again and leaves the
disk cache as it is.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from voicecoach.audio import AudioOutput
from voicecoach.core.events import SpeechFinished
from voicecoach.errors import AudioError
from voicecoach.hear.reference import ReferenceTrack
from voicecoach.session.bargein import EchoGuard
from voicecoach.session.loop import RealClock, VirtualClock
from voicecoach.speak import Audio, Synthesiser

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class SpokenOutput:
    """The loop's Speaker: renders each utterance and plays it through our own output stream.

    With a virtual clock the utterance is finished when its audio would end; with a real one, when
    the output stream says so. Either way the EchoGuard learns what is said and when."""

    def __init__(
        self,
        synthesiser: Synthesiser,
        output: AudioOutput,
        clock: VirtualClock | RealClock,
        guard: EchoGuard,
        virtual: bool,
        reference: ReferenceTrack | None = None,
        volume: float = 1.0,
    ):
        self.synthesiser, self.output, self.clock, self.guard = synthesiser, output, clock, guard
        self.virtual = virtual
        self.reference = reference
        self.volume = volume  # a gain on every clip from now on; what is already queued plays as it was
        self._busy_until = 0.0

    @property
    def busy_until(self) -> float:
        """When what has been queued so far will have been said (clock time)."""
        return self._busy_until

    def say(self, text: str, utterance: int, now: float) -> None:
        self._play(self.synthesiser.render(text), utterance, now)

    def cue(self, name: str, now: float) -> None:
        from voicecoach.speak.tones import tone

        self._play(tone(name), 0, now)

    def set_volume(self, volume: float, now: float) -> None:
        self.volume = volume

    def stop(self, now: float) -> None:
        self.output.stop()
        self._busy_until = now
        self.guard.cut(now)
        if self.reference is not None:
            self.reference.cut(now)

    def _play(self, audio: Audio, utterance: int, now: float) -> None:
        audio = at_volume(audio, self.volume)
        start = max(now, self._busy_until)
        end = self._busy_until = start + audio.duration_seconds
        if audio.text:
            self.guard.spoke(audio.text, start, end)
        if self.reference is not None:
            self.reference.add(audio.samples, audio.sample_rate, start)
        if self.virtual:
            self.output.play(audio)
            if utterance:
                self.clock.schedule(end, SpeechFinished(utterance, end))
            return

        def done(complete: bool, text: str = audio.text) -> None:
            if complete and text:
                self.guard.finished(text, self.clock.now())
            if utterance:
                assert isinstance(self.clock, RealClock), "only a real clock plays in real time"
                self.clock.post(partial(SpeechFinished, utterance))

        try:
            self.output.play(audio, on_done=done)
        except AudioError as error:  # the speaker is gone: nothing is heard, the coach is not kept waiting
            log.warning("not said, %s: %r", error, audio.text)
            self._busy_until = now
            done(False)

    def replace_output(self, output: AudioOutput) -> AudioOutput:
        """Play through `output` from now on (a speaker found again); returns the old one."""
        old, self.output = self.output, output
        self._busy_until = self.clock.now()
        return old


def at_volume(audio: Audio, volume: float) -> Audio:
    """`audio` with its samples scaled by `volume` (the same clip when that is 1.0)."""
    if volume == 1.0 or not len(audio.samples):
        return audio
    import numpy as np

    scaled = np.clip(np.round(audio.samples.astype(np.float32) * volume), -32768, 32767).astype(np.int16)
    return Audio(samples=scaled, sample_rate=audio.sample_rate, text=audio.text)
