"""The coach asks before an exercise that hurt last time, offers to resume, brings back exercises left
out because they hurt, and starts routines by name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from voicecoach.core.coach import ACTIVE, ASKING, IDLE, Coach
from voicecoach.core.commands import PHRASES, Intent
from voicecoach.core.events import (
    Command,
    ExerciseRestored,
    ResumeDeclined,
    Say,
    SessionEnded,
    SessionStarted,
    Tick,
    VolumeChanged,
)
from voicecoach.core.narration import speech_seconds
from voicecoach.routinefile.loader import load
from voicecoach.session.loop import EstimatedSpeaker, Timeline, VirtualClock, run
from voicecoach.session.simulate import Said, simulate

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")
QUESTION = "Last time knee rolls hurt. Try them gently, or skip?"
ASKED = QUESTION + " Say yes, or skip."


def said(seconds: float, phrase: str) -> Said:
    return Said(seconds, phrase, PHRASES[phrase])


def plans_asking_about_knee_rolls() -> dict:
    plan = [dataclasses.replace(p, ask_first=QUESTION) if p.id == "knee_rolls" else p for p in LIBRARY.plan("short")]
    return {"short": plan}


def says(entries: list[dict]) -> list[tuple[float, str]]:
    return [(e["t"], e["text"]) for e in entries if e["kind"] == "say"]


def asked_at(entries: list[dict]) -> float:
    return next(t for t, text in says(entries) if text.startswith(QUESTION))


def test_before_an_exercise_that_hurt_the_coach_asks_and_waits_for_yes():
    plain = simulate(LIBRARY, "short", plans=plans_asking_about_knee_rolls()).entries
    asked = asked_at(plain)
    entries = simulate(LIBRARY, "short", [said(asked + 10, "yes")], plans=plans_asking_about_knee_rolls()).entries
    spoken = says(entries)
    assert (asked, ASKED) in spoken
    assert [text for t, text in spoken if asked < t < asked + 10] == []  # it waits
    after = [text for t, text in spoken if t >= asked + 10]
    assert after[:2] == [
        "Gently, then. Stop at once if it hurts.",
        "Lie on your back with a small flat cushion under your head.",
    ]
    assert {e["exercise"]: e["outcome"] for e in entries if e["kind"] == "exercise"}["knee_rolls"] == "completed"


def test_skip_or_no_at_the_question_leaves_the_exercise_out_as_a_pain_skip():
    asked = asked_at(simulate(LIBRARY, "short", plans=plans_asking_about_knee_rolls()).entries)
    for answer in ("skip", "no"):
        answered = asked + speech_seconds(ASKED) + 1  # once the question has been asked
        entries = simulate(LIBRARY, "short", [said(answered, answer)], plans=plans_asking_about_knee_rolls()).entries
        assert [text for t, text in says(entries) if abs(t - answered) < 0.01] == ["We'll leave it out today."]
        end = [e for e in entries if e["kind"] == "end"][0]
        assert end["skipped"] == ["knee_rolls"] and end["done"] == ["pelvic_tilt", "full_body_stretch"]


def test_unanswered_it_asks_once_more_then_leaves_the_exercise_out_without_counting_pain():
    entries = simulate(LIBRARY, "short", plans=plans_asking_about_knee_rolls()).entries
    asked = asked_at(entries)
    asked_until = asked + speech_seconds(ASKED)  # the 20 s wait starts once the question is spoken
    spoken = [(round(t - asked_until, 1), text) for t, text in says(entries) if t >= asked]
    assert spoken[1] == (20.0, ASKED)
    assert spoken[2] == (round(40.0 + speech_seconds(ASKED), 1), "No answer, so we'll leave it out today.")
    end = [e for e in entries if e["kind"] == "end"][0]
    assert end["skipped"] == [] and "knee_rolls" not in end["done"]


def test_pause_during_the_question_pauses_and_resume_asks_again():
    asked = asked_at(simulate(LIBRARY, "short", plans=plans_asking_about_knee_rolls()).entries)
    entries = simulate(
        LIBRARY, "short", [said(asked + 2, "pause"), said(asked + 30, "resume")], plans=plans_asking_about_knee_rolls()
    ).entries
    spoken = [text for t, text in says(entries) if t >= asked + 2]
    assert spoken[:3] == ["Paused.", "Carrying on.", ASKED]


def coach_offering_resume() -> tuple[Coach, list]:
    coach = Coach(LIBRARY, "daily")
    actions = coach.offer_resume("short", 1, now=0.0)
    return coach, actions


def test_an_interrupted_session_is_offered_and_resumed_at_the_same_exercise():
    coach, actions = coach_offering_resume()
    assert [a.text for a in actions if isinstance(a, Say)] == [
        "We stopped during knee rolls. Carry on from there? Say yes, or no."
    ]
    assert coach.state == ASKING and Intent.YES in coach.listening_for()
    actions = coach.handle(Command(Intent.YES, "yes", 5.0))
    assert SessionStarted("short", resumed_at=1) in actions
    assert [a.text for a in actions if isinstance(a, Say)] == ["Carrying on with knee rolls."]
    assert coach.state == ACTIVE and coach.routine_id == "short"


def test_louder_or_quieter_at_a_question_changes_the_volume_and_asks_again():
    coach, _ = coach_offering_resume()
    actions = coach.handle(Command(Intent.LOUDER, "louder", 5.0))
    assert [a.text for a in actions if isinstance(a, Say)] == [
        "That's as loud as I go. We stopped during knee rolls. Carry on from there? Say yes, or no."
    ]
    actions = coach.handle(Command(Intent.QUIETER, "volume down", 9.0))
    assert VolumeChanged(0.63) in actions
    assert [a.text for a in actions if isinstance(a, Say)] == [
        "Quieter. We stopped during knee rolls. Carry on from there? Say yes, or no."
    ]
    assert coach.state == ASKING
    assert SessionStarted("short", resumed_at=1) in coach.handle(Command(Intent.YES, "yes", 15.0))


def test_what_s_next_at_a_question_asks_for_an_answer():
    coach, _ = coach_offering_resume()
    assert [a.text for a in coach.handle(Command(Intent.WHATS_NEXT, "what's next", 5.0)) if isinstance(a, Say)] == [
        "Please answer yes or no."
    ]


def test_no_to_resuming_goes_back_to_waiting_and_says_so():
    coach, _ = coach_offering_resume()
    actions = coach.handle(Command(Intent.NO, "no", 5.0))
    assert any(isinstance(a, ResumeDeclined) for a in actions)
    assert [a.text for a in actions if isinstance(a, Say)] == ["All right. Say start when you're ready."]
    assert coach.state == IDLE and Intent.YES not in coach.listening_for()


def test_start_at_the_resume_question_starts_over():
    coach, _ = coach_offering_resume()
    actions = coach.handle(Command(Intent.START, "start", 5.0))
    assert any(isinstance(a, ResumeDeclined) for a in actions) and SessionStarted("daily", None) in actions


def test_a_start_phrase_can_name_the_routine():
    coach = Coach(LIBRARY, "daily")
    actions = coach.handle(Command(Intent.START, "start the gentle routine", 0.0))
    assert SessionStarted("gentle", None) in actions
    assert "gentle routine" in [a.text for a in actions if isinstance(a, Say)][0]


def test_every_shipped_routine_can_be_started_by_name():
    from voicecoach.core.commands import ROUTINE_WORDS

    assert set(LIBRARY.routine_ids) <= set(ROUTINE_WORDS)


def test_how_am_i_doing_answers_with_what_the_session_layer_knows():
    coach = Coach(LIBRARY, "daily")
    coach.progress_sentence = "You've done four sessions in the last seven days."
    actions = coach.handle(Command(Intent.PROGRESS, "how am i doing", 0.0)) + coach.handle(Tick(0.0))
    assert [a.text for a in actions if isinstance(a, Say)] == ["You've done four sessions in the last seven days."]
    assert coach.state == IDLE


# ---- exercises left out because they hurt, brought back by voice ---------------------------------


def idle_coach_leaving_out(*exercises: str) -> Coach:
    coach = Coach(LIBRARY, "short")
    coach.dropped = exercises  # the session layer keeps this current from the history
    return coach


def spoken(actions: list) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


def test_bring_it_back_asks_about_each_exercise_left_out_in_turn():
    coach = idle_coach_leaving_out("pelvic_tilt", "knee_rolls")
    asked = coach.handle(Command(Intent.BRING_BACK, "bring it back", 0.0))
    assert spoken(asked) == ["Pelvic tilt is left out because it hurt twice. Bring it back? Say yes, or no."]
    assert coach.state == ASKING and Intent.YES in coach.listening_for()

    yes = coach.handle(Command(Intent.YES, "yes", 8.0))
    assert ExerciseRestored("pelvic_tilt") in yes  # the session layer writes it to the history
    assert spoken(yes) == [
        "Pelvic tilt is back. We'll start gently, and I'll ask you first. "
        "Knee rolls are left out because they hurt twice. Bring them back? Say yes, or no."
    ]

    no = coach.handle(Command(Intent.NO, "no thanks", 20.0))
    assert not any(isinstance(a, ExerciseRestored) for a in no)
    assert spoken(no) == ["All right, I'll leave it out. Say start when you're ready."]
    assert coach.state == IDLE and coach.dropped == ("knee_rolls",)


def test_bring_back_with_nothing_left_out_says_so():
    coach = idle_coach_leaving_out()
    actions = coach.handle(Command(Intent.BRING_BACK, "bring back", 0.0))
    assert spoken(actions) == ["Nothing is left out: every exercise is in the routine. Say start when you're ready."]
    assert coach.state == IDLE


def test_help_while_idle_mentions_bring_it_back_only_when_something_is_left_out():
    plain = spoken(idle_coach_leaving_out().handle(Command(Intent.HELP, "help", 0.0)))
    assert "bring" not in plain[0]
    (text,) = spoken(idle_coach_leaving_out("knee_rolls").handle(Command(Intent.HELP, "help", 0.0)))
    assert text == plain[0] + " Knee rolls are left out because they hurt; to try them again, say bring it back."
    coach = idle_coach_leaving_out("knee_rolls")
    coach.handle(Command(Intent.BRING_BACK, "bring it back", 0.0))
    assert spoken(coach.handle(Command(Intent.HELP, "help", 5.0))) == [
        "Say yes to bring it back, or no to leave it out."
    ]


def test_unanswered_bring_back_is_asked_once_more_then_nothing_is_brought_back():
    coach = idle_coach_leaving_out("knee_rolls")
    question = spoken(coach.handle(Command(Intent.BRING_BACK, "bring it back", 0.0)))[0]
    again = coach.next_deadline
    assert again == 20.0 + speech_seconds(question) and spoken(coach.handle(Tick(again))) == [question]
    last = coach.handle(Tick(coach.next_deadline))
    assert spoken(last) == ["I'll wait. Say start when you're ready."]
    assert coach.state == IDLE and not any(isinstance(a, ExerciseRestored) for a in last)


def test_start_or_stop_at_a_bring_back_question_leaves_the_rest_out():
    coach = idle_coach_leaving_out("knee_rolls")
    coach.handle(Command(Intent.BRING_BACK, "bring it back", 0.0))
    actions = coach.handle(Command(Intent.STOP, "stop", 3.0))
    assert spoken(actions) == ["I'll wait. Say start when you're ready."] and coach.state == IDLE
    assert not any(isinstance(a, SessionEnded) for a in actions)  # there was no session to end
    coach.handle(Command(Intent.BRING_BACK, "bring it back", 10.0))
    assert SessionStarted("short", None) in coach.handle(Command(Intent.START, "start", 13.0))


def test_the_end_of_the_session_that_left_an_exercise_out_says_so_once():
    coach = Coach(LIBRARY, "short")
    coach.dropped = coach.dropped_today = ("lower_back_stretch",)  # as the session layer says after a pain skip
    news = (
        "Lower back stretch hurt twice in a row, so I'll leave it out from now on. "
        "To try it again one day, say bring it back."
    )
    endings = []
    for _ in range(2):  # two sessions on the same day
        clock, timeline = VirtualClock(), Timeline()
        run(coach, clock, EstimatedSpeaker(clock), timeline)
        endings.append(timeline.said()[-1][1])
    assert endings[0].startswith("That's the end of the short routine. You did ") and endings[0].endswith(news)
    assert news not in endings[1]
