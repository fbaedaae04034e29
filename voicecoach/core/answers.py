"""What the coach says when asked: help, where we are and how long is left, session summaries, exercises left out.

Pure functions of the session's state, kept apart from the state machine in coach.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from voicecoach.core import words
from voicecoach.core.commands import Intent, spoken_name
from voicecoach.core.events import ExerciseRecord
from voicecoach.core.narration import Pace, Segment, beat_seconds
from voicecoach.core.progression import PAIN_SKIPS_TO_DROP, times

HELP_GLOSS = {Intent.SKIP: "skip, if it hurts", Intent.BACK: "back, to start an exercise again"}
NOT_LISTED = (Intent.START, Intent.HELP, Intent.PROGRESS)


def help_text(
    state: str,
    intents: Iterable[Intent],
    routine_name: str,
    question: str | None,
    left_out: Sequence[str] = (),
    can_enrol: bool = False,
) -> str:
    """What can be said now; `question` is the kind of question being asked, if any, `left_out`
    the names of the exercises left out because they hurt, `can_enrol` whether "learn my voice" works."""
    if question == "resume":
        return "Say yes to carry on where we stopped, no to wait, or start to begin again."
    if question == "restore":
        return "Say yes to bring it back, or no to leave it out."
    if question is not None:
        return "Say yes to go ahead, or no to leave it out."
    if state == "idle":
        text = (
            f"Say start to begin the {routine_name}, or start gentle, or start short. "
            "Say how long is left to hear how long it takes, and louder or quieter to change my volume."
        )
        if left_out:
            are = "are" if _plural(left_out) else "is"
            text += (
                f" {_names(left_out)} {are} left out because {_they(left_out)} hurt; "
                f"to try {_them(left_out)} again, say {spoken_name(Intent.BRING_BACK)}."
            )
        if can_enrol:
            text += f" If I mishear you, say {spoken_name(Intent.LEARN_VOICE)}."
        return text
    names = [HELP_GLOSS.get(i, spoken_name(i)) for i in intents if i not in NOT_LISTED]
    return f"You can say: {words.joined(names, 'or')}."


def status_text(segments: list[Segment], current: int, next_beat: int, pace: Pace) -> str:
    """Where the session is and about how long is left."""
    segment = segments[current]
    remaining = sum(beat_seconds(b, pace) for b in segment.beats[next_beat:])
    remaining += sum(beat_seconds(b, pace) for s in segments[current + 1 :] for b in s.beats)
    left = f"{words.about_minutes(remaining).capitalize()} left."
    if segment.planned is None:
        return f"We're at the {'introduction' if segment.kind == 'intro' else 'end'}. {left}"
    exercises = [s for s in segments if s.kind == "exercise"]
    where = (
        f"{segment.planned.name}, exercise {words.number(exercises.index(segment) + 1)} "
        f"of {words.number(len(exercises))}"
    )
    beat = segment.beats[max(next_beat - 1, 0)]
    if beat.rep is not None:
        where += f", repetition {words.number(beat.rep)}"
        where += f" on the {beat.side}" if beat.side else ""
    return f"{where}. {left}"


def whats_next_text(segments: Sequence[Segment], current: int) -> str:
    """What comes after segment `current`: the next exercise by name, the cool-down, or the end."""
    segment = segments[current]
    later = [s.planned for s in segments[current + 1 :] if s.planned is not None]
    if later:
        name = later[0].name.lower()
        if later[0].cool_down and not (segment.planned and segment.planned.cool_down):
            return f"Next comes the cool-down: {name}."
        return f"{'First' if segment.kind == 'intro' else 'Next'} comes {name}."
    if segment.planned is None:
        return "Nothing: that's the end of the session."
    last = "the cool-down, the last exercise" if segment.planned.cool_down else "the last exercise"
    return f"This is {last}. Then we're done."


def summary_text(records: list[ExerciseRecord], seconds: float, finished: bool, routine_name: str) -> str:
    """How the session went: exercises done and skipped, and how long it took."""
    done = [r for r in records if r.outcome in ("completed", "ended_early")]
    skipped = [r for r in records if r.outcome == "skipped"]
    text = f"You did {words.plural(len(done), 'exercise')}"
    if skipped:
        text += f" and skipped {words.number(len(skipped))}"
    text += f", in {words.minutes(seconds)}."
    return f"That's the end of the {routine_name}. {text} Well done." if finished else text


def bring_back_question(name: str) -> str:
    """Asked for each exercise left out: "Pelvic tilt is left out because it hurt twice. Bring it back? ..."."""
    are = "are" if _plural([name]) else "is"
    return (
        f"{name} {are} left out because {_they([name])} hurt {times(PAIN_SKIPS_TO_DROP)}. "
        f"Bring {_them([name])} back? Say yes, or no."
    )


def brought_back(name: str) -> str:
    """The answer to a yes: the exercise is in the next session again."""
    return f"{name} {'are' if _plural([name]) else 'is'} back. We'll start gently, and I'll ask you first."


def left_out_news(names: Sequence[str]) -> str:
    """Said once at the end of the session in which exercises were left out: what happened, and what to say."""
    them = _them(names)
    return (
        f"{_names(names)} hurt {times(PAIN_SKIPS_TO_DROP)} in a row, so I'll leave {them} out from now on. "
        f"To try {them} again one day, say {spoken_name(Intent.BRING_BACK)}."
    )


def _plural(names: Sequence[str]) -> bool:
    """More than one, or one plural name ("knee rolls")."""
    return len(names) > 1 or names[0].lower().endswith("s")


def _they(names: Sequence[str]) -> str:
    return "they" if _plural(names) else "it"


def _them(names: Sequence[str]) -> str:
    return "them" if _plural(names) else "it"


def _names(names: Sequence[str]) -> str:
    """ "Knee rolls and pelvic tilt": the first capitalised, as it starts a sentence."""
    return words.joined([names[0], *(n.lower() for n in names[1:])])
