"""What the coach says when asked: help, where we are and how long is left, and session summaries.

Pure functions of the session's state, kept apart from the state machine in coach.py."""

from __future__ import annotations

from collections.abc import Iterable

from voicecoach import words
from voicecoach.commands import Intent, spoken_name
from voicecoach.events import ExerciseRecord
from voicecoach.narration import Pace, Segment, beat_seconds

HELP_GLOSS = {Intent.SKIP: "skip, if it hurts", Intent.BACK: "back, to start an exercise again"}
NOT_LISTED = (Intent.START, Intent.HELP, Intent.PROGRESS)


def help_text(state: str, intents: Iterable[Intent], routine_name: str, question: str | None) -> str:
    """What can be said now; `question` is the kind of question being asked, if any."""
    if question == "resume":
        return "Say yes to carry on where we stopped, no to wait, or start to begin again."
    if question is not None:
        return "Say yes to go ahead, or no to leave it out."
    if state == "idle":
        return (f"Say start to begin the {routine_name}, or start gentle, or start short. "
                "Say how long is left to hear how long it takes.")
    names = [HELP_GLOSS.get(i, spoken_name(i)) for i in intents if i not in NOT_LISTED]
    return f"You can say: {words.joined(names, 'or')}."


def status_text(segments: list[Segment], current: int, next_beat: int, pace: Pace) -> str:
    """Where the session is and about how long is left."""
    segment = segments[current]
    remaining = sum(beat_seconds(b, pace) for b in segment.beats[next_beat:])
    remaining += sum(beat_seconds(b, pace) for s in segments[current + 1 :] for b in s.beats)
    left = f"About {words.minutes(remaining)} left."
    if segment.planned is None:
        return f"We're at the {'introduction' if segment.kind == 'intro' else 'end'}. {left}"
    exercises = [s for s in segments if s.kind == "exercise"]
    where = (f"{segment.planned.name}, exercise {words.number(exercises.index(segment) + 1)} "
             f"of {words.number(len(exercises))}")
    beat = segment.beats[max(next_beat - 1, 0)]
    if beat.rep is not None:
        where += f", repetition {words.number(beat.rep)}"
        where += f" on the {beat.side}" if beat.side else ""
    return f"{where}. {left}"


def summary_text(records: list[ExerciseRecord], seconds: float, finished: bool, routine_name: str) -> str:
    """How the session went: exercises done and skipped, and how long it took."""
    done = [r for r in records if r.outcome in ("completed", "ended_early")]
    skipped = [r for r in records if r.outcome == "skipped"]
    text = f"You did {words.plural(len(done), 'exercise')}"
    if skipped:
        text += f" and skipped {words.number(len(skipped))}"
    text += f", in {words.minutes(seconds)}."
    return f"That's the end of the {routine_name}. {text} Well done." if finished else text
