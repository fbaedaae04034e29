"""Earcons: short, soft sine chimes generated with numpy (no sound files)."""

from __future__ import annotations

from functools import cache

import numpy as np

from voicecoach.speak import Audio

TONE_SAMPLE_RATE = 22_050
_PEAK = 0.35  # of full scale: a chime should sit below the voice, never startle

# Each earcon is a sequence of (frequency Hz, start seconds, length seconds) notes.
_NOTES: dict[str, tuple[tuple[float, float, float], ...]] = {
    # A rising fifth: "here comes an exercise".
    "exercise": ((523.25, 0.0, 0.35), (783.99, 0.12, 0.45)),
    # A falling third, quieter feel: "I'm waiting".
    "paused": ((659.25, 0.0, 0.3), (523.25, 0.15, 0.45)),
    # The same third, rising: "back to it".
    "resumed": ((523.25, 0.0, 0.3), (659.25, 0.15, 0.45)),
    # A slow falling major triad: "all done".
    "end": ((783.99, 0.0, 0.5), (659.25, 0.2, 0.5), (523.25, 0.4, 0.9)),
    # One short high note: "I heard you".
    "heard": ((880.0, 0.0, 0.18),),
    # One low soft note: the start or end of a hold.
    "tick": ((440.0, 0.0, 0.15),),
}

TONE_NAMES = tuple(_NOTES)


def tone(name: str, sample_rate: int = TONE_SAMPLE_RATE) -> Audio:
    """The named earcon as Audio (text ""); names are in TONE_NAMES."""
    if name not in _NOTES:
        raise ValueError(f"no tone {name!r}; known tones: {', '.join(TONE_NAMES)}")
    return _render(name, sample_rate)


@cache
def _render(name: str, sample_rate: int) -> Audio:
    notes = _NOTES[name]
    total_seconds = max(start + length for _, start, length in notes) + 0.02
    mix = np.zeros(int(total_seconds * sample_rate), dtype=np.float64)
    for frequency, start, length in notes:
        t = np.arange(int(length * sample_rate)) / sample_rate
        attack = np.minimum(1.0, t / 0.012)  # 12 ms rise: no click
        decay = np.exp(-t * 5.0 / length)  # a bell-like fade to about -43 dB
        release = np.minimum(1.0, (length - t) / 0.02)  # end exactly at zero
        # A touch of the octave makes it a chime rather than a test tone.
        wave = np.sin(2 * np.pi * frequency * t) + 0.25 * np.sin(4 * np.pi * frequency * t)
        begin = int(start * sample_rate)
        mix[begin : begin + len(t)] += wave * attack * decay * release
    mix *= _PEAK / max(1e-9, float(np.max(np.abs(mix))))
    samples = np.round(mix * 32767).astype(np.int16)
    samples.setflags(write=False)
    return Audio(samples=samples, sample_rate=sample_rate, text="")
