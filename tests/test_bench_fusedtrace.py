"""The fused engine heard once and replayed under another spotter model (`bench --enrolled` for `auto`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from voicecoach.bench.corpus import Clip
from voicecoach.bench.heldout import SplitCorpus

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "commands").is_dir(), reason="needs ../shared/corpus")
pytest.importorskip("onnxruntime")
pytest.importorskip("livekit")
pytest.importorskip("pocketsphinx")


@dataclass(frozen=True)
class FewClips(SplitCorpus):
    """The test speakers' first two stop and yes clips, three non-command words and one speech file."""

    def command_clips(self) -> dict[str, list[Clip]]:
        return {w: c[:2] for w, c in super().command_clips().items() if w in ("stop", "yes")}

    def distractor_clips(self) -> dict[str, list[Clip]]:
        return {"(few)": [c for clips in super().distractor_clips().values() for c in clips][:3]}

    def speech_files(self) -> list[Path]:
        return super().speech_files()[:1]


@pytest.fixture(scope="module")
def recording():
    from voicecoach.bench import fusedtrace

    return fusedtrace.record(FewClips(CORPUS, "test"), seed=1)


@needs_corpus
def test_the_spotters_steps_recomputed_from_the_streams_embeddings_are_the_recorded_ones(recording) -> None:
    from voicecoach.bench import fusedtrace
    from voicecoach.bench.tunefusion import replayed_events
    from voicecoach.hear.spotter.model import load_model

    base = load_model()
    assert set(recording.streams) == {"real", "false_accept", "speech"}
    for heard in recording.streams.values():
        assert fusedtrace.check(heard, base) <= fusedtrace.MATCH
        # and the rule acts on the same commands over them as over the trace as it was heard
        as_heard = replayed_events(heard.recorded, recording.options, None)
        again = fusedtrace.acted(heard, base, recording.options)
        assert [(e.heard.intent, e.returned_seconds) for e in again] == [
            (e.heard.intent, e.returned_seconds) for e in as_heard
        ]


@needs_corpus
def test_a_steps_embeddings_misplaced_by_one_is_an_error_not_a_figure(recording) -> None:
    from voicecoach.bench import fusedtrace
    from voicecoach.hear.spotter.model import load_model

    heard = recording.streams["real"]
    shifted = dataclasses.replace(heard, embeddings=np.roll(heard.embeddings, 1, axis=0))
    with pytest.raises(ValueError, match="differ"):
        fusedtrace.check(shifted, load_model())
    with pytest.raises(ValueError, match="steps recorded"):
        fusedtrace.restepped(dataclasses.replace(heard, embeddings=heard.embeddings[:-1]), load_model())


@needs_corpus
def test_the_replay_hears_with_the_model_it_is_given(recording) -> None:
    from voicecoach.bench import fusedtrace
    from voicecoach.core.commands import Intent
    from voicecoach.hear.spotter.model import load_model

    base = load_model()
    b3 = base.head.b3.copy()
    b3[base.classes.index(Intent.STOP.value)] += 30.0  # a head sure of "stop" whatever it hears
    sure = dataclasses.replace(base, head=dataclasses.replace(base.head, b3=b3))
    generic = fusedtrace.figures(recording, base, set(), "")
    stopping = fusedtrace.figures(recording, sure, set(), "")
    clips = recording.streams["real"].recorded.clips
    stops = [n for n, c in enumerate(clips) if c.label == "stop"]
    assert all(stopping["others"][n] for n in stops)
    assert not any(stopping["others"][n] for n in range(len(clips)) if n not in stops)  # "yes" is heard as stop
    assert all(stopping["nontarget"]) and not any(generic["nontarget"])
    assert stopping["speech_fires"] > generic["speech_fires"]
    # one speaker's clips are theirs, the others' are everyone else's
    speaker = fusedtrace.speaker_of(clips[0].path)
    mine = fusedtrace.figures(recording, base, {clips[0].path}, speaker)
    assert len(mine["own"]) == 1
    assert len(mine["others"]) == sum(fusedtrace.speaker_of(c.path) != speaker for c in clips)
