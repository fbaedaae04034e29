"""The echo canceller on espeak-ng narration leaking into the mic while flite says commands."""

from __future__ import annotations

import logging
import shutil
import sys

import pytest

np = pytest.importorskip("numpy")  # the audio extra; livekit comes with it, so it is not skipped
pytest.importorskip("soxr")
pytest.importorskip("webrtcvad")

from echo_scene import NARRATION, OTHER_SPEECH, Scene, build_scene, espeak, flite, from_pcm  # noqa: E402

from voicecoach.errors import AudioError  # noqa: E402
from voicecoach.hear import SAMPLE_RATE  # noqa: E402
from voicecoach.hear.echo import (  # noqa: E402
    EchoCanceller,
    EchoOptions,
    LiveKitEchoCanceller,
    NullEchoCanceller,
    SettlingEchoCanceller,
    SpeexEchoCanceller,
    make_echo_canceller,
)
from voicecoach.hear.segmenter import Segmenter  # noqa: E402

# Measured with scripts/measure_echo.py: ERLE 27-29 dB, the word -0.7 dB; these leave room.
MIN_ERLE_DB = 15.0
MAX_WORD_CHANGE_DB = 3.0
# speexdsp's filter starts from nothing and learns the 60 ms path in about six seconds of narration
# (ERLE 3, 7, 15, 22, 24, 26 dB in its first two-second windows); AEC3 is there at once.
CONVERGED_AFTER_SECONDS = {"speex": 6.0, "livekit": 0.0, "settling": 0.0}


@pytest.fixture(scope="module")
def voices() -> dict[str, np.ndarray]:
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    return {
        "narration": espeak(NARRATION),
        "other": espeak(OTHER_SPEECH),
        "pause": flite("pause"),
        "stop": flite("stop"),
    }


def scene(voices: dict[str, np.ndarray], **kwargs: object) -> Scene:
    """Narration with 'pause' said at 4.0 s and 'stop' at 9.0 s, both mid-sentence."""
    words = [("pause", voices["pause"], 4.0), ("stop", voices["stop"], 9.0)]
    return build_scene(voices["narration"], words, **kwargs)  # type: ignore[arg-type]


def cancel(canceller: EchoCanceller, s: Scene, chunk: int = 1024) -> np.ndarray:
    """The scene's mic through `canceller` in `chunk`-byte calls, shifted back by its delay."""
    mic, ref = s.mic_bytes(), s.reference_bytes()
    out = b"".join(canceller.process(mic[at : at + chunk], ref[at : at + chunk]) for at in range(0, len(mic), chunk))
    assert len(out) == len(mic)
    shift = canceller.delay_samples
    return np.concatenate([from_pcm(out)[shift:], np.zeros(shift)])


