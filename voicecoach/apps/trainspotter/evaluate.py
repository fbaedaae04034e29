"""`voicecoach train-spotter --evaluate`: the spotter on speakers and voices it never trained on.

Every clip is streamed through the real engine (`SpotterRecogniser.feed`, 64 ms blocks) with quiet
room noise around it: a command counts as heard when its intent comes out no later than 1.5 s
after the phrase ends. Figures: acceptance per word (real, clean), the same at 10 dB SNR (mean
over the test part of every corpus noise), non-command words taken as commands, false activations
an hour of continuous speech, held-out synthetic voices per phrase, latency, real-time factor.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.core.commands import PHRASES
from voicecoach.hear.spotter.clips import active_rms, speech_span
from voicecoach.hear.spotter.engine import SpotterRecogniser

from .data import Item, corpus_items, piece, read_noises
from .voices import HELD_OUT_VOICES, SAMPLE_RATE, pcm16, read_wav_bytes

log = logging.getLogger(__name__)

BLOCK = 1024
AFTER_SECONDS = 1.5

_STATE: dict[str, Any] = {}


def _recogniser(model_path: str | None) -> SpotterRecogniser:
    from voicecoach.hear.spotter.features import Embedder
    from voicecoach.hear.spotter.model import load_model

    if "embedder" not in _STATE:
        _STATE["embedder"] = Embedder()
        _STATE["model"] = load_model(Path(model_path) if model_path else None)
    return SpotterRecogniser(model=_STATE["model"], embedder=_STATE["embedder"])


def _stream(samples: np.ndarray, model_path: str | None) -> tuple[list[tuple[str, float]], float]:
    """What the engine heard in a stream (intent, seconds), and the CPU seconds it took."""
    recogniser = _recogniser(model_path)
    pcm = pcm16(samples)
    started = time.process_time()
    heard = []
    for first in range(0, len(pcm), BLOCK * 2):
        heard += recogniser.feed(pcm[first : first + BLOCK * 2])
    heard += recogniser.flush()
    return [(h.intent.value, h.end_seconds) for h in heard], time.process_time() - started


def _placed(
    samples: np.ndarray, rng: np.random.Generator, noise: np.ndarray | None, snr_db: float
) -> tuple[np.ndarray, float, float]:
    voice = samples.astype(np.float64)
    voice *= 10 ** (-24 / 20) * 32768 / active_rms(voice)
    start, end = speech_span(voice)
    before, after = round(1.5 * SAMPLE_RATE), round(AFTER_SECONDS * SAMPLE_RATE + 0.3 * SAMPLE_RATE)
    audio = np.zeros(before + len(voice) + after)
    audio[before : before + len(voice)] = voice
    level = active_rms(voice)
    audio += rng.normal(0, level * 10 ** (-60 / 20), len(audio))
    if noise is not None:
        part = piece(noise, len(audio), rng)
        audio += part * (level / (np.sqrt((part**2).mean()) + 1e-6) * 10 ** (-snr_db / 20))
    return audio, (before + start) / SAMPLE_RATE, (before + end) / SAMPLE_RATE


def _clip_job(job: tuple[str, Item, int, int | None, str, str | None]) -> dict[str, Any]:
    group, item, seed, noise_index, corpus, model_path = job
    rng = np.random.default_rng(seed)
    samples = read_wav_bytes(Path(item.path).read_bytes()) if item.path else item.voice.render(item.label)  # type: ignore[union-attr]
    if "noises" not in _STATE:
        _STATE["noises"] = read_noises(Path(corpus)).test
    noise = _STATE["noises"][noise_index] if noise_index is not None else None
    audio, start, end = _placed(samples, rng, noise, 10.0)
    heard, cpu = _stream(audio, model_path)
    expected = item.intent.value if item.intent else None
    hit = [t for name, t in heard if name == expected and start <= t <= end + AFTER_SECONDS]
    return {
        "group": group,
        "label": item.label,
        "voice": item.voice.label if item.voice else None,
        "expected": expected,
        "heard": heard,
        "accepted": bool(hit),
        "latency": (hit[0] - end) if hit else None,
        "cpu": cpu,
        "seconds": len(audio) / SAMPLE_RATE,
        "noise": noise_index,
    }


def _speech_job(job: tuple[str, str | None]) -> dict[str, Any]:
    path, model_path = job
    samples = read_wav_bytes(Path(path).read_bytes()).astype(np.float64)
    heard, cpu = _stream(samples, model_path)
    return {
        "group": "speech",
        "path": Path(path).name,
        "heard": heard,
        "cpu": cpu,
        "seconds": len(samples) / SAMPLE_RATE,
    }


def evaluate(corpus: Path, model_path: Path | None, jobs: int, seed: int = 0, split: str = "test") -> dict[str, Any]:
    """The figures on the corpus speakers of `split` (test: never trained nor tuned on; tune: for
    choosing between models) and on the held-out synthetic voices."""
    items = [i for i in corpus_items(corpus) if i.split == split]
    noises = len(read_noises(corpus).test)
    main_words = ("stop", "go", "yes", "no")
    clip_jobs: list[tuple[str, Item, int, int | None, str, str | None]] = []
    model = str(model_path) if model_path else None
    for n, item in enumerate(i for i in items if i.kind in ("real", "nontarget")):
        clip_jobs.append(("real" if item.kind == "real" else "nontarget", item, seed + n, None, str(corpus), model))
        if item.kind == "real" and item.label in main_words:
            for k in range(noises):
                clip_jobs.append(("noisy", item, seed + 7919 * (k + 1) + n, k, str(corpus), model))
    for voice in HELD_OUT_VOICES:
        if voice.available():
            for n, phrase in enumerate(PHRASES):
                clip_jobs.append(
                    (
                        "synthetic",
                        Item("synth", phrase, PHRASES[phrase], "test", voice=voice),
                        seed + n,
                        None,
                        str(corpus),
                        model,
                    )
                )
    speech_jobs = [(i.path, model) for i in items if i.kind == "speech" and i.path]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        clips = list(pool.map(_clip_job, clip_jobs, chunksize=4))
        speech = list(pool.map(_speech_job, speech_jobs))
    report = summarise(clips, speech, main_words)
    report["peak_rss_mb"] = peak_rss_mb(model_path)
    return report


def _rate(rows: list[dict[str, Any]]) -> float | None:
    return round(100 * sum(r["accepted"] for r in rows) / len(rows), 1) if rows else None


def summarise(clips: list[dict[str, Any]], speech: list[dict[str, Any]], main_words: tuple[str, ...]) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in clips:
        by[row["group"]].append(row)
    real = by["real"]
    per_word = {
        w: {"accepted": _rate([r for r in real if r["label"] == w]), "clips": sum(r["label"] == w for r in real)}
        for w in sorted({r["label"] for r in real})
    }
    main = [r for r in real if r["label"] in main_words]
    noisy = by["noisy"]
    per_noise = {k: _rate([r for r in noisy if r["noise"] == k]) for k in sorted({r["noise"] for r in noisy})}
    synthetic = by["synthetic"]
    per_phrase = {p: _rate([r for r in synthetic if r["label"] == p]) for p in PHRASES}
    per_voice = {v: _rate([r for r in synthetic if r["voice"] == v]) for v in sorted({r["voice"] for r in synthetic})}
    nontarget = by["nontarget"]
    wrong = [r for r in clips if r["expected"] and any(name != r["expected"] for name, _ in r["heard"])]
    speech_hours = sum(r["seconds"] for r in speech) / 3600
    fires = [(r["path"], name, round(t, 2)) for r in speech for name, t in r["heard"]]
    latencies = [r["latency"] for r in main if r["latency"] is not None]
    cpu = sum(r["cpu"] for r in [*clips, *speech])
    audio = sum(r["seconds"] for r in [*clips, *speech])
    return {
        "real_main_words_accepted": _rate(main),
        "real_main_words_clips": len(main),
        "real_per_word": per_word,
        "noisy_10db_accepted_mean": round(float(np.mean([v for v in per_noise.values() if v is not None])), 1)
        if per_noise
        else None,
        "noisy_10db_per_noise": per_noise,
        "nontarget_accepted": round(100 * sum(bool(r["heard"]) for r in nontarget) / max(len(nontarget), 1), 2),
        "nontarget_clips": len(nontarget),
        "nontarget_heard": [(r["label"], r["heard"]) for r in nontarget if r["heard"]],
        "speech_minutes": round(speech_hours * 60, 1),
        "false_activations": len(fires),
        "false_per_hour": round(len(fires) / speech_hours, 2) if speech_hours else None,
        "speech_heard": fires,
        "wrong_intent_on_commands": len(wrong),
        "wrong_intent_heard": [(r["group"], r["label"], [name for name, _ in r["heard"]]) for r in wrong],
        "synthetic_accepted": _rate(synthetic),
        "synthetic_clips": len(synthetic),
        "synthetic_per_voice": per_voice,
        "synthetic_per_phrase": per_phrase,
        "latency_p50_ms": round(1000 * float(np.percentile(latencies, 50))) if latencies else None,
        "latency_p95_ms": round(1000 * float(np.percentile(latencies, 95))) if latencies else None,
        "rtf_one_core": round(cpu / audio, 4) if audio else None,
    }


_ONLY_HEARS = """
import resource, sys, numpy as np
from pathlib import Path
from voicecoach.hear.spotter.engine import SpotterOptions, SpotterRecogniser
recogniser = SpotterRecogniser(SpotterOptions(model=None if sys.argv[1] == "-" else Path(sys.argv[1])))
pcm = np.random.default_rng(0).normal(0, 300, 16000 * 60).astype("<i2").tobytes()
for first in range(0, len(pcm), 2048):
    recogniser.feed(pcm[first : first + 2048])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mb(model_path: Path | None) -> float:
    """Peak resident memory of a fresh process that opens the spotter and hears a minute of audio."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _ONLY_HEARS, str(model_path) if model_path else "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return round(float(out.split()[-1]), 1)


def write(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=1))
