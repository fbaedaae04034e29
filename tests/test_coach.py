"""The coach, heard as a user would hear it: whole routines simulated with commands at awkward moments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from voicecoach.core.coach import ACTIVE, IDLE, PAUSED, Coach
from voicecoach.core.commands import PHRASES, Intent, phrases_for
from voicecoach.core.events import (
    Command,
    EnrolRequested,
    Say,
    SessionEnded,
    SpeechFinished,
    StateChanged,
    StopSpeaking,
    Tick,
    VolumeChanged,
)
from voicecoach.core.narration import Volume, speech_seconds
from voicecoach.routinefile.loader import load
from voicecoach.session.simulate import Said, simulate

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")


def said(seconds: float, phrase: str) -> Said:
    return Said(seconds, phrase, PHRASES[phrase])


class Heard:
    """A simulated session, with questions a test asks about what was said when."""

    def __init__(self, routine: str, *commands: Said):
        self.entries = simulate(LIBRARY, routine, list(commands)).entries
        self.says = [(e["t"], e["text"]) for e in self.entries if e["kind"] == "say"]

    def first(self, text: str, after: float = -1.0) -> float:
        return next(t for t, s in self.says if s == text and t > after)

    def texts(self, start: float, end: float) -> list[str]:
        return [s for t, s in self.says if start <= t < end]

    def end(self) -> dict:
        (entry,) = [e for e in self.entries if e["kind"] == "end"]
        return entry

    def records(self) -> dict[str, str]:
        return {e["exercise"]: e["outcome"] for e in self.entries if e["kind"] == "exercise"}


def deep_abdominal_breath(heard: Heard, breath: str) -> float:
    """When the first repetition of deep abdominal strengthening reaches `breath` ("and out. Two.")."""
    start = heard.first("Breathe out, and draw up your lower tummy.")
    return heard.first(breath, after=start)


def test_pause_mid_hold_is_silent_until_resume_and_the_hold_goes_on_from_the_same_breath():
    plain = Heard("gentle")
    breath_three = plain.first("Breathe in…", after=deep_abdominal_breath(plain, "and out. Two."))
    pause_at, resume_at = breath_three + 1.0, breath_three + 48.0  # mid-way through breathing in
    heard = Heard("gentle", said(pause_at, "pause"), said(resume_at, "resume"))

    assert heard.texts(pause_at, pause_at + 0.01) == ["Paused."]
    assert heard.texts(pause_at + 0.01, resume_at) == []
    after = heard.texts(resume_at, resume_at + 30)
    assert after[:8] == [
        "Holding. Breath three of five.",
        "Breathe in…",
        "and out. Three.",
        "Breathe in…",
        "and out. Four.",
        "Breathe in…",
        "and out. Five.",
        "And relax.",
    ]
    rep_one = heard.texts(
        heard.first("Breathe out, and draw up your lower tummy."), heard.first("And relax.", after=resume_at)
    )
    assert rep_one.count("and out. One.") == 1 and rep_one.count("and out. Two.") == 1


def test_pause_mid_sentence_stops_speech_at_once_and_resume_says_the_sentence_again():
    sentence = "Lie on your back on the floor with your knees bent."
    plain = Heard("short")
    t = plain.first(sentence)
    coach_run = Heard("short", said(t + 1.0, "pause"), said(t + 20.0, "continue"))
    assert coach_run.texts(t + 1.0, t + 20.0) == ["Paused."]
    assert coach_run.texts(t + 20.0, t + 30.0)[:2] == ["Carrying on.", sentence]


def test_skip_ends_the_exercise_at_once_with_a_safety_reminder_and_records_pain():
    plain = Heard("daily")
    during = plain.first("Roll your knees to the right.") + 2.0
    heard = Heard("daily", said(during, "it hurts"))
    assert heard.texts(during, during + 0.01) == [
        "Skipping it. Never push through pain: if an exercise hurts, leave it out."
    ]
    assert (
        heard.texts(during + 0.01, during + 10)[0]
        == "Next: Pelvic tilt. A simple exercise that strengthens the lower back."
    )
    assert heard.records()["knee_rolls"] == "skipped"
    assert heard.end()["skipped"] == ["knee_rolls"] and "knee_rolls" not in heard.end()["done"]


def test_next_finishes_early_without_recording_pain():
    plain = Heard("short")
    during = plain.first("Hold.") + 1.5
    heard = Heard("short", said(during, "next"))
    assert heard.texts(during, during + 0.01) == ["Moving on."]
    assert heard.records()["pelvic_tilt"] == "ended_early"
    assert heard.end()["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"] and heard.end()["skipped"] == []


def test_next_before_the_first_repetition_passes_the_exercise_by_without_a_record():
    plain = Heard("short")
    during = plain.first("Lie on your back on the floor with your knees bent.") + 1.0
    heard = Heard("short", said(during, "next"))
    assert heard.texts(during, during + 0.01) == ["Moving on."]
    assert "pelvic_tilt" not in heard.records()
    assert heard.end()["done"] == ["knee_rolls", "full_body_stretch"] and heard.end()["skipped"] == []


def test_back_restarts_the_exercise_and_twice_goes_to_the_one_before():
    plain = Heard("short")
    during = plain.first("Eight in all, alternating sides, holding for one deep breath.") + 1.0
    once = Heard("short", said(during, "back"))
    assert once.texts(during, during + 0.01) == ["Starting knee rolls again."]
    assert once.texts(during + 0.01, during + 10)[0] == "Next: Knee rolls. Stretches and mobilises the spine."

    twice = Heard("short", said(during, "back"), said(during + 3, "go back"))
    assert twice.texts(during + 3, during + 3.01) == ["Back to pelvic tilt."]
    assert twice.texts(during + 3.01, during + 10)[0].startswith("First: Pelvic tilt.")
    assert twice.end()["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"]


def test_at_the_closing_words_next_is_the_end_and_back_is_the_last_exercise_again():
    plain = Heard("short")
    closing = next(t for t, text in plain.says if text.startswith("That's the end of the short routine.")) + 1.0
    at_end = Heard("short", said(closing, "next"))
    assert at_end.texts(closing, closing + 0.01) == ["We're at the end already."]

    again = Heard("short", said(closing, "back"))
    assert again.texts(closing, closing + 0.01) == ["Back to full body stretch."]
    assert again.texts(closing + 0.01, closing + 10)[0].startswith("Time to cool down with a gentle stretch")
    assert again.end()["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"], "counted once"


def test_repeat_says_the_current_instruction_again_then_carries_on():
    plain = Heard("short")
    cue = "Flatten your back into the floor."
    during = plain.first("Two.", after=plain.first(cue)) + 0.2
    heard = Heard("short", said(during, "say that again"))
    assert heard.texts(during, during + 3)[:2] == [cue, "Two."]


def test_stop_ends_with_a_spoken_summary():
    plain = Heard("short")
    during = plain.first("Next: Knee rolls. Stretches and mobilises the spine.") + 30
    heard = Heard("short", said(during, "stop"))
    assert heard.texts(during, 10_000) == ["Stopping here. You did one exercise, in three minutes."]
    end = heard.end()
    assert end["stopped"] and end["done"] == ["pelvic_tilt"]
    assert heard.records() == {"pelvic_tilt": "completed", "knee_rolls": "stopped"}


def test_a_whole_routine_runs_to_its_end_in_virtual_time():
    heard = Heard("daily")
    end = heard.end()
    assert not end["stopped"] and end["skipped"] == []
    assert end["done"] == [p.id for p in LIBRARY.plan("daily")]
    assert 15 <= end["minutes"] <= 20
    assert (
        heard.says[-1][1]
        == "That's the end of the daily routine. You did seven exercises, in eighteen minutes. Well done."
    )


def test_no_silence_lasts_more_than_a_few_seconds():
    for routine in LIBRARY.routine_ids:
        heard = Heard(routine)
        ends = [t + speech_seconds(text) for t, text in heard.says]
        gaps = [start - end for (start, _), end in zip(heard.says[1:], ends)]
        assert max(gaps) <= 5.0, routine


def test_counts_and_breaths_are_paced_aloud():
    heard = Heard("short")
    hold = heard.first("Hold.")
    assert heard.texts(hold, hold + 6.5) == ["Hold.", "One.", "Two.", "Three.", "Four.", "Five.", "And relax."]
    breath_in = heard.first("Take a deep breath in…")
    breath_out = heard.first("and out.", after=breath_in)
    assert breath_out - breath_in == pytest.approx(2.4)  # 40 % of a six-second breath


def test_slower_and_faster_change_the_breathing_pace_within_bounds():
    plain = Heard("gentle")
    start = deep_abdominal_breath(plain, "and out. One.") + 0.5
    slower = Heard("gentle", *[said(start + i * 0.1, "slower") for i in range(6)])
    assert slower.texts(start, start + 1)[-2:] == ["That's as slow as it goes.", "That's as slow as it goes."]
    breath_in = slower.first("Breathe in…", after=start + 1)
    assert slower.first("and out. Two.", after=breath_in) - breath_in == pytest.approx(4.0)  # 40 % of ten seconds
    faster = Heard("gentle", said(start, "speed up"))
    breath_in = faster.first("Breathe in…", after=start)
    assert faster.texts(start, start + 0.01) == ["Faster breathing."]
    assert faster.first("and out. Two.", after=breath_in) - breath_in == pytest.approx(2.0)


def test_slower_and_faster_go_out_as_pace_changes_only_when_the_pace_changes():
    start = 200
    heard = Heard(
        "gentle",
        said(start, "slower"),
        said(start + 20, "faster"),
        said(start + 40, "speed up"),
        *[said(start + 60 + i, "faster") for i in range(4)],
    )
    paces = [(e["t"], e["breath_seconds"]) for e in heard.entries if e["kind"] == "pace"]
    assert paces == [(start, 7.0), (start + 20, 6.0), (start + 40, 5.0), (start + 60, 4.0)]
    assert heard.texts(start + 61, start + 63.01) == ["That's as fast as it goes."] * 3


def volumes(heard: Heard) -> list[tuple[float, float]]:
    return [(e["t"], e["volume"]) for e in heard.entries if e["kind"] == "volume"]


def test_quieter_and_louder_step_the_volume_and_the_hold_goes_on():
    plain = Heard("short")
    three = plain.first("Three.", after=plain.first("Hold."))  # pelvic tilt's first hold
    heard = Heard("short", said(three + 0.5, "quieter"), said(three + 20, "volume down"), said(three + 40, "speak up"))
    assert volumes(heard) == [(three + 0.5, 0.63), (three + 20, 0.4), (three + 40, 0.63)]
    assert heard.texts(three + 0.5, three + 5)[:3] == ["Quieter.", "Three.", "Four."]  # the count carries on
    assert heard.texts(three + 40, three + 40.01) == ["Louder."]
    assert heard.end()["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"]


def test_louder_at_the_loudest_and_quieter_at_the_quietest_say_so_and_change_nothing():
    loudest = Heard("short", said(50, "louder"))
    assert loudest.texts(50, 50.01) == ["That's as loud as I go."] and volumes(loudest) == []
    down = Heard("short", *[said(50 + 5 * i, "quieter") for i in range(7)])
    assert [v for _, v in volumes(down)] == [0.63, 0.4, 0.25, 0.16, 0.1]  # never silent
    assert down.texts(75, 75.01) == ["That's as quiet as I go."]
    assert down.texts(80, 80.01) == ["That's as quiet as I go."]


def test_louder_and_quieter_work_while_idle_and_while_paused():
    coach, now = coach_in(IDLE)
    actions = coach.handle(Command(Intent.QUIETER, "softer", now))
    assert [a for a in actions if isinstance(a, (Say, VolumeChanged))] == [VolumeChanged(0.63), Say("Quieter.", 1)]
    coach, now = coach_in(PAUSED)
    actions = coach.handle(Command(Intent.QUIETER, "quieter", now + 1))
    assert VolumeChanged(0.63) in actions and [a.text for a in actions if isinstance(a, Say)] == ["Quieter."]
    assert coach.state == PAUSED and coach.volume == Volume(0.63)


def test_a_volume_from_the_settings_file_between_levels_steps_to_the_next_one():
    coach = Coach(LIBRARY, "short", volume=Volume(0.5))
    assert VolumeChanged(0.63) in coach.handle(Command(Intent.LOUDER, "louder", 0.0))
    coach = Coach(LIBRARY, "short", volume=Volume(0.05))  # below the quietest a voice can ask for
    assert [a.text for a in coach.handle(Command(Intent.QUIETER, "quieter", 0.0)) if isinstance(a, Say)] == [
        "That's as quiet as I go."
    ]
    assert VolumeChanged(0.1) in coach.handle(Command(Intent.LOUDER, "louder", 1.0))


def test_what_s_next_names_the_next_exercise_then_the_cool_down_then_the_end():
    plain = Heard("short")
    moments = {
        plain.first("Keep your breathing natural all the way through.") + 1: "First comes pelvic tilt.",
        plain.first("Hold.") + 0.5: "Next comes knee rolls.",
        plain.first("Roll your knees to the left.") + 0.5: "Next comes the cool-down: full body stretch.",
        plain.first("Reach your arms and legs in opposite directions.")
        + 0.5: "This is the cool-down, the last exercise. Then we're done.",
    }
    for (t, answer), phrase in zip(moments.items(), ("what's next", "what is next", "what comes next", "what's next")):
        heard = Heard("short", said(t, phrase))
        assert heard.texts(t, t + 0.01) == [answer]
        assert heard.end()["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"]  # nothing was skipped
    hold = plain.first("Hold.") + 0.5
    assert Heard("short", said(hold, "what's next")).texts(hold, hold + 5)[:3] == [
        "Next comes knee rolls.",
        "Hold.",
        "One.",
    ]  # the interrupted hold starts again, as after any answer


def test_at_the_closing_words_what_s_next_is_nothing():
    coach, now = coach_in(ACTIVE)
    while coach._segment.kind != "closing":  # straight to the closing words
        now = coach.next_deadline
        coach.handle(Tick(now))
    actions = coach.handle(Command(Intent.WHATS_NEXT, "what's next", now)) + coach.handle(Tick(now))
    assert "Nothing: that's the end of the session." in [a.text for a in actions if isinstance(a, Say)]


def test_what_s_next_before_the_start_and_while_paused():
    coach, now = coach_in(IDLE)
    (answer,) = [a.text for a in coach.handle(Command(Intent.WHATS_NEXT, "what's next", now)) if isinstance(a, Say)]
    assert answer == "The short routine starts with pelvic tilt. Say start when you're ready."
    coach, now = coach_in(PAUSED)
    (answer,) = [a.text for a in coach.handle(Command(Intent.WHATS_NEXT, "what comes next", now)) if isinstance(a, Say)]
    assert answer == "Next comes knee rolls." and coach.state == PAUSED


def test_status_says_where_you_are_and_how_long_is_left():
    plain = Heard("short")
    during = plain.first("Hold.") + 2.2
    heard = Heard("short", said(during, "how long is left"))
    (answer,) = heard.texts(during, during + 0.01)
    assert answer.startswith("Pelvic tilt, exercise one of three, repetition one. About ")
    assert answer.endswith(" minutes left.")


def test_near_the_end_status_says_about_a_minute_once_and_then_less_than_a_minute():
    plain = Heard("short")
    end = plain.says[-1][0]
    for seconds_before_end, left in ((70.0, "About a minute left."), (20.0, "Less than a minute left.")):
        asked = end - seconds_before_end
        (answer,) = Heard("short", said(asked, "how long is left")).texts(asked, asked + 0.01)
        assert answer.endswith(f". {left}"), answer


def test_help_says_what_can_be_said_now():
    heard = Heard("short", said(50, "what can i say"))
    (answer,) = heard.texts(50, 50.01)
    assert answer == (
        "You can say: pause, skip, if it hurts, next, back, to start an exercise again, repeat, stop, "
        "how long is left, what's next, slower, faster, louder or quieter."
    )


# ---- every command in every state -------------------------------------------------------------


def coach_in(state: str) -> tuple[Coach, float]:
    coach = Coach(LIBRARY, "short")
    if state == IDLE:
        return coach, 0.0
    coach.handle(Command(Intent.START, "start", 0.0))
    now = 0.0
    while coach.next_deadline is not None and now < 130:  # into the first exercise's holds
        now = coach.next_deadline
        coach.handle(Tick(now))
    if state == PAUSED:
        coach.handle(Command(Intent.PAUSE, "pause", now))
    assert coach.state == state
    return coach, now


def test_every_handler_the_state_table_names_exists():
    from voicecoach.core.coach import REFUSALS, TRANSITIONS

    assert set(TRANSITIONS) == set(REFUSALS) == {IDLE, ACTIVE, PAUSED, "asking"}
    for state, handlers in TRANSITIONS.items():
        for intent, name in handlers.items():
            assert callable(getattr(Coach, f"_on_{name}", None)), f"{state}: {intent.value} names _on_{name}"


@pytest.mark.parametrize("state", [IDLE, ACTIVE, PAUSED])
@pytest.mark.parametrize("intent", list(Intent))
def test_every_command_in_every_state_gets_a_spoken_answer_never_an_exception(state, intent):
    coach, now = coach_in(state)
    actions = coach.handle(Command(intent, phrases_for(intent)[0], now + 0.5))
    actions += coach.handle(Tick(now + 0.5))
    assert any(isinstance(a, Say) for a in actions), actions
    expected_state = {
        (IDLE, Intent.START): ACTIVE,
        (IDLE, Intent.RESUME): ACTIVE,
        (ACTIVE, Intent.PAUSE): PAUSED,
        (ACTIVE, Intent.STOP): IDLE,
        (PAUSED, Intent.STOP): IDLE,
        (PAUSED, Intent.RESUME): ACTIVE,
        (PAUSED, Intent.START): ACTIVE,
        (PAUSED, Intent.SKIP): ACTIVE,
        (PAUSED, Intent.NEXT): ACTIVE,
        (PAUSED, Intent.BACK): ACTIVE,
    }.get((state, intent), state)
    assert coach.state == expected_state
    if intent in (Intent.PAUSE, Intent.STOP, Intent.SKIP) and state == ACTIVE:
        assert isinstance(actions[0], StopSpeaking), "pause, stop and skip silence the speaker first"


@pytest.mark.parametrize(
    "state, intent, answer",
    [
        (PAUSED, Intent.PAUSE, "Already paused."),
        (ACTIVE, Intent.START, "We're already going."),
        (ACTIVE, Intent.RESUME, "We're not paused."),
        (IDLE, Intent.STOP, "Nothing to stop. Say start when you're ready."),
        (IDLE, Intent.NEXT, "We haven't started yet. Say start when you're ready."),
        (ACTIVE, Intent.BRING_BACK, "Exercises left out can be brought back after the session."),
        (PAUSED, Intent.BRING_BACK, "Exercises left out can be brought back after the session."),
        (ACTIVE, Intent.LEARN_VOICE, "I can learn your voice after the session."),
        (PAUSED, Intent.LEARN_VOICE, "I can learn your voice after the session."),
        (
            IDLE,
            Intent.LEARN_VOICE,
            "I can only learn your voice when I'm listening through a microphone. "
            "From a terminal, run voicecoach enrol.",
        ),
    ],
)
def test_commands_that_make_no_sense_now_get_a_short_answer(state, intent, answer):
    coach, now = coach_in(state)
    actions = coach.handle(Command(intent, intent.value, now)) + coach.handle(Tick(now))
    assert [a.text for a in actions if isinstance(a, Say)][0] == answer


def test_learn_my_voice_between_sessions_hands_over_to_enrolment_where_a_microphone_listens():
    coach = Coach(LIBRARY, "short", can_enrol=True)
    actions = coach.handle(Command(Intent.LEARN_VOICE, "learn my voice", 0.0))
    assert [a for a in actions if not isinstance(a, StateChanged)] == [EnrolRequested()]  # enrolment does the talking
    assert coach.state == IDLE and coach.next_deadline is None
    (help_answer,) = [a.text for a in coach.handle(Command(Intent.HELP, "help", 1.0)) if isinstance(a, Say)]
    assert help_answer.endswith("If I mishear you, say learn my voice.")
    (plain_help,) = [
        a.text for a in Coach(LIBRARY, "short").handle(Command(Intent.HELP, "help", 1.0)) if isinstance(a, Say)
    ]
    assert "learn my voice" not in plain_help  # not offered where it cannot be done


def test_learn_my_voice_mid_session_is_put_off_and_the_session_goes_on():
    coach, now = coach_in(ACTIVE)
    coach.can_enrol = True
    actions = coach.handle(Command(Intent.LEARN_VOICE, "learn my voice", now))
    assert not any(isinstance(a, EnrolRequested) for a in actions) and coach.state == ACTIVE


def test_the_coach_waits_for_speech_to_finish_and_does_not_hang_if_it_never_does():
    coach = Coach(LIBRARY, "short")
    (first,) = [a for a in coach.handle(Command(Intent.START, "start", 0.0)) if isinstance(a, Say)]
    deadline = coach.next_deadline
    assert deadline > speech_seconds(first.text)  # waits for the speaker, with a give-up time
    spoken = coach.handle(SpeechFinished(first.utterance, 3.0))
    assert not any(isinstance(a, Say) for a in spoken) and coach.next_deadline == pytest.approx(3.6)
    assert any(isinstance(a, Say) for a in coach.handle(Tick(3.6)))


def test_idle_waits_for_start_and_a_finished_session_returns_to_idle():
    coach = Coach(LIBRARY, "short")
    assert coach.state == IDLE and coach.next_deadline is None
    assert coach.listening_for() == set(Intent) - {Intent.YES, Intent.NO}  # no question asked
    coach.handle(Command(Intent.START, "start", 0.0))
    now, ended = 0.0, []
    while coach.next_deadline is not None:
        now = coach.next_deadline
        ended += [a for a in coach.handle(Tick(now)) if isinstance(a, SessionEnded)]
    assert coach.state == IDLE and len(ended) == 1


CORE_MODULES = [f"core/{path.stem}" for path in sorted((REPO / "voicecoach" / "core").glob("*.py"))] + [
    "routinefile/loader",
    "routinefile/yamlfile",
    "session/simulate",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_core_does_no_io(module):
    tree = ast.parse((REPO / "voicecoach" / f"{module}.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    forbidden = {
        "time",
        "threading",
        "asyncio",
        "queue",
        "sounddevice",
        "numpy",
        "pyttsx3",
        "vosk",
        "pocketsphinx",
        "socket",
    }
    assert not imported & forbidden


# Found by the property tests (tests/test_coach_properties.py): exercises started but left unrecorded.


def test_next_said_during_the_first_repetition_records_the_exercise_as_ended_early():
    first_rep = Heard("daily").first("Breathe out, and draw up your lower tummy.")  # deep abdominal, rep 1
    heard = Heard("daily", said(first_rep + 0.4, "next"))
    assert heard.records()["deep_abdominal"] == "ended_early"
    assert "deep_abdominal" in heard.end()["done"]


def test_an_exercise_started_again_and_then_passed_by_is_still_recorded_as_ended_early():
    heard = Heard("daily", said(79.0, "back"), said(79.0, "move on"))  # knee rolls, after a few repetitions
    assert heard.texts(79.0, 79.01) == ["Starting knee rolls again.", "Moving on."]
    assert heard.records()["knee_rolls"] == "ended_early"


def test_going_back_to_the_exercise_before_ends_the_current_one_early_and_keeps_one_record_each():
    first_rep = Heard("daily").first("Breathe out, and draw up your lower tummy.")
    at = first_rep + 0.4
    heard = Heard("daily", said(at, "back"), said(at, "back"), said(at, "finish"))
    assert "Back to pelvic tilt." in heard.texts(at, at + 0.01)
    done = heard.end()["done"]
    assert sorted(done) == sorted(set(done))
    assert {"pelvic_tilt", "deep_abdominal"} <= set(done)
