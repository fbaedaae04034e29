"""The session loop: wakes the coach at its deadlines, passes it events and carries out its actions.

One loop serves every mode; what differs is the clock and the speaker passed in. A VirtualClock jumps
from deadline to deadline, so a whole routine simulates in milliseconds; a RealClock waits on a
thread-safe inbox (typed lines, heard commands, finished speech) with a timeout of "next deadline
minus now", so no timer threads are needed.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from voicecoach.core.coach import Coach
from voicecoach.core.commands import Intent
from voicecoach.core.events import (
    Action,
    Command,
    EnrolRequested,
    Event,
    ExerciseEnded,
    PaceChanged,
    PlayCue,
    Say,
    SessionEnded,
    SpeechFinished,
    StateChanged,
    StopSpeaking,
    Tick,
    VolumeChanged,
)
from voicecoach.core.narration import speech_seconds
from voicecoach.session.faults import DeviceBack, DeviceLost, Faults

log = logging.getLogger(__name__)
Entry = dict[str, Any]  # one timeline line: {"t": seconds, "kind": ..., fields}


class Clock(Protocol):
    def now(self) -> float: ...

    def schedule(self, at: float, event: Event) -> None:
        """Deliver `event` at time `at`."""

    def wait(self, until: float | None) -> Inbound | None:
        """The next event, or None once `until` has come (or when nothing can ever happen)."""


class Speaker(Protocol):
    def say(self, text: str, utterance: int, now: float) -> None: ...

    def stop(self, now: float) -> None: ...

    def cue(self, name: str, now: float) -> None: ...

    def set_volume(self, volume: float, now: float) -> None:
        """Play everything from now on at `volume` (0.0 to 1.0, a gain on the rendered voice)."""


class _Scheduled:
    """Events due at a time, earliest first; equal times keep their order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Event]] = []
        self._order = itertools.count()

    def schedule(self, at: float, event: Event) -> None:
        heapq.heappush(self._heap, (at, next(self._order), event))

    def due_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Event:
        return heapq.heappop(self._heap)[2]


class VirtualClock(_Scheduled):
    """Time that jumps: waiting costs nothing."""

    def __init__(self, start: float = 0.0) -> None:
        super().__init__()
        self._now = start

    def now(self) -> float:
        return self._now

    def wait(self, until: float | None) -> Inbound | None:
        due = self.due_at()
        if due is not None and (until is None or due <= until):
            self._now = max(self._now, due)
            return self.pop()
        if until is not None:
            self._now = max(self._now, until)
        return None


