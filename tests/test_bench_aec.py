"""The echo-canceller measurement: on the split it is asked for, and telling cancellers apart."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "commands").is_dir(), reason="needs ../shared/corpus")
pytest.importorskip("onnxruntime")
pytest.importorskip("livekit")


@needs_corpus
def test_a_few_tune_clips_through_each_canceller() -> None:
    from voicecoach.bench import aec
    from voicecoach.hear.spotter.split import in_split

    result = aec.measure(CORPUS, "tune", below_db=6.0, prime_seconds=8.0, per_word=2)
    assert result["clips"] == 8 and all(in_split(Path(f), "tune") for f in result["files"])
    assert set(result["accepted"]) == {"alone", "raw leak", "livekit", "speex", "livekit residue only"}
    # Both cancellers take most of the coach out (measured on the tune split: 37.8 and 25.9 dB).
    assert result["erle_db"]["livekit"] > 25 and result["erle_db"]["speex"] > 15
    # The raw leak, 6 dB under the voice, costs the spotter commands; the linear canceller wins most back.
    assert result["accepted"]["raw leak"] < result["accepted"]["alone"]
    assert result["accepted"]["speex"] > result["accepted"]["raw leak"]
