"""The barge-in benchmark's recordings: held-out speakers only, each "stop" where it is said to be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicecoach.bench import realstop
from voicecoach.bench.corpus import read_wav
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.spotter.split import held_out

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "commands").is_dir(), reason="needs ../shared/corpus")


def level_dbfs(samples: np.ndarray) -> float:
    return 20 * float(np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)) / 32768))


@needs_corpus
def test_each_stop_is_a_held_out_speaker_said_at_its_time_at_the_users_level(tmp_path: Path) -> None:
    made = realstop.recordings(CORPUS, 3, tmp_path)
    assert [at for _, at, _ in made["stop"]] == [20.0, 23.0, 26.0]
    for wav, at, name in made["stop"]:
        assert held_out(CORPUS / "commands" / "stop" / name)
        mic = read_wav(wav)
        first = int(at * SAMPLE_RATE)
        word = mic[first : first + SAMPLE_RATE]
        assert abs(level_dbfs(word) - realstop.VOICE_DBFS) < 1.5  # the clip's second, word and all
        assert level_dbfs(mic[: first - SAMPLE_RATE]) < -60  # nothing but the noise floor before it
    assert made["talk_seconds"] > 60 and len(read_wav(made["talk"])) == int(made["talk_seconds"] * SAMPLE_RATE)
    assert level_dbfs(read_wav(made["quiet"])) < -60


@needs_corpus
def test_the_tune_split_builds_its_recordings_from_the_tune_speakers_only(tmp_path: Path) -> None:
    from voicecoach.hear.spotter.split import speaker_of, split_of

    made = realstop.recordings(CORPUS, 4, tmp_path, split="tune")
    assert len(made["stop"]) == 4
    assert all(split_of(speaker_of(CORPUS / "commands" / "stop" / name)) == "tune" for _, _, name in made["stop"])
    assert 0 < made["talk_seconds"] < 200  # the tune speakers' 2.2 minutes of speech, not the test's 6.4
