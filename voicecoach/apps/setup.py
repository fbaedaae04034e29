"""Setting up the machine: `voicecoach devices`, `mic-test` and `download-model`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def devices_command(args: argparse.Namespace) -> int:
    from voicecoach.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        print("No sound devices were found.")
        return 1
    print("  < default input, > default output")
    for device in devices:
        print(device.describe())
    return 0


def mic_test_command(args: argparse.Namespace) -> int:
    from voicecoach.apps.miccheck import mic_test

    return mic_test(args)


def download_model_command(args: argparse.Namespace) -> int:
    from voicecoach.fetch import ProgressLine
    from voicecoach.hear.models import download_model

    path = download_model(
        Path(args.dir) if args.dir else None, force=args.force, progress=ProgressLine() if sys.stderr.isatty() else None
    )
    print(f"The speech model is installed at {path}.")
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser, hearing: argparse.ArgumentParser) -> None:
    """The set-up commands, on the `voicecoach` command's subparsers."""
    p = sub.add_parser("devices", parents=[common], help="list microphones and speakers")
    p.set_defaults(func=devices_command)

    p = sub.add_parser("mic-test", parents=[common, hearing], help="show the microphone level and what is heard")
    p.add_argument("--input", metavar="DEVICE", help="microphone: name or index (see `voicecoach devices`)")
    p.add_argument("--seconds", type=float, default=30.0, help="how long to listen (default 30)")
    p.set_defaults(func=mic_test_command)

    p = sub.add_parser("download-model", parents=[common], help="fetch the small English Vosk model")
    p.add_argument("--dir", metavar="DIR", help="where to install it (default: models/ in the checkout)")
    p.add_argument("--force", action="store_true", help="replace an installed model")
    p.set_defaults(func=download_model_command)
