"""Speech out: real espeak-ng through pyttsx3, the disk cache, and the generated earcons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicecoach.errors import AudioError, VoicecoachError
from voicecoach.speak import Audio, VoiceSettings
from voicecoach.speak.tones import TONE_NAMES
from voicecoach.speak.tts import PyttsxSynthesiser, default_cache_dir, read_wav, tone, write_wav

PHRASE = "Breathe in slowly, and hold for five seconds."


def test_espeak_renders_a_phrase_to_audible_speech_of_plausible_length(tmp_path: Path) -> None:
    audio = PyttsxSynthesiser(cache_dir=tmp_path).render(PHRASE)

    assert audio.text == PHRASE
    assert audio.samples.dtype == np.int16 and audio.samples.ndim == 1
    assert audio.sample_rate == 22_050
    # Eight words at 160 words a minute: about three seconds, give or take the pauses.
    assert 1.5 < audio.duration_seconds < 8.0
    assert np.abs(audio.samples.astype(np.int32)).max() > 3000
    rms = np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2))
    assert rms > 300


def test_each_render_is_its_own_utterance(tmp_path: Path) -> None:
    synthesiser = PyttsxSynthesiser(cache_dir=tmp_path)

    short = synthesiser.render("One")
    long = synthesiser.render(PHRASE)
    short_again = PyttsxSynthesiser(cache_dir=tmp_path / "fresh").render("One")

    assert short.duration_seconds < long.duration_seconds / 2
    # espeak-ng's trailing pause varies by a few milliseconds; the word itself does not.
    assert abs(short.duration_seconds - short_again.duration_seconds) < 0.1


def test_faster_rate_gives_shorter_speech(tmp_path: Path) -> None:
    slow = PyttsxSynthesiser(VoiceSettings(rate_wpm=120), cache_dir=tmp_path).render(PHRASE)
    fast = PyttsxSynthesiser(VoiceSettings(rate_wpm=260), cache_dir=tmp_path).render(PHRASE)

    assert fast.duration_seconds < slow.duration_seconds * 0.8


def test_every_render_of_many_takes_its_own_rate_and_volume(tmp_path: Path) -> None:
    # espeak-ng used to drop queued settings now and then (about one render in a hundred): a
    # render came out at the previous synthesiser's rate or volume.
    for round_ in range(40):
        slow = PyttsxSynthesiser(VoiceSettings(rate_wpm=120), cache_dir=tmp_path / f"{round_}")
        fast = PyttsxSynthesiser(VoiceSettings(rate_wpm=260, volume=0.5), cache_dir=tmp_path / f"{round_}")
        slow_audio, fast_audio = slow.render("Hold for five breaths."), fast.render("Hold.")
        fast_audio = fast.render("Hold for five breaths.")
        assert fast_audio.duration_seconds < slow_audio.duration_seconds * 0.8, round_
        slow_peak = np.abs(slow_audio.samples.astype(np.int32)).max()
        assert np.abs(fast_audio.samples.astype(np.int32)).max() < slow_peak * 0.8, round_


def test_an_empty_render_is_tried_again_and_silence_twice_is_an_error(tmp_path: Path) -> None:
    synthesiser = PyttsxSynthesiser(cache_dir=tmp_path)
    real_render = synthesiser._render_once
    empty = Audio(samples=np.zeros(0, dtype=np.int16), sample_rate=22_050, text="One")
    attempts = []

    def cancelled_once(text: str, path: Path) -> Audio:
        attempts.append(text)
        return empty if len(attempts) == 1 else real_render(text, path)

    synthesiser._render_once = cancelled_once  # type: ignore[method-assign]
    assert synthesiser.render("One").duration_seconds > 0.2
    assert attempts == ["One", "One"]

    always_empty = PyttsxSynthesiser(cache_dir=tmp_path / "other")
    always_empty._render_once = lambda text, path: empty  # type: ignore[method-assign]
    with pytest.raises(AudioError, match="silence"):
        always_empty.render("Two")


def test_second_render_comes_from_the_disk_cache_without_the_engine(tmp_path: Path) -> None:
    first = PyttsxSynthesiser(cache_dir=tmp_path)
    rendered = first.render(PHRASE)
    assert first.engine_renders == 1

    second = PyttsxSynthesiser(cache_dir=tmp_path)

    def no_engine(*args: object) -> Audio:
        raise AssertionError("the engine was asked to render a cached phrase")

    second._render_uncached = no_engine  # type: ignore[method-assign]
    cached = second.render(PHRASE)

    assert np.array_equal(cached.samples, rendered.samples)
    assert cached.text == PHRASE
    assert second.engine_renders == 0


def test_cache_key_covers_the_voice_settings(tmp_path: Path) -> None:
    normal = PyttsxSynthesiser(cache_dir=tmp_path)
    quiet = PyttsxSynthesiser(VoiceSettings(volume=0.5), cache_dir=tmp_path)

    assert normal.cache_path("One") != quiet.cache_path("One")
    assert normal.cache_path("One") != normal.cache_path("Two")
    assert normal.cache_path("One") == PyttsxSynthesiser(cache_dir=tmp_path).cache_path("One")
    loud_peak = np.abs(normal.render("One").samples.astype(np.int32)).max()
    quiet_peak = np.abs(quiet.render("One").samples.astype(np.int32)).max()
    assert quiet_peak < loud_peak * 0.8


def test_prerender_renders_the_counts_once(tmp_path: Path) -> None:
    synthesiser = PyttsxSynthesiser(cache_dir=tmp_path)

    assert synthesiser.prerender(["One", "Two", "Three", "One"]) == 3
    assert synthesiser.prerender(["One", "Two", "Three"]) == 0
    assert PyttsxSynthesiser(cache_dir=tmp_path).prerender(["One", "Two", "Three"]) == 0
    assert synthesiser.prerender() > 30  # the default set: "One".."Thirty" and breathing cues
    assert len(list((tmp_path / "tts").glob("*.wav"))) == synthesiser.engine_renders


def test_rendering_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    PyttsxSynthesiser(cache_dir=tmp_path).render("Relax your shoulders.")

    assert capfd.readouterr().out == ""


def test_empty_text_is_silence_without_the_engine(tmp_path: Path) -> None:
    synthesiser = PyttsxSynthesiser(cache_dir=tmp_path)

    assert synthesiser.render("   ").duration_seconds == 0
    assert synthesiser.engine_renders == 0


def test_voices_are_found_by_id_short_id_or_name(tmp_path: Path) -> None:
    phrase = "Relax your shoulders."
    synthesisers = [
        PyttsxSynthesiser(VoiceSettings(voice=voice), cache_dir=tmp_path)
        for voice in ("gmw/en-us", "en-us", "English (America)", "gmw/en")
    ]
    rendered = [synthesiser.render(phrase) for synthesiser in synthesisers]

    assert [s._resolved_voice for s in synthesisers] == ["gmw/en-us"] * 3 + ["gmw/en"]
    american, british = rendered[0].samples[:22_050], rendered[3].samples[:22_050]
    assert not np.array_equal(american, british)


def test_unknown_voice_is_one_sentence(tmp_path: Path) -> None:
    synthesiser = PyttsxSynthesiser(VoiceSettings(voice="no-such-voice"), cache_dir=tmp_path)

    with pytest.raises(AudioError, match="no voice 'no-such-voice'"):
        synthesiser.render("Hello")


@pytest.mark.parametrize("settings", [dict(rate_wpm=20), dict(rate_wpm=1000), dict(volume=1.5), dict(voice=" ")])
def test_voice_settings_are_checked(settings: dict[str, object]) -> None:
    with pytest.raises(VoicecoachError):
        VoiceSettings(**settings)  # type: ignore[arg-type]


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "voicecoach"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "voicecoach"


def test_wav_round_trip(tmp_path: Path) -> None:
    audio = tone("exercise")
    write_wav(tmp_path / "x.wav", audio)

    back = read_wav(tmp_path / "x.wav")

    assert back.sample_rate == audio.sample_rate
    assert np.array_equal(back.samples, audio.samples)


@pytest.mark.parametrize("name", TONE_NAMES)
def test_tones_are_soft_short_chimes(name: str) -> None:
    audio = tone(name)

    peak = np.abs(audio.samples.astype(np.int32)).max()
    assert 0.1 * 32767 < peak < 0.5 * 32767
    assert 0.1 < audio.duration_seconds < 2.0
    assert abs(int(audio.samples[0])) < 200 and abs(int(audio.samples[-1])) < 200  # no clicks
    assert audio.text == ""


def test_tones_differ_and_unknown_names_are_refused() -> None:
    assert not np.array_equal(tone("paused").samples[:2000], tone("resumed").samples[:2000])
    with pytest.raises(ValueError, match="known tones"):
        tone("fanfare")
