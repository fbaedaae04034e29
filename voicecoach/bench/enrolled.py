"""`voicecoach bench --enrolled`: the spotter before and after enrolment, on speakers it never trained on.

For every held-out speaker with enough recordings, enrol on their first k clips of each word
(k = 1, 2, 3) and measure, generic model beside enrolled model: that speaker's other clips
(acceptance), every other held-out speaker's clips (which enrolment must not make worse), held-out
non-command words, and false activations an hour of held-out continuous speech. Only stop, go, yes
and no have real recordings by many speakers, so only they can be enrolled and measured here.

Each clip is placed as `train-spotter --evaluate` places it (1.5 s of quiet before, 1.8 s after,
the voice at -24 dBFS over a -60 dB floor, then the half second `flush` adds). Its embeddings are
computed once (`embed_clip`, the same vectors the stream gives) and every model's head and the
engine's own decision rule (`Decider`) run over them, step by step: a command counts as heard when
its intent fires between the phrase's start and 1.5 s after its end. With the fused engine (`--engine
auto` or `fusion`), the same is measured of it too, over streams built as the benchmark builds them
(`fusedtrace`: heard once, replayed with each model).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench import fusedtrace
from voicecoach.bench.corpus import Corpus, read_wav
from voicecoach.bench.fusedtrace import WORDS
from voicecoach.bench.heldout import SplitCorpus
from voicecoach.core.commands import PHRASES
from voicecoach.errors import VoicecoachError
from voicecoach.hear.spotter.adapt import AdaptOptions, Replay, Take, adapt, load_replay
from voicecoach.hear.spotter.clips import active_rms, speech_span
from voicecoach.hear.spotter.decide import Decider
from voicecoach.hear.spotter.features import FIRST_HEARD_SAMPLES, SAMPLE_RATE, STEP_SAMPLES, Embedder
from voicecoach.hear.spotter.fit import stack
from voicecoach.hear.spotter.head import WINDOW
from voicecoach.hear.spotter.model import SpotterModel, load_model
from voicecoach.hear.spotter.split import speaker_of, split_of

log = logging.getLogger(__name__)

AFTER_SECONDS = 1.5
KS = (1, 2, 3)


@dataclass
class Stream:
    """A clip or a speech file as the recogniser would hear it, already embedded."""

    path: str
    label: str  # the word, or the speech file's name
    expected: str | None  # the intent to hear, None: nothing
    speaker: str
    embeddings: np.ndarray
    start: float = 0.0
    end: float = 0.0
    seconds: float = 0.0


def placed(samples: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    voice = samples.astype(np.float64)
    voice *= 10 ** (-24 / 20) * 32768 / active_rms(voice)
    start, end = speech_span(voice)
    before, after = round(1.5 * SAMPLE_RATE), round((AFTER_SECONDS + 0.3) * SAMPLE_RATE)
    audio = np.zeros(before + len(voice) + after + SAMPLE_RATE // 2)
    audio[before : before + len(voice)] = voice
    audio[: before + len(voice) + after] += rng.normal(
        0, active_rms(voice) * 10 ** (-60 / 20), before + len(voice) + after
    )
    return audio, (before + start) / SAMPLE_RATE, (before + end) / SAMPLE_RATE


def heard(model: SpotterModel, embeddings: np.ndarray) -> list[tuple[str, float]]:
    """(intent, seconds) of every command the engine's rule fires over these embeddings."""
    if len(embeddings) < WINDOW:
        return []
    ends = np.arange(WINDOW - 1, len(embeddings))
    probabilities = model.head.forward(stack(embeddings, ends))
    decider = Decider(model.threshold, model.refractory_steps, model.persist_steps)
    allowed = np.ones(len(model.classes), dtype=bool)
    out = []
    for row, end in zip(probabilities, ends, strict=True):
        cls = decider(row, allowed)
        if cls is not None:
            out.append((model.classes[cls], (FIRST_HEARD_SAMPLES + int(end) * STEP_SAMPLES) / SAMPLE_RATE))
    return out


def accepted(model: SpotterModel, stream: Stream) -> bool:
    return any(
        name == stream.expected and stream.start <= t <= stream.end + AFTER_SECONDS
        for name, t in heard(model, stream.embeddings)
    )


