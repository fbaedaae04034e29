"""Choosing how fusion's PocketSphinx checks a phrase of several words, away from the benchmark's data.

    python -m voicecoach.bench.sequencemargin [--margin M ...] [--voices-per-phrase 6] [--out FILE]

Theory of operation: PocketSphinx decodes a phrase of several words once more against any sequence
of frequent English words (`hear.sphinx`, step 4). Alone, a phrase that is not immediate is then
rejected whenever the sequence comes out as other words; fusion may keep it unless those words
score better than the phrase by `sequence_margin` log units a frame. For each margin the fused
engine (as `auto` opens it without a Vosk model) hears:

- every command phrase without real recordings, in `--voices-per-phrase` voices drawn from the
  spotter's training voices (never a voice of the benchmark, `bench.synth.VOICES`), one clip at a
  time at the user's speech level in a quiet room;
- the corpus's continuous speech by the spotter's train and tune speakers (never the held-out ones),
  for false commands. The spotter learnt to reject the train speakers' speech, so the fused count is
  a lower bound; PocketSphinx's own candidates there show what the margin lets through.

It prints and writes acceptance and false commands for each margin, fused and PocketSphinx alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench.corpus import DEFAULT_CORPUS, read_wav
from voicecoach.bench.stream import scaled, speech_dbfs
from voicecoach.bench.synth import synthetic_phrases
from voicecoach.core.commands import PHRASES, Intent
from voicecoach.hear import SAMPLE_RATE, Recogniser
from voicecoach.hear.spotter.split import in_split

log = logging.getLogger(__name__)

LEVEL_DBFS = -26.0
REAL_WORDS = {"stop", "go", "yes", "no"}
CHUNK_BYTES = 2048


def render(voices_per_phrase: int, seed: int) -> list[tuple[str, str, np.ndarray]]:
    """(phrase, voice, samples) for each phrase without real recordings, in voices drawn from training's."""
    from voicecoach.apps.trainspotter.voices import TRAIN_VOICES

    voices = [voice for voice in TRAIN_VOICES if voice.available()]
    rng = random.Random(seed)
    clips = []
    for phrase in synthetic_phrases(REAL_WORDS):
        for voice in rng.sample(voices, min(voices_per_phrase, len(voices))):
            samples = voice.render(phrase).astype(np.float64)
            clips.append((phrase, voice.label, scaled(samples, LEVEL_DBFS - speech_dbfs(samples))))
    return clips


def speech_files(corpus: Path) -> list[Path]:
    """The corpus's continuous speech by the spotter's train and tune speakers."""
    return [path for path in sorted((corpus / "speech").rglob("*.wav")) if not in_split(path, "test")]


def heard_in(recogniser: Any, samples: np.ndarray) -> tuple[list[Intent], list[Intent]]:
    """What the fused engine, and its grammar alone, acted on over one stream."""
    from voicecoach.apps.trainspotter.voices import pcm16

    pcm = pcm16(samples)
    heard = []
    for offset in range(0, len(pcm), CHUNK_BYTES):
        heard += recogniser.feed(pcm[offset : offset + CHUNK_BYTES])
    heard += recogniser.flush()
    alone = recogniser.take_alone().heard.get("pocketsphinx", [])
    return [h.intent for h in heard], [h.intent for h in alone]


def measure(margin: float, clips: list[tuple[str, str, np.ndarray]], speech: list[Path], seed: int) -> dict[str, Any]:
    from voicecoach.hear.engines import open_fusion

    recogniser: Recogniser = open_fusion(sequence_margin=margin)
    rng = np.random.default_rng(seed)
    quiet = [rng.normal(0, 3, SAMPLE_RATE) for _ in range(2)]
    accepted = {"fused": 0, "pocketsphinx": 0}
    for phrase, _, samples in clips:
        recogniser.listen_for(frozenset(Intent))
        stream = np.concatenate([quiet[0], samples + rng.normal(0, 3, len(samples)), quiet[1]])
        fused, alone = heard_in(recogniser, stream)
        accepted["fused"] += PHRASES[phrase] in fused
        accepted["pocketsphinx"] += PHRASES[phrase] in alone
    false = {"fused": 0, "pocketsphinx": 0}
    seconds = 0.0
    for path in speech:
        samples = read_wav(path).astype(np.float64)
        seconds += len(samples) / SAMPLE_RATE
        fused, alone = heard_in(recogniser, samples)
        false["fused"] += len(fused)
        false["pocketsphinx"] += len(alone)
    return {
        "margin": margin,
        "accepted": {k: round(v / max(1, len(clips)), 4) for k, v in accepted.items()},
        "false_commands": false,
        "speech_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voicecoach.bench.sequencemargin", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--margin", type=float, action="append", help="default: -inf -5 0 4 inf")
    p.add_argument("--voices-per-phrase", type=int, default=6)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("build/sequence-margin.json"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    clips = render(args.voices_per_phrase, args.seed)
    speech = speech_files(args.corpus)
    log.info("%d synthetic clips, %d speech files", len(clips), len(speech))
    rows = [measure(m, clips, speech, args.seed) for m in (args.margin or [-math.inf, -5.0, 0.0, 4.0, math.inf])]
    result = {"clips": len(clips), "speech_files": len(speech), "rows": rows}
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    for row in rows:
        print(
            f"margin {row['margin']:g}: acted on {row['accepted']['fused']:.1%} (PocketSphinx alone "
            f"{row['accepted']['pocketsphinx']:.1%}); false commands in {row['speech_seconds'] / 60:.1f} min of speech: "
            f"{row['false_commands']['fused']} (PocketSphinx alone {row['false_commands']['pocketsphinx']})"
        )
    print(f"(all figures in {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
