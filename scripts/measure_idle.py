#!/usr/bin/env python3
"""Hours of idle listening in compressed time: memory, drift, false activations, a stuck stream.

The appliance's listening path with every part real but the sound card: a room (a quiet noise
floor from the shared corpus's background noise, and now and then someone talking, from its
continuous speech) is read by `voicecoach.session.watch.listen` on its own thread, as fast as it goes,
through the Listener (echo canceller, EchoGuard) into PocketSphinx; the idle Coach waits in the
appliance's loop (`voicecoach.session.loop.run`, half a second at a time) on a RealClock whose time source
is the audio read so far, running `--skew-ppm` fast, as a sound card's crystal is never exact.

Every simulated `--every` minutes it notes the resident memory (RSS) and the drift: how far the
listener's idea of "now" (the microphone's time) is from the coach's clock. Anything the coach
hears counts as a false activation (the room holds no commands); one that starts a session is
stopped at once, as a user would. At the very end a real recording of "start" is played; it must
be heard, and the coach must leave idle for it. The figures are printed and written as JSON.

    .venv/bin/python scripts/measure_idle.py --hours 8 --json idle.json
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecoach.bench.corpus import DEFAULT_CORPUS, read_wav  # noqa: E402
from voicecoach.hear import SAMPLE_RATE  # noqa: E402

log = logging.getLogger("measure_idle")
CHUNK_SECONDS = 0.1
STOPPED_BY_US = "(measure: back to idle)"


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmHWM: its peak so far), from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def at_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """`samples` (any scale) as float32 with an RMS level of `dbfs`."""
    x = samples.astype(np.float32)
    rms = float(np.sqrt(np.mean(x**2))) or 1.0
    return x * (32768 * 10 ** (dbfs / 20) / rms)


class Room:
    """A microphone in a quiet room (an AudioInput that never waits): the noise floor looped for
    `seconds`, with `talk()` clips laid in at random times about `talk_every_seconds` apart, then
    `ending` (e.g. someone saying "start"). Calls `on_mark(position)` every `mark_seconds`."""

    def __init__(
        self,
        seconds: float,
        noise: np.ndarray,
        talk: Callable[[], np.ndarray],
        *,
        talk_every_seconds: float = 600.0,
        ending: np.ndarray | None = None,
        seed: int = 1,
        mark_seconds: float = 600.0,
        on_mark: Callable[[float], None] | None = None,
    ):
        self.total = round(seconds * SAMPLE_RATE)
        self.noise = noise.astype(np.float32)
        self.talk, self.talk_every = talk, talk_every_seconds
        self.ending = np.zeros(0, np.float32) if ending is None else ending.astype(np.float32)
        self.rng = random.Random(seed)
        self.mark, self.on_mark = round(mark_seconds * SAMPLE_RATE), on_mark
        self.position = 0  # samples read
        self.ended_at: float | None = None  # time.monotonic() when it ran out
        self.on_ending: Callable[[], None] | None = None  # called once, when the ending is about to be read
        self._next_mark = self.mark
        self.talk_seconds = 0.0
        self.talks: list[tuple[float, float]] = []  # (start, end) seconds
        self._clip = np.zeros(0, np.float32)
        self._clip_at = 0
        self._next_talk = self._draw_gap()
        self._closed = False

    def _draw_gap(self) -> int:
        return round(self.rng.expovariate(1 / self.talk_every) * SAMPLE_RATE) if self.talk_every else 1 << 62

    @property
    def seconds(self) -> float:
        return (self.total + len(self.ending)) / SAMPLE_RATE

    @property
    def position_seconds(self) -> float:
        return self.position / SAMPLE_RATE

    def time_seconds(self) -> float:
        """The room's time: the audio read so far, then the wall clock once it has run out."""
        return self.position / SAMPLE_RATE + (time.monotonic() - self.ended_at if self.ended_at else 0.0)

    @property
    def ended(self) -> bool:
        return self._closed or self.position >= self.total + len(self.ending)

    def close(self) -> None:
        self._closed = True

    def read(self, timeout: float | None = None) -> bytes:
        if self.ended:
            self.ended_at = self.ended_at or time.monotonic()
            if timeout:
                time.sleep(min(timeout, 0.05))
            return b""
        if self.on_mark and self.position >= self._next_mark:  # everything read so far has been heard
            self._next_mark += self.mark
            self.on_mark(self.position_seconds)
        if self.on_ending and self.position >= self.total:
            self.on_ending, on_ending = None, self.on_ending
            on_ending()
        start = self.position
        count = min(round(CHUNK_SECONDS * SAMPLE_RATE), self.total + len(self.ending) - start)
        index = (start + np.arange(count)) % len(self.noise)
        chunk = self.noise[index].copy()
        self._lay_talk(chunk, start)
        if start + count > self.total:  # the ending, after the noise
            begin = max(start, self.total)
            chunk[begin - start :] += self.ending[begin - self.total : start + count - self.total]
        self.position += count
        return np.clip(chunk, -32768, 32767).astype("<i2").tobytes()

    def _lay_talk(self, chunk: np.ndarray, start: int) -> None:
        end = start + len(chunk)
        if not len(self._clip) and self._next_talk < end and self._next_talk + SAMPLE_RATE < self.total:
            self._clip = self.talk()
            self._clip = self._clip[: self.total - self._next_talk - SAMPLE_RATE]  # never into the ending
            self._clip_at = self._next_talk
            self.talks.append((self._clip_at / SAMPLE_RATE, (self._clip_at + len(self._clip)) / SAMPLE_RATE))
            self.talk_seconds += len(self._clip) / SAMPLE_RATE
        if len(self._clip):
            a, b = max(start, self._clip_at), min(end, self._clip_at + len(self._clip))
            if a < b:
                chunk[a - start : b - start] += self._clip[a - self._clip_at : b - self._clip_at]
            if end >= self._clip_at + len(self._clip):
                self._next_talk = self._clip_at + len(self._clip) + self._draw_gap()
                self._clip = np.zeros(0, np.float32)


