#!/usr/bin/env python3
"""Measure the PocketSphinx recogniser on the real-speech corpus: acceptance, false accepts, speed.

Every set of clips is fed as one continuous stream through `feed()` in 64 ms chunks, clips separated
by silence with a little noise, as a microphone would deliver them. A clip counts as accepted when
a Heard of its word's intent comes back within its time span; any Heard during a distractor clip is
a false accept; every Heard in speech/** is a false activation (they are listed so a real "stop"
in the reading can be told apart). Latency is from the end of the word (where its energy falls
away) to the moment `feed()` returned the Heard, measured in stream time plus the call's own time.

    .venv/bin/python scripts/measure_sphinx.py --out bench-results/sphinx.json [--limit 40]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecoach.core.commands import PHRASES  # noqa: E402
from voicecoach.hear import SAMPLE_RATE, Heard  # noqa: E402
from voicecoach.hear.sphinx import SphinxOptions, SphinxRecogniser  # noqa: E402

REAL_COMMANDS = ("stop", "go", "yes", "no", "start", "repeat", "help")
DISTRACTORS = ("up", "down", "left", "right", "on", "off")
CHUNK_SAMPLES = 1024
GAP_SECONDS = 1.2


@dataclass
class Clip:
    path: Path
    word: str
    start_seconds: float = 0.0
    end_seconds: float = 0.0
    word_end_seconds: float = 0.0
    heard: list[dict] = field(default_factory=list)


def read_wav(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise SystemExit(f"{path} is not 16 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def word_end(pcm: bytes) -> float:
    """Seconds into `pcm` where the last 10 ms frame within 25 dB of the loudest one ends."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    size = SAMPLE_RATE // 100
    frames = samples[: len(samples) - len(samples) % size].reshape(-1, size)
    if len(frames) == 0:
        return 0.0
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    loud = np.nonzero(level > level.max() - 25)[0]
    return (loud[-1] + 1) * size / SAMPLE_RATE


def quiet(seconds: float, rng: np.random.Generator) -> bytes:
    return rng.normal(0, 4, round(seconds * SAMPLE_RATE)).astype("<i2").tobytes()


def run_stream(recogniser: SphinxRecogniser, clips: list[Clip], rng: np.random.Generator) -> tuple[float, float]:
    """Feed `clips` as one stream; attach each Heard to its clip. Returns (audio, CPU) seconds.

    The recogniser counts time from the first sample it was ever fed, so stream times continue
    from where the previous stream ended (kept on the recogniser as `measured_seconds`).
    """
    base = getattr(recogniser, "measured_seconds", 0.0)
    parts = [quiet(GAP_SECONDS, rng)]
    position = base + GAP_SECONDS
    for clip in clips:
        pcm = read_wav(clip.path)
        clip.start_seconds = position
        clip.end_seconds = position + len(pcm) / 2 / SAMPLE_RATE
        clip.word_end_seconds = position + word_end(pcm)
        gap = quiet(GAP_SECONDS, rng)
        parts += [pcm, gap]
        position = clip.end_seconds + GAP_SECONDS
    stream = b"".join(parts)
    heard: list[tuple[Heard, float]] = []
    cpu = time.process_time()
    step = CHUNK_SAMPLES * 2
    for offset in range(0, len(stream), step):
        wall = time.perf_counter()
        found = recogniser.feed(stream[offset : offset + step])
        if found:
            returned = base + min(offset + step, len(stream)) / 2 / SAMPLE_RATE + time.perf_counter() - wall
            heard += [(h, returned) for h in found]
    duration = len(stream) / 2 / SAMPLE_RATE
    heard += [(h, base + duration) for h in recogniser.flush()]
    cpu = time.process_time() - cpu
    recogniser.measured_seconds = base + duration  # type: ignore[attr-defined]
    for h, returned in heard:
        middle = (h.start_seconds + h.end_seconds) / 2
        owner = next((c for c in clips if c.start_seconds - 0.3 <= middle <= c.end_seconds + 0.3), None)
        if owner is not None:
            owner.heard.append({**asdict(h), "intent": h.intent.value, "returned_seconds": round(returned, 3)})
    return duration, cpu


