"""Sessions remembered and acted on: pain makes the next session ask first, twice leaves the exercise
out until the user asks for it back by voice; good sessions grow slowly."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from voicecoach.core.coach import Coach
from voicecoach.core.commands import Intent
from voicecoach.core.events import Command, Say
from voicecoach.history.store import History
from voicecoach.routinefile.loader import load
from voicecoach.session.keeper import SessionKeeper
from voicecoach.session.loop import EstimatedSpeaker, Timeline, VirtualClock, run

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")


def session(keeper: SessionKeeper, coach: Coach, *said: tuple[float, Intent, str]) -> list[dict]:
    clock = VirtualClock()
    for at, intent, phrase in said:
        clock.schedule(at, Command(intent, phrase, at))
    timeline = Timeline()
    run(coach, clock, EstimatedSpeaker(clock), timeline, observe=keeper.observe)
    return timeline.entries


def keeper_for(tmp_path: Path, today: date | None = None) -> tuple[SessionKeeper, Coach, History]:
    history = History.open(tmp_path / "history.sqlite3")
    coach = Coach(LIBRARY, "short")
    keeper = SessionKeeper(history, LIBRARY, coach, today=(lambda: today) if today else date.today)
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
        assert (
            next(p for p in coach.plans["short"] if p.id == "full_body_stretch").hold_seconds
            == stretch.hold_seconds.low
        )
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


def session_answering(keeper: SessionKeeper, coach: Coach, answer: str) -> list[dict]:
    """A whole session in which the user answers the coach's question with `answer` a second after it is asked."""
    clock, timeline = VirtualClock(), Timeline()
    speaker = EstimatedSpeaker(clock)
    run(coach, clock, speaker, timeline, observe=keeper.observe, until=0.0)
    while coach.state != "asking":
        run(coach, clock, speaker, timeline, start=False, observe=keeper.observe, until=clock.now() + 1.0)
    clock.schedule(
        clock.now() + 1.0, Command(Intent.SKIP if answer == "skip" else Intent.YES, answer, clock.now() + 1.0)
    )
    run(coach, clock, speaker, timeline, start=False, observe=keeper.observe)
    return timeline.entries


def say_while_idle(keeper: SessionKeeper, coach: Coach, *phrases: tuple[Intent, str]) -> list[str]:
    """What the idle coach answers to `phrases`, said ten seconds apart."""
    answers = []
    for number, (intent, phrase) in enumerate(phrases):
        actions = coach.handle(Command(intent, phrase, 10.0 * number))
        for action in actions:
            keeper.observe(action)
        answers += [a.text for a in actions if isinstance(a, Say)]
    return answers


def test_two_pain_skips_leave_it_out_the_session_end_says_so_once_and_bring_it_back_by_voice_restores_it(tmp_path):
    keeper, coach, history = keeper_for(tmp_path)
    session(keeper, coach, (200.0, Intent.SKIP, "it hurts"))  # knee rolls hurt
    second = session_answering(keeper, coach, "skip")  # "Last time knee rolls hurt. Try them gently, or skip?"
    assert [e for e in second if e["kind"] == "end"][0]["skipped"] == ["knee_rolls"]
    news = (
        "Knee rolls hurt twice in a row, so I'll leave them out from now on. "
        "To try them again one day, say bring it back."
    )
    assert [e["text"] for e in second if e["kind"] == "say"][-1].endswith(news)  # the closing words
    assert "knee_rolls" not in [p.id for p in coach.plans["short"]] and coach.dropped == ("knee_rolls",)

    third = session(keeper, coach)  # the same day: left out, and not said again
    assert all(news not in e.get("text", "") for e in third)
    assert [e for e in third if e["kind"] == "end"][0]["done"] == ["pelvic_tilt", "full_body_stretch"]

    answers = say_while_idle(
        keeper, coach, (Intent.HELP, "what can i say"), (Intent.BRING_BACK, "bring them back"), (Intent.YES, "yes")
    )
    assert answers[0].endswith("Knee rolls are left out because they hurt; to try them again, say bring it back.")
    assert answers[1:] == [
        "Knee rolls are left out because they hurt twice. Bring them back? Say yes, or no.",
        "Knee rolls are back. We'll start gently, and I'll ask you first. Say start when you're ready.",
    ]
    knee_rolls = next(p for p in coach.plans["short"] if p.id == "knee_rolls")  # in the next session's plan
    assert knee_rolls.reps == LIBRARY.content.exercises["knee_rolls"].reps.low
    assert knee_rolls.ask_first == "You asked for knee rolls back. Try them gently, or skip?"
    assert coach.dropped == () and history.adjustments(LIBRARY.content.exercises)["knee_rolls"].dropped is False
    fourth = session_answering(keeper, coach, "yes")
    assert {e["exercise"]: e["outcome"] for e in fourth if e["kind"] == "exercise"}["knee_rolls"] == "completed"


def test_an_exercise_left_out_on_an_earlier_day_is_not_announced_again(tmp_path):
    keeper, coach, history = keeper_for(tmp_path)
    session(keeper, coach, (200.0, Intent.SKIP, "it hurts"))
    session_answering(keeper, coach, "skip")
    history.close()
    keeper, coach, history = keeper_for(tmp_path, today=date.today() + timedelta(days=1))  # the next morning
    assert coach.dropped == ("knee_rolls",) and coach.dropped_today == ()
    assert "bring it back" in say_while_idle(keeper, coach, (Intent.HELP, "help"))[0]
