"""What flows into the coach (events, each with the time it happened) and what flows out (actions)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicecoach.core.commands import Intent

# ---- events: into the coach -------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """The time is now `now` (seconds on the session's clock)."""

    now: float


@dataclass(frozen=True)
class Command:
    """The user said (or typed) a phrase that means `intent`."""

    intent: Intent
    phrase: str
    now: float
    confidence: float = 1.0


@dataclass(frozen=True)
class SpeechFinished:
    """The speaker finished (or dropped) utterance number `utterance`."""

    utterance: int
    now: float


Event = Tick | Command | SpeechFinished

# ---- actions: out of the coach ----------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Speak `text`; report SpeechFinished(utterance) when done."""

    text: str
    utterance: int


@dataclass(frozen=True)
class StopSpeaking:
    """Silence the speaker now and drop anything queued."""


@dataclass(frozen=True)
class PlayCue:
    """Play a short earcon: "exercise", "paused", "resumed" or "end"."""

    name: str


@dataclass(frozen=True)
class StateChanged:
    """Where the session is now; exercise is an id, rep counts from 1, side is a side name."""

    state: str
    exercise: str | None = None
    rep: int | None = None
    side: str | None = None


@dataclass(frozen=True)
class PaceChanged:
    """The user changed the breathing pace: one breath now takes `breath_seconds` (remembered for next time)."""

    breath_seconds: float


@dataclass(frozen=True)
class VolumeChanged:
    """The user changed the coach's volume: play everything from now on at `volume` (0.0 to 1.0, a
    gain on the rendered voice, as the settings file's `volume`), and remember it for next time."""

    volume: float


@dataclass(frozen=True)
class EnrolRequested:
    """The user asked the coach to learn their voice (between sessions): the session layer runs the
    enrolment dialogue with the microphone, then hands back to the idle coach."""


@dataclass(frozen=True)
class SessionStarted:
    """A session began: fresh, or resuming an interrupted one at exercise `resumed_at` (0-based)."""

    routine: str
    resumed_at: int | None = None


@dataclass(frozen=True)
class ResumeDeclined:
    """The user said no to carrying on an interrupted session."""


@dataclass(frozen=True)
class ExerciseRestored:
    """The user asked for an exercise left out because it hurt back; it starts again gently."""

    exercise: str


@dataclass(frozen=True)
class ExerciseRecord:
    """How one exercise of a session went: completed, ended_early (next), skipped (pain) or stopped."""

    exercise: str
    outcome: str
    reps_done: int
    reps_planned: int
    started_at: float
    ended_at: float


@dataclass(frozen=True)
class ExerciseEnded:
    """An exercise is over; save its record."""

    record: ExerciseRecord


@dataclass(frozen=True)
class SessionEnded:
    """The session is over (finished or stopped); the coach is idle again."""

    routine: str
    done: tuple[str, ...]
    skipped: tuple[str, ...]
    minutes: float
    stopped: bool
    records: tuple[ExerciseRecord, ...] = field(default=())


Action = (
    Say
    | StopSpeaking
    | PlayCue
    | StateChanged
    | PaceChanged
    | VolumeChanged
    | EnrolRequested
    | SessionStarted
    | ResumeDeclined
    | ExerciseRestored
    | ExerciseEnded
    | SessionEnded
)
