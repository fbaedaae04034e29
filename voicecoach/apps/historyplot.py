"""The history drawn: sessions and skips per week, and each exercise's repetitions and hold over time."""

# Theory of operation
# -------------------
# `progress` reads the sessions into one Point per exercise per session (pure, no matplotlib). The
# drawing functions take matplotlib Axes and draw one quantity of one exercise: the articles' range
# for it shaded, what was done as a step line, pain skips as red crosses at the numbers that were
# asked for, and the next session's numbers (from voicecoach.progression) as a hollow diamond, or a
# note that the exercise is left out. `figure` lays out the whole picture for `history --plot`;
# `exercise_figure` draws one exercise alone, for the HTML page. Every artist a reader should find has
# a label (DONE, HURT, ...), so the tests can find them and the legend can name them.

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from voicecoach.core.progression import Adjustment
from voicecoach.core.routine import Exercise
from voicecoach.errors import VoicecoachError
from voicecoach.history.trends import (
    Point,
    Quantity,
    Week,
    monday_of,
    next_session_at,
    progress,
    quantities,
    value_of,
    weekly,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from voicecoach.history.store import History

log = logging.getLogger(__name__)

SEED_RANGE = "the articles' range"
DONE = "done"
ENDED_EARLY = "ended early"
HURT = "skipped: it hurt"
NEXT = "next session"
LEFT_OUT = "left out"
_COLOURS = {SEED_RANGE: "#cde8d0", DONE: "#2f6db3", HURT: "#d62728", NEXT: "#2f6db3", LEFT_OUT: "#d62728"}


@dataclass(frozen=True)
class Picture:
    """Everything drawn, read from the history once: the weeks, each exercise's points and next numbers."""

    weeks: list[Week]
    points: dict[str, list[Point]]
    exercises: Mapping[str, Exercise]
    adjustments: dict[str, Adjustment]

    @classmethod
    def read(cls, history: History, exercises: Mapping[str, Exercise], today: date, weeks: int) -> Picture:
        """The last `weeks` weeks up to `today`."""
        sessions = history.sessions_since(monday_of(today) - timedelta(weeks=weeks - 1))
        return cls(
            weekly(sessions, today, weeks), progress(sessions, exercises), exercises, history.adjustments(exercises)
        )

    @property
    def next_at(self) -> datetime | None:
        return next_session_at(self.points)

    def figure(self, names: Mapping[str, str]) -> Figure:
        return figure(self.weeks, self.points, self.exercises, self.adjustments, names)


# ---- drawing ------------------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VoicecoachError("--plot and --html need matplotlib: pip install 'voicecoach[plot]'.") from None
    return plt


def draw_quantity(
    axes: Axes,
    name: str,
    quantity: Quantity,
    points: Sequence[Point],
    adjustment: Adjustment | None,
    next_at: datetime | None,
) -> None:
    """One exercise's repetitions (or hold) over time on `axes`."""
    low, high = quantity.seed.low, quantity.seed.high
    axes.set_title(f"{name}: {quantity.label}", fontsize="medium", loc="left")
    if high > low:
        axes.axhspan(low, high, color=_COLOURS[SEED_RANGE], label=SEED_RANGE, zorder=0)
    else:
        axes.axhline(low, color=_COLOURS[SEED_RANGE], linewidth=8, label=SEED_RANGE, zorder=0)
    done = [(p.when, v) for p in points if p.done and (v := value_of(p, quantity.field)) is not None]
    if done:
        axes.plot(*zip(*done), drawstyle="steps-post", marker="o", color=_COLOURS[DONE], label=DONE, zorder=2)
    early = [
        (p.when, v) for p in points if p.outcome == "ended_early" and (v := value_of(p, quantity.field)) is not None
    ]
    if early:
        axes.plot(
            *zip(*early),
            linestyle="none",
            marker="o",
            markersize=9,
            markerfacecolor="white",
            color=_COLOURS[DONE],
            label=ENDED_EARLY,
            zorder=3,
        )
    hurt = [(p.when, value_of(p, quantity.field) or low) for p in points if p.pain]
    if hurt:
        axes.plot(*zip(*hurt), linestyle="none", marker="X", markersize=11, color=_COLOURS[HURT], label=HURT, zorder=4)
    values = [v for _, v in done + hurt]
    if adjustment is not None and adjustment.dropped:
        axes.text(
            0.99,
            0.92,
            f"{LEFT_OUT}: it hurt",
            transform=axes.transAxes,
            ha="right",
            va="top",
            color=_COLOURS[LEFT_OUT],
            fontweight="bold",
        )
    elif adjustment is not None and next_at is not None:
        following = getattr(adjustment.numbers, quantity.field)
        if following is not None:
            values.append(following)
            if done:
                last_at, last = done[-1]
                axes.plot(_dates([last_at, next_at]), [last, following], linestyle=":", color=_COLOURS[NEXT], zorder=1)
            axes.plot(
                _dates([next_at]),
                [following],
                linestyle="none",
                marker="D",
                markersize=8,
                markerfacecolor="white",
                color=_COLOURS[NEXT],
                label=NEXT,
                zorder=3,
            )
    axes.set_ylim(min([low, *values]) - 1, max([high, *values]) + 1)
    _whole_numbers(axes)
    axes.grid(axis="y", color="#eeeeee", zorder=0)


def draw_exercise(
    row: Sequence[Axes],
    name: str,
    exercise: Exercise,
    points: Sequence[Point],
    adjustment: Adjustment | None,
    next_at: datetime | None,
) -> None:
    """An exercise's quantities side by side on `row` (two Axes); a second Axes with no hold says so."""
    found = quantities(exercise)
    for axes, quantity in zip(row, found):
        draw_quantity(axes, name, quantity, points, adjustment, next_at)
    for axes in row[len(found) :]:
        axes.set_axis_off()
        axes.text(
            0.02, 0.5, f"{name}: no hold, repetitions only", transform=axes.transAxes, va="center", color="#666666"
        )


def _date_axis(axes: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def draw_weeks(top: Axes, bottom: Axes, weeks: Sequence[Week], names: Mapping[str, str]) -> None:
    """Sessions per week on `top`; skipped exercises per week, stacked by exercise, on `bottom`."""
    labels = [f"{w.monday:%d %b}" for w in weeks]
    positions = list(range(len(weeks)))
    top.bar(positions, [w.sessions for w in weeks], color="#4c72b0")
    top.set_ylabel("sessions")
    top.set_title("Sessions per week", fontsize="medium", loc="left")
    exercises = sorted({e for w in weeks for e in w.skipped})
    base = [0] * len(weeks)
    for exercise_id in exercises:
        heights = [w.skipped.get(exercise_id, 0) for w in weeks]
        bottom.bar(positions, heights, bottom=base, label=names.get(exercise_id, exercise_id))
        base = [b + h for b, h in zip(base, heights)]
    bottom.set_ylabel("skips")
    bottom.set_title("Skipped exercises per week", fontsize="medium", loc="left")
    if exercises:
        bottom.legend(fontsize="small")
    for axes in (top, bottom):
        axes.set_xticks(positions, labels, rotation=45, ha="right")
        _whole_numbers(axes)


def _legend(figure: Figure, axes: Sequence[Axes]) -> None:
    """One legend for the exercise panels, naming each kind of mark once."""
    seen: dict[str, Any] = {}
    for a in axes:
        for handle, label in zip(*a.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    order = [SEED_RANGE, DONE, ENDED_EARLY, HURT, NEXT]
    labels = [label for label in order if label in seen]
    if labels:
        figure.legend(
            [seen[label] for label in labels],
            labels,
            loc="upper center",
            ncols=len(labels),
            fontsize="small",
            frameon=False,
        )


def figure(
    weeks: Sequence[Week],
    points: Mapping[str, Sequence[Point]],
    exercises: Mapping[str, Exercise],
    adjustments: Mapping[str, Adjustment],
    names: Mapping[str, str] | None = None,
) -> Figure:
    """The whole picture: the weeks on top, then one row per exercise (repetitions | hold)."""
    plt = _pyplot()
    names = names or {}
    rows = 1 + len(points)
    fig = plt.figure(figsize=(11, 3.2 + 2.3 * len(points)), layout="constrained")
    grid = fig.add_gridspec(rows, 2, height_ratios=[1.4] + [1.0] * len(points))
    draw_weeks(fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), weeks, names)
    next_at = next_session_at(points)
    first = None
    panels: list[Axes] = []
    for row, (exercise_id, series) in enumerate(points.items(), start=1):
        left = fig.add_subplot(grid[row, 0], sharex=first)
        first = first or left
        right = fig.add_subplot(grid[row, 1], sharex=first)
        draw_exercise(
            (left, right),
            names.get(exercise_id, exercise_id),
            exercises[exercise_id],
            series,
            adjustments.get(exercise_id),
            next_at,
        )
        panels += [left, right]
    if first is not None:
        _date_axis(first)
    if points:
        _legend(fig, panels)
        fig.get_layout_engine().set(rect=(0, 0, 1, 0.985))  # room for the legend above the panels
    return fig


def exercise_figure(
    name: str,
    exercise: Exercise,
    points: Sequence[Point],
    adjustment: Adjustment | None,
    next_at: datetime | None,
) -> Figure:
    """One exercise alone (repetitions | hold), for the HTML page."""
    plt = _pyplot()
    fig, row = plt.subplots(1, 2, figsize=(10, 2.6), layout="constrained", sharex=True)
    draw_exercise(row, name, exercise, points, adjustment, next_at)
    _date_axis(row[0])
    return fig


def weeks_figure(weeks: Sequence[Week], names: Mapping[str, str]) -> Figure:
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(1, 2, figsize=(10, 3.0), layout="constrained")
    draw_weeks(top, bottom, weeks, names)
    return fig


def save_png(fig: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)


def svg(fig: Figure) -> str:
    """The figure as an <svg> element to put inside HTML: text kept as text, no external references."""
    import io

    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "voicecoach"}):
        fig.savefig(out, format="svg")
    _pyplot().close(fig)
    text = out.getvalue()
    text = text[text.index("<svg") :]
    # The metadata names the matplotlib and Dublin Core web addresses: nothing to fetch, but a page
    # that names no address at all is easier to trust (and to check).
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)


def _whole_numbers(axes: Any) -> None:
    """Ticks at whole numbers only, on the axis's own (auto) locator."""
    from matplotlib.ticker import MaxNLocator

    cast(MaxNLocator, axes.yaxis.get_major_locator()).set_params(integer=True)


def _dates(moments: list[datetime]) -> Any:
    """Datetimes as matplotlib plots them (its type hints allow only numbers and arrays)."""
    return moments
