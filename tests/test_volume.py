"""The coach's volume is a gain on what it plays: said louder or quieter, heard louder or quieter, and
nothing rendered again."""

from __future__ import annotations

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
from voicecoach.session.speech import SpokenOutput, synthesiser_for
from voicecoach.speak import Audio

LEVEL = 10_000


class ToneVoice:
    """A synthesiser whose every phrase is half a second at a known level; counts its renders."""

    def __init__(self) -> None:
        self.renders: list[str] = []

    def render(self, text: str) -> Audio:
        self.renders.append(text)
        return Audio(np.full(SAMPLE_RATE // 2, LEVEL, dtype=np.int16), SAMPLE_RATE, text)


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
    quiet, loud = synthesiser_for(Config(volume=0.2)), synthesiser_for(Config(volume=0.9))
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
