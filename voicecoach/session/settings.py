"""Every setting of a session (devices, voice, hearing, pace, paths) as one frozen, validated model.

The settings file itself is read by `voicecoach.apps.config`; this is what it is read into.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from voicecoach.speak import DEFAULT_PIPER_VOICE, MAX_RATE_WPM, MIN_RATE_WPM

if TYPE_CHECKING:
    from voicecoach.core.narration import Pace, Volume
    from voicecoach.hear.sphinx import SphinxOptions
    from voicecoach.hear.vosk_engine import VoskOptions
    from voicecoach.session.bargein import GuardSettings
    from voicecoach.speak import VoiceSettings

# The breathing pace the coach's "slower"/"faster" allow (voicecoach.core.narration.Pace); checked in tests.
SLOWEST_BREATH_SECONDS = 10.0
FASTEST_BREATH_SECONDS = 4.0


def _between(low: float, high: float, unit: str = "") -> Callable[[float], float]:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"should be between {low:g} and {high:g}{unit}")
        return value

    return check


def _device(value: Any) -> str | int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("should be a device name or index from `voicecoach devices`")


def _path(value: Any) -> Any:
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str) and value.strip():
        return Path(value.strip()).expanduser()
    raise ValueError("should be a file or folder path")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("should not be empty")
    return value


def _piper_voice(value: str) -> str:
    value = value.strip()
    if not value or (("/" in value or "." in value) and not value.endswith(".onnx")):
        raise ValueError("should be a Piper voice name from `voicecoach voices` or the path of an .onnx file")
    return str(Path(value).expanduser()) if value.endswith(".onnx") else value


Device = Annotated[str | int | None, BeforeValidator(_device)]
OptionalPath = Annotated[Path | None, BeforeValidator(_path)]


class Config(BaseModel):
    """Every setting, with the default the coach uses when the file does not say."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    # Sound devices: a name (or part of one) or an index from `voicecoach devices`; null: the default.
    input: Device = None
    output: Device = None
    # The coach's voice: the engine that speaks, pyttsx3 (espeak-ng, the default: no download) or
    # piper (a natural neural voice; the piper extra); the espeak-ng voice (an id or name); the Piper
    # voice (a name from `voicecoach voices`, or the path of its .onnx file, its .onnx.json beside
    # it); the speaking rate and volume (0.0 to 1.0), for either engine.
    voice_engine: Literal["pyttsx3", "piper"] = "pyttsx3"
    voice: Annotated[str, AfterValidator(_not_blank)] = "gmw/en"
    piper_voice: Annotated[str, AfterValidator(_piper_voice)] = DEFAULT_PIPER_VOICE
    rate_wpm: Annotated[int, AfterValidator(_between(MIN_RATE_WPM, MAX_RATE_WPM, " words a minute"))] = 160
    volume: Annotated[float, AfterValidator(_between(0.0, 1.0))] = 1.0
    # Hearing: the recogniser, a Vosk model folder (null: the usual places), and how sure it must be.
    engine: Literal["auto", "vosk", "pocketsphinx", "spotter", "fusion"] = "auto"
    model: OptionalPath = None
    sphinx_reject_below_llr: Annotated[float, AfterValidator(_between(-100.0, 100.0))] = -40.0
    vosk_min_confidence: Annotated[float, AfterValidator(_between(0.0, 1.0))] = 0.5
    bargein_tail_seconds: Annotated[float, AfterValidator(_between(0.0, 5.0, " seconds"))] = 0.6
    # A live microphone always hears some noise; one that sends exact silence is taken for muted or
    # unplugged, unless it is one with a noise gate that does so in a quiet room.
    microphone_has_noise_gate: bool = False
    # Coaching: the routine `serve` offers (null: the first in the file) and the breathing pace.
    routine: Annotated[str | None, Field(pattern=r"^[a-z0-9_]+$")] = None
    breath_seconds: Annotated[
        float, AfterValidator(_between(FASTEST_BREATH_SECONDS, SLOWEST_BREATH_SECONDS, " seconds"))
    ] = 6.0
    # Files: the routine file (null: exercises.yaml as usual) and the history file (null: its default).
    exercises: OptionalPath = None
    history: OptionalPath = None

    # ---- the settings objects of the parts that use them (imported lazily: some are heavy) ----

    def voice_settings(self) -> VoiceSettings:
        from voicecoach.speak import VoiceSettings

        return VoiceSettings(voice=self.voice, rate_wpm=self.rate_wpm, volume=self.volume)

    def sphinx_options(self) -> SphinxOptions:
        from voicecoach.hear.sphinx import SphinxOptions

        return SphinxOptions(reject_below_llr=self.sphinx_reject_below_llr)

    def vosk_options(self) -> VoskOptions:
        from voicecoach.hear.vosk_engine import VoskOptions

        return VoskOptions(min_confidence=self.vosk_min_confidence)

    def microphone_options(self) -> dict[str, Any]:
        """Keyword arguments for Microphone: with a noise gate, digital silence is no sign of loss."""
        return {"dead_silence_seconds": None} if self.microphone_has_noise_gate else {}

    def guard_settings(self) -> GuardSettings:
        from voicecoach.session.bargein import GuardSettings

        return GuardSettings(tail_seconds=self.bargein_tail_seconds)

    def pace(self) -> Pace:
        from voicecoach.core.narration import Pace

        return Pace(breath_seconds=self.breath_seconds)

    def start_volume(self) -> Volume:
        """The coach's volume before anything is said (a gain applied as it plays; see session/speech.py)."""
        from voicecoach.core.narration import Volume

        return Volume(level=self.volume)


FIELDS = tuple(Config.model_fields)
