"""`python -m voicecoach.bench.realstop`: the whole session hearing a real user, as `voicecoach
simulate --mic` runs it (real recogniser, real synthesiser, echo canceller and barge-in guard).

Three checks, on speakers the spotter never heard (the corpus's test split; `--split tune` for
choosing between models on the speakers that tune them):
- "stop" said while the coach talks: each of the first `--clips` held-out "stop" recordings is put
  into a microphone recording at 20, 23, 26, … s, mid-way through the safety introduction, with
  the coach's own voice leaking in at each `--leak-db` level (and not at all); it counts when
  "stop" is acted on within 2.3 s of the clip's start (the word ends within its first second);
- nothing said: a noise floor for the length of a session's start; every command heard is false;
- people talking: the held-out read speech, one file after another, the coach's voice leaking in
  at the loudest level; every command heard is false.

Prints the figures and writes them to JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench.corpus import DEFAULT_CORPUS, read_wav, write_wav
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.echo import KINDS as ECHO_KINDS
from voicecoach.hear.spotter.split import in_split
from voicecoach.routinefile.loader import DEFAULT_FILE, load
from voicecoach.session.wavsim import simulate_from_wav

log = logging.getLogger(__name__)

FIRST_AT_SECONDS = 20.0  # the coach is then mid-way through the introduction of every routine
EVERY_SECONDS = 3.0
ACT_WITHIN_SECONDS = 2.3  # of the clip's start: the word ends within the clip's first second, then 1.5 s
VOICE_DBFS = -26.0  # the user's speech, as the bench's
TALK_DBFS = -30.0  # people talking in the room, a little further away
FLOOR_RMS = 20.0  # the microphone's own noise, about -64 dBFS


def _at_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples**2))) or 1.0
    return samples * (10 ** (dbfs / 20) * 32768 / rms)


def recordings(corpus: Path, clips: int, workdir: Path, seed: int = 7, split: str = "test") -> dict[str, Any]:
    """The microphone recordings of the `split` speakers: {"stop": [(wav, said at seconds)], "quiet":
    wav, "talk": wav}."""
    rng = np.random.default_rng(seed)
    stops = [p for p in sorted((corpus / "commands" / "stop").glob("*.wav")) if in_split(p, split)][:clips]
    placed = []
    for i, path in enumerate(stops):
        at = FIRST_AT_SECONDS + EVERY_SECONDS * i
        mic = rng.normal(0, FLOOR_RMS, int((at + 10) * SAMPLE_RATE))
        word = _at_level(read_wav(path).astype(np.float64), VOICE_DBFS)
        first = int(at * SAMPLE_RATE)
        mic[first : first + len(word)] += word
        placed.append((write_wav(workdir / f"stop{i}.wav", np.round(mic)), at, path.name))
    quiet = write_wav(workdir / "quiet.wav", np.round(rng.normal(0, FLOOR_RMS, 120 * SAMPLE_RATE)))
    parts = []
    for path in sorted((corpus / "speech").rglob("*.wav")):
        if in_split(path, split):
            parts += [_at_level(read_wav(path).astype(np.float64), TALK_DBFS), np.zeros(SAMPLE_RATE // 2)]
    speech = np.concatenate(parts) if parts else np.zeros(SAMPLE_RATE)
    talk = write_wav(workdir / "talk.wav", np.round(speech + rng.normal(0, FLOOR_RMS, len(speech))))
    return {"stop": placed, "quiet": quiet, "talk": talk, "talk_seconds": len(speech) / SAMPLE_RATE}


def _session(
    wav: Path, engine: str, leak_db: float | None, routine: str, echo: str = "auto"
) -> dict[str, list[tuple[float, str]]]:
    """What the session acted on ("heard") and what its barge-in guard set aside ("ignored", with why)."""
    from voicecoach.hear.engines import open_recogniser

    library = load(DEFAULT_FILE)
    recogniser = open_recogniser(engine, None, enrolled=False)  # the shipped model, whoever enrolled here
    timeline = simulate_from_wav(
        library, routine, wav, engine=engine, recogniser=recogniser, room_echo_db=leak_db, echo=echo
    )
    return {
        "heard": [(float(e["t"]), str(e["intent"])) for e in timeline.entries if e["kind"] == "heard"],
        "ignored": [
            (float(e["t"]), f"{e['intent']}: {e['reason']}") for e in timeline.entries if e["kind"] == "ignored"
        ],
    }


def _heard(wav: Path, engine: str, leak_db: float | None, routine: str, echo: str) -> list[tuple[float, str]]:
    return _session(wav, engine, leak_db, routine, echo)["heard"]


def measure(
    corpus: Path,
    engine: str,
    leaks_db: list[float],
    clips: int,
    routine: str,
    split: str = "test",
    echo: str = "auto",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="voicecoach-realstop-") as tmp:
        made = recordings(corpus, clips, Path(tmp), split=split)
        stop: dict[str, Any] = {}
        for leak in [None, *leaks_db]:
            rows = []
            for wav, at, name in made["stop"]:
                session = _session(wav, engine, leak, routine, echo)
                heard = session["heard"]
                acted = [t for t, intent in heard if intent == "stop" and at <= t <= at + ACT_WITHIN_SECONDS]
                rows.append(
                    {
                        "clip": name,
                        "at": at,
                        "acted_after_s": round(acted[0] - at, 2) if acted else None,
                        "heard": heard,
                        "ignored": session["ignored"],
                    }
                )
            key = "no leak" if leak is None else f"{leak:g} dB"
            stop[key] = {"acted": sum(r["acted_after_s"] is not None for r in rows), "clips": len(rows), "rows": rows}
            log.info("stop, coach's voice %s: %d of %d acted on", key, stop[key]["acted"], len(rows))
        loudest = max(leaks_db) if leaks_db else None
        quiet = _heard(made["quiet"], engine, loudest, routine, echo)
        talk = _heard(made["talk"], engine, loudest, routine, echo)
    return {
        "engine": engine,
        "echo": echo,
        "routine": routine,
        "split": split,
        "stop_while_the_coach_talks": stop,
        "nothing_said": {"seconds": 120, "leak_db": loudest, "heard": quiet},
        "people_talking": {"seconds": round(made["talk_seconds"], 1), "leak_db": loudest, "heard": talk},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voicecoach.bench.realstop", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--engine", default="auto")
    p.add_argument(
        "--leak-db", type=float, action="append", help="the coach's voice in the microphone (default -20 and -12)"
    )
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--routine", default="short")
    p.add_argument("--split", choices=("test", "tune"), default="test", help="whose recordings (default: held out)")
    p.add_argument("--echo", choices=ECHO_KINDS, default="auto", help="the echo canceller, as simulate's --echo")
    p.add_argument("--out", type=Path, default=Path("build/realstop.json"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    result = measure(
        args.corpus.resolve(),
        args.engine,
        args.leak_db or [-20.0, -12.0],
        args.clips,
        args.routine,
        args.split,
        args.echo,
    )
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    for key, row in result["stop_while_the_coach_talks"].items():
        print(f"'stop' while the coach talks, its voice {key}: {row['acted']} of {row['clips']} acted on")
    for check in ("nothing_said", "people_talking"):
        row = result[check]
        print(
            f"{check.replace('_', ' ')} ({row['seconds']} s, voice {row['leak_db']} dB): {len(row['heard'])} commands {row['heard']}"
        )
    print(f"(all figures in {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
