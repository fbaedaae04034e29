"""The asking state: the questions the coach asks, and what yes, no, silence and other answers do."""

# A question is a tuple, its kind first:
#   ("exercise",)                    before an exercise that hurt last time (asked mid-session)
#   ("resume", routine, index)       carry on an interrupted session at exercise `index`
#   ("restore", exercise, later)     bring back an exercise left out because it hurt; `later` are
#                                    the ids of the others left out, asked about next, in turn
# A question asked mid-session goes back to the session; one asked while idle goes back to idle.
# Unanswered twice, the safe choice is taken: leave the exercise out; don't resume, don't restore.

from __future__ import annotations

from voicecoach.core.answers import bring_back_question, brought_back
from voicecoach.core.events import Action, ExerciseRestored, ResumeDeclined, StopSpeaking
from voicecoach.core.narration import Beat
from voicecoach.core.player import ACTIVE, ASKING, IDLE, PAUSED, Player

PLEASE_ANSWER = "Please answer yes or no."
WHEN_READY = "Say start when you're ready."
ASKED_WHILE_IDLE = ("resume", "restore")


class Questions(Player):
    """The coach's questions and their answers (TRANSITIONS[ASKING] in coach.py names these handlers)."""

    def offer_resume(self, routine_id: str, exercise_index: int, now: float) -> list[Action]:
        """Ask whether to carry on an interrupted session at exercise `exercise_index` (0-based)."""
        if self.state != IDLE:
            return []
        plan = self.plans.get(routine_id) or self.library.plan(routine_id)
        if not 0 <= exercise_index < len(plan):
            return []
        out: list[Action] = []
        self._ask(
            ("resume", routine_id, exercise_index),
            f"We stopped during {plan[exercise_index].name.lower()}. Carry on from there? Say yes, or no.",
            now,
            out,
        )
        self._report(out)
        return out

    def set_aside_question(self) -> tuple[list[Action], tuple[tuple, str] | None]:
        """Stop asking a question asked while idle (resume, restore), without an answer: the coach
        falls quiet and idle. The actions, and the question to give `ask_set_aside` later (None if
        no such question was open)."""
        if self.state != ASKING or self._question[0] not in ASKED_WHILE_IDLE:
            return [], None
        out: list[Action] = [StopSpeaking()]
        asked = (self._question, self._question_text)
        self.state = IDLE
        self._report(out)
        return out, asked

    def ask_set_aside(self, asked: tuple[tuple, str], now: float) -> list[Action]:
        """Ask again a question `set_aside_question` returned, if the coach is still idle."""
        if self.state != IDLE:
            return []
        out: list[Action] = []
        self._ask(*asked, now, out)
        self._report(out)
        return out

    def _on_bring_back(self, now: float, out: list[Action]) -> None:
        if not self.dropped:
            self._say(f"Nothing is left out: every exercise is in the routine. {WHEN_READY}", out)
        else:
            self._ask_to_restore(self.dropped, "", now, out)

    def _ask_to_restore(self, exercises: tuple[str, ...], before: str, now: float, out: list[Action]) -> None:
        """Ask about the first of `exercises`, after saying `before`; with none left, wait for start."""
        if not exercises:
            self.state = IDLE
            self._say(f"{before} {WHEN_READY}".strip(), out)
            return
        first, *later = exercises
        question = bring_back_question(self._exercise_name(first))
        self._ask(("restore", first, tuple(later)), question, now, out, before=before)

    def _on_yes(self, now: float, out: list[Action]) -> None:
        kind, *details = self._question
        if kind == "resume":
            self.routine_id, index = details
            self._begin(now, out, resume_at=index)
        elif kind == "restore":
            exercise, later = details
            out.append(ExerciseRestored(exercise))
            self.dropped = tuple(e for e in self.dropped if e != exercise)
            self._ask_to_restore(later, brought_back(self._exercise_name(exercise)), now, out)
        else:
            self.state = ACTIVE
            self._inserted.append(Beat("Gently, then. Stop at once if it hurts.", after_speech=0.5))

    def _on_no(self, now: float, out: list[Action]) -> None:
        kind, *details = self._question
        if kind == "resume":
            self.state = IDLE
            out.append(ResumeDeclined())
            self._say(f"All right. {WHEN_READY}", out)
        elif kind == "restore":
            self._ask_to_restore(details[1], "All right, I'll leave it out.", now, out)
        else:
            self.state = ACTIVE
            self._record("skipped", now, out)
            self._jump(self._seg + 1, "We'll leave it out today.", now)

    def _on_start_over(self, now: float, out: list[Action]) -> None:
        if self._question[0] == "resume":
            out.append(ResumeDeclined())
        if self._question[0] in ASKED_WHILE_IDLE:
            self._begin(now, out)
        else:
            self._say(PLEASE_ANSWER, out)

    def _on_pause_question(self, now: float, out: list[Action]) -> None:
        out.append(StopSpeaking())
        if self._question[0] in ASKED_WHILE_IDLE:
            self._wait(out)
        else:  # resuming plays the question beat again
            self._next -= 1
            self.state = PAUSED
            self._say("Paused.", out)

    def _on_stop_question(self, now: float, out: list[Action]) -> None:
        if self._question[0] in ASKED_WHILE_IDLE:  # no session to stop: stop asking
            out.append(StopSpeaking())
            self._wait(out)
        else:
            self._stop(now, out)

    def _on_ask_again(self, now: float, out: list[Action]) -> None:
        self._ask(self._question, self._question_text, now, out)

    def _unanswered(self, now: float, out: list[Action]) -> None:
        if not self._asked_again:
            self._asked_again = True
            self._ask(self._question, self._question_text, now, out, again=True)
        elif self._question[0] in ASKED_WHILE_IDLE:
            self._wait(out)
        else:  # no consent to an exercise that hurt last time: leave it out, without counting it as pain
            self.state = ACTIVE
            self._jump(self._seg + 1, "No answer, so we'll leave it out today.", now)

    def _wait(self, out: list[Action]) -> None:
        self.state = IDLE
        self._say(f"I'll wait. {WHEN_READY}", out)
