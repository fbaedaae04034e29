"""The enrolment dialogue: which commands the user says, how often, and what the coach says back.

Theory of operation: a small state machine with no I/O and no clock. `start()` and every event
return actions: `Speak` (say this sentence and wait until it is said), `Record` (listen for one take
of this phrase), `Learn` (adapt to the good takes), `Finished`. The caller records each take, has it
judged (silent, too quiet, clipped, too long, another command, or good) and hands back a
`TakeJudged`; a bad take is asked for again with its reason, up to `tries` times, then the dialogue
moves on without it. After the last phrase it asks to learn from the good takes, if there are
enough of them, and `learnt()` ends it. The same dialogue runs in a terminal (`voicecoach enrol`)
and spoken aloud in the appliance ("learn my voice").

The commands are the ones a user lying on a mat needs most, about two minutes in all: the
interrupting ones (stop, pause, skip), carrying on (resume, next, repeat), starting, and the answers
yes and no. Each is said three times; the rest of the commands keep the shipped model's hearing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from voicecoach.core.commands import PHRASES, Intent

ENROL_PHRASES = ("stop", "pause", "resume", "next", "skip", "repeat", "start", "yes", "no")
TAKES = 3
TRIES = 3  # attempts at one take before moving on without it
MIN_GOOD_SHARE = 0.5  # of all the takes asked for: fewer good ones and nothing is learnt


class Verdict(str, enum.Enum):
    """How a take sounded."""

    GOOD = "good"
    SILENT = "silent"
    QUIET = "quiet"
    CLIPPED = "clipped"
    TOO_LONG = "too_long"
    WRONG_WORD = "wrong_word"


REASONS = {
    Verdict.SILENT: "I didn't hear anything.",
    Verdict.QUIET: "That was too quiet for me. A little louder, please.",
    Verdict.CLIPPED: "That was too loud for the microphone. A little softer, please.",
    Verdict.TOO_LONG: "Just the command on its own, please.",
}


@dataclass(frozen=True)
class Speak:
    text: str


@dataclass(frozen=True)
class Record:
    """Listen for one take of `phrase` (`take` of the takes asked for, `attempt` at it)."""

    phrase: str
    intent: Intent
    take: int
    attempt: int


@dataclass(frozen=True)
class Learn:
    """Adapt to the good takes, then call `learnt`."""

    good_takes: int


@dataclass(frozen=True)
class Finished:
    learnt: bool


Action = Speak | Record | Learn | Finished


@dataclass(frozen=True)
class TakeJudged:
    verdict: Verdict
    heard: str | None = None  # with WRONG_WORD: the phrase it sounded like


@dataclass
class EnrolDialogue:
    """Asks for each phrase `takes` times; see the module's theory of operation."""

    phrases: tuple[str, ...] = ENROL_PHRASES
    takes: int = TAKES
    tries: int = TRIES
    good: list[tuple[str, int]] = field(default_factory=list)  # (phrase, take) of every good take
    rejected: list[tuple[str, Verdict]] = field(default_factory=list)
    _phrase: int = 0
    _take: int = 0
    _attempt: int = 0
    _done: bool = False

    def __post_init__(self) -> None:
        unknown = [p for p in self.phrases if p not in PHRASES]
        if unknown:
            raise ValueError(f"not command phrases: {', '.join(unknown)}")

    @property
    def asked(self) -> int:
        return len(self.phrases) * self.takes

    def start(self) -> list[Action]:
        intro = Speak(
            f"Let's learn your voice. I'll ask for {len(self.phrases)} commands, {self.takes} times each. "
            "After each one, say it back once, the way you would during a workout."
        )
        return [intro, *self._ask()]

    def judged(self, event: TakeJudged) -> list[Action]:
        """The take just recorded was judged `event`."""
        if self._done or self._phrase >= len(self.phrases):
            return []
        phrase = self.phrases[self._phrase]
        if event.verdict is Verdict.GOOD:
            self.good.append((phrase, self._take))
            return self._next_take()
        self.rejected.append((phrase, event.verdict))
        self._attempt += 1
        if self._attempt >= self.tries:
            return [Speak("Never mind, let's go on."), *self._next_take()]
        if event.verdict is Verdict.WRONG_WORD:
            reason = f"That sounded like {event.heard}." if event.heard else "That didn't sound like it."
        else:
            reason = REASONS[event.verdict]
        return [Speak(f"{reason} Say: {phrase}."), self._record()]

    def learnt(self, ok: bool) -> list[Action]:
        """Learning from the takes finished (`ok`) or failed."""
        self._done = True
        if ok:
            return [Speak("Done, I've learnt your voice."), Finished(True)]
        return [Speak("Sorry, I couldn't learn your voice this time. I'll go on as before."), Finished(False)]

    def cancel(self) -> list[Action]:
        self._done = True
        return [Speak("All right, I'll leave your voice as it was."), Finished(False)]

    def _next_take(self) -> list[Action]:
        self._take += 1
        self._attempt = 0
        if self._take >= self.takes:
            self._phrase += 1
            self._take = 0
        if self._phrase < len(self.phrases):
            return self._ask()
        if len(self.good) >= max(1, MIN_GOOD_SHARE * self.asked):
            return [Speak("Thank you. Give me a moment to learn."), Learn(len(self.good))]
        self._done = True
        return [
            Speak("Sorry, too few of those were clear enough to learn from. I'll go on as before."),
            Finished(False),
        ]

    def _ask(self) -> list[Action]:
        phrase = self.phrases[self._phrase]
        prompt = ("Say: {}.", "Again: {}.", "Once more: {}.")[min(self._take, 2)].format(phrase)
        return [Speak(prompt), self._record()]

    def _record(self) -> Record:
        phrase = self.phrases[self._phrase]
        return Record(phrase, PHRASES[phrase], self._take, self._attempt)
