"""`voicecoach download-voice [NAME]` and `voicecoach voices`: Piper voices fetched and listed."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from voicecoach.errors import ModelError


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The two subcommands, on the `voicecoach` parser's subparsers."""
    from voicecoach.speak import DEFAULT_PIPER_VOICE

    p = sub.add_parser("download-voice", parents=[common], help="fetch a natural Piper voice (see `voices`)")
    p.add_argument("name", nargs="?", default=DEFAULT_PIPER_VOICE, help="the voice (default: %(default)s)")
    p.add_argument("--dir", metavar="DIR", help="where to install it (default: models/ in the checkout)")
    p.add_argument("--force", action="store_true", help="replace an installed voice")
    p.set_defaults(func=download_voice)
    p = sub.add_parser("voices", parents=[common], help="the Piper voices installed, and those that can be fetched")
    p.set_defaults(func=list_voices)


def download_voice(args: argparse.Namespace) -> int:
    """Fetch a voice from the pinned catalogue: every file checked, installed all or nothing."""
    from voicecoach.fetch import ProgressLine, RemoteFile, download_files
    from voicecoach.hear.models import default_models_dir
    from voicecoach.speak.piper import DOWNLOADS, is_piper_voice

    entry = DOWNLOADS.get(args.name)
    if entry is None:
        raise ModelError(
            f"There is no Piper voice {args.name!r} to download; the voices that can be are "
            f"{', '.join(sorted(DOWNLOADS))}."
        )
    path = download_files(
        [RemoteFile(url, sha256, size) for url, sha256, size in entry.files],
        Path(args.dir) if args.dir else default_models_dir(), entry.name,
        is_installed=is_piper_voice, kind="a Piper voice", command=f"voicecoach download-voice {entry.name}",
        progress=ProgressLine(label="Downloading the voice") if sys.stderr.isatty() else None, force=args.force,
    )  # fmt: skip
    print(f"The Piper voice {entry.name} is installed at {path}.")
    print(f"To use it, put `voice_engine: piper` and `piper_voice: {entry.name}` in the settings file.")
    return 0


def list_voices(args: argparse.Namespace) -> int:
    """Every installed Piper voice (the one the settings choose marked), then those to download."""
    from voicecoach.hear.models import search_dirs
    from voicecoach.speak.piper import DOWNLOADS, installed_voices

    settings = args.settings
    voices = installed_voices(search_dirs())
    chosen = settings.piper_voice if settings.voice_engine == "piper" else None
    print("Piper voices installed (`piper_voice: NAME` in the settings file):")
    for voice in voices:
        mark = "*" if chosen in (voice.name, str(voice.model)) else " "
        print(f" {mark} {voice.name:<24} {voice.source}")
    if not voices:
        print("   none")
    missing = sorted(set(DOWNLOADS) - {voice.name for voice in voices})
    if missing:
        print(f"Can be fetched with `voicecoach download-voice NAME`: {', '.join(missing)}")
    if importlib.util.find_spec("piper") is None:
        print("piper-tts is not installed, so no Piper voice can speak yet: pip install -e '.[piper]'.")
    if settings.voice_engine == "pyttsx3":
        print(f"Speaking now with espeak-ng (voice_engine: pyttsx3, voice: {settings.voice}).")
    elif chosen and not any(chosen in (voice.name, str(voice.model)) for voice in voices):
        if chosen.endswith(".onnx"):
            print(f"Speaking now with the Piper voice file {chosen}.")
        else:
            print(f"The settings choose the Piper voice {chosen}, which is not installed.")
    return 0
