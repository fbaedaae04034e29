"""Sessions remembered and acted on: pain makes the next session ask first; good sessions grow slowly."""

from __future__ import annotations

from pathlib import Path

from voicecoach.coach import Coach
from voicecoach.commands import Intent
from voicecoach.events import Command
from voicecoach.history import History
from voicecoach.keeper import SessionKeeper
from voicecoach.loader import load
from voicecoach.loop import EstimatedSpeaker, Timeline, VirtualClock, run

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")


def session(keeper: SessionKeeper, coach: Coach, *said: tuple[float, Intent, str]) -> list[dict]:
    clock = VirtualClock()
    for at, intent, phrase in said:
        clock.schedule(at, Command(intent, phrase, at))
    timeline = Timeline()
    run(coach, clock, EstimatedSpeaker(clock), timeline, observe=keeper.observe)
    return timeline.entries


def keeper_for(tmp_path: Path) -> tuple[SessionKeeper, Coach, History]:
    history = History.open(tmp_path / "history.sqlite3")
    coach = Coach(LIBRARY, "short")
    keeper = SessionKeeper(history, LIBRARY, coach)
    keeper.refresh()
    return keeper, coach, history


def test_a_pain_skip_is_remembered_and_next_time_the_coach_asks_first(tmp_path):
    keeper, coach, history = keeper_for(tmp_path)
    first = session(keeper, coach, (200.0, Intent.SKIP, "it hurts"))
    assert [e for e in first if e["kind"] == "end"][0]["skipped"] == ["knee_rolls"]
    assert history.recent(1)[0].hurt == ("knee_rolls",)
    knee_rolls = next(p for p in coach.plans["short"] if p.id == "knee_rolls")
    assert knee_rolls.ask_first and "knee rolls" in knee_rolls.ask_first.lower()
    second = session(keeper, coach)
    assert any(e["kind"] == "say" and e["text"].startswith(knee_rolls.ask_first) for e in second)
    assert "knee rolls hurt last time" in coach.progress_sentence


def test_three_good_sessions_grow_a_hold_by_one_step_within_the_seed_range(tmp_path):
    keeper, coach, history = keeper_for(tmp_path)
    stretch = LIBRARY.content.exercises["full_body_stretch"]
    for _ in range(3):
        assert next(p for p in coach.plans["short"] if p.id == "full_body_stretch").hold_seconds == stretch.hold_seconds.low
        session(keeper, coach)
    grown = next(p for p in coach.plans["short"] if p.id == "full_body_stretch")
    assert grown.hold_seconds == stretch.hold_seconds.low + 1 <= stretch.hold_seconds.high
    assert len(history.recent(10)) == 3 and history.unfinished_session() is None


def test_a_session_cut_short_is_offered_again_at_the_same_exercise(tmp_path):
    keeper, coach, history = keeper_for(tmp_path)
    clock = VirtualClock()
    timeline = Timeline()
    run(coach, clock, EstimatedSpeaker(clock), timeline, observe=keeper.observe, until=250.0)  # then the power goes
    assert coach.state == "active" and history.recent(1)[0].done == ("pelvic_tilt",)
    history.close()

    keeper, coach, history = keeper_for(tmp_path)  # the next boot
    assert keeper.resume_offer() == ("short", 1)
    offered = coach.offer_resume("short", 1, now=0.0)
    assert offered[0].text == "We stopped during knee rolls. Carry on from there? Say yes, or no."
    actions = coach.handle(Command(Intent.YES, "yes", 3.0))
    for action in actions:
        keeper.observe(action)
    assert keeper.session_id == history.recent(1)[0].id  # the same session carries on
