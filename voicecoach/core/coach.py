"""The coach: a pure state machine from events to actions, with no audio, threads, sleeps or clock.

Theory of operation
-------------------
A session is a list of segments (the intro, one per exercise, the closing), each a list of beats
(see narration.py). The coach is in one of four states:

  idle    waits for "start"; between sessions it does nothing else but answer (help, how long,
          how am I doing), on "bring it back", ask about each exercise left out because it hurt,
          and on "learn my voice" hand over to enrolment (EnrolRequested) when a microphone listens.
  active  plays beats one after another. A beat starts (its words are said, its deadline noted)
          and ends once its time is up and, if it waits for speech, its words have been spoken.
          `next_deadline` tells the caller when to wake the coach with a Tick.
  paused  everything is frozen at the beat it was in. "resume" says a short re-cue and plays that
          beat again, so a hold carries on at the count where it stopped.
  asking  a question waits for yes, skip or no: before an exercise that hurt last time ("Try them
          gently, or skip?"), when an interrupted session can be resumed ("Carry on?"), or whether
          to bring back an exercise left out because it hurt ("Bring it back?").
          Unanswered, it is asked once more, then the safe choice is taken. "louder" and
          "quieter" change the volume and ask it again.

"slower", "faster", "louder" and "quieter" change how the coach speaks, not where it is: each
change goes out as an action (PaceChanged, VolumeChanged), for the speaker and to be remembered.

Every command is looked up in TRANSITIONS[state]; a command with no entry there gets a short
spoken answer from REFUSALS ("Already paused."), never an exception. Answers given while active
(help, status, repeat, ...) interrupt the current beat, are spoken, and the beat is played again.

The handlers named in the table are methods of Coach: the session's commands below, the answers
to a question in questions.py; playing beats in time and keeping the records is in player.py.
"""

from __future__ import annotations

from collections.abc import Callable

from voicecoach.core import words
from voicecoach.core.answers import help_text, whats_next_text
from voicecoach.core.commands import Intent
from voicecoach.core.events import (
    Action,
    Command,
    EnrolRequested,
    Event,
    PaceChanged,
    SpeechFinished,
    VolumeChanged,
)
from voicecoach.core.library import Library, PlannedExercise
from voicecoach.core.narration import Beat, Pace, Volume, beat_seconds, compile_session
from voicecoach.core.player import ACTIVE, ASKING, IDLE, PAUSED
from voicecoach.core.questions import PLEASE_ANSWER, Questions

__all__ = ["ACTIVE", "ASKING", "IDLE", "PAUSED", "REFUSALS", "TRANSITIONS", "Coach"]
AFTER_THE_SESSION = "Exercises left out can be brought back after the session."
LEARN_AFTER = "I can learn your voice after the session."
NO_MICROPHONE_TO_LEARN = (
    "I can only learn your voice when I'm listening through a microphone. From a terminal, run voicecoach enrol."
)
PASSING = {"intro": "Skipping the introduction.", "closing": "We're at the end already."}  # skip or next there
BACK_AGAIN_SECONDS = 10.0  # "back" said twice within this long goes to the previous exercise

TRANSITIONS: dict[str, dict[Intent, str]] = {
    IDLE: {
        Intent.START: "begin",
        Intent.RESUME: "begin",
        Intent.HELP: "help",
        Intent.STATUS: "status",
        Intent.WHATS_NEXT: "whats_next",
        Intent.LOUDER: "louder",
        Intent.QUIETER: "quieter",
        Intent.PROGRESS: "progress",
        Intent.BRING_BACK: "bring_back",
        Intent.LEARN_VOICE: "learn_voice",
    },
    ACTIVE: {
        Intent.PAUSE: "pause",
        Intent.SKIP: "skip",
        Intent.NEXT: "next",
        Intent.BACK: "back",
        Intent.REPEAT: "repeat",
        Intent.STOP: "stop",
        Intent.HELP: "help",
        Intent.STATUS: "status",
        Intent.WHATS_NEXT: "whats_next",
        Intent.SLOWER: "slower",
        Intent.FASTER: "faster",
        Intent.LOUDER: "louder",
        Intent.QUIETER: "quieter",
        Intent.PROGRESS: "progress",
    },
    PAUSED: {
        Intent.RESUME: "resume",
        Intent.START: "resume",
        Intent.SKIP: "skip",
        Intent.NEXT: "next",
        Intent.BACK: "back",
        Intent.REPEAT: "repeat",
        Intent.STOP: "stop",
        Intent.HELP: "help",
        Intent.STATUS: "status",
        Intent.WHATS_NEXT: "whats_next",
        Intent.SLOWER: "slower",
        Intent.FASTER: "faster",
        Intent.LOUDER: "louder",
        Intent.QUIETER: "quieter",
        Intent.PROGRESS: "progress",
    },
    ASKING: {
        Intent.YES: "yes",
        Intent.RESUME: "yes",
        Intent.NO: "no",
        Intent.SKIP: "no",
        Intent.START: "start_over",
        Intent.STOP: "stop_question",
        Intent.REPEAT: "ask_again",
        Intent.HELP: "help",
        Intent.PAUSE: "pause_question",
        Intent.LOUDER: "louder_question",
        Intent.QUIETER: "quieter_question",
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
        Intent.BRING_BACK: AFTER_THE_SESSION,
        Intent.LEARN_VOICE: LEARN_AFTER,
        None: "There's no question right now.",
    },
    PAUSED: {
        Intent.PAUSE: "Already paused.",
        Intent.BRING_BACK: AFTER_THE_SESSION,
        Intent.LEARN_VOICE: LEARN_AFTER,
        None: "We're paused. Say resume to carry on.",
    },
    ASKING: {None: PLEASE_ANSWER},
}
ALL_COMMANDS = frozenset(Intent) - {Intent.YES, Intent.NO}