def embed_streams(corpus: Corpus, embedder: Embedder, split: str, seed: int) -> dict[str, list[Stream]]:
    """Every command clip (stop, go, yes, no), non-command word and speech file of the split."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[Stream]] = {"commands": [], "nontarget": [], "speech": []}
    for word, paths in corpus.words().items():
        if word in WORDS:
            for path in paths:
                if split_of(speaker_of(path)) == split:
                    audio, start, end = placed(read_wav(path).astype(np.float64), rng)
                    emb = embedder.embed_clip(audio)
                    expected = PHRASES[word].value
                    out["commands"].append(Stream(str(path), word, expected, speaker_of(path), emb, start, end))
    for clips in corpus.distractor_clips().values():
        for clip in clips:
            if split_of(speaker_of(clip.path)) == split:
                audio, start, end = placed(read_wav(clip.path).astype(np.float64), rng)
                emb = embedder.embed_clip(audio)
                out["nontarget"].append(Stream(clip.path, Path(clip.path).parent.name, None, "", emb, start, end))
    for path in corpus.speech_files():
        if split_of(speaker_of(path)) == split:
            samples = read_wav(path).astype(np.float64)
            emb = embedder.embed_clip(np.concatenate([samples, np.zeros(SAMPLE_RATE // 2)]))
            out["speech"].append(Stream(str(path), path.name, None, "", emb, seconds=len(samples) / SAMPLE_RATE))
    return out


def enrolment_plan(commands: list[Stream], k: int) -> dict[str, tuple[list[Stream], list[Stream]]]:
    """Per speaker: the first k clips of each word they said more than k times (to enrol on), and
    their other clips of those words (to test on); speakers with fewer than two such words are left out."""
    by: dict[str, dict[str, list[Stream]]] = defaultdict(lambda: defaultdict(list))
    for stream in commands:
        by[stream.speaker][stream.label].append(stream)
    plan = {}
    for speaker, words in sorted(by.items()):
        usable = {w: sorted(s, key=lambda s: s.path) for w, s in words.items() if len(s) > k}
        if len(usable) >= 2:
            enrol = [s for w in sorted(usable) for s in usable[w][:k]]
            test = [s for w in sorted(usable) for s in usable[w][k:]]
            plan[speaker] = (enrol, test)
    return plan


def _rate(hits: list[bool]) -> float | None:
    return round(100 * sum(hits) / len(hits), 1) if hits else None


def figures(model: SpotterModel, streams: dict[str, list[Stream]], own: list[Stream], speaker: str) -> dict[str, Any]:
    others = [s for s in streams["commands"] if s.speaker != speaker]
    fires = sum(len(heard(model, s.embeddings)) for s in streams["speech"])
    hours = sum(s.seconds for s in streams["speech"]) / 3600
    return {
        "own": [accepted(model, s) for s in own],
        "others": [accepted(model, s) for s in others],
        "nontarget": [bool(heard(model, s.embeddings)) for s in streams["nontarget"]],
        "speech_fires": fires,
        "speech_hours": hours,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    own = [h for r in rows for h in r["own"]]
    others = [h for r in rows for h in r["others"]]
    nontarget = [h for r in rows for h in r["nontarget"]]
    fires = sum(r["speech_fires"] for r in rows)
    hours = sum(r["speech_hours"] for r in rows)
    return {
        "own_other_clips_accepted": _rate(own),
        "own_other_clips": len(own),
        "other_speakers_accepted": _rate(others),
        "nontarget_accepted": round(100 * sum(nontarget) / len(nontarget), 2) if nontarget else None,
        "false_per_hour": round(fires / hours, 2) if hours else None,
    }


def measure(
    corpus: Corpus,
    split: str,
    seed: int,
    options: AdaptOptions,
    replay: Replay | None,
    ks: tuple[int, ...] = KS,
    fused: fusedtrace.Recording | None = None,
) -> dict[str, Any]:
    """The spotter before and after each speaker's enrolment; with `fused` (the split heard once
    through the fused engine), the fused engine too, hearing with each model."""
    started = time.time()
    embedder = Embedder()
    base = load_model()
    streams = embed_streams(corpus, embedder, split, seed)
    log.info(
        "embedded %d command clips, %d non-command words, %d speech files in %.0f s",
        len(streams["commands"]),
        len(streams["nontarget"]),
        len(streams["speech"]),
        time.time() - started,
    )
    speech_minutes = sum(s.seconds for s in streams["speech"]) / 60
    generic_all = figures(base, streams, [], "")
    result: dict[str, Any] = {
        "split": split,
        "words": list(WORDS),
        "base_threshold": base.threshold,
        "command_clips": len(streams["commands"]),
        "nontarget_clips": len(streams["nontarget"]),
        "speech_minutes": round(speech_minutes, 1),
        "generic_all_clips_accepted": _rate(generic_all["others"]),
        "generic_nontarget_accepted": summary([generic_all])["nontarget_accepted"],
        "generic_false_per_hour": summary([generic_all])["false_per_hour"],
        "options": {k: v for k, v in options.__dict__.items()},
        "by_k": {},
    }
    if fused is not None:
        everyone = fusedtrace.figures(fused, base, set(), "")
        result["fused"] = {
            "grammar": fused.grammar,
            "generic_all_clips_accepted": _rate(everyone["others"]),
            "generic_nontarget_accepted": summary([everyone])["nontarget_accepted"],
            "generic_false_per_hour": summary([everyone])["false_per_hour"],
        }
    for k in ks:
        plan = enrolment_plan(streams["commands"], k)
        generic_rows, enrolled_rows, speakers = [], [], {}
        fused_rows: dict[str, list[dict[str, Any]]] = {"generic": [], "enrolled": []}
        cpu = []
        for speaker, (enrol, test) in plan.items():
            takes = [Take(PHRASES[s.label], read_wav(s.path)) for s in enrol]
            before = time.process_time()
            model = adapt(base, takes, embedder, None, replay, options)
            cpu.append(time.process_time() - before)
            generic, enrolled = figures(base, streams, test, speaker), figures(model, streams, test, speaker)
            generic_rows.append(generic)
            enrolled_rows.append(enrolled)
            if fused is not None:
                own = {s.path for s in test}
                fused_rows["generic"].append(fusedtrace.figures(fused, base, own, speaker))
                fused_rows["enrolled"].append(fusedtrace.figures(fused, model, own, speaker))
            speakers[speaker] = {
                "enrolled_on": len(enrol),
                "tested_on": len(test),
                "generic": summary([generic]),
                "enrolled": summary([enrolled]),
            }
        result["by_k"][str(k)] = {
            "speakers": len(plan),
            "generic": summary(generic_rows),
            "enrolled": summary(enrolled_rows),
            "adapt_cpu_seconds_mean": round(float(np.mean(cpu)), 1) if cpu else None,
            "per_speaker": speakers,
        }
        if fused is not None:
            result["by_k"][str(k)]["fused"] = {name: summary(rows) for name, rows in fused_rows.items()}
    result["wall_seconds"] = round(time.time() - started)
    return result


def table(result: dict[str, Any]) -> str:
    fused = "fused" in result
    lines = [
        f"Enrolment on held-out speakers ({result['split']} split; real stop/go/yes/no only), "
        f"the spotter's threshold {result['base_threshold']} for both"
        + (f"; fused: the spotter with {result['fused']['grammar']}, its tuned rule" if fused else ""),
        f"{'figure':44} {'generic':>9} {'enrolled':>9}" + (f" {'fused':>9} {'enrolled':>9}" if fused else ""),
    ]
    for k, row in result["by_k"].items():
        g, e = row["generic"], row["enrolled"]
        lines.append(f"k = {k}: {row['speakers']} speakers, {g['own_other_clips']} of their other clips")
        for key, name in (
            ("own_other_clips_accepted", "  their other clips accepted, %"),
            ("other_speakers_accepted", "  other held-out speakers' clips accepted, %"),
            ("nontarget_accepted", "  non-command words accepted, %"),
            ("false_per_hour", "  false activations an hour of speech"),
        ):
            line = f"{name:44} {g[key]!s:>9} {e[key]!s:>9}"
            if fused:
                line += f" {row['fused']['generic'][key]!s:>9} {row['fused']['enrolled'][key]!s:>9}"
            lines.append(line)
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--enrolled",
        action="store_true",
        help="measure the spotter before and after enrolment on held-out speakers (stop/go/yes/no); with "
        "--engine auto or fusion (the default), the fused engine too",
    )
    # --split (which speakers: test, the default, or tune) is the bench's own option (bench/cli.py)


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(args.corpus.resolve())
    corpus.check()
    ks = (1,) if args.quick else KS
    split = args.split or "test"
    if split not in ("test", "tune"):
        raise VoicecoachError(f"bench --enrolled measures the test or the tune speakers, not the {split} ones.")
    fused = None
    if args.engine in ("auto", "fusion"):
        fused = fusedtrace.record(SplitCorpus(corpus.root, split), args.seed)
    result = measure(corpus, split, args.seed, AdaptOptions(), load_replay(), ks, fused)
    out = args.out if args.out != Path("results.json") else Path("enrolled.json")
    out.write_text(json.dumps(result, indent=1))
    log.info("wrote %s", out)
    return result
