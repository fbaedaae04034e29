"""The coach: a pure state machine from events to actions, with no audio, threads, sleeps or clock.

Theory of operation
-------------------
A session is a list of segments (the intro, one per exercise, the closing), each a list of beats
(see narration.py). The coach is in one of three states:

  idle    waits for "start"; between sessions it does nothing else.
  active  plays beats one after another. A beat starts (its words are said, its deadline noted)
          and ends once its time is up and, if it waits for speech, its words have been spoken.
          `next_deadline` tells the caller when to wake the coach with a Tick.
  paused  everything is frozen at the beat it was in. "resume" says a short re-cue and plays that
          beat again, so a hold carries on at the count where it stopped.
  asking  a question waits for yes, skip or no: before an exercise that hurt last time ("Try them
          gently, or skip?"), or when an interrupted session can be resumed ("Carry on?").
          Unanswered, it is asked once more, then the safe choice is taken.

Every command is looked up in TRANSITIONS[state]; a command with no entry there gets a short
spoken answer from REFUSALS ("Already paused."), never an exception. Answers given while active
(help, status, repeat, ...) interrupt the current beat, are spoken, and the beat is played again.
"""

from __future__ import annotations

from collections.abc import Callable

from voicecoach import words
from voicecoach.answers import help_text, status_text, summary_text
from voicecoach.commands import Intent, routine_named
from voicecoach.events import (
    Action, Command, Event, ExerciseEnded, ExerciseRecord, PlayCue, ResumeDeclined, Say, SessionEnded,
    SessionStarted, SpeechFinished, StateChanged, StopSpeaking,
)
from voicecoach.loader import Library, PlannedExercise
from voicecoach.narration import SUMMARY, Beat, Pace, Segment, beat_seconds, compile_session, speech_seconds

IDLE, ACTIVE, PAUSED, ASKING = "idle", "active", "paused", "asking"
ANSWER_SECONDS = 20.0  # how long a question waits before it is asked again, then answered safely
BACK_AGAIN_SECONDS = 10.0  # "back" said twice within this long goes to the previous exercise

TRANSITIONS: dict[str, dict[Intent, str]] = {
    IDLE: {
        Intent.START: "begin", Intent.RESUME: "begin", Intent.HELP: "help", Intent.STATUS: "status",
        Intent.PROGRESS: "progress",
    },
    ACTIVE: {
        Intent.PAUSE: "pause", Intent.SKIP: "skip", Intent.NEXT: "next", Intent.BACK: "back",
        Intent.REPEAT: "repeat", Intent.STOP: "stop", Intent.HELP: "help", Intent.STATUS: "status",
        Intent.SLOWER: "slower", Intent.FASTER: "faster", Intent.PROGRESS: "progress",
    },
    PAUSED: {
        Intent.RESUME: "resume", Intent.START: "resume", Intent.SKIP: "skip", Intent.NEXT: "next",
        Intent.BACK: "back", Intent.REPEAT: "repeat", Intent.STOP: "stop", Intent.HELP: "help",
        Intent.STATUS: "status", Intent.SLOWER: "slower", Intent.FASTER: "faster", Intent.PROGRESS: "progress",
    },
    ASKING: {
        Intent.YES: "yes", Intent.RESUME: "yes", Intent.NO: "no", Intent.SKIP: "no", Intent.START: "start_over",
        Intent.STOP: "stop", Intent.REPEAT: "ask_again", Intent.HELP: "help", Intent.PAUSE: "pause_question",
    },
}
REFUSALS: dict[str, dict[Intent | None, str]] = {
    IDLE: {
        Intent.STOP: "Nothing to stop. Say start when you're ready.",
        Intent.PAUSE: "Nothing is playing. Say start when you're ready.",
        None: "We haven't started yet. Say start when you're ready.",
    },
    ACTIVE: {
        Intent.START: "We're already going.",
        Intent.RESUME: "We're not paused.",
        None: "There's no question right now.",
    },
    PAUSED: {Intent.PAUSE: "Already paused.", None: "We're paused. Say resume to carry on."},
    ASKING: {None: "Please answer yes or no."},
}
ALL_COMMANDS = frozenset(Intent) - {Intent.YES, Intent.NO}
NO_PROGRESS_YET = "I have no record of your sessions yet."


