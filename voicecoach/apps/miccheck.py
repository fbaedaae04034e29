"""`voicecoach mic-test`: the microphone's level as a bar, and every command heard, for setting up a Pi."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from voicecoach.hear import SAMPLE_RATE

BAR_WIDTH = 40
QUIET_DBFS = -60.0


def level_bar(dbfs: float, width: int = BAR_WIDTH) -> str:
    """-60 dBFS (or quieter) is an empty bar, 0 dBFS a full one."""
    filled = round(width * min(1.0, max(0.0, (dbfs - QUIET_DBFS) / -QUIET_DBFS)))
    return "#" * filled + "." * (width - filled)


def mic_test(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from voicecoach.audio.microphone import Microphone
    from voicecoach.hear.segmenter import level_dbfs
    from voicecoach.session.live import open_configured_recogniser

    recogniser = open_configured_recogniser(args.settings)
    with Microphone(args.settings.input, **args.settings.microphone_options()) as microphone:
        print(
            f"Listening on {microphone.device.name} at {microphone.device_rate} Hz with {recogniser.name} "
            f"for {args.seconds:.0f} s. Say a command, e.g. pause. Ctrl-C ends.",
            file=out,
            flush=True,
        )
        started, window, loudest = time.monotonic(), b"", QUIET_DBFS
        while time.monotonic() - started < args.seconds:
            pcm = microphone.read(timeout=0.5)
            window += pcm
            for heard in recogniser.feed(pcm):
                print(
                    f"\nheard {heard.phrase!r} ({heard.intent.value}, confidence {heard.confidence:.2f})",
                    file=out,
                    flush=True,
                )
            if len(window) >= SAMPLE_RATE // 5 * 2:  # a fifth of a second
                level = level_dbfs(window)
                loudest = max(loudest, level)
                print(f"\r{level_bar(level)} {level:6.1f} dBFS", end="", file=out, flush=True)
                window = b""
        print(f"\nThe loudest moment was {loudest:.1f} dBFS; speech at 1 m should reach about -30 dBFS.", file=out)
    return 0