def ratio_db(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(10 * np.log10((np.sum(a[mask] ** 2) + 1e-9) / (np.sum(b[mask] ** 2) + 1e-9)))


def word_spans(s: Scene) -> list[np.ndarray]:
    spans = []
    for word in s.words:
        span = np.zeros(len(s.mic), dtype=bool)
        span[word.start : word.end] = True
        spans.append(span)
    return spans


def own_utterances(samples: np.ndarray, s: Scene) -> list[str]:
    """The words the segmenter cuts out as a short utterance of their own."""
    segmenter = Segmenter()
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
    utterances = segmenter.push(pcm) + segmenter.flush()
    return [
        word.word
        for word in s.words
        if any(
            u.speech_start_sample <= word.end and u.speech_end_sample >= word.start and u.speech_seconds < 1.5
            for u in utterances
        )
    ]


CANCELLERS = ["settling", "speex", "livekit"]


@pytest.mark.parametrize("kind", CANCELLERS)
@pytest.mark.parametrize("delay_ms", [20, 60])
def test_narration_echo_is_cancelled_and_the_users_word_survives(
    voices: dict[str, np.ndarray], delay_ms: int, kind: str
) -> None:
    s = scene(voices, delay_ms=delay_ms)
    out = cancel(make_echo_canceller(kind), s)

    narration_only = s.narration_only()
    narration_only[: round(CONVERGED_AFTER_SECONDS[kind] * SAMPLE_RATE)] = False
    assert ratio_db(s.mic, out, narration_only) >= MIN_ERLE_DB
    for span in word_spans(s):
        assert abs(ratio_db(out, s.user, span)) <= MAX_WORD_CHANGE_DB


@pytest.mark.parametrize("kind", CANCELLERS)
def test_the_segmenter_hears_pause_over_narration_only_after_cancelling(
    voices: dict[str, np.ndarray], kind: str
) -> None:
    s = scene(voices)
    # The problem: narration keeps the segmenter in speech; its noise-floor gate lifts out only "stop".
    assert own_utterances(s.mic, s) == ["stop"]
    assert own_utterances(cancel(make_echo_canceller(kind), s), s) == ["pause", "stop"]


@pytest.mark.parametrize("kind", CANCELLERS)
@pytest.mark.parametrize("reference", ["zeros", "other"])
def test_a_reference_that_is_not_the_leak_leaves_the_user_alone(
    voices: dict[str, np.ndarray], reference: str, kind: str
) -> None:
    s = scene(voices, reference=reference, other=voices["other"])
    out = cancel(make_echo_canceller(kind), s)

    for span in word_spans(s):
        assert abs(ratio_db(out, s.user, span)) <= 1.0
    # Nothing was ours to cancel: the narration that leaked stays (within 2 dB).
    assert abs(ratio_db(s.mic, out, s.narration_only())) <= 2.0


@pytest.mark.parametrize("kind", CANCELLERS)
def test_output_length_equals_input_for_odd_chunks_and_matches_one_call(
    voices: dict[str, np.ndarray], kind: str
) -> None:
    s = scene(voices)
    mic, ref = s.mic_bytes()[: 3 * SAMPLE_RATE * 2], s.reference_bytes()[: 3 * SAMPLE_RATE * 2]
    whole = make_echo_canceller(kind).process(mic, ref)

    canceller = make_echo_canceller(kind)
    sizes = [1, 3, 158, 159, 160, 161, 319, 321, 7, 4999, 0, 2]
    out, at, i = bytearray(), 0, 0
    while at < len(mic):
        size = sizes[i % len(sizes)]
        piece = canceller.process(mic[at : at + size], ref[at : at + size])
        assert len(piece) == len(mic[at : at + size])
        out += piece
        at, i = at + size, i + 1
    assert len(out) == len(whole) == len(mic)
    assert bytes(out) == whole


@pytest.mark.parametrize(
    ("made", "noise_suppression"),
    [
        (LiveKitEchoCanceller, False),
        (LiveKitEchoCanceller, True),
        (SpeexEchoCanceller, False),
        (SettlingEchoCanceller, False),
    ],
)
def test_delay_samples_is_how_late_the_output_is(made: type, noise_suppression: bool) -> None:
    rng = np.random.default_rng(1)
    mic = rng.normal(0, 2000, 2 * SAMPLE_RATE)
    canceller = made(EchoOptions(noise_suppression=noise_suppression))
    out = from_pcm(canceller.process(mic.astype("<i2").tobytes(), bytes(len(mic) * 2)))

    probe = mic[SAMPLE_RATE : SAMPLE_RATE + 4000]
    lags = [abs(np.dot(out[SAMPLE_RATE + lag : SAMPLE_RATE + lag + 4000], probe)) for lag in range(600)]
    assert int(np.argmax(lags)) == canceller.delay_samples


def test_the_settling_canceller_gives_aec3_until_the_coach_has_talked_then_speexdsps() -> None:
    rng = np.random.default_rng(2)
    reference = np.zeros(6 * SAMPLE_RATE)
    loud = rng.choice([-1.0, 1.0], 5 * SAMPLE_RATE) * rng.uniform(500, 5000, 5 * SAMPLE_RATE)
    reference[SAMPLE_RATE:] = loud  # a second of silence, then the coach: every sample a sound
    mic = np.roll(reference, 400) * 0.3 + rng.normal(0, 30, len(reference))
    pcm = [x.astype("<i2").tobytes() for x in (mic, reference)]
    settling = from_pcm(SettlingEchoCanceller(settle_seconds=2.0).process(*pcm))
    aec3 = from_pcm(LiveKitEchoCanceller().process(*pcm))
    speex = np.concatenate([np.zeros(128), from_pcm(SpeexEchoCanceller().process(*pcm))[:-128]])  # to AEC3's lag
    switch = 3 * SAMPLE_RATE + 288  # two seconds of sound after the silent one, then the lag
    assert np.array_equal(settling[:switch], aec3[:switch])
    assert np.array_equal(settling[switch:], speex[switch:])
    assert not np.array_equal(aec3[switch:], speex[switch:])


def test_null_canceller_returns_the_mic_unchanged_and_lengths_must_match() -> None:
    canceller = NullEchoCanceller()
    assert canceller.process(b"\x01\x02\x03", b"\x00\x00\x00") == b"\x01\x02\x03"
    assert canceller.delay_samples == 0
    with pytest.raises(ValueError, match="differ in length"):
        canceller.process(b"\x00\x00", b"")
    for made in (LiveKitEchoCanceller, SpeexEchoCanceller):
        with pytest.raises(ValueError, match="differ in length"):
            made().process(b"\x00" * 320, b"\x00" * 318)


def test_factory_picks_speex_then_livekit_and_falls_back_to_null_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(make_echo_canceller(), SettlingEchoCanceller)
    assert isinstance(make_echo_canceller("speex"), SpeexEchoCanceller)
    assert isinstance(make_echo_canceller("livekit"), LiveKitEchoCanceller)
    assert isinstance(make_echo_canceller("none"), NullEchoCanceller)
    with pytest.raises(ValueError, match="unknown echo canceller"):
        make_echo_canceller("webrtc")

    def missing() -> None:
        raise AudioError("speexdsp is not installed")

    with monkeypatch.context() as without_livekit:
        without_livekit.setitem(sys.modules, "livekit", None)
        assert isinstance(make_echo_canceller(), SpeexEchoCanceller)
    monkeypatch.setattr("voicecoach.hear.echo._speexdsp", missing)
    assert isinstance(make_echo_canceller(), LiveKitEchoCanceller)
    with pytest.raises(AudioError, match="echo canceller cannot be used.*libspeexdsp1"):
        make_echo_canceller("speex")
    monkeypatch.setitem(sys.modules, "livekit", None)  # as if it were not installed
    with caplog.at_level(logging.WARNING, logger="voicecoach.hear.echo"):
        assert isinstance(make_echo_canceller("auto"), NullEchoCanceller)
    assert "no echo cancellation" in caplog.text
    with pytest.raises(AudioError, match="echo canceller cannot be used"):
        make_echo_canceller("livekit")
