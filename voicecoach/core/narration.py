"""Narration: a routine compiled into timed beats that the coach plays one after another.

A beat says something (or nothing) and lasts at least `seconds`; if `after_speech` is set it also
waits for its speech to finish and then that much longer. Counted holds are one beat a second;
paced breaths are an in-beat and an out-beat whose length comes from the breathing pace at the
moment they start, so "slower" and "faster" act on the very next breath.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from voicecoach.core import words
from voicecoach.core.commands import Intent, spoken_name
from voicecoach.core.library import Library, PlannedExercise
from voicecoach.core.routine import Sides

SUMMARY = "{summary}"  # a closing beat whose words the coach fills in from the session's record
_INTRO_SECONDS_ESTIMATE = 40.0  # the intro's own length, with the shipped safety advice
PRAISE = ("Well done.", "Nicely done.", "Good work.", "Great.", "That's it, well done.")


@dataclass(frozen=True)
class Pace:
    """How fast paced breathing goes: one breath (in and out) takes `breath_seconds`."""

    breath_seconds: float = 6.0
    in_share: float = 0.4

    SLOWEST = 10.0
    FASTEST = 4.0
    STEP = 1.0

    def seconds(self, breath: str) -> float:
        share = self.in_share if breath == "in" else 1.0 - self.in_share
        return self.breath_seconds * share


@dataclass(frozen=True)
class Volume:
    """How loud the coach speaks: `level` is a gain on its rendered voice, from 0.0 (silent) to 1.0
    (as rendered), on the scale of the settings file's `volume`. "louder" and "quieter" move it to
    the next of LEVELS, about 4 dB apart; by voice it never goes below the quietest, so the coach
    can always still be heard (a level set in the file below that is kept until "louder")."""

    level: float = 1.0

    LEVELS = (0.1, 0.16, 0.25, 0.4, 0.63, 1.0)

    def louder(self) -> Volume:
        """The next level up, or this one at the loudest."""
        return Volume(next((level for level in self.LEVELS if level > self.level + 1e-9), self.level))

    def quieter(self) -> Volume:
        """The next level down, or this one at the quietest."""
        return Volume(next((level for level in reversed(self.LEVELS) if level < self.level - 1e-9), self.level))


@dataclass(frozen=True)
class Beat:
    """One step of narration."""

    say: str | None = None
    seconds: float = 0.0
    after_speech: float | None = None
    breath: str | None = None
    phase: str = "instruction"
    rep: int | None = None
    side: str | None = None
    recue: str | None = None
    cue: str | None = None


@dataclass(frozen=True)
class Segment:
    """The intro, one exercise, or the closing."""

    kind: str
    beats: tuple[Beat, ...]
    planned: PlannedExercise | None = None

    @property
    def exercise_id(self) -> str | None:
        return self.planned.id if self.planned else None

    def instructions(self) -> list[str]:
        """Every instruction and cue it says, in order: what "repeat" can say again."""
        return [b.say for b in self.beats if b.say and b.phase in ("instruction", "cue", "rep")]


def speech_seconds(text: str, words_per_minute: float = 170.0) -> float:
    """A fair estimate of how long synthesised speech of `text` lasts."""
    sentences = max(1, sum(text.count(mark) for mark in ".?!"))
    return 0.2 + len(text.split()) * 60.0 / words_per_minute + 0.25 * (sentences - 1)


def beat_seconds(beat: Beat, pace: Pace) -> float:
    """How long a beat lasts when nothing interrupts it."""
    least = pace.seconds(beat.breath) if beat.breath else beat.seconds
    if beat.after_speech is None:
        return least
    spoken = speech_seconds(beat.say) if beat.say and beat.say != SUMMARY else 4.0
    return max(least, spoken + beat.after_speech)


def segment_seconds(segment: Segment, pace: Pace) -> float:
    return sum(beat_seconds(beat, pace) for beat in segment.beats)


def compile_session(library: Library, routine_id: str, plan: list[PlannedExercise] | None = None) -> list[Segment]:
    """The whole session: intro with the seeds' safety advice, every exercise, then the closing.

    `plan` replaces the routine's own numbers (progression); an exercise with `ask_first` opens
    with that question, and the coach waits for the answer."""
    plan = library.plan(routine_id) if plan is None else plan
    exercises = [
        Segment("exercise", _exercise_beats(p, i, plan[i - 1] if i else None, len(plan)), p) for i, p in enumerate(plan)
    ]
    routine = library.routine(routine_id)
    total = sum(segment_seconds(s, Pace()) for s in exercises) + _INTRO_SECONDS_ESTIMATE
    intro = [
        Beat(f"Let's do the {routine.name.lower()}. It takes {words.about_minutes(total)}.", after_speech=0.6),
        *(Beat(text, after_speech=0.6) for text in library.safety_advice()),
        Beat(
            f"Say {spoken_name(Intent.PAUSE)} at any time, or {spoken_name(Intent.SKIP)} if something hurts. "
            f"Say {spoken_name(Intent.HELP)} to hear what else you can say.",
            after_speech=0.6,
        ),
        Beat("Let's begin.", after_speech=1.0),
    ]
    closing = [Beat(SUMMARY, after_speech=0.0, phase="close", cue="end")]
    return [Segment("intro", tuple(intro)), *exercises, Segment("closing", tuple(closing))]


def _exercise_beats(
    planned: PlannedExercise, index: int, previous: PlannedExercise | None, total: int
) -> tuple[Beat, ...]:
    exercise = planned.exercise
    if planned.cool_down and (previous is None or not previous.cool_down):
        heading = "Time to cool down with a gentle stretch"
    else:
        heading = "First" if index == 0 else ("And the last one" if index == total - 1 else "Next")
    beats = [Beat(f"{heading}: {exercise.name}. {exercise.purpose}", after_speech=0.6, phase="intro", cue="exercise")]
    if planned.ask_first:
        beats.append(Beat(f"{planned.ask_first} Say yes, or skip.", after_speech=0.0, phase="question"))
    beats += [Beat(text, after_speech=0.8) for text in exercise.start]
    if previous is None or previous.exercise.position != exercise.position:
        beats += [Beat(seconds=2.5, phase="setup"), Beat("Take your time.", after_speech=2.5, phase="setup")]
    else:
        beats.append(Beat(seconds=1.5, phase="setup"))
    beats += [Beat(text, after_speech=0.8) for text in exercise.action]
    beats += [Beat(text, after_speech=0.8) for text in exercise.cautions]
    beats.append(Beat(_plan_sentence(planned), after_speech=1.2))
    beats += _rep_beats(planned)
    beats.append(Beat(PRAISE[index % len(PRAISE)], after_speech=1.5, phase="close"))
    return tuple(beats)


def _plan_sentence(planned: PlannedExercise) -> str:
    exercise = planned.exercise
    if planned.duration_seconds:
        how = f"Keep it going for {words.plural(planned.duration_seconds, 'second')}"
        return how + (", alternating sides." if exercise.sides is not Sides.NONE else ".")
    n = planned.reps
    if exercise.sides is Sides.NONE:
        reps = "Once" if n == 1 else f"{words.number(n).capitalize()} times"
    elif exercise.sides is Sides.ALTERNATING and exercise.reps_counted == "in_total":
        reps = f"{words.number(n).capitalize()} in all, alternating sides"
    else:
        reps = f"{words.number(n).capitalize()} on each side"
        reps += ", alternating" if exercise.sides is Sides.ALTERNATING else ""
    if planned.hold_seconds:
        return f"{reps}, holding for {words.plural(planned.hold_seconds, 'second')}."
    if planned.hold_breaths:
        held = "one deep breath" if planned.hold_breaths == 1 else words.plural(planned.hold_breaths, "breath")
        return f"{reps}, holding for {held}."
    return f"{reps}, slowly."


def _sequence(planned: PlannedExercise) -> Sequence[tuple[int, str | None, bool]]:
    """(rep, side, switching side now) for every repetition, in order."""
    first, second = planned.exercise.side_names
    per_side = planned.reps_per_side()
    if planned.sides is Sides.NONE:
        return [(rep, None, False) for rep in range(1, planned.reps + 1)]
    if planned.sides is Sides.EACH_SIDE:
        return [(rep, first, False) for rep in range(1, per_side + 1)] + [
            (rep, second, rep == 1) for rep in range(1, per_side + 1)
        ]
    if planned.exercise.reps_counted == "in_total":
        return [(rep, (first, second)[(rep - 1) % 2], False) for rep in range(1, planned.reps + 1)]
    return [(rep, side, False) for rep in range(1, per_side + 1) for side in (first, second)]


def _rep_beats(planned: PlannedExercise) -> list[Beat]:
    exercise = planned.exercise
    if planned.duration_seconds:
        return _duration_beats(planned)
    sequence = _sequence(planned)
    beats: list[Beat] = []
    for number, (rep, side, switching) in enumerate(sequence, start=1):
        if switching:
            beats.append(Beat("Now the other side.", after_speech=1.0, phase="cue", rep=rep, side=side))
        cue = exercise.cue.format(side=side) if side else exercise.cue
        if number == len(sequence) and number > 1:
            cue = f"Last one. {cue}"
        held = planned.hold_seconds or planned.hold_breaths
        if not held:
            share = exercise.pace_seconds * 0.6
            beats.append(Beat(cue, seconds=share, after_speech=0.3, phase="rep", rep=rep, side=side))
            beats.append(
                Beat(
                    exercise.release,
                    seconds=exercise.pace_seconds - share,
                    after_speech=0.3,
                    phase="release",
                    rep=rep,
                    side=side,
                )
            )
            continue
        beats.append(Beat(cue, after_speech=1.0, phase="cue", rep=rep, side=side))
        if planned.hold_seconds:
            beats += _count_seconds(planned.hold_seconds, rep, side)
        else:
            beats += _count_breaths(planned.hold_breaths or 1, rep, side)
        rest = exercise.rest_seconds if number < len(sequence) else 0.5
        beats.append(Beat(exercise.release, after_speech=rest, phase="release", rep=rep, side=side))
    return beats


def _count_seconds(seconds: int, rep: int, side: str | None) -> list[Beat]:
    """ "Hold." then one beat a second; every second is counted aloud up to ten, longer holds every
    five seconds and the last three, so the silence never lasts more than a few seconds."""
    beats = [Beat("Hold.", after_speech=0.0, phase="hold", rep=rep, side=side)]
    for second in range(1, seconds + 1):
        spoken = seconds <= 10 or second == 1 or second % 5 == 0 or second > seconds - 3
        beats.append(
            Beat(
                words.count(second) if spoken else None,
                seconds=1.0,
                phase="hold",
                rep=rep,
                side=side,
                recue=f"Holding. {words.number(second).capitalize()} of {words.plural(seconds, 'second')}.",
            )
        )
    return beats


def _count_breaths(breaths: int, rep: int, side: str | None) -> list[Beat]:
    """Paced breathing: "Breathe in…" then "and out. Two." for each breath of the hold."""
    beats = []
    for breath in range(1, breaths + 1):
        if breaths == 1:
            breathe_in, breathe_out = "Take a deep breath in…", "and out."
            recue = "Holding, for one deep breath."
        else:
            breathe_in, breathe_out = "Breathe in…", f"and out. {words.count(breath)}"
            recue = f"Holding. Breath {words.number(breath)} of {words.number(breaths)}."
        beats.append(Beat(breathe_in, breath="in", phase="hold", rep=rep, side=side, recue=recue))
        beats.append(Beat(breathe_out, breath="out", phase="hold", rep=rep, side=side, recue=recue))
    return beats


def _duration_beats(planned: PlannedExercise) -> list[Beat]:
    """A continuous movement: a cue every pace_seconds, alternating sides, and word of time left."""
    exercise = planned.exercise
    total = planned.duration_seconds or 0
    steps = max(1, math.ceil(total / exercise.pace_seconds))
    beats = [Beat("Start now.", after_speech=0.0, phase="hold", rep=1)]
    for step in range(steps):
        side = exercise.side_names[step % 2] if exercise.sides is not Sides.NONE else None
        text = exercise.cue.format(side=side).capitalize() if side else exercise.cue
        if step == steps // 2 and steps > 3:
            text = f"Halfway. {text}"
        left = total - step * exercise.pace_seconds
        beats.append(
            Beat(
                text,
                seconds=exercise.pace_seconds,
                phase="hold",
                rep=1,
                side=side,
                recue=f"Keep going, about {words.plural(int(left), 'second')} to go.",
            )
        )
    beats.append(Beat(exercise.release, after_speech=0.5, phase="release", rep=1))
    return beats