@dataclass
class Figures:
    """What an idle run measured."""

    audio_hours: float
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    rtf: float = 0.0  # wall seconds per second of audio
    cpu_rtf: float = 0.0
    skew_ppm: float = 0.0
    talk_minutes: float = 0.0
    talk_stretches: int = 0
    samples: list[dict] = field(default_factory=list)  # {"audio_hours", "rss_mb", "drift_ms", "lag_ms"}
    rss_start_mb: float = 0.0
    rss_after_warmup_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_max_mb: float = 0.0
    rss_slope_mb_per_hour: float = 0.0  # least squares, after the warm-up
    rss_after_ending_mb: float = 0.0  # once the coach has answered the final "start" (its first words in hours)
    rss_peak_before_ending_mb: float = 0.0  # the high-water mark, which samples every ten minutes can miss
    rss_peak_mb: float = 0.0  # the high-water mark at the very end
    drift_max_ms: float = 0.0
    drift_end_ms: float = 0.0
    false_activations: list[dict] = field(default_factory=list)  # heard in the room: t, phrase, intent
    false_per_hour: float = 0.0
    ignored: int = 0  # heard but judged the coach's own voice
    audio_fed_hours: float = 0.0  # what the listener took: all of it, or the stream got stuck
    ending_heard: list[str] = field(default_factory=list)
    state_at_end: str = ""
    state_before_ending: str = ""


