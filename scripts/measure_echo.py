#!/usr/bin/env python3
"""Measure the echo canceller on espeak-ng narration leaking into the mic while flite says commands.

For each scene (echo delay, echo level, which reference the canceller is given) the mic track is
fed through `process()` in 64 ms chunks (odd sizes with --chunk) and compared with what went in:

- ERLE: mic energy / output energy over the narration-only parts (no word within 0.1 s), over the
  whole narration and after the first second (AEC3 converges within about a second);
- word level: the user's word in the output against the word alone, in dB (0 = untouched), and
  word-to-echo: the level in the word's span over the level of the narration-only parts, in the
  mic (about 10 dB by construction) and in the output (how far the word stands above what is left);
- segmenter: the utterances voicecoach.hear.segmenter finds, and how many words open their own
  short utterance (what the recogniser needs);
- real-time factor: CPU seconds per second of audio.

The output is shifted back by the canceller's `delay_samples` before comparing.

    .venv/bin/python scripts/measure_echo.py [--kind livekit] [--noise-suppression] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from echo_scene import NARRATION, OTHER_SPEECH, Scene, build_scene, espeak, flite, from_pcm  # noqa: E402

from voicecoach.hear import SAMPLE_RATE  # noqa: E402
from voicecoach.hear.echo import EchoOptions, make_echo_canceller  # noqa: E402
from voicecoach.hear.segmenter import Segmenter  # noqa: E402


def run(scene: Scene, kind: str, options: EchoOptions, chunk: int) -> tuple[np.ndarray, float]:
    """The scene's mic through a fresh canceller; returns (aligned output, real-time factor)."""
    canceller = make_echo_canceller(kind, options)
    mic, ref = scene.mic_bytes(), scene.reference_bytes()
    out = bytearray()
    started = time.process_time()
    for at in range(0, len(mic), chunk):
        out += canceller.process(mic[at : at + chunk], ref[at : at + chunk])
    cpu = time.process_time() - started
    assert len(out) == len(mic), (len(out), len(mic))
    shift = canceller.delay_samples
    aligned = np.concatenate([from_pcm(bytes(out))[shift:], np.zeros(shift)])
    return aligned, cpu / (len(mic) / 2 / SAMPLE_RATE)


def segment(samples: np.ndarray, scene: Scene) -> tuple[int, int]:
    """(utterances found, words with an utterance of their own around them)."""
    segmenter = Segmenter()
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
    utterances = segmenter.push(pcm) + segmenter.flush()
    own = 0
    for word in scene.words:
        if any(
            u.speech_start_sample <= word.end and u.speech_end_sample >= word.start and u.speech_seconds < 1.5
            for u in utterances
        ):
            own += 1
    return len(utterances), own


def measure(scene: Scene, out: np.ndarray) -> dict[str, float]:
    def energy(x: np.ndarray, mask: np.ndarray) -> float:
        return float(np.sum(x[mask] ** 2)) + 1e-9

    figures: dict[str, float] = {}
    whole, settled = scene.narration_only(), scene.narration_only(skip=SAMPLE_RATE)
    figures["erle_db"] = 10 * np.log10(energy(scene.mic, whole) / energy(out, whole))
    figures["erle_settled_db"] = 10 * np.log10(energy(scene.mic, settled) / energy(out, settled))

    def mean_power(x: np.ndarray, mask: np.ndarray) -> float:
        return energy(x, mask) / max(1, int(mask.sum()))

    levels, before, after = [], [], []
    for word in scene.words:
        span = np.zeros(len(scene.mic), dtype=bool)
        span[word.start : word.end] = True
        levels.append(10 * np.log10(energy(out, span) / energy(scene.user, span)))
        before.append(10 * np.log10(mean_power(scene.mic, span) / mean_power(scene.mic, whole)))
        after.append(10 * np.log10(mean_power(out, span) / mean_power(out, whole)))
    figures["word_level_change_db"] = float(np.mean(levels))
    figures["word_level_change_worst_db"] = float(max(levels, key=abs))
    figures["word_to_echo_before_db"] = float(np.mean(before))
    figures["word_to_echo_after_db"] = float(np.mean(after))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="livekit", help="livekit, none or auto")
    parser.add_argument("--noise-suppression", action="store_true")
    parser.add_argument("--no-high-pass", action="store_true")
    parser.add_argument("--chunk", type=int, default=2048, help="bytes per process() call")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = EchoOptions(noise_suppression=args.noise_suppression, high_pass_filter=not args.no_high_pass)

    narration, other = espeak(NARRATION), espeak(OTHER_SPEECH)
    pause, stop = flite("pause"), flite("stop")
    length = len(narration) / SAMPLE_RATE
    words = [("pause", pause, 0.5 + length * 0.4), ("stop", stop, 0.5 + length * 0.75)]
    print(f"narration {length:.1f} s; 'pause' at {words[0][2]:.2f} s, 'stop' at {words[1][2]:.2f} s")
    scenes = [
        ("aligned, delay 20 ms, echo -10 dB", dict(delay_ms=20)),
        ("aligned, delay 40 ms, echo -10 dB", dict(delay_ms=40)),
        ("aligned, delay 60 ms, echo -10 dB", dict(delay_ms=60)),
        ("aligned, delay 40 ms, echo 0 dB", dict(delay_ms=40, echo_below_user_db=0)),
        ("reference 200 ms early (buffering)", dict(delay_ms=200)),
        ("reference zeros (leak not ours)", dict(reference="zeros")),
        ("reference other speech", dict(reference="other", other=other)),
    ]
    results = []
    header = f"{'scene':38} {'ERLE':>6} {'settled':>7} {'word':>6} {'W/E in':>6} {'W/E out':>7} {'segs in':>7} {'segs out':>8} {'RTF':>7}"
    print(header)
    for name, kwargs in scenes:
        scene = build_scene(narration, words, **kwargs)  # type: ignore[arg-type]
        out, rtf = run(scene, args.kind, options, args.chunk)
        figures = measure(scene, out)
        seg_in, own_in = segment(scene.mic, scene)
        seg_out, own_out = segment(out, scene)
        figures.update(
            rtf=rtf, utterances_in=seg_in, utterances_out=seg_out, words_own_in=own_in, words_own_out=own_out
        )
        results.append({"scene": name, **figures})
        print(
            f"{name:38} {figures['erle_db']:6.1f} {figures['erle_settled_db']:7.1f} "
            f"{figures['word_level_change_db']:+6.1f} {figures['word_to_echo_before_db']:6.1f} "
            f"{figures['word_to_echo_after_db']:7.1f} {f'{own_in}/2 of {seg_in}':>7} {f'{own_out}/2 of {seg_out}':>8} {rtf:7.4f}"
        )
    print("ERLE and word level in dB; W/E = level in the words' spans over the narration-only level;")
    print("segs = words that got their own short utterance, of all utterances the segmenter found.")
    if args.json:
        args.json.write_text(json.dumps({"options": asdict(options), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
