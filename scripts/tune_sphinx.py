#!/usr/bin/env python3
"""Tune the PocketSphinx recogniser on one half of the corpus's speakers and check it on the other.

Speakers (from the corpus's provenance.csv; continuous-speech files by their reader) are split in
two halves by a hash of their id, so the split is fixed and needs no list. Every stream is built
and fed as `voicecoach bench` does it (`voicecoach.bench.stream`, `voicecoach.bench.measure`), but
the recogniser runs with rejection off and each candidate command keeps its log-likelihood ratio,
so one decoding pass gives the whole trade-off curve of `reject_below_llr`:

    .venv/bin/python scripts/tune_sphinx.py --out bench-results/tune.json
    .venv/bin/python scripts/tune_sphinx.py --option garbage_weight=2 --option segmenter.vad_aggressiveness=3

It prints, for each half and each threshold, real-speech acceptance (clean and with every noise at
10 dB), false accepts on non-command words and false activations per hour of read speech.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import random
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecoach.bench import measure, stream  # noqa: E402
from voicecoach.bench.corpus import DEFAULT_CORPUS, Clip, Corpus, read_wav  # noqa: E402
from voicecoach.core.commands import IMMEDIATE, Intent  # noqa: E402
from voicecoach.hear import Heard  # noqa: E402
from voicecoach.hear.segmenter import SegmenterOptions  # noqa: E402
from voicecoach.hear.sphinx import SphinxOptions, SphinxRecogniser  # noqa: E402

HALVES = ("tune", "held")
THRESHOLDS = tuple(float(t) for t in range(-60, -4, 5))


class Scoring:
    """The recogniser with rejection off: every candidate is returned, its confidence replaced by its LLR."""

    name = "pocketsphinx-scoring"

    def __init__(self, options: SphinxOptions) -> None:
        self.inner = SphinxRecogniser(dataclasses.replace(options, reject_below_llr=-1e9, immediate_llr_allowance=0.0))

    def listen_for(self, intents: frozenset[Intent]) -> None:
        self.inner.listen_for(intents)

    def _scored(self, heard: list[Heard]) -> list[Heard]:
        decisions = [d for d in self.inner.decisions if d.heard is not None][-len(heard) :] if heard else []
        return [dataclasses.replace(h, confidence=d.llr) for h, d in zip(heard, decisions)]

    def feed(self, pcm: bytes) -> list[Heard]:
        return self._scored(self.inner.feed(pcm))

    def flush(self) -> list[Heard]:
        return self._scored(self.inner.flush())


def half_of(speaker: str) -> str:
    return HALVES[zlib.crc32(speaker.encode()) % 2]


def speakers(corpus: Path) -> dict[str, str]:
    """Corpus-relative file -> speaker id, from provenance.csv (file stem when it has none)."""
    table = corpus / "provenance.csv"
    found: dict[str, str] = {}
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as rows:
            for row in csv.DictReader(rows):
                found[row["file"]] = row.get("speaker") or row["file"]
    return found


def split(clips: list[Clip], corpus: Path, who: dict[str, str]) -> dict[str, list[Clip]]:
    out: dict[str, list[Clip]] = {h: [] for h in HALVES}
    for clip in clips:
        key = str(Path(clip.path).relative_to(corpus))
        out[half_of(who.get(key, key))].append(clip)
    return out


def candidates(
    recogniser: Scoring,
    clips: list[Clip],
    rng: np.random.Generator,
    cost: measure.Cost,
    noise: np.ndarray | None = None,
    snr_db: float | None = None,
) -> list[list[tuple[str, float]]]:
    """For each clip, the (intent, llr) of every candidate heard over it."""
    pcm, placed = stream.build([read_wav(c.path) for c in clips], rng, noise, snr_db)
    events = measure.run(recogniser, pcm, rng, cost)
    return [[(e.heard.intent.value, e.heard.confidence) for e in measure.overlapping(events, p)] for p in placed]


def evaluate(data: dict, threshold: float, allowance: float) -> dict:
    """The figures of one half at one threshold."""

    def ok(intent: str, llr: float) -> bool:
        return llr >= threshold - (allowance if Intent(intent) in IMMEDIATE else 0.0)

    def accepted(rows: list[dict]) -> float:
        return (
            float(np.mean([any(i == r["intent"] and ok(i, s) for i, s in r["heard"]) for r in rows]))
            if rows
            else float("nan")
        )

    real = data["real"]
    by_word = {w: accepted([r for r in real if r["label"] == w]) for w in sorted({r["label"] for r in real})}
    noisy = [accepted(rows) for rows in data["noise"].values()]
    false = [any(ok(i, s) for i, s in r["heard"]) for r in data["distractors"]]
    hits = [h for h in data["speech"]["hits"] if ok(h[0], h[1])]
    return {
        "threshold": threshold,
        "accept_real_mean": accepted(real),
        "accept_real": by_word,
        "accept_10db_mean": float(np.mean(noisy)) if noisy else float("nan"),
        "false_accept_words": float(np.mean(false)) if false else float("nan"),
        "false_activations_per_hour": len(hits) / (data["speech"]["seconds"] / 3600)
        if data["speech"]["seconds"]
        else float("nan"),
        "false_activation_intents": sorted(h[0] for h in hits),
    }


def option_value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def options_from(pairs: list[str]) -> SphinxOptions:
    top: dict[str, object] = {}
    seg: dict[str, object] = {}
    for pair in pairs:
        name, value = pair.split("=", 1)
        if name.startswith("segmenter."):
            seg[name.removeprefix("segmenter.")] = option_value(value)
        else:
            top[name] = option_value(value)
    return SphinxOptions(**top, segmenter=SegmenterOptions(**seg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, help="the candidates and figures, as JSON")
    parser.add_argument("--option", action="append", default=[], help="SphinxOptions field=value (segmenter.x=v too)")
    parser.add_argument("--halves", default="tune,held", help="which halves to run: tune, held or both")
    parser.add_argument("--real-per-word", type=int, default=60, help="real clips per command word and half")
    parser.add_argument("--noise-clips", type=int, default=24, help="real clips per noise and half, at 10 dB")
    parser.add_argument("--distractors", type=int, default=150, help="non-command clips per half")
    parser.add_argument("--speech-minutes", type=float, default=6.0, help="read speech per half")
    parser.add_argument(
        "--allowance", type=float, default=None, help="immediate intents' allowance (default: the option's)"
    )
    parser.add_argument("--all-rows", action="store_true", help="print every threshold, not every other")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    options = options_from(args.option)
    allowance = options.immediate_llr_allowance if args.allowance is None else args.allowance
    corpus = Corpus(args.corpus.resolve())
    who = speakers(corpus.root)
    rng = random.Random(args.seed)
    by_word = {w: clips for w, clips in corpus.command_clips().items() if len(clips) >= 10}
    distractors = [c for clips in corpus.distractor_clips().values() for c in clips]
    speech = [Clip(str(p), "speech", None) for p in corpus.speech_files()]
    noises = {name: read_wav(path) for name, path in corpus.noise_files().items()}

    recogniser = Scoring(options)
    cost = measure.Cost()  # one for the recogniser's whole life: its audio_seconds is the recogniser's clock
    report: dict = {"options": dataclasses.asdict(options), "allowance": allowance, "halves": {}}
    for half in args.halves.split(","):
        started = time.process_time()
        cpu_before, audio_before = cost.cpu_seconds, cost.audio_seconds
        nrng = np.random.default_rng([args.seed, HALVES.index(half)])
        real = [
            c
            for clips in by_word.values()
            for c in rng.sample(
                split(clips, corpus.root, who)[half], min(args.real_per_word, len(split(clips, corpus.root, who)[half]))
            )
        ]
        data: dict = {"real": [], "noise": {}, "distractors": [], "speech": {"seconds": 0.0, "hits": []}}
        for clip, heard in zip(real, candidates(recogniser, real, nrng, cost)):
            data["real"].append({"label": clip.label, "intent": clip.intent.value, "heard": heard, "path": clip.path})
        noisy = rng.sample(real, min(args.noise_clips, len(real)))
        for name, noise in noises.items():
            data["noise"][name] = [
                {"label": c.label, "intent": c.intent.value, "heard": h}
                for c, h in zip(noisy, candidates(recogniser, noisy, nrng, cost, noise, 10.0))
            ]
        mine = split(distractors, corpus.root, who)[half]
        chosen = rng.sample(mine, min(args.distractors, len(mine)))
        for clip, heard in zip(chosen, candidates(recogniser, chosen, nrng, cost)):
            data["distractors"].append({"label": clip.label, "heard": heard, "path": clip.path})
        files = split(speech, corpus.root, who)[half]
        rng.shuffle(files)
        seconds = 0.0
        for clip in files:
            if seconds >= args.speech_minutes * 60:
                break
            samples = read_wav(clip.path)
            pcm, _ = stream.build([samples], nrng, gap_seconds=0.5)
            events = measure.run(recogniser, pcm, nrng, cost)
            seconds += len(pcm) / 16000
            data["speech"]["hits"] += [
                (e.heard.intent.value, e.heard.confidence, e.heard.phrase, clip.path, round(e.heard.start_seconds, 2))
                for e in events
            ]
        data["speech"]["seconds"] = seconds
        data["rtf"] = (cost.cpu_seconds - cpu_before) / (cost.audio_seconds - audio_before)
        data["figures"] = [evaluate(data, t, allowance) for t in THRESHOLDS]
        report["halves"][half] = data
        print(
            f"== {half} half: {len(real)} real, {len(noisy)}x{len(noises)} noisy, {len(chosen)} distractors, "
            f"{seconds / 60:.1f} min speech; RTF {data['rtf']:.3f}; {time.process_time() - started:.0f} s CPU"
        )
        print(f"{'llr':>5} {'clean':>6} {'10dB':>6} {'FA':>6} {'FA/h':>6}  per word")
        for f in data["figures"]:
            if f["threshold"] % 10 and not args.all_rows:
                continue
            words = " ".join(f"{w}={v:.2f}" for w, v in f["accept_real"].items())
            print(
                f"{f['threshold']:5.0f} {f['accept_real_mean']:6.3f} {f['accept_10db_mean']:6.3f} "
                f"{f['false_accept_words']:6.3f} {f['false_activations_per_hour']:6.1f}  {words}"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