def run_idle(
    room: Room,
    *,
    skew_ppm: float = 50.0,
    warmup_hours: float = 0.5,
    engine: str = "pocketsphinx",
    routine: str = "short",
    on_sample: Callable[[dict], None] | None = None,
) -> Figures:
    """Listen to `room` until it ends, with the appliance's parts; the figures."""
    from voicecoach.audio.fakes import RecordingSpeaker
    from voicecoach.core.coach import IDLE, Coach
    from voicecoach.core.commands import Intent
    from voicecoach.core.events import Command
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.hear.engines import open_recogniser
    from voicecoach.hear.reference import ReferenceTrack
    from voicecoach.routinefile.loader import find_exercises, load
    from voicecoach.session.bargein import EchoGuard
    from voicecoach.session.faults import Faults
    from voicecoach.session.listener import Listener
    from voicecoach.session.loop import RealClock, Timeline, run
    from voicecoach.session.settings import Config
    from voicecoach.session.speech import SpokenOutput
    from voicecoach.session.watch import listen
    from voicecoach.speak.tts import BREATHING_CUES, COUNTS, PyttsxSynthesiser

    settings = Config()
    library = load(find_exercises(None))
    recogniser = open_recogniser(engine, None, reject_below_llr=settings.sphinx_reject_below_llr)
    clock = RealClock(monotonic=lambda: room.time_seconds() * (1 + skew_ppm * 1e-6))
    guard = EchoGuard(settings.guard_settings())
    figures = Figures(audio_hours=room.seconds / 3600, skew_ppm=skew_ppm)
    before_ending = room.total / SAMPLE_RATE * (1 + skew_ppm * 1e-6)

    def seen(entry: dict) -> None:
        if entry["kind"] == "heard" and entry["phrase"] != STOPPED_BY_US:
            if entry["t"] < before_ending:
                figures.false_activations.append({k: entry[k] for k in ("t", "phrase", "intent", "confidence")})
                log.warning("false activation at %.1f h: %r", entry["t"] / 3600, entry["phrase"])
            else:
                figures.ending_heard.append(entry["phrase"])
        elif entry["kind"] == "ignored":
            figures.ignored += 1

    timeline = Timeline(seen, keep=1000)
    reference = ReferenceTrack()
    synthesiser = PyttsxSynthesiser(settings.voice_settings())
    synthesiser.prerender(COUNTS + BREATHING_CUES)  # as the appliance does, before it listens
    speaker = SpokenOutput(
        synthesiser, RecordingSpeaker(clock=clock.now), clock, guard, virtual=True, reference=reference
    )
    coach = Coach(library, routine, settings.pace())
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(), reference=reference)
    stop = threading.Event()

    def mark(position: float) -> None:
        gc.collect()
        sample = {
            "audio_hours": round(position / 3600, 4),
            "rss_mb": round(rss_mb(), 2),
            "drift_ms": round(1000 * (clock.now() - listener.origin - listener.fed_seconds), 2),
            "wall_seconds": round(time.monotonic() - started, 1),
        }
        figures.samples.append(sample)
        if on_sample:
            on_sample(sample)

    def ending() -> None:  # the listen thread: everything before the ending has been heard
        time.sleep(1.0)  # and acted on
        figures.state_before_ending = coach.state
        figures.rss_peak_before_ending_mb = round(rss_mb("VmHWM"), 2)

    room.on_mark, room.on_ending = mark, ending
    started, cpu_started = time.monotonic(), time.process_time()
    mark(0.0)
    thread = threading.Thread(
        target=listen, args=(room, listener, coach, clock, stop, None), name="listener", daemon=True
    )
    thread.start()
    faults = Faults()
    while thread.is_alive():
        run(coach, clock, speaker, timeline, start=False, until=clock.now() + 0.5, faults=faults)
        if coach.state != IDLE and clock.now() < before_ending:
            clock.post(lambda now: Command(Intent.STOP, STOPPED_BY_US, now))
        if room.ended:
            stop.set()
    run(coach, clock, speaker, timeline, start=False, until=clock.now() + 0.5, faults=faults)
    listener.hear(b"", clock.now(), final=True)
    gc.collect()
    figures.rss_after_ending_mb = round(rss_mb(), 2)
    figures.rss_peak_mb = round(rss_mb("VmHWM"), 2)
    figures.wall_seconds = time.monotonic() - started
    figures.cpu_seconds = time.process_time() - cpu_started
    figures.rtf = figures.wall_seconds / room.seconds
    figures.cpu_rtf = figures.cpu_seconds / room.seconds
    figures.audio_fed_hours = listener.fed_seconds / 3600
    figures.state_at_end = coach.state
    figures.talk_minutes = room.talk_seconds / 60
    figures.talk_stretches = len(room.talks)
    _summarise(figures, warmup_hours)
    return figures


def run_idle_in_fresh_process(
    floor: np.ndarray, talks: list[np.ndarray], ending: np.ndarray, room: dict, **run_options
) -> Figures:
    """`run_idle` over a Room of `floor`, `talks` (one after another) and `ending`, in a new
    interpreter: its memory figures are then its own, not shaped by whatever this process ran and
    freed before (a test suite's earlier tests left hundreds of MB to the allocator)."""
    import multiprocessing

    scripts = str(Path(__file__).resolve().parent)
    if scripts not in sys.path:
        sys.path.insert(0, scripts)  # the child imports this module by name, from the path it inherits
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_idle_child, (floor, talks, ending, room, run_options))