class RealClock(_Scheduled):
    """The wall clock (monotonic, from the session's start); other threads `post` events."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._monotonic = monotonic
        self._origin = monotonic()
        self.inbox: queue.Queue[Inbound] = queue.Queue()

    def now(self) -> float:
        return self._monotonic() - self._origin

    def post(self, make: Callable[[float], Inbound]) -> None:
        """From any thread: deliver the event `make(now)` as soon as possible."""
        self.inbox.put(make(self.now()))

    def wait(self, until: float | None) -> Inbound | None:
        due = self.due_at()
        if due is not None and due <= self.now():
            return self.pop()
        wakes = [t for t in (until, due) if t is not None]
        timeout = max(0.0, min(wakes) - self.now()) if wakes else None
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            if due is not None and due <= self.now():
                return self.pop()
            return None


class EstimatedSpeaker:
    """A speaker with no sound: each utterance takes as long as speaking it would, then finishes."""

    def __init__(self, clock: Clock, show: Callable[[str], None] | None = None):
        self._clock = clock
        self._show = show
        self._busy_until = 0.0
        self._dropped: set[int] = set()
        self._queued: list[int] = []

    def say(self, text: str, utterance: int, now: float) -> None:
        start = max(now, self._busy_until)
        self._busy_until = start + speech_seconds(text)
        self._queued.append(utterance)
        self._clock.schedule(self._busy_until, SpeechFinished(utterance, self._busy_until))
        if self._show:
            self._show(text)

    def stop(self, now: float) -> None:
        self._busy_until = now
        self._dropped.update(self._queued)
        self._queued.clear()

    def cue(self, name: str, now: float) -> None:
        pass

    def set_volume(self, volume: float, now: float) -> None:
        pass


class Timeline:
    """Everything that happened, as entries with times; optionally printed as it happens. With
    `keep`, only the last `keep` entries are kept (an appliance runs for months)."""

    def __init__(self, on_entry: Callable[[Entry], None] | None = None, keep: int | None = None):
        self.entries: list[Entry] | collections.deque[Entry] = [] if keep is None else collections.deque(maxlen=keep)
        self._on_entry = on_entry

    def add(self, t: float, kind: str, **fields: Any) -> None:
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in fields.items()}
        entry = {"t": round(t, 3), "kind": kind, **rounded}
        self.entries.append(entry)
        if self._on_entry:
            self._on_entry(entry)

    def said(self) -> list[tuple[float, str]]:
        return [(e["t"], e["text"]) for e in self.entries if e["kind"] == "say"]


@dataclass(frozen=True)
class Announce:
    """Not for the coach: the session itself has something to say (a greeting)."""

    text: str
    now: float


# What a clock can deliver: the coach's events, and the session's own.
Inbound = Event | Announce | DeviceLost | DeviceBack


def run(
    coach: Coach,
    clock: Clock,
    speaker: Speaker,
    timeline: Timeline,
    start: bool = True,
    until: float | None = None,
    observe: Callable[[Action], None] | None = None,
    faults: Faults | None = None,
) -> SessionEnded | None:
    """Run the session until it ends (returns how), or until `until` on the clock (returns None).

    With a virtual clock and nothing left that could happen, it returns None at once. `faults`
    keeps track of lost devices across calls (a DeviceLost or DeviceBack event needs one)."""
    if start:
        ended = carry_out(coach.handle(Command(Intent.START, "start", clock.now())), clock, speaker, timeline, observe)
        if ended is not None:
            return ended
    while True:
        deadline = coach.next_deadline
        wake = min((t for t in (deadline, until) if t is not None), default=None)
        event = clock.wait(wake)
        if event is None:
            if wake is None or (until is not None and clock.now() >= until and wake == until):
                return None
            event = Tick(clock.now())
        if isinstance(event, Announce):
            timeline.add(event.now, "say", text=event.text)
            speaker.say(event.text, 0, event.now)
            continue
        if isinstance(event, (DeviceLost, DeviceBack)):
            faults = faults or Faults()
            ended = _device_event(event, faults, coach, clock, speaker, timeline, observe)
            if ended is not None:
                return ended
            continue
        if isinstance(event, Command):
            timeline.add(
                event.now,
                "heard",
                phrase=event.phrase,
                intent=event.intent.value,
                confidence=round(event.confidence, 3),
            )
        ended = carry_out(coach.handle(event), clock, speaker, timeline, observe)
        if isinstance(event, Command):
            log.info("acted on %r %.1f ms after it was recognised", event.phrase, 1000 * (clock.now() - event.now))
        if ended is not None:
            return ended


def _device_event(
    event: DeviceLost | DeviceBack,
    faults: Faults,
    coach: Coach,
    clock: Clock,
    speaker: Speaker,
    timeline: Timeline,
    observe: Callable[[Action], None] | None,
) -> SessionEnded | None:
    """A lost device: the coach pauses ("Paused."), then the loss is announced. A device back: it is
    announced, then the coach resumes with its re-cue ("I can hear you again." "Holding. Three of five seconds.")."""
    if not faults.is_news(event):
        return None
    lost = isinstance(event, DeviceLost)
    if lost:  # a question asked while idle ("Carry on from there?") waits, and is asked again once all are back
        actions, question = coach.set_aside_question()
        carry_out(actions, clock, speaker, timeline, observe)
        faults.question = faults.question or question
    command, text = faults.handle(event, coach.state)
    timeline.add(
        event.now, "fault", device=event.device, lost=lost, why=event.why if isinstance(event, DeviceLost) else ""
    )
    ended = None
    if command is not None and lost:
        ended = carry_out(coach.handle(command), clock, speaker, timeline, observe)
    if text is not None:
        timeline.add(event.now, "say", text=text)
        speaker.say(text, 0, event.now)
    if command is not None and not lost:
        ended = carry_out(coach.handle(command), clock, speaker, timeline, observe)
    if not faults.missing and faults.question is not None:
        question, faults.question = faults.question, None
        ended = carry_out(coach.ask_set_aside(question, clock.now()), clock, speaker, timeline, observe) or ended
    return ended


def carry_out(
    actions: list[Action],
    clock: Clock,
    speaker: Speaker,
    timeline: Timeline,
    observe: Callable[[Action], None] | None = None,
) -> SessionEnded | None:
    ended = None
    now = clock.now()
    for action in actions:
        if observe is not None:
            observe(action)
        if isinstance(action, Say):
            timeline.add(now, "say", text=action.text)
            speaker.say(action.text, action.utterance, now)
        elif isinstance(action, StopSpeaking):
            speaker.stop(now)
        elif isinstance(action, PlayCue):
            timeline.add(now, "cue", name=action.name)
            speaker.cue(action.name, now)
        elif isinstance(action, StateChanged):
            timeline.add(now, "state", state=action.state, exercise=action.exercise, rep=action.rep, side=action.side)
        elif isinstance(action, VolumeChanged):
            timeline.add(now, "volume", volume=action.volume)
            speaker.set_volume(action.volume, now)
        elif isinstance(action, PaceChanged):
            timeline.add(now, "pace", breath_seconds=action.breath_seconds)
        elif isinstance(action, EnrolRequested):  # `observe` runs the enrolment, where a microphone listens
            timeline.add(now, "enrol")
        elif isinstance(action, ExerciseEnded):
            timeline.add(now, "exercise", **{k: v for k, v in asdict(action.record).items() if k != "started_at"})
        elif isinstance(action, SessionEnded):
            timeline.add(
                now,
                "end",
                routine=action.routine,
                done=list(action.done),
                skipped=list(action.skipped),
                minutes=action.minutes,
                stopped=action.stopped,
            )
            ended = action
    return ended
