"""A session driven by a microphone recording, with a clock that follows the audio (`simulate --mic`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.core.coach import Coach
from voicecoach.core.events import Command
from voicecoach.core.library import Library
from voicecoach.hear import Recogniser
from voicecoach.hear.reference import ReferenceTrack
from voicecoach.session.bargein import EchoGuard
from voicecoach.session.loop import Entry, Timeline, VirtualClock, run
from voicecoach.session.settings import Config
from voicecoach.session.simulate import Said
from voicecoach.speak import Synthesiser

if TYPE_CHECKING:
    pass
from voicecoach.session.listener import Listener
from voicecoach.session.speech import SpokenOutput

log = logging.getLogger(__name__)


def simulate_from_wav(
    library: Library,
    routine: str,
    wav: Path,
    said: Sequence[Said] = (),
    *,
    show: Callable[[Entry], None] | None = None,
    engine: str = "auto",
    model: Path | None = None,
    speaker_out: Path | None = None,
    recogniser: Recogniser | None = None,
    synthesiser: Synthesiser | None = None,
    echo: str = "auto",
    room_echo_db: float | None = None,
    settings: Config | None = None,
) -> Timeline:
    """`voicecoach simulate --mic IN.wav`: the real recogniser and synthesiser, a clock that follows
    the audio; when the recording ends the session goes on in virtual time until it finishes.

    `echo` chooses the echo canceller (one of `echo.KINDS`). `room_echo_db` simulates a room:
    the coach's own voice is added to the microphone at that level (e.g. -10), 40 ms late."""
    from voicecoach.audio.fakes import RecordingSpeaker, WavMicrophone
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.hear.engines import open_recogniser
    from voicecoach.session.voices import open_synthesiser

    microphone = WavMicrophone(wav, chunk_seconds=0.05)
    recogniser = recogniser or open_recogniser(engine, model)
    clock = VirtualClock()
    for s in said:
        clock.schedule(s.seconds, Command(s.intent, s.phrase, s.seconds))
    settings = settings or Config()
    guard = EchoGuard(settings.guard_settings())
    timeline = Timeline(show)
    recording = RecordingSpeaker(clock=clock.now)
    reference = ReferenceTrack()
    coach = Coach(library, routine, settings.pace(), volume=settings.start_volume())
    speaker = SpokenOutput(
        synthesiser or open_synthesiser(settings),
        recording,
        clock,
        guard,
        virtual=True,
        reference=reference,
        volume=coach.volume.level,
    )
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(echo), reference=reference)
    room = _Room(reference, room_echo_db) if room_echo_db is not None else None
    ended = run(coach, clock, speaker, timeline, start=True, until=0.0)
    while ended is None and not microphone.ended:
        start = microphone.position_seconds
        pcm = microphone.read()
        now = microphone.position_seconds
        ended = run(coach, clock, speaker, timeline, start=False, until=now)  # what plays during the chunk
        if ended is None:
            if room is not None:
                pcm = room.leak(pcm, start)
            listener.listen_for(coach.listening_for())
            ended = _act_on(listener.hear(pcm, now), coach, clock, speaker, timeline)
    if ended is None:
        ended = _act_on(listener.hear(b"", clock.now(), final=True), coach, clock, speaker, timeline)
    if ended is None:
        run(coach, clock, speaker, timeline, start=False)
    if speaker_out:
        recording.write_wav(Path(speaker_out))
    return timeline


class _Room:
    """A simulated room: the speaker's sound reaches the microphone, quieter and a little late."""

    DELAY_SECONDS = 0.04

    def __init__(self, reference: ReferenceTrack, level_db: float):
        self.reference, self.gain = reference, 10 ** (level_db / 20)

    def leak(self, pcm: bytes, start: float) -> bytes:
        import numpy as np

        played = np.frombuffer(self.reference.read(start - self.DELAY_SECONDS, len(pcm) // 2), dtype="<i2")
        mixed = np.frombuffer(pcm, dtype="<i2").astype(np.float32) + self.gain * played
        return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()


def _act_on(commands: list[Command], coach: Coach, clock: VirtualClock, speaker: SpokenOutput, timeline: Timeline):
    for command in commands:
        clock.schedule(command.now, command)
    return run(coach, clock, speaker, timeline, start=False, until=clock.now()) if commands else None