def pick(folder: Path, limit: int | None, rng: random.Random) -> list[Path]:
    files = sorted(folder.rglob("*.wav"))
    rng.shuffle(files)
    return files[:limit] if limit else files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--limit", type=int, default=None, help="at most this many clips per word")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--option", action="append", default=[], help="SphinxOptions field=value")
    parser.add_argument("--skip-speech", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    overrides = {k: float(v) if "." in v or "e" in v else int(v) for k, v in (o.split("=", 1) for o in args.option)}
    options = SphinxOptions(**overrides)
    started = time.perf_counter()
    recogniser = SphinxRecogniser(options)
    init_seconds = time.perf_counter() - started
    pick_rng, noise_rng = random.Random(args.seed), np.random.default_rng(args.seed)
    audio_total = cpu_total = 0.0
    results: dict = {"options": {k: v for k, v in asdict(options).items()}, "init_seconds": round(init_seconds, 3)}

    commands: dict[str, dict] = {}
    latencies = []
    for word in REAL_COMMANDS:
        folder = args.corpus / "commands" / word
        if not folder.is_dir():
            continue
        clips = [Clip(path, word) for path in pick(folder, args.limit, pick_rng)]
        audio, cpu = run_stream(recogniser, clips, noise_rng)
        audio_total, cpu_total = audio_total + audio, cpu_total + cpu
        right = [c for c in clips if any(h["intent"] == PHRASES[word].value for h in c.heard)]
        wrong = [c for c in clips if any(h["intent"] != PHRASES[word].value for h in c.heard)]
        for clip in right:
            first = min(h["returned_seconds"] for h in clip.heard if h["intent"] == PHRASES[word].value)
            latencies.append(first - clip.word_end_seconds)
        commands[word] = {
            "clips": len(clips),
            "accepted": round(len(right) / len(clips), 4),
            "wrong_intent": round(len(wrong) / len(clips), 4),
            "misheard_as": sorted({h["phrase"] for c in wrong for h in c.heard if h["intent"] != PHRASES[word].value}),
        }
        print(
            f"{word:>8}: accepted {len(right)}/{len(clips)} = {len(right) / len(clips):6.1%}, wrong intent {len(wrong)}"
        )
    results["commands_real_speech"] = commands

    false_accepts, distractor_clips, by_word = 0, 0, {}
    folders = [args.corpus / "commands" / w for w in DISTRACTORS]
    folders += sorted(p for p in (args.corpus / "other" / "sc_nontarget_words").glob("*") if p.is_dir())
    for folder in folders:
        clips = [Clip(path, folder.name) for path in pick(folder, args.limit, pick_rng)]
        audio, cpu = run_stream(recogniser, clips, noise_rng)
        audio_total, cpu_total = audio_total + audio, cpu_total + cpu
        bad = [c for c in clips if c.heard]
        false_accepts += len(bad)
        distractor_clips += len(clips)
        by_word[folder.name] = {
            "clips": len(clips),
            "false_accepts": len(bad),
            "heard_as": sorted({h["phrase"] for c in bad for h in c.heard}),
        }
    rate = false_accepts / max(1, distractor_clips)
    print(f"distractors: false accepts {false_accepts}/{distractor_clips} = {rate:.2%}")
    for word, row in by_word.items():
        if row["false_accepts"]:
            print(f"    {word}: {row['false_accepts']}/{row['clips']} as {', '.join(row['heard_as'])}")
    results["distractors"] = {
        "clips": distractor_clips,
        "false_accepts": false_accepts,
        "rate": round(rate, 4),
        "by_word": by_word,
    }

    if not args.skip_speech:
        hits, seconds = [], 0.0
        for path in sorted((args.corpus / "speech").rglob("*.wav")):
            clip = Clip(path, "speech")
            audio, cpu = run_stream(recogniser, [clip], noise_rng)
            audio_total, cpu_total = audio_total + audio, cpu_total + cpu
            seconds += clip.end_seconds - clip.start_seconds
            hits += [{"file": str(path.relative_to(args.corpus)), **h} for h in clip.heard]
        per_hour = len(hits) / (seconds / 3600)
        print(f"speech: {len(hits)} activations in {seconds / 60:.1f} min = {per_hour:.2f} per hour")
        for hit in hits:
            print(f"    {hit['file']} at {hit['start_seconds']:.2f}s: {hit['phrase']!r} ({hit['confidence']})")
        results["speech"] = {
            "minutes": round(seconds / 60, 2),
            "activations": len(hits),
            "per_hour": round(per_hour, 3),
            "hits": hits,
        }

    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else None
    rtf = cpu_total / audio_total
    memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"latency p50 {latencies[len(latencies) // 2]:.3f}s p95 {p95:.3f}s; "
        f"RTF {rtf:.4f} (one core, this machine); peak memory {memory_mb:.0f} MB"
    )
    results.update(
        latency_seconds={"p50": round(latencies[len(latencies) // 2], 3), "p95": round(p95, 3)},
        real_time_factor=round(rtf, 4),
        peak_memory_mb=round(memory_mb, 1),
        audio_seconds=round(audio_total, 1),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
