"""The sequence-margin measurement: away from the benchmark's speakers, and able to tell margins apart."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from voicecoach.bench import sequencemargin
from voicecoach.bench.corpus import read_wav
from voicecoach.hear.spotter.split import in_split

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "speech").is_dir(), reason="needs ../shared/corpus")
pytest.importorskip("pocketsphinx")
pytest.importorskip("onnxruntime")


@needs_corpus
def test_its_speech_is_never_a_held_out_speakers() -> None:
    files = sequencemargin.speech_files(CORPUS)
    assert files and not any(in_split(path, "test") for path in files)
    assert len(files) < len(list((CORPUS / "speech").rglob("*.wav")))


@needs_corpus
def test_a_phrase_lost_to_the_sequence_check_counts_at_a_margin_and_not_without(tmp_path: Path) -> None:
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    out = tmp_path / "said.wav"
    subprocess.run(["flite", "-voice", "kal16", "-t", "how am i doing", "-o", str(out)], check=True)
    clips = [("how am i doing", "flite:kal16", read_wav(out).astype(float))]
    speech = min(sequencemargin.speech_files(CORPUS), key=lambda path: path.stat().st_size)
    outright = sequencemargin.measure(-math.inf, clips, [speech], seed=1)
    within = sequencemargin.measure(4.0, clips, [speech], seed=1)
    assert outright["accepted"]["pocketsphinx"] == 0.0
    assert within["accepted"]["pocketsphinx"] == 1.0
    assert within["speech_seconds"] > 0 and set(within["false_commands"]) == {"fused", "pocketsphinx"}
