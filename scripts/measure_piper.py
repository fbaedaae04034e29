#!/usr/bin/env python3
"""Measures the Piper voice: render time per phrase, the whole routine's first render, memory, and
self-triggers with the Piper voice leaking into the microphone (the bench's self-trigger code, with
the echo canceller and barge-in guard as deployed, and without the canceller).

Renders into a fresh, empty cache, with onnxruntime on one thread (as the coach does: one core, the
figure to scale for a Raspberry Pi 4 core). Needs the piper extra (`pip install -e '.[piper]'`).

Usage: .venv/bin/python scripts/measure_piper.py [--voice en_US-joe-medium] [--routine daily]
       [--threads 1] [--no-selftrigger] [--out piper.json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="en_US-joe-medium", help="a Piper voice name or .onnx file")
    parser.add_argument("--routine", default="daily")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1: one core)")
    parser.add_argument("--no-selftrigger", action="store_true", help="only the render figures")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from voicecoach.hear.models import search_dirs
    from voicecoach.routinefile.loader import DEFAULT_FILE, load
    from voicecoach.session.voices import phrases_ahead
    from voicecoach.speak.piper import PiperSynthesiser, find_voice

    library = load(REPO / DEFAULT_FILE if (REPO / DEFAULT_FILE).is_file() else DEFAULT_FILE)
    voice = find_voice(args.voice, search_dirs())
    figures: dict[str, object] = {
        "voice": voice.name,
        "threads": args.threads,
        "routine": args.routine,
        "peak_rss_mb_before_loading": peak_rss_mb(),
    }
    with tempfile.TemporaryDirectory() as cache:
        synthesiser = PiperSynthesiser(voice, cache_dir=Path(cache), threads=args.threads)
        started = time.perf_counter()
        synthesiser.render("Hello.")
        figures["load_and_first_phrase_s"] = round(time.perf_counter() - started, 3)
        phrases = phrases_ahead(library, args.routine)
        times, audio_seconds = [], 0.0
        started = time.perf_counter()
        for text in phrases:
            one = time.perf_counter()
            audio = synthesiser.render(text)
            times.append(time.perf_counter() - one)
            audio_seconds += audio.duration_seconds
        total = time.perf_counter() - started
        counts = [t for text, t in zip(phrases, times, strict=True) if len(text.split()) <= 2]
        figures.update(
            {
                "phrases": len(phrases),
                "audio_s": round(audio_seconds, 1),
                "first_render_of_routine_s": round(total, 1),
                "real_time_factor": round(total / audio_seconds, 3),
                "per_phrase_ms_median": round(1000 * statistics.median(times)),
                "per_phrase_ms_p95": round(1000 * statistics.quantiles(times, n=20)[-1]),
                "per_phrase_ms_max": round(1000 * max(times)),
                "short_phrase_ms_median": round(1000 * statistics.median(counts)) if counts else None,
                "peak_rss_mb_after_routine": peak_rss_mb(),
            }
        )
        started = time.perf_counter()
        again = PiperSynthesiser(voice, cache_dir=Path(cache), threads=args.threads)
        for text in phrases:
            again.render(text)
        figures["second_start_from_cache_s"] = round(time.perf_counter() - started, 3)
        figures["second_start_engine_renders"] = again.engine_renders
        if not args.no_selftrigger:
            figures["self_triggers"] = self_triggers(synthesiser, args.routine)
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def bench_voice_dbfs(seed: int = 1) -> float:
    """The level of the user's voice at the microphone, as the full bench sets it: the median over
    the same sample of the corpus's command recordings (the bench's -26 dBFS default without one)."""
    from voicecoach.bench.corpus import DEFAULT_CORPUS, Corpus, read_wav, sample
    from voicecoach.bench.plan import FULL
    from voicecoach.bench.stream import speech_dbfs
    from voicecoach.errors import VoicecoachError

    corpus = Corpus(DEFAULT_CORPUS)
    try:
        corpus.check()
    except VoicecoachError:  # no corpus here: the bench's own default level
        return -26.0
    rng = random.Random(seed)
    real = [clip for clips in corpus.command_clips().values() for clip in sample(clips, FULL.real_per_word, rng)]
    return statistics.median(speech_dbfs(read_wav(clip.path)) for clip in real)


def self_triggers(synthesiser: object, routine: str) -> dict[str, object]:
    """The bench's self-trigger measurement with this voice: the whole routine's narration leaks
    into the microphone 10 dB under the user's voice; commands that get through are self-triggers."""
    import numpy as np

    from voicecoach.bench import selftrigger
    from voicecoach.bench.corpus import read_wav
    from voicecoach.bench.measure import Cost
    from voicecoach.bench.synth import read_narration, render_narration
    from voicecoach.hear.engines import open_recogniser

    voice_dbfs = bench_voice_dbfs()
    with tempfile.TemporaryDirectory() as folder:
        wav, sentences_json = render_narration(Path(folder), routine, synthesiser=synthesiser)  # type: ignore[arg-type]
        sentences = read_narration(sentences_json)
        rng = np.random.default_rng(1)
        scene = selftrigger.scene(read_wav(wav), voice_dbfs, rng)
        result: dict[str, object] = {
            "seconds": round(len(scene.mic) / 16000),
            "sentences": len(sentences),
            "voice_dbfs": round(voice_dbfs, 1),
            "echo_dbfs": round(scene.echo_dbfs, 1),
            "canceller": selftrigger.canceller_name(),
        }
        for cancel in (True, False):
            recogniser = open_recogniser("auto")
            events = selftrigger.listen(recogniser, scene, sentences, rng, Cost(), cancel=cancel)
            through = [e for e in events if e.reason is None]
            result["with_canceller" if cancel else "without_canceller"] = {
                "self_triggers": len(through),
                "heard_but_ignored_by_the_guard": len(events) - len(through),
                "self_triggered": [
                    [
                        round(e.heard.start_seconds, 1),
                        e.heard.phrase,
                        selftrigger.playing(sentences, e.heard.start_seconds),
                    ]
                    for e in through
                ],
            }
    return result


if __name__ == "__main__":
    sys.exit(main())
