"""Simulation in virtual time: a whole routine, with commands said at chosen moments, in milliseconds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.core.coach import Coach
from voicecoach.core.commands import PHRASES, Intent, intent_for, normalise
from voicecoach.core.events import Command
from voicecoach.core.library import Library
from voicecoach.core.narration import Pace, Volume
from voicecoach.errors import VoicecoachError
from voicecoach.history.store import History
from voicecoach.session.keeper import SessionKeeper
from voicecoach.session.loop import EstimatedSpeaker, Speaker, Timeline, VirtualClock, run

if TYPE_CHECKING:
    from voicecoach.speak import Synthesiser

_SAY = re.compile(r"^\s*(?:(\d+):)?(\d+(?:\.\d+)?)\s*:\s*(.+)$")


@dataclass(frozen=True)
class Said:
    """A command the simulated user says at `seconds` into the session."""

    seconds: float
    phrase: str
    intent: Intent


def parse_say(text: str) -> Said:
    """ "95:pause" or "1:35:pause" -> Said(95.0, "pause", Intent.PAUSE); a non-command is an error."""
    match = _SAY.match(text)
    if not match:
        raise VoicecoachError(f"--say {text!r} should look like 95:pause or 1:35:pause (time, then the phrase).")
    minutes, seconds, phrase = match.groups()
    intent = intent_for(phrase)
    if intent is None:
        some = ", ".join(sorted({p for p in PHRASES if " " not in p}))
        raise VoicecoachError(f"--say {text!r}: {phrase!r} is not a command; try one of: {some}.")
    return Said(int(minutes or 0) * 60 + float(seconds), normalise(phrase), intent)


def simulate(
    library: Library,
    routine_id: str,
    said: Sequence[Said] = (),
    timeline: Timeline | None = None,
    pace: Pace = Pace(),
    plans: dict | None = None,
    history: History | None = None,
    started_at: datetime | None = None,
    volume: Volume = Volume(),
    speaker_out: Path | None = None,
    synthesiser: Synthesiser | None = None,
) -> Timeline:
    """Run `routine_id` from start to end in virtual time; returns the timeline. `plans` gives
    routines their numbers and questions for this session (progression). With a `history`, the
    session is remembered in it as `serve` would, as if it began at `started_at` (default: now),
    and the plans, pace and volume come from it (`pace` and `volume` are the settings file's).

    With `speaker_out`, every utterance is rendered by `synthesiser` (default: espeak-ng's default
    voice) and the narration is written there as a WAV file, where and as loud as it was said; the
    timeline then follows the rendered speech instead of estimates of it."""
    timeline = timeline or Timeline()
    clock = VirtualClock()
    for s in sorted(said, key=lambda s: s.seconds):
        clock.schedule(s.seconds, Command(s.intent, s.phrase, s.seconds))
    coach = Coach(library, routine_id, pace, plans, volume)
    observe = None
    if history is not None:
        origin = (started_at or datetime.now()).astimezone()
        keeper = SessionKeeper(
            history, library, coach, today=origin.date, wall=lambda: origin + timedelta(seconds=clock.now())
        )
        keeper.refresh()
        keeper.start_voice()
        observe = keeper.observe
    speaker: Speaker = EstimatedSpeaker(clock)
    recording = None
    if speaker_out is not None:
        from voicecoach.audio.fakes import RecordingSpeaker
        from voicecoach.session.bargein import EchoGuard
        from voicecoach.session.speech import SpokenOutput
        from voicecoach.speak.tts import PyttsxSynthesiser

        recording = RecordingSpeaker(clock=clock.now)
        speaker = SpokenOutput(
            synthesiser or PyttsxSynthesiser(), recording, clock, EchoGuard(), virtual=True, volume=coach.volume.level
        )
    run(coach, clock, speaker, timeline, observe=observe)
    if recording is not None and speaker_out is not None:
        recording.write_wav(speaker_out)
    return timeline
