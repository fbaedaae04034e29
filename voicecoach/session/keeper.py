"""Keeps the history as the coach goes, and the coach's plans as the history says.

Every action the coach takes that matters later (a session started, an exercise done or skipped, a
session ended, a resume declined, an exercise brought back) is written at once, so a kill or a power
cut loses at most the exercise in progress. After each session the plans are worked out again from
the history (progression: grow slowly, gentler after pain, ask first, leave out), and so are "how am
I doing" and the exercises left out; those are also updated as soon as a skip may leave one out.
The pace and volume said by voice ("slower", "quieter", ...) are written as they change, and the
coach starts with what was said last (`start_voice`), unless the settings file changed since.
A history that cannot be written is logged and never stops a workout.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime

from voicecoach.core.coach import Coach
from voicecoach.core.events import (
    Action,
    ExerciseEnded,
    ExerciseRestored,
    PaceChanged,
    ResumeDeclined,
    SessionEnded,
    SessionStarted,
    VolumeChanged,
)
from voicecoach.core.library import Library, PlannedExercise
from voicecoach.core.narration import Pace, Volume
from voicecoach.core.progression import Adjustment, apply, questions
from voicecoach.history.store import History, HistoryError, Unfinished

log = logging.getLogger(__name__)


class SessionKeeper:
    """The bridge between one coach and one history."""

    def __init__(
        self,
        history: History,
        library: Library,
        coach: Coach,
        today: Callable[[], date] = date.today,
        wall: Callable[[], datetime | None] = lambda: None,
    ):
        """`wall` gives the time to write for each record (None: the wall clock; simulations pass their own).
        The coach's pace and volume now are taken for the settings file's (see `start_voice`)."""
        self.history, self.library, self.coach = history, library, coach
        self.today = today
        self.wall = wall
        self.session_id: int | None = None
        self.unfinished: Unfinished | None = None
        self._planned: dict[str, PlannedExercise] = {}
        self.file_voice = {"breath_seconds": coach.pace.breath_seconds, "volume": coach.volume.level}

    def plans(self, adjustments: Mapping[str, Adjustment] | None = None) -> dict[str, list[PlannedExercise]]:
        """Every routine's exercises with this session's numbers, and a question where one hurt."""
        if adjustments is None:
            adjustments = self.history.adjustments(self.library.content.exercises)
        plans = {}
        for routine_id in self.library.routine_ids:
            plan = apply(self.library.plan(routine_id), adjustments)
            asks = questions(plan, adjustments)
            plans[routine_id] = [dataclasses.replace(p, ask_first=asks[p.id]) if p.id in asks else p for p in plan]
        return plans

    def refresh(self) -> None:
        """Give the coach plans, a progress sentence and what is left out, from the history as it is now."""
        try:
            adjustments = self.history.adjustments(self.library.content.exercises)
            self.coach.plans = self.plans(adjustments)
            self._left_out(adjustments)
            names = {id_: exercise.name.lower() for id_, exercise in self.library.content.exercises.items()}
            self.coach.progress_sentence = self.history.summary_sentence(today=self.today(), names=names)
        except HistoryError as error:
            log.error("could not read the history: %s", error)

    def start_voice(self) -> None:
        """Give the coach the pace and volume said last by voice, where the settings file (its values
        when the keeper was made) has not changed since they were said: the file's values are the
        defaults, and what was said last wins."""
        try:
            voice = self.history.remembered_voice(self.file_voice)
        except HistoryError as error:
            log.error("could not read the history: %s", error)
            return
        breath, level = voice["breath_seconds"], voice["volume"]
        if Pace.FASTEST <= breath <= Pace.SLOWEST:
            self.coach.pace = Pace(breath, self.coach.pace.in_share)
        if 0.0 <= level <= 1.0:
            self.coach.volume = Volume(level)

    def resume_offer(self) -> tuple[str, int] | None:
        """(routine, exercise index) of an interrupted session worth offering, if there is one."""
        try:
            self.unfinished = self.history.unfinished_session()
        except HistoryError as error:
            log.error("could not read the history: %s", error)
            return None
        if self.unfinished is None or self.unfinished.session.routine not in self.library.content.routines:
            return None
        routine = self.unfinished.session.routine
        plan = self.coach.plans.get(routine) or self.library.plan(routine)
        index = self.unfinished.resume_index(plan)
        return (routine, index) if index < len(plan) else None

    def observe(self, action: Action) -> None:
        """Called with every action the coach takes."""
        try:
            self._observe(action)
        except HistoryError as error:
            log.error("could not write the history (the session goes on): %s", error)

    def _observe(self, action: Action) -> None:
        if isinstance(action, SessionStarted):
            plan = self.coach.plans.get(action.routine) or self.library.plan(action.routine)
            self._planned = {p.id: p for p in plan}
            if action.resumed_at is not None and self.unfinished is not None:
                self.session_id = self.unfinished.session.id
            else:
                self.session_id = self.history.start_session(action.routine, now=self.wall())
            self.unfinished = None
        elif isinstance(action, ExerciseEnded) and self.session_id is not None:
            self.history.record_exercise(
                self.session_id, action.record, self._planned.get(action.record.exercise), now=self.wall()
            )
            if action.record.outcome == "skipped":  # perhaps the second time it hurt: the session's end says so
                self._left_out(self.history.adjustments(self.library.content.exercises))
        elif isinstance(action, SessionEnded) and self.session_id is not None:
            self.history.end_session(self.session_id, action, now=self.wall())
            self.session_id = None
            self.refresh()
        elif isinstance(action, ResumeDeclined) and self.unfinished is not None:
            self.history.abandon(self.unfinished.session.id)
            self.unfinished = None
        elif isinstance(action, ExerciseRestored):
            self.history.restore(action.exercise, now=self.wall())
            self.refresh()
        elif isinstance(action, PaceChanged):
            self.history.remember_voice(
                "breath_seconds", action.breath_seconds, self.file_voice["breath_seconds"], now=self.wall()
            )
        elif isinstance(action, VolumeChanged):
            self.history.remember_voice("volume", action.volume, self.file_voice["volume"], now=self.wall())

    def _left_out(self, adjustments: Mapping[str, Adjustment]) -> None:
        """Tell the coach which exercises are left out because they hurt, and which of them since today."""
        dropped = tuple(e for e in self.library.content.exercises if e in adjustments and adjustments[e].dropped)
        hurt_on = self.history.last_hurt() if dropped else {}
        self.coach.dropped = dropped
        self.coach.dropped_today = tuple(e for e in dropped if hurt_on.get(e) == self.today())


def keep_history(history: History | None, library: Library, coach: Coach):
    """The observer that writes `coach`'s session to `history` (None: nothing is written), after
    giving the coach its plans from it (progression, gentler after pain, left out) and the pace
    and volume said last."""
    if history is None:
        return None
    keeper = SessionKeeper(history, library, coach)
    keeper.refresh()
    keeper.start_voice()
    return keeper.observe
