"""Reading the benchmark's corpus: files that cannot be measured are named and left out, not fatal."""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.bench.corpus import Corpus


def write_wav(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def test_a_noise_file_with_a_header_and_no_samples_is_named_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "background_noise" / "generated"
    good = write_wav(folder / "white_noise.wav", np.random.default_rng(0).normal(0, 2000, 16_000))
    empty = write_wav(folder / "silence_cut_off.wav", np.zeros(0))
    assert empty.stat().st_size == 44  # a header and nothing else
    broken = folder / "not_a_wav.wav"
    broken.write_bytes(b"RIFF\x00\x00")
    with caplog.at_level(logging.WARNING, logger="voicecoach.bench.corpus"):
        noises = Corpus(tmp_path).noise_files()
    assert noises == {"white_noise": good}
    assert f"noise file {empty} has no samples; measuring without it" in caplog.messages
    assert any(message.startswith(f"noise file {broken} cannot be read as a WAV file") for message in caplog.messages)
