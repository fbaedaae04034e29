"""Properties of the coach that hold for any commands at any times, over every shipped routine.

Hypothesis makes up the sessions: a routine, and a handful of phrases said at moments anywhere in
it. Each session runs in virtual time through the real loop, and the timeline is read as a user
would hear it. Under the default profile ("ci", tests/conftest.py) the examples are derandomised and
have no deadline, so CI runs the same sessions every time and a slow machine cannot fail one;
`pytest --hypothesis-profile=explore` runs a thousand fresh ones per property to look further.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.core.coach import Coach
from voicecoach.core.commands import PHRASES, Intent
from voicecoach.core.events import Action, Command, SessionEnded
from voicecoach.core.narration import Beat, Pace, Volume, compile_session, segment_seconds
from voicecoach.routinefile.loader import load
from voicecoach.session.loop import EstimatedSpeaker, Timeline, VirtualClock, run

LIBRARY = load(Path(__file__).resolve().parent.parent / "exercises.yaml")
LENGTH_SECONDS = {
    routine: sum(segment_seconds(s, Pace()) for s in compile_session(LIBRARY, routine))
    for routine in LIBRARY.routine_ids
}
PAUSED, ACTIVE = "paused", "active"
CALM = ["pause", "resume", "repeat", "how long is left", "slower", "faster", "help", "how am i doing"]

SESSIONS = settings(suppress_health_check=[HealthCheck.too_slow])  # the rest: the profile (conftest.py)


@dataclass
class Session:
    """One simulated session: what was said to the coach, and everything it did."""

    routine: str
    said: list[tuple[float, str]]
    entries: list[dict] = field(default_factory=list)
    ended: list[SessionEnded] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Session({self.routine!r}, said={sorted(self.said)!r})"

    def run(self, coach: Coach | None = None) -> Session:
        clock = VirtualClock()
        for seconds, phrase in sorted(self.said):
            clock.schedule(seconds, Command(PHRASES[phrase], phrase, seconds))
        last = 3 * LENGTH_SECONDS[self.routine] + 600.0  # in the end the user says stop, if it is not over
        clock.schedule(last, Command(Intent.STOP, "stop", last))
        timeline = Timeline()
        coach = coach or Coach(LIBRARY, self.routine)

        def observe(action: Action) -> None:
            if isinstance(action, SessionEnded):
                self.ended.append(action)

        run(coach, clock, EstimatedSpeaker(clock), timeline, observe=observe)
        self.entries = timeline.entries
        return self

    def command_times(self) -> set[float]:
        return {e["t"] for e in self.entries if e["kind"] == "heard"}


@st.composite
def sessions(draw: st.DrawFn, phrases: list[str] | None = None, most: int = 10) -> Session:
    routine = draw(st.sampled_from(LIBRARY.routine_ids))
    moments = st.floats(0.0, LENGTH_SECONDS[routine] + 60.0, allow_nan=False).map(lambda t: round(t, 2))
    said = draw(st.lists(st.tuples(moments, st.sampled_from(phrases or sorted(PHRASES))), max_size=most))
    return Session(routine, said).run()


@SESSIONS
@given(sessions())
def test_any_commands_at_any_times_end_the_session_once_and_time_never_runs_backwards(session: Session):
    times = [e["t"] for e in session.entries]
    assert times == sorted(times)
    assert len(session.ended) == 1
    assert [e["kind"] for e in session.entries].count("end") == 1


VOICE = ["louder", "quieter", "volume up", "softer", "slower", "faster", "pause", "resume", "what's next", "stop"]


@SESSIONS
@given(sessions(VOICE, most=14))
def test_volume_and_pace_move_one_step_at_a_time_within_their_bounds_and_every_step_is_said(session: Session):
    volumes = [Volume().level] + [e["volume"] for e in session.entries if e["kind"] == "volume"]
    steps = [Volume.LEVELS.index(v) for v in volumes]
    assert all(abs(a - b) == 1 for a, b in zip(steps, steps[1:]))  # never silent: 0.1 is the least
    paces = [Pace().breath_seconds] + [e["breath_seconds"] for e in session.entries if e["kind"] == "pace"]
    assert all(Pace.FASTEST <= p <= Pace.SLOWEST for p in paces)
    assert all(abs(a - b) == Pace.STEP for a, b in zip(paces, paces[1:]))
    said = [e["text"] for e in session.entries if e["kind"] == "say"]
    assert sum(text.startswith(("Louder.", "Quieter.")) for text in said) == len(volumes) - 1


@SESSIONS
@given(sessions())
def test_while_paused_the_coach_speaks_only_to_answer_a_command_at_the_moment_it_is_said(session: Session):
    answers_at = session.command_times()
    state = None
    for entry in session.entries:
        if entry["kind"] == "state":
            state = entry["state"]
        elif entry["kind"] == "say" and state == PAUSED:
            assert entry["t"] in answers_at, f"said {entry['text']!r} at {entry['t']} while paused, unasked"


@SESSIONS
@given(sessions())
def test_every_exercise_started_is_in_the_session_record_exactly_once_and_none_never_reached(session: Session):
    (ended,) = session.ended
    recorded = [r.exercise for r in ended.records]
    states = [e for e in session.entries if e["kind"] == "state" and e["exercise"]]
    started = {e["exercise"] for e in states if e["rep"] is not None}  # its first repetition began
    reached = {e["exercise"] for e in states}  # skipped for pain or stopped before that: recorded too
    planned = [p.id for p in LIBRARY.plan(session.routine)]
    assert len(set(planned)) == len(planned)  # else "exactly once" would be the wrong question
    assert sorted(recorded) == sorted(set(recorded)), f"recorded twice: {recorded}"
    assert started <= set(recorded) <= reached


class Watched(Coach):
    """A coach whose routine beats are watched: the one a pause cut off, and the first played after
    each resume."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cut: list[tuple[Beat, Beat | None]] = []  # (cut off by a pause, first played after resuming)
        self._resumed = False

    def handle(self, event):
        if isinstance(event, Command) and event.intent is Intent.PAUSE and self.state == ACTIVE and self.playing:
            self.cut.append((self.playing, None))
        resuming = isinstance(event, Command) and event.intent is Intent.RESUME and self.state == PAUSED
        actions = super().handle(event)
        self._resumed = self._resumed or (resuming and bool(self.cut) and self.cut[-1][1] is None)
        if self._resumed and self.playing is not None:
            self.cut[-1] = (self.cut[-1][0], self.playing)
            self._resumed = False
        return actions


