"""`voicecoach enrol`: learn the user's voice, from the microphone or from WAV files; `--remove` forgets it."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from voicecoach.errors import VoicecoachError


def add_parser(sub: Any, common: argparse.ArgumentParser, devices: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "enrol",
        parents=[common, devices],
        help="learn your voice: say each main command a few times (about two minutes)",
    )
    p.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        help="learn from WAV files named by phrase (pause.wav, pause-2.wav, ...) instead of the microphone",
    )
    p.add_argument("--remove", action="store_true", help="forget the learnt voice: hear with the shipped model again")
    p.set_defaults(func=enrol_command)


def enrol_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    from voicecoach.hear.spotter.enrolled import enrolled_path, remove_enrolled

    if args.remove:
        if remove_enrolled():
            print(f"Removed the learnt voice ({enrolled_path()}); the coach hears with its shipped model.", file=out)
        else:
            print("No voice has been learnt; nothing to remove.", file=out)
        return 0
    if args.source:
        return enrol_from_dir(Path(args.source), out)
    return enrol_live(args, out)


def _store(model: Any) -> None:
    from voicecoach.hear.spotter.enrolled import save_enrolled

    save_enrolled(model)


def enrol_from_dir(folder: Path, out: TextIO) -> int:
    """Learn from WAV files: each is judged as a spoken take would be; bad ones are left out, with why."""
    from voicecoach.bench.corpus import read_wav
    from voicecoach.core.commands import PHRASES
    from voicecoach.hear.spotter.enrolled import enrolled_path
    from voicecoach.session.enrolment import VoiceLearner, takes_from_dir

    if not folder.is_dir():
        raise VoicecoachError(f"{folder} is not a folder of WAV files.")
    files = takes_from_dir(folder)
    if not files:
        raise VoicecoachError(f"{folder} has no WAV files named by a command phrase (e.g. pause.wav).")
    learner = VoiceLearner()
    for phrase, path in files:
        event = learner.judge(PHRASES[phrase], read_wav(path).astype("float64"), path.name)
        print(
            f"{path.name}: {event.verdict.value}" + (f" (sounded like {event.heard})" if event.heard else ""), file=out
        )
    if not learner.takes:
        raise VoicecoachError(f"None of the {len(files)} takes in {folder} was clear enough to learn from.")
    _store(learner.learn())
    print(f"Learnt your voice from {len(learner.takes)} of {len(files)} takes; stored in {enrolled_path()}.", file=out)
    return 0


def enrol_live(args: argparse.Namespace, out: TextIO) -> int:
    """The dialogue through the real microphone and speaker, each prompt also printed."""
    from voicecoach.audio.microphone import Microphone
    from voicecoach.audio.speaker import Speaker
    from voicecoach.core.enrolment import EnrolDialogue
    from voicecoach.hear.spotter.enrolled import enrolled_path
    from voicecoach.session.enrolment import VoiceLearner, drain, record_take, run_dialogue
    from voicecoach.session.voices import open_synthesiser

    settings = args.settings
    speaker = Speaker(settings.output)
    synthesiser = open_synthesiser(settings)
    print("Loading the spotter...", file=out, flush=True)
    learner = VoiceLearner()
    with Microphone(settings.input, **settings.microphone_options()) as microphone:

        def say(text: str) -> None:
            print(text, file=out, flush=True)
            done = threading.Event()
            audio = synthesiser.render(text)
            speaker.play(audio, on_done=lambda complete: done.set())
            done.wait(timeout=audio.duration_seconds + 5.0)
            drain(microphone)

        def take(record: Any) -> Any:
            print(f"  (listening for {record.phrase!r})", file=out, flush=True)
            return record_take(microphone)

        try:
            learnt = run_dialogue(EnrolDialogue(), say, take, learner, _store)
        finally:
            speaker.close()
    for name, why in learner.rejected:
        print(f"  a take of {name!r} was asked again: {why}", file=out)
    if learnt:
        print(f"Stored in {enrolled_path()}; `voicecoach enrol --remove` forgets it.", file=out)
    return 0 if learnt else 1
