"""The speech path: barge-in that never obeys the coach's own voice, and the WAV-driven session.

These use the real synthesiser (espeak-ng through pyttsx3) and a scripted recogniser, so each test
knows exactly what was "heard" when; tests/test_voice_real.py runs the real recognisers."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.core.commands import PHRASES, Intent
from voicecoach.hear import SAMPLE_RATE, Heard
from voicecoach.routinefile.loader import load
from voicecoach.session.bargein import EchoGuard, GuardSettings
from voicecoach.session.wavsim import simulate_from_wav

REPO = Path(__file__).resolve().parent.parent
LIBRARY = load(REPO / "exercises.yaml")


# ---- the guard on its own ---------------------------------------------------------------------


def guard_with(*spoken: tuple[str, float, float]) -> EchoGuard:
    guard = EchoGuard(GuardSettings(tail_seconds=0.5))
    for text, start, end in spoken:
        guard.spoke(text, start, end)
    return guard


def test_only_pause_stop_and_skip_can_interrupt_speech():
    guard = guard_with(("Next: Knee rolls. Stretches and mobilises the spine.", 10.0, 13.0))
    assert guard.verdict(Intent.NEXT, "next", 10.1, 10.4) == "only pause, stop and skip can interrupt speech"
    assert guard.verdict(Intent.PAUSE, "pause", 11.0, 11.5) is None
    assert guard.verdict(Intent.NEXT, "next", 13.6, 14.0) is None  # after the tail


def test_a_command_in_the_coachs_own_words_is_its_own_voice():
    guard = guard_with(
        ("Say pause at any time, or skip if something hurts.", 5.0, 9.0),
        ("Stopping here. You did one exercise.", 20.0, 22.0),
    )
    assert guard.verdict(Intent.PAUSE, "pause", 5.3, 5.8).startswith("the coach was saying it")
    assert guard.verdict(Intent.SKIP, "skip", 7.0, 7.4).startswith("the coach was saying it")
    assert guard.verdict(Intent.STOP, "stop", 20.1, 20.5).startswith("the coach was saying it")
    assert guard.verdict(Intent.SKIP, "it hurts", 20.1, 20.5) is None  # not what it was saying then


def test_what_was_cut_or_never_played_is_not_held_against_the_user():
    guard = guard_with(("If an exercise hurts, stop.", 10.0, 12.0), ("Keep breathing.", 12.0, 13.0))
    guard.cut(10.5)
    assert guard.speaking_during(12.0, 12.5) == []
    assert guard.verdict(Intent.STOP, "stop", 11.2, 11.6) is None


# ---- the WAV-driven session with a scripted recogniser -----------------------------------------


class ScriptedRecogniser:
    """Hears the given phrases when the audio fed reaches their end time (plus a 0.3 s endpoint)."""

    name = "scripted"

    def __init__(self, *said: tuple[float, str]):
        self._pending = sorted(said)
        self._fed = 0.0
        self.grammars: list[frozenset[Intent]] = []

    def feed(self, pcm: bytes) -> list[Heard]:
        self._fed += len(pcm) / 2 / SAMPLE_RATE
        heard = []
        while self._pending and self._pending[0][0] + 0.3 <= self._fed:
            end, phrase = self._pending.pop(0)
            heard.append(Heard(PHRASES[phrase], phrase, 0.9, end - 0.4, end))
        return heard

    def flush(self) -> list[Heard]:
        return self.feed(b"")

    def listen_for(self, intents: frozenset[Intent]) -> None:
        self.grammars.append(intents)


@pytest.fixture(scope="module")
def synthesiser(tmp_path_factory):
    from voicecoach.speak.tts import PyttsxSynthesiser

    return PyttsxSynthesiser(cache_dir=tmp_path_factory.mktemp("speech-cache"))


def silence_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(SAMPLE_RATE)
        out.writeframes(np.zeros(round(seconds * SAMPLE_RATE), dtype="<i2").tobytes())
    return path


def session(tmp_path, synthesiser, *said: tuple[float, str], seconds: float = 120.0):
    recogniser = ScriptedRecogniser(*said)
    timeline = simulate_from_wav(
        LIBRARY,
        "short",
        silence_wav(tmp_path / "mic.wav", seconds),
        recogniser=recogniser,
        synthesiser=synthesiser,
        speaker_out=tmp_path / "out.wav",
    )
    return timeline.entries, recogniser


def test_pause_mid_sentence_cuts_the_speech_within_100_ms_and_resume_carries_on(tmp_path, synthesiser):
    entries, _ = session(tmp_path, synthesiser, (44.0, "pause"), (60.0, "resume"))
    heard = [e for e in entries if e["kind"] == "heard"]
    assert [(h["phrase"], h["intent"]) for h in heard] == [("pause", "pause"), ("resume", "resume")]
    paused_at = heard[0]["t"]
    assert 44.3 <= paused_at <= 44.4  # recognised at the end of the chunk holding the endpoint
    says = [(e["t"], e["text"]) for e in entries if e["kind"] == "say"]
    assert (paused_at, "Paused.") in says
    assert not [t for t, _ in says if paused_at < t < heard[1]["t"]]
    with wave.open(str(tmp_path / "out.wav")) as out:
        audio = np.frombuffer(out.readframes(out.getnframes()), dtype="<i2")
        rate = out.getframerate()
    quiet = audio[round((paused_at + 0.1 + 1.5) * rate) : round(heard[1]["t"] * rate)]
    assert len(quiet) and np.abs(quiet).max() == 0, "after 'Paused.' the speaker is silent until resume"


def test_the_coach_does_not_obey_its_own_narration(tmp_path, synthesiser):
    # 28 s: the coach is saying "Say pause at any time, or skip if something hurts." (see the timeline)
    entries, _ = session(tmp_path, synthesiser, (28.5, "pause"), (37.0, "next"))
    ignored = [(e["phrase"], e["reason"].split(":")[0]) for e in entries if e["kind"] == "ignored"]
    assert ignored == [("pause", "the coach was saying it"), ("next", "only pause, stop and skip can interrupt speech")]
    assert not [e for e in entries if e["kind"] == "heard"]


def test_the_recogniser_listens_for_every_command_but_not_for_answers_nobody_asked_for(tmp_path, synthesiser):
    _, recogniser = session(tmp_path, synthesiser, (44.0, "pause"), (50.0, "resume"), seconds=60)
    assert recogniser.grammars == [frozenset(Intent) - {Intent.YES, Intent.NO}]  # set once, not per chunk


def test_after_the_recording_ends_the_session_goes_on_in_virtual_time(tmp_path, synthesiser):
    entries, _ = session(tmp_path, synthesiser, seconds=5)
    end = [e for e in entries if e["kind"] == "end"]
    assert len(end) == 1 and end[0]["done"] == ["pelvic_tilt", "knee_rolls", "full_body_stretch"]
    assert 5 * 60 <= end[0]["t"] <= 7 * 60
