"""Audio in and out: real PortAudio streams against the virtual sound card, and the file-backed fakes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soxr
from soundcard import VirtualSoundCard

from voicecoach.audio import devices
from voicecoach.audio.devices import find_device, list_devices
from voicecoach.audio.fakes import RecordingSpeaker, WavMicrophone
from voicecoach.errors import AudioError
from voicecoach.hear import SAMPLE_RATE
from voicecoach.speak import Audio
from voicecoach.speak.tts import PyttsxSynthesiser, tone, write_wav

PHRASE = "Lie on your back, bend your knees, and breathe in slowly through your nose."


@pytest.fixture(scope="module")
def phrase(tmp_path_factory: pytest.TempPathFactory) -> Audio:
    return PyttsxSynthesiser(cache_dir=tmp_path_factory.mktemp("tts")).render(PHRASE)


# --- Devices ---------------------------------------------------------------------------------


@pytest.mark.audio
def test_devices_lists_the_pulse_devices(soundcard: VirtualSoundCard) -> None:
    found = {device.name: device for device in list_devices()}

    assert "default" in found or "pulse" in found
    default = found.get("default") or found["pulse"]
    assert default.input_channels > 0 and default.output_channels > 0
    assert default.default_sample_rate > 0
    assert default.name in default.describe()
    assert find_device("puls", "output").name == "pulse"
    assert find_device(default.index, "input").index == default.index
    assert find_device(str(default.index), "input").index == default.index


@pytest.mark.audio
def test_unknown_device_is_one_sentence(soundcard: VirtualSoundCard) -> None:
    with pytest.raises(AudioError, match="No microphone has 'no such mic' in its name"):
        find_device("no such mic", "input")
    with pytest.raises(AudioError, match="no speaker with number 999"):
        find_device(999, "output")


def test_no_device_at_all_suggests_text_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda rescan=False: [])

    with pytest.raises(AudioError, match="--text") as raised:
        find_device(None, "input")
    assert str(raised.value).count(".") == 1


# --- Speaker ---------------------------------------------------------------------------------


@pytest.mark.audio
def test_speaker_plays_a_phrase_to_the_end(soundcard: VirtualSoundCard, phrase: Audio) -> None:
    from voicecoach.audio.speaker import Speaker

    finished = threading.Event()
    results: list[bool] = []
    heard_text: list[str | None] = []

    def done(completed: bool) -> None:
        results.append(completed)
        finished.set()

    with Speaker() as speaker, soundcard.capture() as captured:
        speaker.play(phrase, on_done=done)
        time.sleep(0.3)
        heard_text.append(speaker.now_playing)
        assert finished.wait(phrase.duration_seconds + 5)
        heard_text.append(speaker.now_playing)
    span = captured.sound_span_seconds()

    assert results == [True]
    assert heard_text == [PHRASE, None]
    assert span is not None, "nothing reached the speaker"
    first, last = span
    # espeak pads the end with silence; the sound itself fills most of the clip.
    assert phrase.duration_seconds * 0.7 < last - first < phrase.duration_seconds + 0.2


@pytest.mark.audio
def test_speaker_plays_queued_clips_in_order(soundcard: VirtualSoundCard, phrase: Audio) -> None:
    from voicecoach.audio.speaker import Speaker

    order: list[str] = []
    all_done = threading.Event()
    chime = tone("exercise")
    with Speaker() as speaker:
        speaker.play(chime, on_done=lambda ok: order.append("chime"))
        speaker.play(Audio(phrase.samples[:11_025], phrase.sample_rate, "half a second"),
                     on_done=lambda ok: (order.append("speech"), all_done.set()))  # fmt: skip
        assert all_done.wait(10)
    assert order == ["chime", "speech"]


@pytest.mark.audio
def test_stop_cuts_the_phrase_at_once(soundcard: VirtualSoundCard, phrase: Audio) -> None:
    from voicecoach.audio.speaker import Speaker

    results: list[bool] = []
    timing: dict[str, float] = {}
    with Speaker() as speaker, soundcard.capture() as captured:
        speaker.play(phrase, on_done=results.append)
        speaker.play(tone("end"), on_done=results.append)
        timing["play"] = time.monotonic()
        time.sleep(1.2)  # mid-word in "bend your knees": the phrase is loud here
        timing["stop"] = time.monotonic()
        speaker.stop()
        timing["stopped"] = time.monotonic()
        assert speaker.now_playing is None and not speaker.busy
        time.sleep(0.5)

    assert results == [False, False]  # the phrase was cut, the chime dropped
    # Find where the phrase began in the recording, then where the sound stopped. Start and cut
    # pass through the same output latency, so (sound end - phrase start) - (stop - play) is how
    # late the cut came on top of that latency.
    rate = captured.sample_rate
    expected = soxr.resample(phrase.samples, phrase.sample_rate, rate)[: rate // 2]
    lag, match = _align(captured.samples, expected)
    assert match > 0.8, "the phrase did not reach the speaker"
    span = captured.sound_span_seconds()
    assert span is not None
    played = span[1] - lag / rate
    asked = timing["stop"] - timing["play"]
    around_cut = phrase.samples[round((asked - 0.05) * phrase.sample_rate) :][: phrase.sample_rate // 10]
    assert np.abs(around_cut.astype(np.int32)).max() > 3000, "the cut fell in a pause; retime it"
    tail = played - asked
    print(f"\nstop(): returned in {1000 * (timing['stopped'] - timing['stop']):.2f} ms; sound "
          f"ended {1000 * tail:+.0f} ms from the cut point, plus the output latency "
          f"({1000 * speaker.latency_seconds:.0f} ms reported)")  # fmt: skip
    assert tail < 0.1
    assert played < phrase.duration_seconds - 1.0


@pytest.mark.audio
def test_speaker_resamples_to_the_device_rate(soundcard: VirtualSoundCard) -> None:
    from voicecoach.audio.speaker import Speaker

    done = threading.Event()
    with Speaker(device_rate=48_000) as speaker, soundcard.capture() as captured:
        assert speaker.device_rate == 48_000
        speaker.play(tone("end", sample_rate=16_000), on_done=lambda ok: done.set())
        assert done.wait(5)
    span = captured.sound_span_seconds()
    assert span is not None and 0.8 < span[1] - span[0] < 1.6


# --- Microphone ------------------------------------------------------------------------------


def _record(mic: object, seconds: float) -> np.ndarray:
    chunks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        chunks.append(mic.read(timeout=0.5))  # type: ignore[attr-defined]
    return np.frombuffer(b"".join(chunks), dtype="<i2")


def _align(heard: np.ndarray, expected: np.ndarray) -> tuple[int, float]:
    """Where `expected` best matches inside `heard` (sample offset) and how well (normalised
    cross-correlation, 1.0 = identical shape)."""
    heard, expected = heard.astype(np.float64), expected.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(heard) + len(expected))))
    product = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(expected, size)), size)
    lag = int(np.argmax(product[: len(heard)]))
    window = heard[lag : lag + len(expected)]
    if len(window) < len(expected):
        return lag, 0.0
    return lag, float(np.dot(window, expected) / (np.linalg.norm(window) * np.linalg.norm(expected)))


@pytest.mark.audio
@pytest.mark.parametrize("device_rate", [None, 48_000, 44_100])
def test_microphone_hears_injected_speech_at_16_khz(
    soundcard: VirtualSoundCard, phrase: Audio, tmp_path: Path, device_rate: int | None
) -> None:
    from voicecoach.audio.microphone import Microphone

    wav = tmp_path / "said.wav"
    write_wav(wav, phrase)
    expected = soxr.resample(phrase.samples, phrase.sample_rate, SAMPLE_RATE)

    with Microphone(device_rate=device_rate) as mic:
        assert mic.device_rate == (device_rate or SAMPLE_RATE)
        player = soundcard.inject(wav)
        heard = _record(mic, phrase.duration_seconds + 1.0)
        assert player.wait(timeout=10) == 0
        assert mic.status == "listening"

    assert len(heard) > (phrase.duration_seconds + 0.5) * SAMPLE_RATE  # 16 kHz, in real time
    assert _piecewise_match(heard, expected) > 0.9


def _piecewise_match(heard: np.ndarray, expected: np.ndarray, piece_seconds: float = 0.25) -> float:
    """How well `expected` is found in `heard`, piece by piece (the median of each voiced piece's
    best normalised correlation): a whole-phrase match would fail on one underrun's gap when the
    machine is busy, although every piece came through intact."""
    lag = _align(heard, expected)[0]
    size = int(piece_seconds * SAMPLE_RATE)
    loudness = np.sqrt(np.mean(expected.astype(np.float64) ** 2))
    scores = []
    for start in range(0, len(expected) - size, size):
        piece = expected[start : start + size]
        if np.sqrt(np.mean(piece.astype(np.float64) ** 2)) < 0.3 * loudness:
            continue  # a pause between words matches anything equally badly
        low = max(0, lag + start - SAMPLE_RATE // 2)
        scores.append(_align(heard[low : lag + start + size + SAMPLE_RATE], piece)[1])
    assert scores, "the phrase has voiced pieces"
    return float(np.median(scores))


@pytest.mark.audio
def test_a_microphone_that_goes_away_is_reported(soundcard: VirtualSoundCard) -> None:
    from voicecoach.audio.microphone import Microphone

    module = soundcard.add_sink("usb_mic")
    try:
        soundcard.pactl("set-default-source", "usb_mic.monitor")
        with Microphone() as mic:
            # Where PulseAudio will move the stream once the device is gone: a silent monitor.
            soundcard.pactl("set-default-source", "speaker.monitor")
            assert len(_record(mic, 0.5)) > 0.2 * SAMPLE_RATE
            assert mic.status == "listening"

            soundcard.remove_sink("usb_mic", module)
            started = time.monotonic()
            with pytest.raises(AudioError, match="Lost the microphone") as raised:
                _record(mic, 10.0)
            noticed_after = time.monotonic() - started

            assert mic.status == "lost"
            assert mic.error is raised.value
            assert mic.ended
            with pytest.raises(AudioError):
                mic.read(timeout=0.1)
        print(f"\nmicrophone loss noticed after {noticed_after:.1f} s: {raised.value}")
        assert noticed_after < mic.dead_silence_seconds + 2  # type: ignore[operator]
    finally:
        soundcard.pactl("set-default-source", "mic_feed.monitor")


@pytest.mark.audio
@pytest.mark.slow
def test_the_microphone_stream_keeps_flowing_in_step_with_the_clock(soundcard: VirtualSoundCard) -> None:
    """Half a minute of a quiet room: all of it arrives, never stalling, and nothing is lost on the way."""
    from voicecoach.audio.microphone import Microphone

    with Microphone() as mic:
        _record(mic, 1.0)  # settled
        started = last = time.monotonic()
        received, longest_gap = 0, 0.0
        while time.monotonic() - started < 30.0:
            pcm = mic.read(timeout=0.5)
            now = time.monotonic()
            if pcm:
                received += len(pcm) // 2
                longest_gap, last = max(longest_gap, now - last), now
        elapsed = time.monotonic() - started
        assert mic.status == "listening"
        assert mic.dropped_blocks == 0
    print(
        f"\n{received / SAMPLE_RATE:.2f} s of audio in {elapsed:.2f} s; longest wait {longest_gap:.2f} s; "
        f"{mic.overflows} overflows"
    )
    # On a loaded machine the virtual card's null sink runs up to a few percent slow (its clock is a timer);
    # the listener takes such drift out (Listener.keep_aligned). A stuck stream would be far below.
    assert 0.9 * elapsed < received / SAMPLE_RATE < elapsed + 0.2
    assert longest_gap < mic.stall_seconds


# --- Fakes -----------------------------------------------------------------------------------


def test_wav_microphone_gives_16_khz_chunks_then_ends(tmp_path: Path, phrase: Audio) -> None:
    write_wav(tmp_path / "said.wav", phrase)
    mic = WavMicrophone(tmp_path / "said.wav", chunk_seconds=0.1)

    chunks = []
    while not mic.ended:
        chunks.append(mic.read())

    assert all(len(chunk) == 3200 for chunk in chunks[:-1])
    assert mic.read() == b""
    heard = np.frombuffer(b"".join(chunks), dtype="<i2")
    assert abs(len(heard) / SAMPLE_RATE - phrase.duration_seconds) < 0.01
    assert mic.position_seconds == pytest.approx(phrase.duration_seconds, abs=0.01)


def test_wav_microphone_refuses_what_is_not_a_wav(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(AudioError, match="notes.wav"):
        WavMicrophone(tmp_path / "notes.wav")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_recording_speaker_keeps_a_timeline_and_reports_finished_speaking() -> None:
    clock = FakeClock()
    speaker = RecordingSpeaker(clock=clock)
    one = Audio(np.full(22_050, 1000, dtype=np.int16), 22_050, "One")  # 1 s
    two = Audio(np.full(11_025, 1000, dtype=np.int16), 22_050, "Two")  # 0.5 s
    done: list[tuple[str, bool]] = []

    speaker.play(one, on_done=lambda ok: done.append(("One", ok)))
    speaker.play(two, on_done=lambda ok: done.append(("Two", ok)))
    clock.now = 100.5
    assert speaker.now_playing == "One" and done == []
    clock.now = 101.2
    assert speaker.now_playing == "Two" and done == [("One", True)]
    clock.now = 102.0
    speaker.update()
    assert speaker.now_playing is None and done == [("One", True), ("Two", True)]
    assert [(p.text, p.start_seconds, p.end_seconds) for p in speaker.played] == [
        ("One", 100.0, 101.0),
        ("Two", 101.0, 101.5),
    ]


def test_recording_speaker_stop_cuts_and_drops(tmp_path: Path) -> None:
    clock = FakeClock()
    speaker = RecordingSpeaker(clock=clock)
    long = Audio(np.full(44_100, 1000, dtype=np.int16), 22_050, "Breathe in")  # 2 s
    done: list[bool] = []
    speaker.play(long, on_done=done.append)
    speaker.play(tone("end"), on_done=done.append)

    clock.now = 100.75
    speaker.stop()

    assert done == [False, False]
    assert speaker.transcript == ["Breathe in"]
    assert speaker.played[0].cut and speaker.played[0].end_seconds == 100.75
    assert speaker.now_playing is None
    audio = speaker.to_audio()
    assert audio.duration_seconds == pytest.approx(0.75, abs=0.01)
    speaker.write_wav(tmp_path / "heard.wav")
    assert (tmp_path / "heard.wav").stat().st_size > 0.75 * 22_050 * 2


@pytest.mark.audio
def test_a_microphone_with_a_noise_gate_is_not_lost_in_a_quiet_room(soundcard: VirtualSoundCard) -> None:
    """Exact silence from a source that keeps flowing: lost by default, not with the gate setting."""
    from voicecoach.audio.microphone import Microphone
    from voicecoach.session.settings import Config

    soundcard.pactl("set-default-source", "speaker.monitor")  # flowing, and digital silence
    try:
        with Microphone(**Config(microphone_has_noise_gate=True).microphone_options()) as gated:
            assert len(_record(gated, 4.0)) > 2.0 * SAMPLE_RATE  # it keeps flowing (after a start-up)
            assert gated.status == "listening"
            gated.check_hearing(seconds=0.5)
        with Microphone(**Config().microphone_options()) as plain:
            with pytest.raises(AudioError, match="digital silence"):
                _record(plain, 6.0)
    finally:
        soundcard.pactl("set-default-source", "mic_feed.monitor")
