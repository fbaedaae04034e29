#!/usr/bin/env python3
"""Measures barge-in: how soon the coach's speech is silenced after "pause" is recognised.

Runs the real pipeline (coach, loop, espeak-ng or Piper speech, our PortAudio output stream) on a private
virtual sound card, says "pause" at random moments while the coach is talking, resumes a second
later, and times each step from the moment the command was recognised (posted to the coach) to:
  - the output stream's stop() returning (the coach acted), and
  - the last loud sample on the speaker's monitor (the room went quiet), found by recording the
    monitor with timestamps.

Usage: .venv/bin/python scripts/measure_bargein.py [--pauses 20] [--voice-engine piper] [--out bargein.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pauses", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--voice-engine",
        choices=("pyttsx3", "piper"),
        default="pyttsx3",
        help="the voice that is cut (piper: the settings' piper_voice, rendered ahead first)",
    )
    args = parser.parse_args()

    from soundcard import VirtualSoundCard

    card = VirtualSoundCard().start()
    os.environ["PULSE_SERVER"] = card.server
    try:
        figures = measure(card, args.pauses, random.Random(args.seed), args.voice_engine)
    finally:
        card.stop()
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def measure(card, pauses: int, rng: random.Random, voice_engine: str = "pyttsx3") -> dict:
    import numpy as np

    from voicecoach.audio.devices import rescan_devices
    from voicecoach.audio.speaker import Speaker
    from voicecoach.core.coach import Coach
    from voicecoach.core.commands import Intent
    from voicecoach.core.events import Command
    from voicecoach.routinefile.loader import load
    from voicecoach.session.bargein import EchoGuard
    from voicecoach.session.loop import RealClock, Timeline, run
    from voicecoach.session.settings import Config
    from voicecoach.session.speech import SpokenOutput
    from voicecoach.session.voices import open_synthesiser, progress_display, render_ahead

    rescan_devices()
    output = Speaker()
    clock = RealClock()
    stops: list[float] = []  # monotonic times at which stop() returned
    real_stop = output.stop

    def timed_stop() -> None:
        real_stop()
        stops.append(time.monotonic())

    output.stop = timed_stop  # type: ignore[method-assign]
    plays: list[float] = []  # monotonic times of every play() call
    real_play = output.play

    leads: list[float] = []  # seconds of quiet at the start of the first clip played

    def timed_play(audio, on_done=None) -> None:
        plays.append(time.monotonic())
        if not leads:
            loud_at = np.flatnonzero(np.abs(audio.samples.astype(np.int32)) > 300)
            leads.append(loud_at[0] / audio.sample_rate if len(loud_at) else 0.0)
        real_play(audio, on_done)

    output.play = timed_play  # type: ignore[method-assign]
    library = load(REPO / "exercises.yaml")
    synthesiser = open_synthesiser(Config(voice_engine=voice_engine))
    render_ahead(synthesiser, library, "daily", progress_display())  # as `voicecoach run` does
    speaker = SpokenOutput(synthesiser, output, clock, EchoGuard(), virtual=False)
    coach = Coach(library, "daily")
    posted: list[float] = []
    done = threading.Event()

    def user() -> None:
        time.sleep(3.0)
        for _ in range(pauses):
            while output.now_playing is None or len(output.now_playing or "") < 20:
                time.sleep(0.01)  # wait until a sentence is being spoken
            time.sleep(rng.uniform(0.3, 1.2))  # mid-sentence
            posted.append(time.monotonic())
            clock.post(lambda now: Command(Intent.PAUSE, "pause", now))
            time.sleep(1.5)
            clock.post(lambda now: Command(Intent.RESUME, "resume", now))
            time.sleep(0.5)
        clock.post(lambda now: Command(Intent.STOP, "stop", now))
        done.set()

    with card.capture() as monitor:
        threading.Thread(target=user, daemon=True).start()
        coach.handle(Command(Intent.START, "start", clock.now()))
        run(coach, clock, speaker, Timeline(), start=False)
    output.close()

    acted_ms = [1000 * (next(s for s in stops if s >= p) - p) for p in posted]
    # The monitor is aligned on the first sound: its onset there is the first play() call (plus the
    # clip's own quiet lead-in: about 45 ms with Piper, which put the cut before the command and
    # took the silence after "Paused." for the cut), so the capture's own start offset and the
    # output latency cancel out; the latency is added back below.
    samples = np.abs(monitor.samples.astype(np.int32))
    rate = monitor.sample_rate
    frame = rate // 100
    loud = np.array([samples[i : i + frame].max(initial=0) > 300 for i in range(0, len(samples) - frame, frame)])
    onset = int(np.argmax(loud)) - round(leads[0] * 100)  # where the first clip began, quiet lead-in and all
    latency_ms = 1000 * output.latency_seconds
    quiet_ms = []
    for p in posted:
        index = onset + round((p - plays[0]) * 100)
        gap = next((i for i in range(max(index, 0), len(loud)) if not loud[i]), None)
        if gap is not None:  # the first 10 ms of silence after the command ("Paused." follows)
            quiet_ms.append(10.0 * (gap - index) + latency_ms)

    def pct(values: list[float], q: float) -> float:
        return round(statistics.quantiles(values, n=100)[q - 1], 1) if len(values) > 1 else round(values[0], 1)

    return {
        "voice_engine": voice_engine,
        "pauses": len(posted),
        "recognised_to_stop_ms_p50": pct(acted_ms, 50),
        "recognised_to_stop_ms_p95": pct(acted_ms, 95),
        "recognised_to_silence_ms_p50": pct(quiet_ms, 50) if quiet_ms else None,
        "recognised_to_silence_ms_p95": pct(quiet_ms, 95) if quiet_ms else None,
        "silence_measured": len(quiet_ms),
        "recognised_to_silence_ms_each": [round(ms) for ms in quiet_ms],
        "output_latency_ms": round(latency_ms, 1),
        "note": "silence = first 10 ms gap on the speaker monitor after the command, aligned on the "
        "first clip's start (its first sound's onset less its quiet lead-in), plus the output latency; "
        "10 ms resolution",
    }


if __name__ == "__main__":
    sys.exit(main())
