"""Self-triggers: the coach's whole narration leaking back into the microphone while it listens."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from voicecoach.bench.measure import Cost, Event, run
from voicecoach.bench.stream import active_dbfs, floor_noise, scaled
from voicecoach.bench.synth import Spoken
from voicecoach.hear import SAMPLE_RATE, Heard, Recogniser
from voicecoach.session.bargein import EchoGuard

log = logging.getLogger(__name__)

ECHO_BELOW_VOICE_DB = 10.0  # the narration reaches the microphone this much below the user's voice
ROOM_DELAY_SECONDS = 0.04  # speaker to microphone, as in the project's simulated room


@dataclass(frozen=True)
class Scene:
    """The microphone signal (echo of the narration over faint noise) and the speaker's own signal."""

    mic: np.ndarray
    reference: np.ndarray
    echo_dbfs: float


def scene(reference: np.ndarray, voice_dbfs: float, rng: np.random.Generator) -> Scene:
    echo_dbfs = voice_dbfs - ECHO_BELOW_VOICE_DB
    delay = round(ROOM_DELAY_SECONDS * SAMPLE_RATE)
    echo = np.concatenate([np.zeros(delay), scaled(reference, echo_dbfs - active_dbfs(reference))[:-delay]])
    mic = np.clip(np.round(echo + floor_noise(len(reference), rng)), -32768, 32767).astype(np.int16)
    return Scene(mic, reference.astype(np.int16), echo_dbfs)


def listen(
    recogniser: Recogniser,
    scene: Scene,
    sentences: list[Spoken],
    rng: np.random.Generator,
    cost: Cost,
    cancel: bool,
) -> list[Event]:
    """Stream the microphone through the echo canceller (when `cancel` and one is available) into the
    recogniser, telling the EchoGuard each sentence as it starts playing; every Heard is judged then."""
    from voicecoach.hear.echo import make_echo_canceller

    canceller = make_echo_canceller("auto" if cancel else "none")
    lag = canceller.delay_samples / SAMPLE_RATE
    guard = EchoGuard()
    pending = list(sentences)

    def before_chunk(first: int, chunk: np.ndarray) -> np.ndarray:
        chunk_end = (first + len(chunk)) / SAMPLE_RATE
        while pending and pending[0].start <= chunk_end:
            said = pending.pop(0)
            guard.spoke(said.text, said.start, said.end)
        played = scene.reference[first : first + len(chunk)]
        cleaned = canceller.process(chunk.astype("<i2").tobytes(), played.astype("<i2").tobytes())
        return np.frombuffer(cleaned, dtype="<i2")

    def judge(heard: Heard) -> str | None:
        return guard.verdict(heard.intent, heard.phrase, heard.start_seconds - lag, heard.end_seconds - lag)

    log.info("self-triggers: %s, %.0f s", type(canceller).__name__, len(scene.mic) / SAMPLE_RATE)
    return run(recogniser, scene.mic, rng, cost, before_chunk=before_chunk, judge=judge)


def canceller_name() -> str:
    from voicecoach.hear.echo import (
        LiveKitEchoCanceller,
        SettlingEchoCanceller,
        SpeexEchoCanceller,
        make_echo_canceller,
    )

    canceller = make_echo_canceller("auto")
    names = {
        SettlingEchoCanceller: "speexdsp (aec3 first)",
        SpeexEchoCanceller: "speexdsp",
        LiveKitEchoCanceller: "livekit-aec3",
    }
    return names.get(type(canceller), "none")


def playing(sentences: list[Spoken], at: float) -> str:
    """What the coach was saying at `at` seconds (or "")."""
    return next((s.text for s in sentences if s.start <= at <= s.end + 0.6), "")
