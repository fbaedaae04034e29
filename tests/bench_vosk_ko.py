"""Vosk speed and memory on the Korean test model: `.venv/bin/python tests/bench_vosk_ko.py`.

About a minute of espeak-ng speech and silence is fed in 20 ms chunks, as a microphone would.
Not collected by pytest; prints one line.
"""

from __future__ import annotations

import resource
import time

import test_hear_vosk as t

from voicecoach.hear.vosk_engine import VoskRecogniser


def max_rss_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    before_model = max_rss_megabytes()
    started = time.perf_counter()
    recogniser = VoskRecogniser(t.korean_model(), phrases=t.KOREAN)
    load_seconds = time.perf_counter() - started
    after_model = max_rss_megabytes()

    script = t.Script()
    while t.seconds(script.pcm) < 60:
        for word in ("멈춰", "계속", "정지 하세요", "여섯"):
            script.say(word, then_silence=2.0)
    chunk = 640  # 20 ms
    started = time.perf_counter()
    heard = []
    for i in range(0, len(script.pcm), chunk):
        heard += recogniser.feed(script.pcm[i : i + chunk])
    heard += recogniser.flush()
    decode_seconds = time.perf_counter() - started

    audio_seconds = t.seconds(script.pcm)
    right = sum(h.phrase == said[0] for h, said in zip(heard, script.said))
    print(
        f"model load {load_seconds:.2f} s; {audio_seconds:.1f} s of audio decoded in {decode_seconds:.2f} s "
        f"(RTF {decode_seconds / audio_seconds:.4f}); said {len(script.said)}, heard {len(heard)}, "
        f"{right} right; max RSS {before_model:.0f} MB before the model, {after_model:.0f} MB after "
        f"loading, {max_rss_megabytes():.0f} MB after decoding"
    )


if __name__ == "__main__":
    main()
