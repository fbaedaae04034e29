"""`voicecoach history`: recent sessions, the streak, each exercise's numbers and pain flags, and a plot."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from voicecoach.apps.historyhtml import numbers_text, page, write_page
from voicecoach.apps.historyplot import Picture, Week, save_png, weekly
from voicecoach.core.library import Library
from voicecoach.core.progression import Adjustment
from voicecoach.errors import VoicecoachError
from voicecoach.history.store import History, SessionSummary, default_path

__all__ = ["Week", "add_arguments", "history_command", "weekly"]
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `voicecoach history` (--exercises and --debug come from the common parent)."""
    parser.add_argument("--history", metavar="FILE", help=f"the history file (default: {_shown_default()})")
    parser.add_argument(
        "--sessions", type=int, default=10, metavar="N", help="how many recent sessions to list (default 10)"
    )
    parser.add_argument(
        "--restore",
        metavar="EXERCISE",
        action="append",
        default=[],
        help="bring back an exercise left out because it hurt; repeatable",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw sessions and skips per week, and each exercise's repetitions and hold",
    )
    parser.add_argument(
        "--html",
        metavar="FILE.html",
        help="also write one self-contained page: the summary, the plots, the next session's numbers",
    )
    parser.add_argument(
        "--weeks", type=int, default=12, metavar="N", help="weeks to plot and put on the page (default 12)"
    )


def _shown_default() -> str:
    return "$XDG_DATA_HOME/voicecoach/history.sqlite3"


def history_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the history (and draw it with --plot, write a page with --html); --restore brings dropped
    exercises back first."""
    import sys

    out = out or sys.stdout
    path = Path(args.history) if getattr(args, "history", None) else default_path()
    if not path.exists() and not args.restore:
        print(f"No history yet ({path}): it starts with your first session.", file=out)
        return 0
    library = _library(args)
    exercises = library.content.exercises
    with History.open(path) as history:
        if history.recovered_from:
            print(
                f"The history could not be read; it was moved to {history.recovered_from} and a new one started.",
                file=out,
            )
        for exercise_id in args.restore:
            if exercise_id not in exercises:
                raise VoicecoachError(f"{library.path.name} has no exercise called {exercise_id!r}.")
            history.restore(exercise_id)
            print(f"{exercises[exercise_id].name} is back; it starts gently and you'll be asked first.", file=out)
        names = {exercise_id: exercise.name for exercise_id, exercise in exercises.items()}
        print(history.summary_sentence(names=names), file=out)
        _print_sessions(history.recent(args.sessions), names, out)
        _print_exercises(history.adjustments(exercises), names, out)
        if args.plot or args.html:
            picture = Picture.read(history, exercises, date.today(), args.weeks)
            if args.plot:
                save_png(picture.figure(names), Path(args.plot))
                print(f"Plotted {args.weeks} weeks to {args.plot}.", file=out)
            if args.html:
                text = page(
                    picture,
                    summary=history.summary_sentence(names=names),
                    recent=history.recent(args.sessions),
                    names=names,
                    weeks=args.weeks,
                    written_at=datetime.now().astimezone(),
                )
                write_page(Path(args.html), text)
                print(f"Wrote the page to {args.html}.", file=out)
    return 0


def _library(args: argparse.Namespace) -> Library:
    from voicecoach.routinefile.loader import find_exercises, load

    return load(find_exercises(getattr(args, "exercises", None)))


def _print_sessions(sessions: Sequence[SessionSummary], names: dict[str, str], out: TextIO) -> None:
    print("\nRecent sessions:" if sessions else "\nNo sessions yet.", file=out)
    for s in sessions:
        minutes = f"{s.minutes:4.0f} min" if s.minutes is not None else "   — min"
        if s.ended_at is None:
            state = "  (unfinished)"
        else:
            state = "  (stopped)" if s.stopped else ""
        line = f"  {s.started_at:%a %Y-%m-%d %H:%M}  {s.routine:<10} {minutes}  {len(s.done)} done"
        if s.skipped:
            hurt = set(s.hurt)
            skipped = ", ".join(names.get(e, e) + (" (hurt)" if e in hurt else "") for e in s.skipped)
            line += f", skipped {skipped}"
        print(line + state, file=out)


def _print_exercises(adjustments: dict[str, Adjustment], names: dict[str, str], out: TextIO) -> None:
    if not adjustments:
        return
    print("\nNext time:", file=out)
    width = max(len(names.get(e, e)) for e in adjustments)
    for exercise_id, a in adjustments.items():
        if a.dropped:
            continue
        flag = "  ASK FIRST" if a.ask_first else ""
        print(f"  {names.get(exercise_id, exercise_id):<{width}}  {_numbers(a):<24} {a.why}{flag}", file=out)
    dropped = [e for e, a in adjustments.items() if a.dropped]
    if dropped:
        print('\nLeft out because they hurt (say "bring it back" to the coach, or use --restore EXERCISE):', file=out)
        for exercise_id in dropped:
            print(f"  {exercise_id}  ({names.get(exercise_id, exercise_id)}): {adjustments[exercise_id].why}", file=out)


_numbers = numbers_text
