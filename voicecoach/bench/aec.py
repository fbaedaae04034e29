"""`python -m voicecoach.bench.aec`: what each echo canceller leaves of a real command said while
the coach talks, as the spotter hears it.

Theory of operation: each real stop, go, yes and no of a split's speakers is said once into a
microphone recording while the coach's narration (the short routine, each sentence said by the
session's synthesiser without the pauses between) reaches the microphone through a short room,
`--below-db` under the median speaker's voice. Every canceller first converges on `--prime-seconds`
of the coach talking alone, as a session's has long done, and then hears the word. The spotter,
as it runs in the session (its own threshold and steps), counts a command heard when it fires the
word's intent within 1.5 s of the word's end. Beside the cancellers, three references: the word
alone (no coach), the word under the raw leak (no canceller), and the word with what AEC3 leaves
of the coach *alone* added to it afterwards (its residue, without what it does to the word). The
echo return loss enhancement (ERLE) of each canceller is measured on the coach alone.

Prints the figures and writes them to JSON (`--out`). Choose on `--split tune`; the held-out
speakers (`--split test`, the default) only report.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench import stream
from voicecoach.bench.corpus import DEFAULT_CORPUS, read_wav
from voicecoach.bench.heldout import SplitCorpus
from voicecoach.hear import SAMPLE_RATE

log = logging.getLogger(__name__)

WORDS = ("stop", "go", "yes", "no")
CANCELLERS = ("livekit", "speex")
BEFORE_SECONDS, AFTER_SECONDS = 1.5, 1.5


def heard(audio: np.ndarray, intent: Any, said: tuple[float, float], spotter: Any) -> bool:
    """Whether the spotter fires `intent` from the word's start to AFTER_SECONDS after its end (`said`,
    seconds into `audio`)."""
    pcm = np.clip(np.round(audio), -32768, 32767).astype("<i2").tobytes()
    out = spotter.feed(pcm) + spotter.flush()
    return any(h.intent is intent and said[0] <= h.end_seconds <= said[1] + AFTER_SECONDS for h in out)


def measure(
    corpus_root: Path,
    split: str,
    below_db: float,
    prime_seconds: float,
    seed: int = 3,
    per_word: int | None = None,
    model: Path | None = None,
) -> dict[str, Any]:
    """The figures over the split's real clips of WORDS (the first `per_word` of each, or all), heard
    by the spotter `model` (default: the shipped one)."""
    from voicecoach.apps.trainspotter.rooms import cancelled
    from voicecoach.bench.tunefusion import coach_leak, coach_talking
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.hear.spotter.engine import SpotterOptions, SpotterRecogniser

    corpus = SplitCorpus(corpus_root, split)
    corpus.check()
    clips = [c for word, cs in corpus.command_clips().items() if word in WORDS for c in cs[:per_word]]
    voice_dbfs = statistics.median(stream.speech_dbfs(read_wav(c.path)) for c in clips)
    with tempfile.TemporaryDirectory(prefix="voicecoach-aec-") as tmp:
        narration = coach_talking(Path(tmp))
    rng = np.random.default_rng(seed)
    prime = round(prime_seconds * SAMPLE_RATE)
    kinds = ("alone", "raw leak", *CANCELLERS, "livekit residue only")
    accepted: dict[str, list[bool]] = {kind: [] for kind in kinds}
    erle: dict[str, list[float]] = {name: [] for name in CANCELLERS}
    for clip in clips:
        word = read_wav(clip.path).astype(np.float64)
        n = round((BEFORE_SECONDS + AFTER_SECONDS + 0.5) * SAMPLE_RATE) + len(word)
        at = round(BEFORE_SECONDS * SAMPLE_RATE)
        mic = stream.floor_noise(n, rng)
        mic[at : at + len(word)] += word
        span = stream.speech_span(word)
        said = ((at + span.start) / SAMPLE_RATE, (at + span.end) / SAMPLE_RATE)
        played, leak = coach_leak(narration, prime + n, voice_dbfs - below_db, rng)
        primed_mic = np.concatenate([np.zeros(prime), mic]) + leak
        coach_alone = np.concatenate([np.zeros(prime), stream.floor_noise(n, rng)]) + leak
        audio = {"alone": mic, "raw leak": mic + leak[prime:]}
        for name in CANCELLERS:
            audio[name] = cancelled(primed_mic, played, prime, make_echo_canceller(name))
            left = cancelled(coach_alone, played, prime, make_echo_canceller(name))
            erle[name].append(10 * np.log10(np.mean(leak[prime:] ** 2) / (np.mean(left**2) + 1e-9)))
            if name == "livekit":
                audio["livekit residue only"] = mic + left
        for kind in kinds:
            spotter = SpotterRecogniser(SpotterOptions(model=model, enrolled=False))
            accepted[kind].append(heard(audio[kind], clip.intent, said, spotter))
    by_word = {
        kind: {w: _share([a for a, c in zip(flags, clips) if c.label == w]) for w in WORDS}
        for kind, flags in accepted.items()
    }
    return {
        "split": split,
        "model": str(model) if model else "shipped",
        "clips": len(clips),
        "files": [c.path for c in clips],
        "below_voice_db": below_db,
        "prime_seconds": prime_seconds,
        "accepted": {kind: _share(flags) for kind, flags in accepted.items()},
        "accepted_by_word": by_word,
        "erle_db": {name: round(float(np.mean(v)), 1) for name, v in erle.items()},
    }


def _share(flags: list[bool]) -> float:
    return round(float(np.mean(flags)), 4) if flags else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voicecoach.bench.aec", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--split", choices=("test", "tune"), default="test", help="whose recordings (default: held out)")
    p.add_argument("--below-db", type=float, default=6.0, help="the coach's voice under the median user's (dB)")
    p.add_argument("--prime-seconds", type=float, default=10.0, help="of the coach alone, before each word")
    p.add_argument("--model", type=Path, help="the spotter model to hear with (default: the shipped one)")
    p.add_argument("--out", type=Path, default=Path("build/aec.json"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    started = time.monotonic()
    result = measure(args.corpus.resolve(), args.split, args.below_db, args.prime_seconds, model=args.model)
    result["seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