class Coach(Questions):
    """One user's coach. Feed it events with `handle`; wake it at `next_deadline`."""

    def __init__(
        self,
        library: Library,
        routine_id: str,
        pace: Pace = Pace(),
        plans: dict[str, list[PlannedExercise]] | None = None,
        volume: Volume = Volume(),
        can_enrol: bool = False,
    ):
        super().__init__(library, routine_id, pace, plans, volume)
        self.can_enrol = can_enrol  # whether the session can run enrolment (a live microphone) on EnrolRequested
        self._last_back_at = float("-inf")
        self._now = float("-inf")

    # ---- the interface (and offer_resume, in questions.py) ------------------------------------

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

    def listening_for(self) -> frozenset[Intent]:
        """What a recogniser should listen for now: every command, even those that make no sense in
        this state (hearing "start" as itself and answering "We're already going" beats mishearing
        it as "stop"; measured with PocketSphinx), but the answers yes and no only when asked."""
        return ALL_COMMANDS | {Intent.YES, Intent.NO} if self.state == ASKING else ALL_COMMANDS

    # ---- commands -----------------------------------------------------------------------------

    def _command(self, intent: Intent, now: float, out: list[Action]) -> None:
        handler_name = TRANSITIONS[self.state].get(intent)
        if handler_name is None:
            refusals = REFUSALS[self.state]
            self._answer(refusals.get(intent, refusals[None]), out)
            return
        handler: Callable[[float, list[Action]], None] = getattr(self, f"_on_{handler_name}")
        handler(now, out)

    def _on_begin(self, now: float, out: list[Action]) -> None:
        self._begin(now, out)

    def _on_learn_voice(self, now: float, out: list[Action]) -> None:
        if self.can_enrol:
            out.append(EnrolRequested())
        else:
            self._answer(NO_MICROPHONE_TO_LEARN, out)

    def _on_progress(self, now: float, out: list[Action]) -> None:
        self._answer(self.progress_sentence, out)

    def _on_pause(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        self.state = PAUSED
        self._say("Paused.", out)

    def _on_resume(self, now: float, out: list[Action]) -> None:
        self.state = ACTIVE
        upcoming = self._segment.beats[self._next] if self._next < len(self._segment.beats) else None
        self._inserted.insert(
            0, Beat(upcoming.recue if upcoming and upcoming.recue else "Carrying on.", after_speech=0.3)
        )

    def _on_skip(self, now: float, out: list[Action]) -> None:
        self._interrupt(out)
        if self._segment.kind == "exercise":
            self._record("skipped", now, out)
            reminder = "Skipping it. Never push through pain: if an exercise hurts, leave it out."
        else:
            reminder = PASSING[self._segment.kind]
        self._jump(self._seg + 1, reminder, now)

    def _ends_early(self) -> bool:
        """Whether leaving the current exercise now ends it early: a repetition has begun in this
        visit (the one playing included, which an interruption forgets), or in an earlier one that
        left no record (it was started again). Passed by before any repetition, it is not done and
        not recorded, and an earlier record of it (made before going back to it) stands."""
        if self._segment.kind != "exercise":
            return False
        return any(b.rep is not None for b in self._segment.beats[: self._next]) or self._begun_unrecorded()

    def _on_next(self, now: float, out: list[Action]) -> None:
        begun = self._ends_early()
        self._interrupt(out)
        if begun:
            self._record("ended_early", now, out)
        text = "Moving on." if self._segment.kind == "exercise" else PASSING[self._segment.kind]
        self._jump(self._seg + 1, text, now)

    def _on_back(self, now: float, out: list[Action]) -> None:
        begun = self._ends_early()
        self._interrupt(out)
        again = now - self._last_back_at < BACK_AGAIN_SECONDS
        self._last_back_at = now
        target = self._seg
        to_previous = again or self._segment.kind == "closing"  # at the end, back is the last exercise again
        if to_previous and self._segment.kind != "intro" and self._segments[self._seg - 1].kind == "exercise":
            target = self._seg - 1  # its record stands until it ends again
            if begun:  # the one left for it was ended early (and comes again after it)
                self._record("ended_early", now, out)
        planned = self._segments[target].planned
        if planned is None:
            text = "Starting again from the beginning."
        else:
            name = planned.name.lower()
            text = f"Back to {name}." if target < self._seg else f"Starting {name} again."
        self._jump(target, text, now)

    def _on_repeat(self, now: float, out: list[Action]) -> None:
        played = self._segment.beats[: max(self._next, 1)]
        instructions = [b.say for b in played if b.say and b.phase in ("instruction", "cue", "rep", "intro")]
        text = instructions[-1] if instructions else "Nothing to repeat yet."
        self._answer(text, out)

    def _on_help(self, now: float, out: list[Action]) -> None:
        question = self._question[0] if self.state == ASKING else None
        left_out = [self._exercise_name(e) for e in self.dropped]
        text = help_text(self.state, TRANSITIONS[self.state], self._routine_name, question, left_out, self.can_enrol)
        self._answer(text, out)

    def _on_status(self, now: float, out: list[Action]) -> None:
        if self.state == IDLE:
            total = sum(
                sum(beat_seconds(b, self.pace) for b in s.beats) for s in compile_session(self.library, self.routine_id)
            )
            text = f"The {self._routine_name} takes {words.about_minutes(total)}. Say start when you're ready."
        else:
            text = self._status_text()
        self._answer(text, out)

    def _on_whats_next(self, now: float, out: list[Action]) -> None:
        if self.state == IDLE:
            segments = compile_session(self.library, self.routine_id, self.plans.get(self.routine_id))
            first = next((s.planned.name.lower() for s in segments if s.planned is not None), None)
            starts = f"The {self._routine_name} starts with {first}." if first else whats_next_text(segments, 0)
            text = f"{starts} Say start when you're ready."
        else:
            text = whats_next_text(self._segments, self._seg)
        self._answer(text, out)

    def _on_slower(self, now: float, out: list[Action]) -> None:
        self._change_pace(+Pace.STEP, out)

    def _on_faster(self, now: float, out: list[Action]) -> None:
        self._change_pace(-Pace.STEP, out)

    def _on_louder(self, now: float, out: list[Action]) -> None:
        self._answer(self._change_volume(True, out), out)

    def _on_quieter(self, now: float, out: list[Action]) -> None:
        self._answer(self._change_volume(False, out), out)

    def _on_louder_question(self, now: float, out: list[Action]) -> None:
        """Louder while a question waits (perhaps it was not heard): change it, and ask again."""
        self._ask(self._question, self._question_text, now, out, before=self._change_volume(True, out))

    def _on_quieter_question(self, now: float, out: list[Action]) -> None:
        self._ask(self._question, self._question_text, now, out, before=self._change_volume(False, out))

    def _on_stop(self, now: float, out: list[Action]) -> None:
        self._stop(now, out)

    def _change_volume(self, louder: bool, out: list[Action]) -> str:
        """One step louder or quieter, told to the speaker before anything more is said; what to say."""
        volume = self.volume.louder() if louder else self.volume.quieter()
        if volume == self.volume:
            return "That's as loud as I go." if louder else "That's as quiet as I go."
        self.volume = volume
        out.append(VolumeChanged(volume.level))
        return "Louder." if louder else "Quieter."

    def _change_pace(self, step: float, out: list[Action]) -> None:
        breath = min(Pace.SLOWEST, max(Pace.FASTEST, self.pace.breath_seconds + step))
        if breath == self.pace.breath_seconds:
            text = "That's as slow as it goes." if step > 0 else "That's as fast as it goes."
        else:
            self.pace = Pace(breath, self.pace.in_share)
            out.append(PaceChanged(breath))
            text = "Slower breathing." if step > 0 else "Faster breathing."
        self._answer(text, out)