def _run_idle_child(
    floor: np.ndarray, talks: list[np.ndarray], ending: np.ndarray, room: dict, run_options: dict
) -> Figures:
    talk = iter(talks)
    return run_idle(Room(noise=floor, talk=lambda: next(talk), ending=ending, **room), **run_options)


def _summarise(figures: Figures, warmup_hours: float) -> None:
    samples = figures.samples
    rss = [s["rss_mb"] for s in samples]
    figures.rss_start_mb, figures.rss_end_mb, figures.rss_max_mb = rss[0], rss[-1], max(rss)
    warm = [s for s in samples if s["audio_hours"] >= warmup_hours] or samples[-1:]
    figures.rss_after_warmup_mb = warm[0]["rss_mb"]
    if len(warm) >= 2:
        hours = np.array([s["audio_hours"] for s in warm])
        figures.rss_slope_mb_per_hour = round(float(np.polyfit(hours, [s["rss_mb"] for s in warm], 1)[0]), 3)
    drifts = [abs(s["drift_ms"]) for s in samples[1:]] or [0.0]
    figures.drift_max_ms, figures.drift_end_ms = max(drifts), samples[-1]["drift_ms"]
    figures.false_per_hour = round(len(figures.false_activations) / max(figures.audio_hours, 1e-9), 3)


def corpus_room(
    corpus: Path,
    hours: float,
    seed: int,
    noise_dbfs: float,
    talk_dbfs: float,
    talk_every_minutes: float,
    on_mark=None,
    mark_minutes: float = 10.0,
) -> Room:
    """The shared corpus as a room: pink noise (and a little of the real recordings' hum) as the
    floor, stretches of one to three read passages as the talk, a real "start" as the ending."""
    noise_dir = corpus / "background_noise" / "speech_commands"
    floor = at_dbfs(read_wav(noise_dir / "pink_noise.wav"), noise_dbfs)
    passages = sorted((corpus / "speech").rglob("*.wav"))
    starts = sorted((corpus / "commands" / "start").glob("*.wav"))
    if not passages or not starts:
        raise SystemExit(f"{corpus} has no speech/ passages or commands/start/ clips")
    rng = random.Random(seed)

    def talk() -> np.ndarray:
        clips = [at_dbfs(read_wav(rng.choice(passages)), talk_dbfs) for _ in range(rng.randint(1, 3))]
        gap = np.zeros(round(0.7 * SAMPLE_RATE), np.float32)
        return np.concatenate([part for clip in clips for part in (clip, gap)])

    start = at_dbfs(read_wav(rng.choice(starts)), talk_dbfs + 6)
    ending = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), start, np.zeros(3 * SAMPLE_RATE, np.float32)])
    return Room(
        hours * 3600,
        floor,
        talk,
        talk_every_seconds=talk_every_minutes * 60,
        ending=ending,
        seed=seed,
        mark_seconds=mark_minutes * 60,
        on_mark=on_mark,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=8.0, help="simulated hours of idle (default 8)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--noise-dbfs", type=float, default=-60.0, help="the room's noise floor, RMS")
    parser.add_argument("--talk-dbfs", type=float, default=-30.0, help="the talking, RMS")
    parser.add_argument("--talk-every", type=float, default=10.0, help="minutes between stretches of talk, on average")
    parser.add_argument("--every", type=float, default=10.0, help="simulated minutes between samples")
    parser.add_argument("--skew-ppm", type=float, default=50.0, help="how much faster the clock runs than the audio")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def show(sample: dict) -> None:
        print(
            f"{sample['audio_hours']:6.2f} h  RSS {sample['rss_mb']:7.1f} MB  drift {sample['drift_ms']:+7.1f} ms  "
            f"wall {sample['wall_seconds']:7.0f} s",
            flush=True,
        )

    room = corpus_room(
        args.corpus, args.hours, args.seed, args.noise_dbfs, args.talk_dbfs, args.talk_every, mark_minutes=args.every
    )
    figures = run_idle(room, skew_ppm=args.skew_ppm, on_sample=show)
    summary = {k: v for k, v in vars(figures).items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), **vars(figures)}, indent=2) + "\n")
    ok = figures.ending_heard == ["start"] and figures.state_before_ending == "idle"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
