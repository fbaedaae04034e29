"""The `voicecoach` command: check, list, simulate and run routines (and, with audio, hear and speak)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach import __version__
from voicecoach.core.library import Library
from voicecoach.errors import VoicecoachError
from voicecoach.hear.echo import KINDS as ECHO_KINDS
from voicecoach.routinefile.loader import find_exercises, load
from voicecoach.session.report import clock_text, printer

if TYPE_CHECKING:
    from voicecoach.history.store import History

log = logging.getLogger(__name__)


# ---- subcommands --------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else find_exercises(args.exercises)
    library = load(path)
    content = library.content
    print(
        f"{path}: valid, {len(content.exercises)} exercises and {len(content.routines)} routines "
        f"({', '.join(content.routines)})."
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from voicecoach.core.routine import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from voicecoach.core.narration import Pace, compile_session, segment_seconds

    library = _library(args)
    for routine_id in library.routine_ids:
        routine = library.routine(routine_id)
        segments = compile_session(library, routine_id)
        total = sum(segment_seconds(s, Pace()) for s in segments)
        print(f"{routine_id}: {routine.name}, about {clock_text(total)[:-2]} (m:ss)")
        print(f"    {routine.description}")
        for number, segment in enumerate((s for s in segments if s.planned), start=1):
            planned = segment.planned
            assert planned is not None
            tag = " (cool-down)" if planned.cool_down else ""
            print(
                f"  {number:2}. {planned.name + tag:44} {clock_text(segment_seconds(segment, Pace()))[:-2]:>5}  "
                f"{_numbers(planned)}"
            )
        print()
    return 0


def _numbers(planned) -> str:
    parts = []
    if planned.duration_seconds:
        parts.append(f"{planned.duration_seconds} s")
    else:
        per = "per side" if planned.side_count() == 2 and planned.exercise.reps_counted == "per_side" else "in all"
        reps = f"{planned.reps} rep{'s' if planned.reps > 1 else ''}"
        parts.append(reps + (f" {per}" if planned.side_count() == 2 else ""))
    if planned.hold_seconds:
        parts.append(f"hold {planned.hold_seconds} s")
    if planned.hold_breaths:
        parts.append(f"hold {planned.hold_breaths} breath{'s' if planned.hold_breaths > 1 else ''}")
    if planned.sides.value != "none":
        parts.append(planned.sides.value.replace("_", " "))
    return ", ".join(parts)


def cmd_simulate(args: argparse.Namespace) -> int:
    from voicecoach.session.loop import Timeline
    from voicecoach.session.simulate import parse_say, simulate

    library = _library(args)
    said = [parse_say(text) for text in args.say]
    routine = _routine(args, library)
    if args.mic:
        if args.history:
            raise VoicecoachError("--history remembers simulations without --mic only, for now.")
        from voicecoach.session.live import open_configured_recogniser
        from voicecoach.session.wavsim import simulate_from_wav

        simulate_from_wav(
            library,
            routine,
            Path(args.mic),
            said,
            show=printer(args.json),
            recogniser=open_configured_recogniser(args.settings),
            speaker_out=Path(args.speaker_out) if args.speaker_out else None,
            echo=args.echo,
            room_echo_db=args.room_echo_db,
            settings=args.settings,
        )
        return 0
    if args.history is None and args.at is not None:
        raise VoicecoachError("--at says when a remembered session began: use it with --history FILE.")
    speaker_out = Path(args.speaker_out) if args.speaker_out else None
    synthesiser = None
    if speaker_out is not None:  # the narration is rendered and written, as with --mic
        from voicecoach.session.voices import open_synthesiser

        synthesiser = open_synthesiser(args.settings)
    from voicecoach.history.store import History

    with History.open(args.history) if args.history else contextlib.nullcontext() as history:
        simulate(
            library,
            routine,
            said,
            Timeline(printer(args.json)),
            pace=args.settings.pace(),
            volume=args.settings.start_volume(),
            history=history,
            started_at=args.at,
            speaker_out=speaker_out,
            synthesiser=synthesiser,
        )
    return 0


def _moment(text: str) -> datetime:
    """An ISO 8601 date or date and time (local time unless it says otherwise)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02 or 2026-03-02T18:30") from None


def cmd_run(args: argparse.Namespace) -> int:
    library = _library(args)
    routine = _routine(args, library)
    history = None if args.no_history else _session_history(args.settings.history)
    try:
        if args.text:
            from voicecoach.session.text import run_text

            return run_text(
                library, routine, pace=args.settings.pace(), history=history, volume=args.settings.start_volume()
            )
        from voicecoach.session.live import run_voice

        return run_voice(library, routine, args, history=history)
    finally:
        if history is not None:
            history.close()


def _session_history(configured: Path | None) -> History | None:
    """The history a session is written to (as `serve` writes it), or None with a warning: a history
    that cannot be opened never stops a workout."""
    from voicecoach.history.store import History

    try:
        return History.open(configured)
    except VoicecoachError as error:
        print(f"voicecoach: {error} This session will not be remembered.", file=sys.stderr)
        return None


