#!/usr/bin/env python3
"""Check the coach on voices the tests have not seen, the way issue 3 is checked: a microphone track
of commands said at known times goes through `voicecoach simulate --mic … --json` (the real
recogniser, coach and synthesiser, the coach's own voice leaking in at --room-echo-db), and the
timeline's `heard` events are compared with what was said.

For each voice it prints which commands were acted on (within --tolerance seconds of being said),
which were missed, and any command heard that was never said.

    .venv/bin/python scripts/measure_voices.py [--voices flite:rms espeak:en-us …] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16_000
VOICES = ("flite:rms", "flite:slt", "flite:awb", "flite:kal", "espeak:en-us", "espeak:en-gb+f3", "espeak:en+m5")
# In the short routine: a pause during the first exercise, then resume, skip and stop.
SAID = ((45.0, "pause", "pause"), (60.0, "resume", "resume"), (100.0, "skip", "skip"), (150.0, "stop", "stop"))
TRACK_SECONDS = 170.0
VOICE_RMS = 3000.0  # a comfortable level for a USB microphone
NOISE_RMS = 30.0


def synthesise(voice: str, text: str, folder: Path) -> np.ndarray:
    """`text` said by `voice` ("flite:NAME" or "espeak:VOICE"), at 16 kHz and VOICE_RMS."""
    engine, name = voice.split(":", 1)
    path = folder / f"{engine}-{name.replace('/', '_').replace('+', '_')}-{text}.wav"
    command = (
        ["flite", "-voice", name, "-t", text, "-o", str(path)]
        if engine == "flite"
        else ["espeak-ng", "-v", name, "-w", str(path), text]
    )
    subprocess.run(command, check=True, capture_output=True)
    with wave.open(str(path), "rb") as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
        rate = wav.getframerate()
    samples = soxr.resample(samples, rate, SAMPLE_RATE)
    return samples * VOICE_RMS / (np.sqrt(np.mean(samples**2)) + 1e-9)


def make_track(voice: str, folder: Path, seed: int) -> Path:
    track = np.random.default_rng(seed).normal(0.0, NOISE_RMS, int(TRACK_SECONDS * SAMPLE_RATE))
    for at, text, _ in SAID:
        clip = synthesise(voice, text, folder)
        start = int(at * SAMPLE_RATE)
        track[start : start + len(clip)] += clip
    path = folder / f"track-{voice.replace(':', '-').replace('/', '_').replace('+', '_')}.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.clip(track, -32768, 32767).astype("<i2").tobytes())
    return path


def check(voice: str, folder: Path, echo_db: float, tolerance: float, seed: int) -> dict:
    track = make_track(voice, folder, seed)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicecoach",
            "simulate",
            "--routine",
            "short",
            "--mic",
            str(track),
            "--room-echo-db",
            str(echo_db),
            "--json",
            "--exercises",
            str(REPO / "exercises.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    heard = [e for e in map(json.loads, run.stdout.splitlines()) if e["kind"] == "heard"]
    acted, missed = [], []
    for at, text, intent in SAID:
        match = [h for h in heard if h["intent"] == intent and at <= h["t"] <= at + tolerance]
        (acted if match else missed).append(text)
    unsaid = [
        (round(h["t"], 1), h["phrase"])
        for h in heard
        if not any(h["intent"] == intent and at <= h["t"] <= at + tolerance for at, _, intent in SAID)
    ]
    return {"voice": voice, "acted_on": acted, "missed": missed, "not_said": unsaid}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", nargs="+", default=list(VOICES), help="flite:NAME or espeak:VOICE")
    parser.add_argument("--room-echo-db", type=float, default=-10.0, help="the coach's voice in the microphone")
    parser.add_argument("--tolerance", type=float, default=2.0, help="seconds after a word to act on it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = [check(v, Path(folder), args.room_echo_db, args.tolerance, args.seed) for v in args.voices]
    for r in results:
        print(
            f"{r['voice']:<18} acted on {len(r['acted_on'])} of {len(SAID)}"
            f"{'; missed ' + ', '.join(r['missed']) if r['missed'] else ''}"
            f"{'; not said: ' + ', '.join(f'{p!r} at {t} s' for t, p in r['not_said']) if r['not_said'] else ''}"
        )
    total = sum(len(r["acted_on"]) for r in results)
    print(
        f"acted on {total} of {len(SAID) * len(results)} commands; "
        f"{sum(len(r['not_said']) for r in results)} heard that were not said"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
