"""The corpus as the spotter never heard it: only the speakers it was neither trained nor tuned on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicecoach.bench.corpus import Clip, Corpus
from voicecoach.hear.spotter.split import held_out


@dataclass(frozen=True)
class HeldOutCorpus(Corpus):
    """`voicecoach bench --held-out`: every engine measured on the spotter's test speakers only."""

    def words(self) -> dict[str, list[Path]]:
        return {word: [p for p in paths if held_out(p)] for word, paths in super().words().items()}

    def distractor_clips(self) -> dict[str, list[Clip]]:
        groups = {word: [c for c in clips if held_out(c.path)] for word, clips in super().distractor_clips().items()}
        return {word: clips for word, clips in groups.items() if clips}

    def speech_files(self) -> list[Path]:
        return [p for p in super().speech_files() if held_out(p)]
