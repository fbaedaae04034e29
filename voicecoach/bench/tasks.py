"""One measurement of one system, run in a subprocess of its own so its CPU and memory are its own."""

from __future__ import annotations

import json
import logging
import resource
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.bench import measure, selftrigger, stream
from voicecoach.bench.corpus import Clip, read_wav
from voicecoach.bench.synth import read_narration
from voicecoach.core.commands import Intent
from voicecoach.hear import SAMPLE_RATE, Recogniser

log = logging.getLogger(__name__)

SYSTEMS = ("coach", "peer")
KINDS = ("real", "synthetic", "noise", "false_accept", "speech", "self", "memory")
MEMORY_CLIPS = 20  # real clips streamed by the memory task, read one at a time


@dataclass(frozen=True)
class Task:
    """What one worker measures. Clips are packed as (path, label, intent value or "")."""

    system: str
    kinds: tuple[str, ...]
    seed: int
    engine: str = "auto"
    model: str = ""
    clips: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)  # kind -> clips
    noises: tuple[tuple[str, str], ...] = ()  # (name, path)
    snrs_db: tuple[float, ...] = ()
    files: tuple[str, ...] = ()  # continuous speech
    narration: tuple[str, str] = ("", "")  # (wav, sentences json)
    voice_dbfs: float = -26.0

    @staticmethod
    def pack(clips: list[Clip]) -> tuple[tuple[str, str, str], ...]:
        return tuple((c.path, c.label, c.intent.value if c.intent else "") for c in clips)

    def unpacked(self, kind: str) -> list[Clip]:
        return [Clip(p, label, Intent(i) if i else None) for p, label, i in self.clips.get(kind, ())]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Task:
        data = json.loads(path.read_text())
        data["clips"] = {kind: tuple(tuple(c) for c in clips) for kind, clips in data["clips"].items()}
        data["noises"] = tuple(tuple(n) for n in data["noises"])
        for name in ("kinds", "snrs_db", "files", "narration"):
            data[name] = tuple(data[name])
        return cls(**data)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; getrusage's ru_maxrss
    does not (a worker would report the benchmark's own peak, from before it was forked)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_system(task: Task) -> Recogniser:
    if task.system == "peer":
        from voicecoach.bench.peer import NaivePeer

        return NaivePeer()
    from voicecoach.hear.engines import open_recogniser

    # the generic model, as shipped: a voice enrolled on this machine is measured by `bench --enrolled`
    return open_recogniser(task.engine, Path(task.model) if task.model else None, enrolled=False)


def execute(task: Task) -> dict[str, Any]:
    """Run the task's measurements; each kind's per-clip outcomes (or hits), the cost and peak memory."""
    recogniser = open_system(task)
    cost = measure.Cost()
    result: dict[str, Any] = {"system": task.system, "recogniser": recogniser.name}
    # A fused recogniser also says what each engine inside it would have heard alone: those are
    # scored too, from the same run, under result["parts"] (not for self-triggers nor memory).
    fused = hasattr(recogniser, "take_alone")
    parts: dict[str, dict[str, Any]] = {name: {} for name in getattr(recogniser, "parts", ())}
    for kind in task.kinds:
        rng = np.random.default_rng([task.seed, SYSTEMS.index(task.system), KINDS.index(kind), len(task.files)])
        alone = measure.Parts() if fused else None  # a fresh one for every stream: its events are that stream's
        if kind in ("real", "synthetic", "false_accept"):
            clips = task.unpacked(kind)
            result[kind], by_part = _clips(recogniser, clips, rng, cost, alone=alone)
            for name in parts:
                parts[name][kind] = by_part.get(name, [])
        elif kind == "noise":
            clips = task.unpacked(kind)
            result[kind] = {}
            for name, path in task.noises:
                noise = read_wav(path)
                for snr in task.snrs_db:
                    stream_alone = measure.Parts() if fused else None
                    scored, by_part = _clips(recogniser, clips, rng, cost, noise, snr, stream_alone)
                    result[kind].setdefault(name, {})[f"{snr:g}"] = scored
                    for part in parts:
                        parts[part].setdefault(kind, {}).setdefault(name, {})[f"{snr:g}"] = by_part.get(part, [])
                    if alone is not None and stream_alone is not None:
                        alone.audio_seconds += stream_alone.audio_seconds
                        for part, seconds in stream_alone.cpu_seconds.items():
                            alone.cpu_seconds[part] = alone.cpu_seconds.get(part, 0.0) + seconds
        elif kind == "speech":
            result[kind], heard_alone = _speech(recogniser, [Path(f) for f in task.files], rng, cost, alone)
            for name in parts:
                parts[name][kind] = heard_alone.get(name, {"seconds": result[kind]["seconds"], "hits": []})
        elif kind == "self":
            result[kind] = _self(recogniser, task, rng, cost)
        elif kind == "memory":
            result[kind] = _memory(recogniser, task.unpacked(kind), rng, cost)
        if alone is not None:
            for name in parts:
                parts[name]["cpu_seconds"] = parts[name].get("cpu_seconds", 0.0) + alone.cpu_seconds.get(name, 0.0)
                parts[name]["audio_seconds"] = parts[name].get("audio_seconds", 0.0) + alone.audio_seconds
    result["cpu_seconds"], result["audio_seconds"] = cost.cpu_seconds, cost.audio_seconds
    result["peak_rss_mb"] = peak_rss_mb()
    if parts and any(kind in task.kinds for kind in ("real", "synthetic", "false_accept", "noise", "speech")):
        result["parts"] = parts
    return result


def _clips(
    recogniser: Recogniser,
    clips: list[Clip],
    rng: np.random.Generator,
    cost: measure.Cost,
    noise: np.ndarray | None = None,
    snr_db: float | None = None,
    alone: measure.Parts | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Each clip's outcome, and (`alone`: from a fused recogniser) each inner engine's outcomes."""
    pcm, placed = stream.build([read_wav(c.path) for c in clips], rng, noise, snr_db)
    events = measure.run(recogniser, pcm, rng, cost, parts=alone)
    expected = [c.intent for c in clips]

    def scored(events: list[measure.Event]) -> list[dict[str, Any]]:
        return [
            {
                "label": c.label,
                "path": c.path,
                "accepted": o.accepted,
                "heard": list(o.heard),
                "latency_ms": o.latency_ms,
            }
            for c, o in zip(clips, measure.score(events, placed, expected))
        ]

    by_part = {name: scored(part_events) for name, part_events in (alone.events if alone else {}).items()}
    for name in getattr(recogniser, "parts", ()) if alone else ():
        by_part.setdefault(name, scored([]))
    return scored(events), by_part


def _memory(recogniser: Recogniser, clips: list[Clip], rng: np.random.Generator, cost: measure.Cost) -> dict[str, Any]:
    """Peak resident memory of a process that only hears: the clips streamed one by one, each after a gap,
    so the figure is the recogniser's (and Python's), not the benchmark's audio buffers."""
    for clip in clips:
        pcm, _ = stream.build([read_wav(clip.path)], rng)
        measure.run(recogniser, pcm, rng, cost)
    return {"clips": len(clips), "peak_rss_mb": peak_rss_mb()}


def _speech(
    recogniser: Recogniser,
    files: list[Path],
    rng: np.random.Generator,
    cost: measure.Cost,
    alone: measure.Parts | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """All the files end to end, each after a short gap; every command heard, with its file and time
    (and the same for each engine inside a fused recogniser)."""
    recordings = [read_wav(f) for f in files]
    pcm, placed = stream.build(recordings, rng, gap_seconds=0.5)
    events = measure.run(recogniser, pcm, rng, cost, parts=alone)

    def hits(events: list[measure.Event]) -> dict[str, Any]:
        found = []
        for event in events:
            into = [p for p in placed if p.start_seconds <= event.heard.start_seconds < p.end_seconds + 0.5]
            where = into[0] if into else placed[-1]
            found.append(
                {
                    "file": str(files[where.index]),
                    "at_seconds": round(event.heard.start_seconds - where.start_seconds, 2),
                    "phrase": event.heard.phrase,
                    "intent": event.heard.intent.value,
                }
            )
        return {"seconds": len(pcm) / SAMPLE_RATE, "hits": found}

    return hits(events), {name: hits(part_events) for name, part_events in (alone.events if alone else {}).items()}


def _self(recogniser: Recogniser, task: Task, rng: np.random.Generator, cost: measure.Cost) -> dict[str, Any]:
    wav, sentences_json = (Path(p) for p in task.narration)
    sentences = read_narration(sentences_json)
    scene = selftrigger.scene(read_wav(wav), task.voice_dbfs, rng)

    def listed(events: list[measure.Event]) -> list[dict[str, Any]]:
        return [
            {
                "at_seconds": round(e.heard.start_seconds, 2),
                "phrase": e.heard.phrase,
                "intent": e.heard.intent.value,
                "ignored_because": e.reason,
                "coach_saying": selftrigger.playing(sentences, e.heard.start_seconds),
            }
            for e in events
        ]

    result: dict[str, Any] = {
        "seconds": len(scene.mic) / SAMPLE_RATE,
        "sentences": len(sentences),
        "echo_dbfs": round(scene.echo_dbfs, 1),
    }
    if task.system == "coach":
        result["with_canceller"] = listed(selftrigger.listen(recogniser, scene, sentences, rng, cost, cancel=True))
        result["canceller"] = selftrigger.canceller_name()
    result["without_canceller"] = listed(selftrigger.listen(recogniser, scene, sentences, rng, cost, cancel=False))
    return result
