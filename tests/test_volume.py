"""The coach's volume is a gain on what it plays: said louder or quieter, heard louder or quieter, and
nothing rendered again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio import OnDone
from voicecoach.core.events import Say, VolumeChanged
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.reference import ReferenceTrack
from voicecoach.session.bargein import EchoGuard
from voicecoach.session.loop import Timeline, VirtualClock, carry_out
from voicecoach.session.report import describe
from voicecoach.session.settings import Config
from voicecoach.session.speech import SpokenOutput
from voicecoach.session.voices import open_synthesiser
from voicecoach.speak import Audio

LEVEL = 10_000


class ToneVoice:
    """A synthesiser whose every phrase is half a second at a known level; counts its renders."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.renders: list[str] = []
        self.rate = rate

    def render(self, text: str) -> Audio:
        self.renders.append(text)
        return Audio(np.full(self.rate // 2, LEVEL, dtype=np.int16), self.rate, text)


class KeptOutput:
    """An output that keeps every clip it is given."""

    def __init__(self) -> None:
        self.clips: list[Audio] = []

    def play(self, audio: Audio, on_done: OnDone | None = None) -> None:
        self.clips.append(audio)

    def stop(self) -> None:
        pass

    @property
    def now_playing(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def spoken_output(voice, volume: float = 1.0) -> tuple[SpokenOutput, KeptOutput, ReferenceTrack, VirtualClock]:
    output, reference, clock = KeptOutput(), ReferenceTrack(), VirtualClock()
    speaker = SpokenOutput(voice, output, clock, EchoGuard(), virtual=True, reference=reference, volume=volume)
    return speaker, output, reference, clock


def peak(samples: np.ndarray | bytes) -> int:
    if isinstance(samples, bytes):
        samples = np.frombuffer(samples, dtype="<i2")
    return int(np.abs(samples.astype(np.int32)).max())


def test_a_volume_change_scales_what_is_played_and_what_the_echo_canceller_is_told_was_played():
    voice = ToneVoice()
    speaker, output, reference, clock = spoken_output(voice)
    timeline = Timeline()
    carry_out([Say("Hold.", 1)], clock, speaker, timeline)
    carry_out([VolumeChanged(0.4), Say("Hold.", 2)], clock, speaker, timeline)
    assert [peak(clip.samples) for clip in output.clips] == [LEVEL, 0.4 * LEVEL]
    assert peak(reference.read(0.1, 1000)) == LEVEL and peak(reference.read(0.6, 1000)) == 0.4 * LEVEL
    assert voice.renders == ["Hold.", "Hold."]  # rendered as it always is; the gain is applied on the way out
    (volume,) = [e for e in timeline.entries if e["kind"] == "volume"]
    assert volume == {"t": 0.0, "kind": "volume", "volume": 0.4} and describe(volume).endswith("volume 0.4")


def test_the_volume_the_session_starts_with_applies_to_cues_too():
    speaker, output, _, _ = spoken_output(ToneVoice(), volume=0.25)
    speaker.say("One.", 1, 0.0)
    speaker.cue("exercise", 1.0)
    quiet_cue = peak(output.clips[1].samples)
    loud, loud_output, _, _ = spoken_output(ToneVoice())
    loud.cue("exercise", 0.0)
    assert peak(output.clips[0].samples) == 0.25 * LEVEL
    assert quiet_cue == pytest.approx(0.25 * peak(loud_output.clips[0].samples), abs=1)


def test_the_settings_volume_does_not_change_what_is_rendered_or_cached(tmp_path: Path):
    quiet, loud = open_synthesiser(Config(volume=0.2)), open_synthesiser(Config(volume=0.9))
    assert quiet.settings.volume == loud.settings.volume == 1.0  # rendered at full volume, played at 0.2 or 0.9
    assert quiet.cache_path("Hold.") == loud.cache_path("Hold.")
    assert Config(volume=0.2).start_volume().level == 0.2


@pytest.mark.slow
def test_with_espeak_a_volume_change_renders_nothing_again_and_plays_quieter(tmp_path: Path):
    from voicecoach.speak.tts import PyttsxSynthesiser

    voice = PyttsxSynthesiser(cache_dir=tmp_path)
    speaker, output, _, clock = spoken_output(voice)
    carry_out([Say("Breathe in", 1)], clock, speaker, Timeline())
    carry_out([VolumeChanged(0.25), Say("Breathe in", 2)], clock, speaker, Timeline())
    assert voice.engine_renders == 1
    assert len(list((tmp_path / "tts").glob("*.wav"))) == 1
    full, quarter = (peak(clip.samples) for clip in output.clips)
    assert quarter == pytest.approx(0.25 * full, abs=1)


# ---- simulate --speaker-out, with or without --mic ---------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    import wave

    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()


def test_simulate_writes_the_narration_where_and_as_loud_as_it_was_said(tmp_path: Path):
    from voicecoach.routinefile.loader import load
    from voicecoach.session.simulate import parse_say, simulate

    library = load(Path(__file__).resolve().parent.parent / "exercises.yaml")
    voice, out = ToneVoice(22_050), tmp_path / "narration.wav"  # the recording's rate: nothing resampled
    said = [parse_say("20:quieter"), parse_say("40:stop")]
    entries = simulate(library, "short", said, speaker_out=out, synthesiser=voice).entries
    samples, rate = read_wav(out)
    end = next(e["t"] for e in entries if e["kind"] == "end")
    assert end < len(samples) / rate < end + 0.6  # the whole session, silences included, to the last word
    says = [e["t"] for e in entries if e["kind"] == "say"]
    assert says[:3] == [0.0, 0.5 + 0.6, 2 * (0.5 + 0.6)]  # each utterance lasts as long as its audio
    cues = {e["t"] for e in entries if e["kind"] == "cue"}  # a cue plays first, then what is said with it
    levels = {t: peak(samples[round(t * rate) : round((t + 0.5) * rate)]) for t in says if t not in cues}
    assert {level for t, level in levels.items() if t < 20} == {LEVEL}
    assert {level for t, level in levels.items() if t >= 20} == {round(0.63 * LEVEL)}


def test_simulate_speaker_out_without_mic_writes_the_spoken_narration(tmp_path: Path, capsys):
    from voicecoach.apps.cli import main

    out = tmp_path / "out.wav"
    assert (
        main(
            [
                "simulate",
                "--routine",
                "short",
                "--say",
                "12:quieter",
                "--say",
                "25:stop",
                "--speaker-out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    timeline = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    samples, rate = read_wav(out)
    end = next(e["t"] for e in timeline if e["kind"] == "end")
    assert end == 25.0 and end < len(samples) / rate < end + 8  # to the end of "Stopping here. ..."
    loud, quiet = peak(samples[: 12 * rate]), peak(samples[12 * rate :])
    assert 10_000 < loud and quiet < 0.75 * loud  # espeak-ng's sentences peak differently; 0.63 of the loudest
