#!/usr/bin/env python3
"""Barge-in over the coach's own voice: "pause" said one second into one of the coach's long
sentences (the coach's voice leaking into the microphone at --room-echo-db), through
`voicecoach simulate --mic`; how often it is taken, per voice engine.

For the engine given, the short routine is first simulated with a silent microphone to find the
coach's own timeline; then, for each of the first three sentences of 3.5 s or more after 20 s, and
for each of seven flite and espeak-ng voices (as scripts/measure_voices.py), a track with "pause"
one second into that sentence goes through `simulate --mic`, and the pause counts as taken when
the timeline has it `heard` within two seconds.

    .venv/bin/python scripts/measure_midsentence.py [--voice-engine piper] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import measure_voices  # noqa: E402  (the voices and levels of the command tracks)

from voicecoach.bench.corpus import write_wav  # noqa: E402

SAMPLE_RATE = measure_voices.SAMPLE_RATE


def simulate(track: Path, echo_db: float, env: dict[str, str]) -> list[dict]:
    run = subprocess.run(
        [sys.executable, "-m", "voicecoach", "simulate", "--routine", "short", "--mic", str(track),
         "--room-echo-db", str(echo_db), "--json", "--exercises", str(REPO / "exercises.yaml")],
        cwd=REPO, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return [json.loads(line) for line in run.stdout.splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice-engine", choices=("pyttsx3", "piper"), default="pyttsx3")
    parser.add_argument("--room-echo-db", type=float, default=-10.0)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        settings = folder / "config.yaml"
        settings.write_text(f"voice_engine: {args.voice_engine}\n")
        env = dict(os.environ, VOICECOACH_CONFIG=str(settings))
        noise = np.random.default_rng(0).normal(0.0, measure_voices.NOISE_RMS, SAMPLE_RATE * 100)
        says = [
            e for e in simulate(write_wav(folder / "quiet.wav", noise), args.room_echo_db, env) if e["kind"] == "say"
        ]
        sentences = [(a["t"], a["text"]) for a, b in zip(says, says[1:]) if b["t"] - a["t"] >= 3.5 and a["t"] > 20][:3]
        results = []
        for voice in measure_voices.VOICES:
            clip = measure_voices.synthesise(voice, "pause", folder)
            for start, text in sentences:
                at = start + 1.0
                track = np.random.default_rng(1).normal(0.0, measure_voices.NOISE_RMS, int((at + 6) * SAMPLE_RATE))
                track[int(at * SAMPLE_RATE) : int(at * SAMPLE_RATE) + len(clip)] += clip
                events = simulate(write_wav(folder / "track.wav", track), args.room_echo_db, env)
                taken = any(e["kind"] == "heard" and e["intent"] == "pause" and at <= e["t"] <= at + 2 for e in events)
                results.append({"voice": voice, "at": round(at, 1), "coach_saying": text, "taken": taken})
                print(f"{voice:<16} pause at {at:6.1f} s, into {text[:40]!r}: {'taken' if taken else 'missed'}")
    taken = sum(r["taken"] for r in results)
    print(f"{args.voice_engine}: pause taken {taken} of {len(results)} times, one second into a sentence")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
