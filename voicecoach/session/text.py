"""A session in a terminal, in real time: narration printed, commands typed."""

from __future__ import annotations

import sys
import threading
from functools import partial
from typing import TYPE_CHECKING

from voicecoach import __version__
from voicecoach.core.library import Library
from voicecoach.core.narration import Pace, Volume
from voicecoach.session.keeper import keep_history
from voicecoach.session.report import printer

if TYPE_CHECKING:
    from voicecoach.history.store import History


def run_text(
    library: Library,
    routine_id: str,
    lines=None,
    out=None,
    pace=None,
    history: History | None = None,
    volume: Volume | None = None,
) -> int:
    """Real time in a terminal: narration printed, commands typed (the same phrases as spoken ones).
    `pace` and `volume` are the settings file's (a volume change is only remembered here)."""
    from voicecoach.core.coach import Coach
    from voicecoach.core.commands import Intent, intent_for, normalise
    from voicecoach.core.events import Command
    from voicecoach.session.loop import EstimatedSpeaker, RealClock, Timeline, run

    out = out or sys.stdout
    lines = lines if lines is not None else sys.stdin
    clock = RealClock()

    def read() -> None:
        for line in lines:
            intent = intent_for(line)
            if intent is not None:
                clock.post(partial(Command, intent, normalise(line)))
            elif line.strip():
                print(f"  ({line.strip()!r} is not a command; type help)", file=out, flush=True)
        clock.post(lambda now: Command(Intent.STOP, "(end of input)", now))

    print(
        f"voicecoach {__version__}: type a command and press Enter (help, pause, resume, skip, stop, ...).",
        file=out,
        flush=True,
    )
    threading.Thread(target=read, name="stdin", daemon=True).start()
    timeline = Timeline(printer(False, out))
    coach = Coach(library, routine_id, pace or Pace(), volume=volume or Volume())
    run(coach, clock, EstimatedSpeaker(clock), timeline, observe=keep_history(history, library, coach))
    return 0
