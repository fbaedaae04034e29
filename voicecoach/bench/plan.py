"""What a benchmark run measures: which clips, noises and files, split into tasks for the workers."""

from __future__ import annotations

import logging
import random
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from voicecoach.bench.corpus import Clip, Corpus, read_wav, sample, spread
from voicecoach.bench.stream import speech_dbfs
from voicecoach.bench.synth import render_narration, synthesise, synthetic_phrases
from voicecoach.bench.tasks import MEMORY_CLIPS, Task
from voicecoach.errors import VoicecoachError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sizes:
    """How much of the corpus a run uses (None: all of it)."""

    real_per_word: int | None
    noise_clips: int
    noises: int | None
    snrs_db: tuple[float, ...]
    synthetic_phrases: int | None
    synthetic_voices_per_phrase: int
    distractors_per_word: int
    nontarget_words: int
    speech_files: int | None
    speech_shards: int
    narration_seconds: float | None


FULL = Sizes(
    real_per_word=50,
    noise_clips=12,
    noises=None,
    snrs_db=(20.0, 10.0, 5.0, 0.0),
    synthetic_phrases=None,
    synthetic_voices_per_phrase=5,
    distractors_per_word=15,
    nontarget_words=100,
    speech_files=None,
    speech_shards=2,
    narration_seconds=None,
)
QUICK = Sizes(
    real_per_word=2,
    noise_clips=2,
    noises=2,
    snrs_db=(20.0, 10.0, 5.0, 0.0),
    synthetic_phrases=4,
    synthetic_voices_per_phrase=1,
    distractors_per_word=1,
    nontarget_words=3,
    speech_files=2,
    speech_shards=1,
    narration_seconds=25.0,
)


@dataclass(frozen=True)
class Plan:
    """The clips and files chosen, and the figures that describe them (for the report's "counts")."""

    real: list[Clip]
    noise_clips: list[Clip]
    noises: dict[str, Path]
    synthetic: list[Clip]
    distractors: list[Clip]
    speech: list[Path]
    narration: tuple[Path, Path]
    voice_dbfs: float
    sizes: Sizes


def make_plan(corpus: Corpus, sizes: Sizes, seed: int, workdir: Path) -> Plan:
    """Choose the clips (seeded), synthesise the words with no recordings and render the narration."""
    corpus.check()
    rng = random.Random(seed)
    by_word = corpus.command_clips()
    real = [clip for clips in by_word.values() for clip in sample(clips, sizes.real_per_word, rng)]
    if not real:
        raise VoicecoachError(f"{corpus.root}/commands has no recordings of any command word.")
    voice_dbfs = statistics.median(speech_dbfs(read_wav(c.path)) for c in real)
    main_words = {w: [c for c in real if c.label == w] for w in by_word if len(by_word[w]) >= 10} or {
        w: [c for c in real if c.label == w] for w in by_word
    }
    noise_clips = spread(main_words, sizes.noise_clips, rng)
    noises = dict(sample(list(corpus.noise_files().items()), sizes.noises, rng))
    groups = corpus.distractor_clips()
    distractors = [
        clip
        for word, clips in groups.items()
        for clip in sample(clips, sizes.nontarget_words if word == "(nontarget)" else sizes.distractors_per_word, rng)
    ]
    phrases = sample(synthetic_phrases(set(by_word)), sizes.synthetic_phrases, rng)
    synthetic = synthesise(phrases, sizes.synthetic_voices_per_phrase, voice_dbfs, workdir / "synthetic")
    speech = sample(corpus.speech_files(), sizes.speech_files, rng)
    narration = render_narration(workdir / "narration", limit_seconds=sizes.narration_seconds)
    log.info(
        "plan: %d real, %d synthetic, %d distractors, %d speech files, voice at %.1f dBFS",
        len(real),
        len(synthetic),
        len(distractors),
        len(speech),
        voice_dbfs,
    )
    return Plan(real, noise_clips, noises, synthetic, distractors, speech, narration, voice_dbfs, sizes)


def tasks(plan: Plan, system: str, seed: int, engine: str, model: str, split: bool) -> list[Task]:
    """The system's measurements as tasks; with `split`, in several tasks (longest first) to share the cores."""
    common = Task(system=system, kinds=(), seed=seed, engine=engine, model=model, voice_dbfs=plan.voice_dbfs)
    clips = {
        "real": Task.pack(plan.real),
        "synthetic": Task.pack(plan.synthetic),
        "false_accept": Task.pack(plan.distractors),
        "noise": Task.pack(plan.noise_clips),
    }
    noises = tuple((name, str(path)) for name, path in plan.noises.items())
    narration = (str(plan.narration[0]), str(plan.narration[1]))
    memory = replace(
        common, kinds=("memory",), clips={"memory": Task.pack(plan.real[:: max(1, len(plan.real) // MEMORY_CLIPS)])}
    )
    if not split:
        return [
            memory,
            replace(
                common,
                kinds=("real", "synthetic", "noise", "false_accept", "speech", "self"),
                clips=clips,
                noises=noises,
                snrs_db=plan.sizes.snrs_db,
                files=tuple(map(str, plan.speech)),
                narration=narration,
            ),
        ]
    shards = max(1, plan.sizes.speech_shards)
    return [
        memory,
        replace(common, kinds=("self",), narration=narration),
        replace(common, kinds=("real", "false_accept"), clips={k: clips[k] for k in ("real", "false_accept")}),
        *(replace(common, kinds=("speech",), files=tuple(map(str, plan.speech[i::shards]))) for i in range(shards)),
        replace(common, kinds=("noise",), clips={"noise": clips["noise"]}, noises=noises, snrs_db=plan.sizes.snrs_db),
        replace(common, kinds=("synthetic",), clips={"synthetic": clips["synthetic"]}),
    ]