@SESSIONS
@given(
    st.sampled_from(LIBRARY.routine_ids),
    st.lists(st.tuples(st.floats(0.0, 1200.0).map(lambda t: round(t, 2)), st.sampled_from(CALM)), max_size=8),
)
def test_a_pause_then_resume_plays_the_interrupted_beat_again(routine: str, said: list[tuple[float, str]]):
    """With commands that neither move nor end the session, every beat a pause cuts off is the
    first beat played after the resume (after a word on where we were)."""
    coach = Watched(LIBRARY, routine)
    Session(routine, said).run(coach)
    for cut_off, replayed in coach.cut:
        assert replayed is None or replayed is cut_off, f"cut off {cut_off}, then played {replayed}"
    assert all(replayed is not None for _, replayed in coach.cut[:-1])  # only the last may end the session


def test_the_resume_property_can_fail(monkeypatch):
    """A coach that forgets the beat a pause cut off is caught by the resume property."""
    from voicecoach.core import player

    original = player.Player._interrupt

    def forgetful(self, out):
        replay = self._playing is not None and self._playing_is_segment
        original(self, out)
        if replay:
            self._next += 1  # skip the interrupted beat instead of playing it again

    monkeypatch.setattr(player.Player, "_interrupt", forgetful)
    inner = test_a_pause_then_resume_plays_the_interrupted_beat_again.hypothesis.inner_test
    with pytest.raises(AssertionError, match="cut off"):
        inner("short", [(40.0, "pause"), (50.0, "resume")])


def test_intents_reach_every_state():
    """The phrases the sessions draw from cover every intent, so no command goes untried."""
    assert set(PHRASES.values()) == set(Intent)
