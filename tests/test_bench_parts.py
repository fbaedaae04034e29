"""The bench's figures for each engine inside a fused recogniser: every stream scored on its own events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicecoach.bench import tasks
from voicecoach.bench.corpus import write_wav
from voicecoach.core.commands import Intent
from voicecoach.hear import SAMPLE_RATE, Heard
from voicecoach.hear.fusion.engine import Tally


class FusedOnce:
    """A fused recogniser that hears nothing itself; its inner "grammar" alone hears "stop" over the
    whole of the first stream it is given, and nothing after."""

    name = "fusion"
    parts = ("spotter", "grammar")

    def __init__(self) -> None:
        self.streams = 0
        self._pending: list[Heard] = []

    def listen_for(self, intents: frozenset[Intent]) -> None:
        pass

    def feed(self, pcm: bytes) -> list[Heard]:
        return []

    def flush(self) -> list[Heard]:
        if self.streams == 0:
            self._pending.append(Heard(Intent.STOP, "stop", 0.9, 0.0, 1e6))
        self.streams += 1
        return []

    def take_alone(self) -> Tally:
        heard, self._pending = self._pending, []
        return Tally(heard={"grammar": heard}, cpu_seconds={"grammar": 0.0})


def test_each_noise_stream_scores_the_inner_engines_on_its_own_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    clip, noise = tmp_path / "stop.wav", tmp_path / "noise.wav"
    write_wav(clip, (rng.normal(0, 3000, SAMPLE_RATE)).astype(np.int16))
    write_wav(noise, (rng.normal(0, 300, 3 * SAMPLE_RATE)).astype(np.int16))
    monkeypatch.setattr(tasks, "open_system", lambda task: FusedOnce())
    task = tasks.Task(
        system="coach",
        kinds=("noise",),
        seed=1,
        engine="fusion",
        clips={"noise": ((str(clip), "stop", "stop"),)},
        noises=(("hum", str(noise)),),
        snrs_db=(20.0, 10.0, 0.0),
    )
    result = tasks.execute(task)
    by_snr = result["parts"]["grammar"]["noise"]["hum"]
    assert [by_snr[snr][0]["accepted"] for snr in ("20", "10", "0")] == [True, False, False]
    assert [o["accepted"] for snr in ("20", "10", "0") for o in result["noise"]["hum"][snr]] == [False] * 3