def cmd_config(args: argparse.Namespace) -> int:
    from voicecoach.apps.config import config_command

    return config_command(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from voicecoach.apps.appliance import serve

    logging.getLogger().setLevel(logging.DEBUG if args.debug else logging.INFO)  # the journal keeps it
    return serve(args)


def _settings(args: argparse.Namespace):
    """The settings file (lenient: a bad one warns and falls back), with the options given on top."""
    from voicecoach.apps.config import apply_args, load_config

    settings, warning = load_config(args.config)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return apply_args(settings, args), warning


def _library(args: argparse.Namespace) -> Library:
    exercises = args.settings.exercises
    return load(find_exercises(str(exercises) if exercises else None))


def _routine(args: argparse.Namespace, library: Library) -> str:
    return args.settings.routine or library.routine_ids[0]


ENGINES = ("auto", "vosk", "pocketsphinx", "spotter", "fusion")  # as voicecoach.hear.engines.ENGINES


# ---- argument parsing -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicecoach", description=__doc__)
    parser.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--exercises", metavar="FILE", help="the routine file (default: ./exercises.yaml)")
    common.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    common.add_argument(
        "--config",
        metavar="FILE",
        help="the settings file (default: ~/.config/voicecoach/config.yaml or $VOICECOACH_CONFIG)",
    )
    hearing = argparse.ArgumentParser(add_help=False)
    hearing.add_argument(
        "--engine",
        choices=ENGINES,
        help="speech recogniser: auto (the default), vosk, pocketsphinx, spotter (the trained command spotter) or "
        "fusion (the spotter and the grammar recogniser, one decision)",
    )
    hearing.add_argument("--model", metavar="DIR", help="Vosk model directory")
    devices = argparse.ArgumentParser(add_help=False)
    devices.add_argument("--input", metavar="DEVICE", help="microphone: name or index (see `voicecoach devices`)")
    devices.add_argument("--output", metavar="DEVICE", help="speaker: name or index")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", parents=[common], help="validate a routine file")
    p.add_argument("file", nargs="?", help="the file to check (default: the routine file)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("list", parents=[common], help="list routines, their exercises and durations")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("schema", parents=[common], help="print the JSON Schema of the routine file")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("simulate", parents=[common, hearing], help="run a routine in virtual time")
    p.add_argument("--routine", metavar="NAME", help="routine id (default: the first in the file)")
    p.add_argument(
        "--say",
        action="append",
        default=[],
        metavar="T:PHRASE",
        help="the user says PHRASE at T seconds (or M:SS), e.g. 95:pause; repeatable",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--mic", metavar="IN.wav", help="a microphone recording to hear commands from")
    p.add_argument("--speaker-out", metavar="OUT.wav", help="write what the coach said, where it said it (a WAV file)")
    p.add_argument(
        "--echo",
        choices=ECHO_KINDS,
        default="auto",
        help="with --mic: the echo canceller (auto: speexdsp's, with AEC3 while it learns the room)",
    )
    p.add_argument(
        "--room-echo-db",
        type=float,
        metavar="DB",
        help="with --mic: also leak the coach's own voice into the microphone at DB (e.g. -10)",
    )
    p.add_argument(
        "--history",
        metavar="FILE",
        help="remember the session in this history file, as serve does, and plan it from there",
    )
    p.add_argument(
        "--at",
        metavar="WHEN",
        type=_moment,
        help="with --history: when the session begins, e.g. 2026-03-02 or 2026-03-02T18:30 (default: now)",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", parents=[common, hearing, devices], help="coach a routine in real time")
    p.add_argument("--routine", metavar="NAME", help="routine id (default: the first in the file)")
    p.add_argument("--text", action="store_true", help="print the narration and type commands")
    p.add_argument(
        "--echo",
        choices=ECHO_KINDS,
        default="auto",
        help="the echo canceller (auto: speexdsp's, with AEC3 while it learns the room)",
    )
    p.add_argument(
        "--no-history",
        action="store_true",
        help="do not remember this session (by default it is written to the history, as serve does)",
    )
    p.set_defaults(func=cmd_run)

    from voicecoach.apps.historycli import add_arguments as add_history_arguments
    from voicecoach.apps.historycli import history_command

    p = sub.add_parser("history", parents=[common], help="recent sessions, streak, progress and pain")
    add_history_arguments(p)
    p.set_defaults(func=history_command)

    p = sub.add_parser("config", parents=[common], help="check, show or locate the settings file")
    p.add_argument("action", nargs="?", choices=("check", "show", "path"), default="show")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser(
        "serve",
        parents=[common, hearing, devices],
        help="the appliance: wait for 'start', coach, remember (systemd runs this)",
    )
    p.add_argument("--routine", metavar="NAME", help="the routine 'start' begins (default: the settings' or the first)")
    p.set_defaults(func=cmd_serve)

    from voicecoach.apps.enrolcli import add_parser as add_enrol_parser

    add_enrol_parser(sub, common, devices)

    from voicecoach.apps.setup import add_parsers as add_setup_parsers

    add_setup_parsers(sub, common, hearing)

    from voicecoach.apps.voicecli import add_commands as add_voice_commands

    add_voice_commands(sub, common)  # download-voice, voices

    # listed here for --help; main() hands its arguments to voicecoach.bench untouched
    sub.add_parser("bench", add_help=False, help="measure the coach's hearing beside a naive peer (bench --help)")
    sub.add_parser(
        "train-spotter",
        add_help=False,
        help="rebuild the command spotter's model, or --evaluate it (train-spotter --help)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from voicecoach.bench import main as bench

        return bench(argv[1:])
    if argv[:1] == ["train-spotter"]:
        from voicecoach.apps.trainspotter.train import main as train_spotter

        return train_spotter(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.func is not cmd_config:
            args.settings, args.settings_warning = _settings(args)
        return args.func(args)
    except VoicecoachError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
