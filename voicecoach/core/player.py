"""The coach's engine: plays a session's beats in time, waits for answers, and keeps the session's records.

What each command does, and in which state, is in coach.py (the state table) and questions.py (the
answers to a question); this is how it is carried out. See coach.py for the theory of operation.
"""

from __future__ import annotations

from voicecoach.core.answers import left_out_news, status_text, summary_text
from voicecoach.core.commands import routine_named
from voicecoach.core.events import (
    Action,
    ExerciseEnded,
    ExerciseRecord,
    PlayCue,
    Say,
    SessionEnded,
    SessionStarted,
    StateChanged,
    StopSpeaking,
)
from voicecoach.core.library import Library, PlannedExercise
from voicecoach.core.narration import SUMMARY, Beat, Pace, Segment, Volume, compile_session, speech_seconds

IDLE, ACTIVE, PAUSED, ASKING = "idle", "active", "paused", "asking"
ANSWER_SECONDS = 20.0  # how long a question waits before it is asked again, then answered safely
NO_PROGRESS_YET = "I have no record of your sessions yet."


class Player:
    """A session in progress: which beat is playing, until when, and what has been done."""

    def __init__(
        self,
        library: Library,
        routine_id: str,
        pace: Pace = Pace(),
        plans: dict[str, list[PlannedExercise]] | None = None,
        volume: Volume = Volume(),
    ):
        library.routine(routine_id)  # an unknown routine fails here, before anything starts
        self.library = library
        self.routine_id = routine_id
        self.pace = pace
        self.volume = volume  # the speaker is told of every change (VolumeChanged); the session layer sets it at start
        self.plans = plans or {}  # routine id -> the numbers for this session (progression), if not the file's
        self.progress_sentence = NO_PROGRESS_YET  # what "how am I doing" answers; the session layer keeps it current
        self.dropped: tuple[str, ...] = ()  # exercises left out because they hurt (ids); kept current likewise
        self.dropped_today: tuple[str, ...] = ()  # those of them left out today, told once at a session's end
        self._told: set[str] = set()
        self.state = IDLE
        self._question: tuple = ()
        self._phrase = ""  # the words of the command being handled
        self._segments: list[Segment] = []
        self._seg = 0
        self._next = 0  # index of the segment beat to play next
        self._inserted: list[Beat] = []
        self._playing: Beat | None = None
        self._playing_is_segment = False
        self._least_until = 0.0
        self._waiting_on: int | None = None
        self._speech_done_at: float | None = None
        self._give_up_at = 0.0
        self._utterances = 0
        self._records: list[ExerciseRecord] = []
        self._started_at = 0.0
        self._exercise_started_at = 0.0
        self._reps_done = 0
        self._begun: set[str] = set()  # exercises whose repetitions began this session
        self._reported: StateChanged | None = None
        self._question_text = ""
        self._asked_again = False
        self._answer_by = 0.0

    @property
    def playing(self) -> Beat | None:
        """The routine's beat in progress; None between beats and while an answer or announcement plays."""
        return self._playing if self._playing_is_segment else None

    @property
    def next_deadline(self) -> float | None:
        """When the coach next needs a Tick (None: only a command or finished speech can move it)."""
        if self.state == ASKING:
            return self._answer_by
        if self.state != ACTIVE or self._playing is None:
            return None
        if self._waiting_on is None:
            return self._least_until
        if self._speech_done_at is None:
            return max(self._least_until, self._give_up_at)
        return max(self._least_until, self._speech_done_at + (self._playing.after_speech or 0.0))

    @property
    def _segment(self) -> Segment:
        return self._segments[self._seg] if self._segments else Segment("intro", ())

    @property
    def _routine_name(self) -> str:
        return self.library.routine(self.routine_id).name.lower()

    def _exercise_name(self, exercise_id: str) -> str:
        return self.library.content.exercises[exercise_id].name

    # ---- starting and ending ------------------------------------------------------------------

    def _begin(self, now: float, out: list[Action], resume_at: int | None = None) -> None:
        """Start the routine the phrase names (else `routine_id`) from the top, or carry on `routine_id`
        at exercise `resume_at` (0-based) of an interrupted session."""
        named = routine_named(self._phrase) if resume_at is None else None
        if named in self.library.content.routines:
            self.routine_id = named
        plan = self.plans.get(self.routine_id)
        self._segments = compile_session(self.library, self.routine_id, plan)
        self._seg, self._next, self._inserted, self._records = 0, 0, [], []
        self._begun = set()
        self._started_at = now
        self.state = ACTIVE
        self._playing = None
        out.append(SessionStarted(self.routine_id, resume_at))
        if resume_at is not None:
            planned = self._segments[1 + resume_at].planned
            assert planned is not None, "a session resumes at an exercise"
            name = planned.name.lower()
            self._jump(1 + resume_at, f"Carrying on with {name}.", now)

    def _stop(self, now: float, out: list[Action]) -> None:
        """End the session at once, with a summary of what was done."""
        self._interrupt(out)
        if self._segment.kind == "exercise" and (self._playing_started_exercise() or self._begun_unrecorded()):
            self._record("stopped", now, out)
        self._say(f"Stopping here. {self._closing_words(now)}", out)
        self._end(now, stopped=True, out=out)

    def _end(self, now: float, stopped: bool, out: list[Action]) -> None:
        done = tuple(r.exercise for r in self._records if r.outcome in ("completed", "ended_early"))
        skipped = tuple(r.exercise for r in self._records if r.outcome == "skipped")
        out.append(
            SessionEnded(
                routine=self.routine_id,
                done=done,
                skipped=skipped,
                minutes=round((now - self._started_at) / 60.0, 2),
                stopped=stopped,
                records=tuple(self._records),
            )
        )
        self.state, self._playing, self._inserted = IDLE, None, []
        self._told.update(self.dropped_today)

    # ---- playing beats ------------------------------------------------------------------------

    def _advance(self, now: float, out: list[Action]) -> None:
        while self.state == ACTIVE and self._beat_over(now):
            self._start_next(now, out)

    def _beat_over(self, now: float) -> bool:
        if self._playing is None:
            return True
        if now < self._least_until:
            return False
        if self._waiting_on is None:
            return True
        if self._speech_done_at is None:
            return now >= self._give_up_at
        return now >= self._speech_done_at + (self._playing.after_speech or 0.0)

    def _start_next(self, now: float, out: list[Action]) -> None:
        if self._playing is not None and self._playing_is_segment and self._playing.phase == "question":
            self._playing = None
            self._wait_for_answer(("exercise",), self._segment.beats[self._next - 1].say or "", now)
            return
        if self._inserted:
            self._play(self._inserted.pop(0), now, out, segment=False)
            return
        if self._next >= len(self._segment.beats):
            if self._segment.kind == "exercise":
                self._record("completed", now, out)
            if self._seg + 1 >= len(self._segments):
                self._end(now, stopped=False, out=out)
                return
            self._seg, self._next = self._seg + 1, 0
        if self._next == 0:
            self._exercise_started_at, self._reps_done = now, 0
        beat = self._segment.beats[self._next]
        self._next += 1
        if beat.rep is not None and self._segment.planned is not None:
            self._begun.add(self._segment.planned.id)
        if beat.phase == "release":
            self._reps_done += 1
        self._play(beat, now, out, segment=True)

    def _play(self, beat: Beat, now: float, out: list[Action], segment: bool) -> None:
        self._playing, self._playing_is_segment = beat, segment
        text = self._closing_words(now) if beat.say == SUMMARY else beat.say
        if beat.cue:
            out.append(PlayCue(beat.cue))
        utterance = self._say(text, out) if text else None
        self._least_until = now + (self.pace.seconds(beat.breath) if beat.breath else beat.seconds)
        self._waiting_on = utterance if beat.after_speech is not None else None
        self._speech_done_at = None
        self._give_up_at = now + 2 * speech_seconds(text or "") + 3.0  # if the speaker never reports back

    def _interrupt(self, out: list[Action]) -> None:
        """Stop talking and forget the beat in progress; a segment beat will be played again."""
        out.append(StopSpeaking())
        if self._playing is not None and self._playing_is_segment:
            self._next -= 1
            if self._segment.beats[self._next].phase == "release":
                self._reps_done -= 1
        self._playing, self._waiting_on, self._inserted = None, None, []

    def _answer(self, text: str, out: list[Action]) -> None:
        """Say `text` now; while active, the interrupted beat is played again afterwards."""
        if self.state == ACTIVE:
            self._interrupt(out)
            self._inserted.append(Beat(text, after_speech=0.5))
        else:
            self._say(text, out)

    def _jump(self, segment: int, announcement: str, now: float) -> None:
        self.state = ACTIVE
        self._seg, self._next = min(segment, len(self._segments) - 1), 0
        self._inserted = [Beat(announcement, after_speech=0.8)]

    def _say(self, text: str, out: list[Action]) -> int:
        self._utterances += 1
        out.append(Say(text, self._utterances))
        return self._utterances

    # ---- asking -------------------------------------------------------------------------------

    def _ask(
        self, question: tuple, text: str, now: float, out: list[Action], again: bool = False, before: str = ""
    ) -> None:
        """Say `text` (after `before`, if given) and wait for the answer to `question` (its kind first,
        then what it is about); "repeat" asks `text` again."""
        said = f"{before} {text}".strip()
        self._say(said, out)
        self._wait_for_answer(question, text, now + speech_seconds(said), again)  # the wait starts once it is asked

    def _wait_for_answer(self, question: tuple, text: str, asked_by: float, again: bool = False) -> None:
        self._question, self._question_text = question, text
        self._asked_again = again
        self.state = ASKING
        self._answer_by = asked_by + ANSWER_SECONDS

    # ---- records and summaries ----------------------------------------------------------------

    def _playing_started_exercise(self) -> bool:
        return self._next > 0 or self._playing is not None

    def _begun_unrecorded(self) -> bool:
        """The current exercise's repetitions began in an earlier visit that left no record (it was
        started again with "back"), so ending it now owes a record."""
        planned = self._segment.planned
        return (
            planned is not None and planned.id in self._begun and all(r.exercise != planned.id for r in self._records)
        )

    def _record(self, outcome: str, now: float, out: list[Action]) -> None:
        planned = self._segment.planned
        if planned is None:
            return
        record = ExerciseRecord(
            exercise=planned.id,
            outcome=outcome,
            reps_done=self._reps_done,
            reps_planned=sum(1 for b in self._segment.beats if b.phase == "release"),
            started_at=self._exercise_started_at,
            ended_at=now,
        )
        # One record an exercise: going back to it and ending it again replaces the earlier one.
        self._records = [r for r in self._records if r.exercise != record.exercise] + [record]
        out.append(ExerciseEnded(record))

    def _closing_words(self, now: float) -> str:
        """How the session went and, the first time, which exercises it left out because they hurt."""
        finished = self._seg + 1 >= len(self._segments) and self._segment.kind == "closing"
        text = summary_text(self._records, now - self._started_at, finished, self._routine_name)
        news = [self._exercise_name(e) for e in self.dropped_today if e in self.dropped and e not in self._told]
        return f"{text} {left_out_news(news)}" if news else text

    def _status_text(self) -> str:
        return status_text(self._segments, self._seg, self._next, self.pace)

    def _report(self, out: list[Action]) -> None:
        """Add a StateChanged whenever the state, exercise, repetition or side changes."""
        exercise = rep = side = None
        if self.state != IDLE and self._segments:
            exercise = self._segment.exercise_id
            beat = self._segment.beats[max(self._next - 1, 0)] if self._segment.beats else None
            rep, side = (beat.rep, beat.side) if beat else (None, None)
        now = StateChanged(self.state, exercise, rep, side)
        if now != self._reported:
            self._reported = now
            out.append(now)
