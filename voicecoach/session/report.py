"""The session timeline as people read it: one line per entry, or one JSON object per line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

from voicecoach.session.loop import Entry


def clock_text(seconds: float) -> str:
    """83.25 -> "1:23.2"."""
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def describe(entry: Entry) -> str:
    """One timeline entry as a readable line."""
    kind = entry["kind"]
    if kind == "say":
        body = f"coach  {entry['text']}"
    elif kind == "heard":
        body = f'user   "{entry["phrase"]}" ({entry["intent"]}, {entry.get("confidence", 1.0):.2f})'
    elif kind == "state":
        where = " ".join(
            str(entry[k]) if k != "rep" else f"rep {entry[k]}" for k in ("exercise", "side", "rep") if entry.get(k)
        )
        body = f"state  {entry['state']}" + (f" · {where}" if where else "")
    elif kind == "cue":
        body = f"cue    ♪ {entry['name']}"
    elif kind == "exercise":
        body = f"record {entry['exercise']}: {entry['outcome']}, {entry['reps_done']} of {entry['reps_planned']} reps"
    elif kind == "end":
        skipped = f", skipped {', '.join(entry['skipped'])}" if entry["skipped"] else ""
        body = f"end    {len(entry['done'])} done{skipped}, {entry['minutes']:.1f} min" + (
            " (stopped)" if entry["stopped"] else ""
        )
    elif kind == "volume":
        body = f"volume {entry['volume']:g}"
    elif kind == "pace":
        body = f"pace   one breath in {entry['breath_seconds']:g} s"
    elif kind == "fault":
        body = f"fault  {entry['device']} lost: {entry['why']}" if entry["lost"] else f"fault  {entry['device']} back"
    else:
        body = f"{kind:6} {entry}"
    return f"{clock_text(entry['t']):>8}  {body}"


def printer(as_json: bool, stream: TextIO | None = None) -> Callable[[Entry], None]:
    stream = stream or sys.stdout

    def show(entry: Entry) -> None:
        print(json.dumps(entry, ensure_ascii=False) if as_json else describe(entry), file=stream, flush=True)

    return show
