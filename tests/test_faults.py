"""Faults survived, on the virtual sound card: `voicecoach serve` loses its microphone or its speaker
in the middle of a hold, pauses, says so (or, without a speaker, logs it), and carries on at the
same count once the device is back; broken files are said in a sentence each and it coaches anyway."""

from __future__ import annotations

import shutil
import signal
import time

import pytest
from test_appliance import REPO, Appliance

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (scripts/setup.sh --test)"),
]


@pytest.fixture
def appliance(tmp_path, soundcard):
    env = {
        **soundcard.env,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONFAULTHANDLER": "1",
    }
    coach = Appliance(env)
    try:
        yield coach
        coach.process.send_signal(signal.SIGTERM)
        assert coach.ends_within(20) == 0, "SIGTERM ends it cleanly"
    finally:
        coach.process.kill()


def into_a_hold(coach: Appliance, soundcard, tmp_path) -> None:
    """Start the short routine by voice, skip its introduction, and wait until a hold is being counted."""
    coach.wait_for("coach  Hello. Say start when you're ready for the short routine.")
    time.sleep(4.0)  # the greeting has been spoken
    coach.tell(soundcard, tmp_path, "start")
    coach.wait_for("coach  Let's do the short routine.")
    time.sleep(3.0)
    coach.tell(soundcard, tmp_path, "skip")  # "next" cannot interrupt the coach; "skip" can
    coach.wait_for("coach  Skipping the introduction.")
    coach.wait_for("state  active · pelvic_tilt rep 1", timeout=60)
    coach.wait_for("coach  One.")


def test_a_microphone_pulled_out_mid_hold_pauses_the_session_until_it_is_back(appliance, soundcard, tmp_path):
    into_a_hold(appliance, soundcard, tmp_path)
    unplugged = time.monotonic()
    soundcard.unplug_microphone()
    try:
        appliance.wait_for("fault  microphone lost", timeout=15)
        noticed = time.monotonic() - unplugged
        appliance.wait_for("coach  Paused.")
        appliance.wait_for("state  paused · pelvic_tilt rep 1")
        appliance.wait_for("coach  I can't hear the microphone. I'll carry on when it is back.")
        time.sleep(6.0)  # a while without it: it keeps looking, and does not take our own voice for it
    finally:
        soundcard.plug_microphone()
    plugged = time.monotonic()
    appliance.wait_for("fault  microphone back", timeout=20)
    back = time.monotonic() - plugged
    appliance.wait_for("coach  I can hear you again.")
    recue = appliance.wait_for("coach")
    appliance.wait_for("state  active · pelvic_tilt rep 1")
    appliance.wait_for("coach  And relax.")
    print(f"\nloss noticed after {noticed:.1f} s, return after {back:.1f} s; then {recue.strip()!r}")
    assert "coach  Holding." in recue and "of five seconds." in recue, "it carries on with the hold where it was"
    faults = [line for line in appliance.seen if "  fault  " in line]
    assert len(faults) == 2, faults
    assert noticed < 8 and back < 10


def test_a_speaker_pulled_out_mid_hold_pauses_the_session_until_it_is_back(appliance, soundcard, tmp_path):
    into_a_hold(appliance, soundcard, tmp_path)
    unplugged = time.monotonic()
    soundcard.unplug_speaker()
    try:
        appliance.wait_for("fault  speaker lost", timeout=15)
        noticed = time.monotonic() - unplugged
        appliance.wait_for("state  paused · pelvic_tilt rep 1")
        time.sleep(5.0)  # a while without it: it keeps looking, and a sink that plays nothing is no speaker
    finally:
        soundcard.plug_speaker()
    plugged = time.monotonic()
    with soundcard.capture() as played:
        appliance.wait_for("fault  speaker back", timeout=20)
        back = time.monotonic() - plugged
        appliance.wait_for("coach  The speaker is back.")
        recue = appliance.wait_for("coach")
        appliance.wait_for("state  active · pelvic_tilt rep 1")
    print(f"\nloss noticed after {noticed:.1f} s, return after {back:.1f} s; then {recue.strip()!r}")
    assert [line for line in appliance.seen if 'cannot say "I lost the speaker.' in line], "the loss is logged"
    assert not [line for line in appliance.seen if "coach  I lost the speaker" in line], "and not said to nobody"
    assert "coach  Holding." in recue and "of five seconds." in recue, "it carries on with the hold where it was"
    assert played.sound_span_seconds() is not None, "it is heard again"
    assert noticed < 8 and back < 10


def test_broken_settings_routine_and_history_files_are_said_and_it_coaches_anyway(tmp_path, soundcard):
    from voicecoach.history.store import History

    config, data = tmp_path / "config" / "voicecoach", tmp_path / "data" / "voicecoach"
    config.mkdir(parents=True)
    data.mkdir(parents=True)
    (config / "config.yaml").write_bytes(b"engine: [pocketsphinx\n\x00\xff volume: loud: {{\n")
    broken = tmp_path / "exercises.yaml"
    broken.write_text((REPO / "exercises.yaml").read_text()[:3000])  # cut off in the middle
    history = data / "history.sqlite3"
    with History.open(history) as h:
        h.start_session("short")
    with history.open("r+b") as file:
        file.truncate(history.stat().st_size // 2)
    env = {
        **soundcard.env,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONFAULTHANDLER": "1",
        "VOICECOACH_EXERCISES": str(broken),
    }
    sentences = [
        "coach  My settings file has a problem, so part of it is set to the defaults. The log says which.",
        "coach  My exercise file has a problem, so I'm using the built-in routines.",
        "coach  My history file was damaged, so I set it aside and started a new one.",
        "coach  Hello. Say start when you're ready for the short routine.",
    ]
    first = Appliance(env)
    try:
        for sentence in sentences:
            first.wait_for(sentence)
        time.sleep(20.0)  # all of it has been said
        first.tell(soundcard, tmp_path, "start")
        first.wait_for("coach  Let's do the short routine.")
        first.process.send_signal(signal.SIGTERM)
        assert first.ends_within(20) == 0
    finally:
        first.process.kill()
    assert list(data.glob("history.sqlite3.corrupt-*")), "the damaged history is kept aside"

    second = Appliance(env)  # no crash loop: the new history opens cleanly (and remembers); the rest is still broken
    try:
        second.wait_for("coach  We stopped during pelvic tilt. Carry on from there? Say yes, or no.")
        said = [line.split("coach  ", 1)[1] for line in second.seen if "coach  " in line]
        assert said == [
            sentences[0][7:],
            sentences[1][7:],
            "Hello.",
            "We stopped during pelvic tilt. Carry on from there? Say yes, or no.",
        ]
        second.process.send_signal(signal.SIGTERM)
        assert second.ends_within(20) == 0
    finally:
        second.process.kill()