class Coach:
    """One user's coach. Feed it events with `handle`; wake it at `next_deadline`."""

    def __init__(self, library: Library, routine_id: str, pace: Pace = Pace(),
                 plans: dict[str, list[PlannedExercise]] | None = None):
        library.routine(routine_id)  # an unknown routine fails here, before anything starts
        self.library = library
        self.routine_id = routine_id
        self.pace = pace
        self.plans = plans or {}  # routine id -> the numbers for this session (progression), if not the file's
        self.progress_sentence = NO_PROGRESS_YET  # what "how am I doing" answers; the session layer keeps it current
        self.state = IDLE
        self._question: tuple = ()
        self._phrase = ""
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
        self._last_back_at = float("-inf")
        self._reported: StateChanged | None = None
        self._now = float("-inf")
        self._question_text = ""
        self._asked_again = False
        self._answer_by = 0.0

    # ---- the interface ------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Take one event; return what to do now."""
        out: list[Action] = []
        now = self._now = max(event.now, self._now)  # time never runs backwards, whoever stamped the event
        if isinstance(event, Command):
            self._phrase = event.phrase
            self._command(event.intent, now, out)
        elif self.state == ASKING and now >= self._answer_by:
            self._unanswered(now, out)
        elif isinstance(event, SpeechFinished) and event.utterance == self._waiting_on:
            self._speech_done_at = now
        self._advance(now, out)
        self._report(out)
        return out

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

    def listening_for(self) -> frozenset[Intent]:
        """What a recogniser should listen for now: every command, even those that make no sense in
        this state (hearing "start" as itself and answering "We're already going" beats mishearing
        it as "stop"; measured with PocketSphinx), but the answers yes and no only when asked."""
        return ALL_COMMANDS | {Intent.YES, Intent.NO} if self.state == ASKING else ALL_COMMANDS

    def offer_resume(self, routine_id: str, exercise_index: int, now: float) -> list[Action]:
        """Ask whether to carry on an interrupted session at exercise `exercise_index` (0-based)."""
        if self.state != IDLE:
            return []
        plan = self.plans.get(routine_id) or self.library.plan(routine_id)
        if not 0 <= exercise_index < len(plan):
            return []
        out: list[Action] = []
        self._ask(("resume", routine_id, exercise_index), f"We stopped during {plan[exercise_index].name.lower()}. "
                  "Carry on from there? Say yes, or no.", now, out)
        self._report(out)
        return out

    # ---- commands -----------------------------------------------------------------------------

    def _command(self, intent: Intent, now: float, out: list[Action]) -> None:
        handler_name = TRANSITIONS[self.state].get(intent)
        if handler_name is None:
            refusals = REFUSALS[self.state]
            self._answer(refusals.get(intent, refusals[None]), out)
            return
        handler: Callable[[float, list[Action]], None] = getattr(self, f"_on_{handler_name}")
        handler(now, out)

    def _on_begin(self, now: float, out: list[Action], resume_at: int | None = None) -> None:
        named = routine_named(self._phrase)
        if named in self.library.content.routines:
            self.routine_id = named
        plan = self.plans.get(self.routine_id)
        self._segments = compile_session(self.library, self.routine_id, plan)
        self._seg, self._next, self._inserted, self._records = 0, 0, [], []
        self._started_at = now
        self.state = ACTIVE
        self._playing = None
        out.append(SessionStarted(self.routine_id, resume_at))
        if resume_at is not None:
            name = self._segments[1 + resume_at].planned.name.lower()
            self._jump(1 + resume_at, f"Carrying on with {name}.", now)

    def _on_yes(self, now: float, out: list[Action]) -> None:
        kind, *details = self._question
        if kind == "resume":
            routine_id, index = details
            self.routine_id = routine_id
            self._phrase = ""
            self._on_begin(now, out, resume_at=index)
        else:
            self.state = ACTIVE
            self._inserted.append(Beat("Gently, then. Stop at once if it hurts.", after_speech=0.5))

    def _on_no(self, now: float, out: list[Action]) -> None:
        kind, *_ = self._question
        if kind == "resume":
            self.state = IDLE
            out.append(ResumeDeclined())
            self._say("All right. Say start when you're ready.", out)
        else:
            self.state = ACTIVE
            self._record("skipped", now, out)
            self._jump(self._seg + 1, "We'll leave it out today.", now)

    def _on_start_over(self, now: float, out: list[Action]) -> None:
        if self._question[0] == "resume":
            out.append(ResumeDeclined())
            self._on_begin(now, out)
        else:
            self._say(REFUSALS[ASKING][None], out)

    def _on_pause_question(self, now: float, out: list[Action]) -> None:
        out.append(StopSpeaking())
        if self._question[0] == "resume":
            self.state = IDLE
            self._say("I'll wait. Say start when you're ready.", out)
        else:  # resuming plays the question beat again
            self._next -= 1
            self.state = PAUSED
            self._say("Paused.", out)

    def _on_ask_again(self, now: float, out: list[Action]) -> None:
        self._ask(self._question, self._question_text, now, out)

    def _unanswered(self, now: float, out: list[Action]) -> None:
        if not self._asked_again:
            self._asked_again = True
            self._ask(self._question, self._question_text, now, out, again=True)
        elif self._question[0] == "resume":
            self.state = IDLE
            self._say("I'll wait. Say start when you're ready.", out)
        else:  # no consent to an exercise that hurt last time: leave it out, without counting it as pain
            self.state = ACTIVE
            self._jump(self._seg + 1, "No answer, so we'll leave it out today.", now)

    def _ask(self, question: tuple, text: str, now: float, out: list[Action], again: bool = False) -> None:
        self._question, self._question_text = question, text
        self._asked_again = again
        self.state = ASKING
        self._say(text, out)
        self._answer_by = now + speech_seconds(text) + ANSWER_SECONDS  # the wait starts once it has been asked

    def _on_progress(self, now: float, out: list[Action]) -> None:
        self._answer(self.progress_sentence, out)

    def _on_pause(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        self.state = PAUSED
        self._say("Paused.", out)

    def _on_resume(self, now: float, out: list[Action]) -> None:
        self.state = ACTIVE
        upcoming = self._segment.beats[self._next] if self._next < len(self._segment.beats) else None
        self._inserted.insert(0, Beat(upcoming.recue if upcoming and upcoming.recue else "Carrying on.", after_speech=0.3))

    def _on_skip(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        if self._segment.kind == "exercise":
            self._record("skipped", now, out)
            reminder = "Skipping it. Never push through pain: if an exercise hurts, leave it out."
        else:
            reminder = "Skipping the introduction." if self._segment.kind == "intro" else "We're at the end already."
        self._jump(self._seg + 1, reminder, now)

    def _on_next(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        if self._segment.kind == "exercise":
            self._record("ended_early", now, out)
        text = "Moving on." if self._segment.kind == "exercise" else "Skipping the introduction."
        self._jump(self._seg + 1, text, now)

    def _on_back(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        again = now - self._last_back_at < BACK_AGAIN_SECONDS
        self._last_back_at = now
        target = self._seg
        if again and self._segment.kind == "exercise" and self._segments[self._seg - 1].kind == "exercise":
            target = self._seg - 1
            self._records = [r for r in self._records if r.exercise != self._segments[target].exercise_id]
        planned = self._segments[target].planned
        if planned is None:
            text = "Starting again from the beginning."
        else:
            text = f"Back to {planned.name}." if target < self._seg else f"Starting {planned.name} again."
        self._jump(target, text, now)

    def _on_repeat(self, now: float, out: list[Action]) -> None:
        played = self._segment.beats[: max(self._next, 1)]
        instructions = [b.say for b in played if b.say and b.phase in ("instruction", "cue", "rep", "intro")]
        text = instructions[-1] if instructions else "Nothing to repeat yet."
        self._answer(text, out)

    def _on_help(self, now: float, out: list[Action]) -> None:
        question = self._question[0] if self.state == ASKING else None
        self._answer(help_text(self.state, TRANSITIONS[self.state], self._routine_name, question), out)

    def _on_status(self, now: float, out: list[Action]) -> None:
        if self.state == IDLE:
            total = sum(sum(beat_seconds(b, self.pace) for b in s.beats) for s in compile_session(self.library, self.routine_id))
            text = f"The {self._routine_name} takes about {words.minutes(total)}. Say start when you're ready."
        else:
            text = self._status_text()
        self._answer(text, out)

    def _on_slower(self, now: float, out: list[Action]) -> None:
        self._change_pace(+Pace.STEP, out)

    def _on_faster(self, now: float, out: list[Action]) -> None:
        self._change_pace(-Pace.STEP, out)

    def _on_stop(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        if self._segment.kind == "exercise" and self._playing_started_exercise():
            self._record("stopped", now, out)
        self._say(f"Stopping here. {self._summary_text(now)}", out)
        self._end(now, stopped=True, out=out)

    # ---- playing beats ------------------------------------------------------------------------

    @property
    def _segment(self) -> Segment:
        return self._segments[self._seg] if self._segments else Segment("intro", ())

    @property
    def _routine_name(self) -> str:
        return self.library.routine(self.routine_id).name.lower()

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
            self._question, self._question_text = ("exercise",), self._segment.beats[self._next - 1].say or ""
            self._asked_again = False
            self.state = ASKING
            self._answer_by = now + ANSWER_SECONDS
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
        if beat.phase == "release":
            self._reps_done += 1
        self._play(beat, now, out, segment=True)

    def _play(self, beat: Beat, now: float, out: list[Action], segment: bool) -> None:
        self._playing, self._playing_is_segment = beat, segment
        text = self._summary_text(now) if beat.say == SUMMARY else beat.say
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

    def _change_pace(self, step: float, out: list[Action]) -> None:
        breath = min(Pace.SLOWEST, max(Pace.FASTEST, self.pace.breath_seconds + step))
        if breath == self.pace.breath_seconds:
            text = "That's as slow as it goes." if step > 0 else "That's as fast as it goes."
        else:
            self.pace = Pace(breath, self.pace.in_share)
            text = "Slower breathing." if step > 0 else "Faster breathing."
        self._answer(text, out)

    # ---- records and summaries ----------------------------------------------------------------

    def _playing_started_exercise(self) -> bool:
        return self._next > 0 or self._playing is not None

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
        self._records.append(record)
        out.append(ExerciseEnded(record))

    def _summary_text(self, now: float) -> str:
        finished = self._seg + 1 >= len(self._segments) and self._segment.kind == "closing"
        return summary_text(self._records, now - self._started_at, finished, self._routine_name)

    def _status_text(self) -> str:
        return status_text(self._segments, self._seg, self._next, self.pace)

    def _end(self, now: float, stopped: bool, out: list[Action]) -> None:
        done = tuple(r.exercise for r in self._records if r.outcome in ("completed", "ended_early"))
        skipped = tuple(r.exercise for r in self._records if r.outcome == "skipped")
        out.append(
            SessionEnded(
                routine=self.routine_id, done=done, skipped=skipped,
                minutes=round((now - self._started_at) / 60.0, 2), stopped=stopped, records=tuple(self._records),
            )
        )
        self.state, self._playing, self._inserted = IDLE, None, []

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
