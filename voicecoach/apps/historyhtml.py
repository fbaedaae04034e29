"""`voicecoach history --html`: the history as one self-contained page that needs no server and no network."""

# The page is one file: its style inline, its plots inline SVG (text kept as text), no script, and a
# Content-Security-Policy that forbids fetching anything, so opening it can never reach the network.
# Every piece of text from the history or the routine file is escaped.

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from pathlib import Path

from voicecoach.apps.historyplot import HURT, NEXT, SEED_RANGE, Picture, exercise_figure, svg, weeks_figure
from voicecoach.core.progression import Adjustment, times
from voicecoach.history.records import SessionSummary

log = logging.getLogger(__name__)

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may be fetched: inline styles and data: images only."""

_STYLE = """
body { font-family: system-ui, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 62rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; background: #fff; }
h1 { margin-bottom: 0.2rem; }
.summary { font-size: 1.25rem; }
.meta, footer { color: #666; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
.ask { color: #b35900; font-weight: bold; }
.hurt { color: #d62728; }
figure { margin: 1rem 0; }
figure svg { width: 100%; height: auto; }
.key span { display: inline-block; margin-right: 1.2rem; }
.swatch { display: inline-block; width: 1.4rem; height: 0.8rem; vertical-align: middle; }
"""


_FOOTER = (
    "<footer><p>The numbers start at the low end of each range the articles give and grow one step after "
    "three sessions in a row that did not hurt; an exercise that hurt is made gentler and asked about "
    "first; two pain skips in a row leave it out. This is not medical advice: never push through pain.</p></footer>"
)


def numbers_text(a: Adjustment) -> str:
    """ "10 reps, hold 6 s", "8 reps, hold 1 breath", "45 s"."""
    text = f"{a.reps} reps"
    if a.hold_seconds is not None:
        text += f", hold {a.hold_seconds} s"
    if a.hold_breaths is not None:
        text += f", hold {a.hold_breaths} breath" + ("s" if a.hold_breaths != 1 else "")
    if a.duration_seconds is not None:
        text = f"{a.duration_seconds} s"
    return text


def page(
    picture: Picture,
    *,
    summary: str,
    recent: Sequence[SessionSummary],
    names: Mapping[str, str],
    weeks: int,
    written_at: datetime,
) -> str:
    """The whole page as text."""

    def name(exercise_id: str) -> str:
        return names.get(exercise_id, exercise_id)

    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(POLICY, quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>voicecoach: your progress</title>",
        f"<style>{_STYLE}</style></head>",
        "<body><main>",
        "<h1>Your progress</h1>",
        f'<p class="summary" id="summary">{escape(summary)}</p>',
        (
            f'<p class="meta">Written {written_at:%A %d %B %Y at %H:%M} by voicecoach, from the last {weeks} weeks '
            "of your history. This page needs no network.</p>"
        ),
        _next_session(_in_order(picture), name),
        _left_out(picture.adjustments, name),
        _exercises(picture, name),
        '<section id="weeks"><h2>Week by week</h2>',
        f"<figure>{svg(weeks_figure(picture.weeks, names))}</figure></section>",
        _sessions(recent, name),
        _FOOTER,
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_page(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    log.info("wrote the history page to %s (%d bytes)", path, len(text))


def _in_order(picture: Picture) -> dict[str, Adjustment]:
    """The adjustments in the order the exercises came up, then any others (e.g. restored, not done since)."""
    order = [e for e in picture.points if e in picture.adjustments]
    order += [e for e in picture.adjustments if e not in picture.points]
    return {e: picture.adjustments[e] for e in order}


def _next_session(adjustments: Mapping[str, Adjustment], name: Callable[[str], str]) -> str:
    rows = [
        f"<tr><td>{escape(name(e))}</td><td>{escape(numbers_text(a))}</td><td>{escape(a.why)}"
        + (' <span class="ask">Asked first.</span>' if a.ask_first else "")
        + "</td></tr>"
        for e, a in adjustments.items()
        if not a.dropped
    ]
    if not rows:
        return '<section id="next"><h2>Next session</h2><p>No exercise has a history yet.</p></section>'
    return (
        '<section id="next"><h2>Next session</h2>'
        "<table><thead><tr><th>exercise</th><th>numbers</th><th>why</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _left_out(adjustments: Mapping[str, Adjustment], name: Callable[[str], str]) -> str:
    dropped = [(e, a) for e, a in adjustments.items() if a.dropped]
    if not dropped:
        return '<section id="left-out"><h2>Left out</h2><p>Nothing is left out.</p></section>'
    items = "".join(
        f'<li><strong class="hurt">{escape(name(e))}</strong>: {escape(a.why)} '
        f"To bring it back, say &ldquo;bring it back&rdquo; to the coach, or run "
        f"<code>voicecoach history --restore {escape(e)}</code>.</li>"
        for e, a in dropped
    )
    return f'<section id="left-out"><h2>Left out, and why</h2><ul>{items}</ul></section>'


def _key() -> str:
    return (
        '<p class="key">'
        f'<span><span class="swatch" style="background:#cde8d0"></span> {escape(SEED_RANGE)}</span>'
        '<span><span style="color:#2f6db3">&#9679;&#9472;</span> done</span>'
        '<span><span style="color:#2f6db3">&#9675;</span> ended early</span>'
        f'<span><span class="hurt">&#10006;</span> {escape(HURT)}</span>'
        f'<span><span style="color:#2f6db3">&#9671;</span> {escape(NEXT)}</span>'
        "</p>"
    )


def _exercises(picture: Picture, name: Callable[[str], str]) -> str:
    if not picture.points:
        return '<section id="exercises"><h2>Each exercise over time</h2><p>No exercise in these weeks.</p></section>'
    next_at = picture.next_at
    figures = []
    for exercise_id, points in picture.points.items():
        adjustment = picture.adjustments.get(exercise_id)
        drawn = exercise_figure(name(exercise_id), picture.exercises[exercise_id], points, adjustment, next_at)
        done = sum(p.done for p in points)
        hurt = sum(p.pain for p in points)
        caption = f"{name(exercise_id)}: done in {done} of {len(points)} sessions"
        if hurt:
            caption += f", skipped {times(hurt)} because it hurt"
        figures.append(
            f'<figure id="exercise-{escape(exercise_id)}">{svg(drawn)}'
            f"<figcaption>{escape(caption)}.</figcaption></figure>"
        )
    return '<section id="exercises"><h2>Each exercise over time</h2>' + _key() + "".join(figures) + "</section>"


def _sessions(recent: Sequence[SessionSummary], name: Callable[[str], str]) -> str:
    if not recent:
        return '<section id="sessions"><h2>Recent sessions</h2><p>No sessions yet.</p></section>'
    rows = []
    for s in recent:
        minutes = f"{s.minutes:.0f} min" if s.minutes is not None else "&mdash;"
        hurt = set(s.hurt)
        skipped = ", ".join(
            escape(name(e)) + (' <span class="hurt">(hurt)</span>' if e in hurt else "") for e in s.skipped
        )
        state = "unfinished" if s.ended_at is None else ("stopped" if s.stopped else "")
        rows.append(
            f"<tr><td>{s.started_at:%a %Y-%m-%d %H:%M}</td><td>{escape(s.routine)}</td><td>{minutes}</td>"
            f"<td>{len(s.done)}</td><td>{skipped}</td><td>{state}</td></tr>"
        )
    return (
        '<section id="sessions"><h2>Recent sessions</h2><table><thead><tr><th>when</th><th>routine</th>'
        "<th>length</th><th>done</th><th>skipped</th><th></th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )
