"""The fusion rule: spotter steps and grammar candidates in, commands out. No audio, no engines.

Theory of operation. Two kinds of evidence arrive in stream order:

- a spotter step every 80 ms: the head's probability of every intent for the audio up to that step;
- a grammar candidate when the grammar recogniser has decoded an utterance: the phrase, its times,
  and the grammar's confidence. The grammar is run looser than it runs alone, so candidates it would
  itself reject still arrive; `FusionOptions.grammar_floor` says how weak a candidate may be.

A command is acted on in one of four ways:

1. the spotter alone is very sure: an intent it has real recordings of (`spotter_trusted`) reaches
   `spotter_alone` at `spotter_alone_steps` steps running (the others need `spotter_alone_untrusted`).
   This is the fast path: it fires while the grammar's utterance is still open;
2. the grammar alone is very sure: a candidate at or above `grammar_alone`, unless the spotter gave
   another intent it has real recordings of at least `veto` around its words (PocketSphinx often
   hears a real "stop" as "start"; the spotter does not);
3. both agree: a candidate at or above `grammar_floor` whose intent the spotter gave at least `agree`
   (`agree_untrusted` for a word the spotter learnt from synthetic speech only, where its support is
   weaker) at some step from `before_seconds` before its words to `after_seconds` after them. A candidate
   that has not yet found that support waits (the spotter peaks a little after a word ends) until the
   spotter has heard `after_seconds` past the words, or the stream ends; then it is dropped.
   A weak candidate, from `weak_floor` up to `grammar_floor` (PocketSphinx's best command where its
   grammar heard a frequent word instead, `SphinxOptions.garbage_fallback_confidence`), needs at
   least `agree_weak` (`agree_weak_untrusted` for a word the spotter learnt from synthetic speech only);
4. the grammar heard a word, the spotter names it: a candidate of a word the spotter has real
   recordings of, at or above `grammar_floor` and `relabel_floor`, around whose words the spotter
   gives another such intent at least `relabel` (and more than it gives the candidate's own) is
   acted on as the spotter's intent. The grammar is the evidence that one short command word was
   said; the spotter, which learnt these words from real voices, which one (PocketSphinx hears many
   a real "stop" as "go"). `relabel_floor` keeps PocketSphinx's fallback candidates (capped at 0.55:
   its grammar heard a frequent word, not a command) out of this path: they are no such evidence.

One utterance is one command: nothing is acted on whose times overlap (within `margin_seconds`) a
command already acted on, nor the same intent again ending within `repeat_seconds` of its end (the
spotter may fire a little after the grammar's words, and the spotter's own times are a guess). After acting
alone, the spotter stays quiet for `refractory_seconds`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from voicecoach.core.commands import Intent, spoken_name
from voicecoach.hear import Heard

KEEP_SECONDS = 4.0  # spotter steps kept for agreement, far more than any window needs
PHRASE_SECONDS = 0.6  # the spotter knows when a phrase ended, not when it began: a guess at its length


@dataclass(frozen=True)
class Step:
    """One spotter step: the end of the audio it heard (Heard clock) and each intent's probability."""

    end_seconds: float
    probabilities: Mapping[Intent, float]


# The corpus has real recordings by many speakers of stop, go (resume), yes and no only: the spotter
# learnt those from real voices, every other intent from synthetic speech alone.
REAL_DATA_INTENTS = frozenset({Intent.STOP, Intent.RESUME, Intent.YES, Intent.NO})


@dataclass(frozen=True)
class FusionOptions:
    """When the spotter and the grammar recogniser act, alone or together (see the module docstring).

    The defaults are for the grammar recogniser run as `engines` runs it for fusion; the values and
    why they were chosen are in `voicecoach.hear.fusion.engine.TUNED`."""

    spotter_trusted: frozenset[Intent] = REAL_DATA_INTENTS
    spotter_alone: float = 0.925
    spotter_alone_steps: int = 2
    spotter_alone_untrusted: float = 1.01  # above 1: never alone
    grammar_alone: float = 0.9
    grammar_floor: float = 0.5
    weak_floor: float = 1.01  # above grammar_floor: no weak candidates
    agree_weak: float = 0.7
    agree_weak_untrusted: float = 0.7
    veto: float = 1.01  # above 1: no veto
    relabel: float = 1.01  # above 1: the spotter never names a grammar candidate's word
    relabel_floor: float = 0.6
    agree: float = 0.3
    agree_untrusted: float = 0.3
    before_seconds: float = 0.0
    after_seconds: float = 0.5
    margin_seconds: float = 0.2
    repeat_seconds: float = 0.9
    refractory_seconds: float = 1.0


class FusionDecider:
    """The fusion rule as a small state machine; feed it steps and candidates in stream order."""

    def __init__(self, options: FusionOptions | None = None) -> None:
        self.options = options or FusionOptions()
        self._allowed: frozenset[Intent] = frozenset(Intent)
        self._steps: deque[Step] = deque()
        self._pending: list[Heard] = []
        self._acted: deque[Heard] = deque(maxlen=16)
        self._run_intent: Intent | None = None
        self._run = 0
        self._quiet_until = -math.inf

    def listen_for(self, intents: frozenset[Intent]) -> None:
        self._allowed = frozenset(intents)
        self._pending = [c for c in self._pending if c.intent in self._allowed]
        self._run_intent, self._run = None, 0

    def step(self, step: Step) -> list[Heard]:
        """A spotter step: maybe a command the spotter is sure of, maybe a waiting candidate it supports."""
        self._steps.append(step)
        while self._steps and self._steps[0].end_seconds < step.end_seconds - KEEP_SECONDS:
            self._steps.popleft()
        return self._spotter_alone(step) + self._review(step.end_seconds)

    def candidate(self, heard: Heard) -> list[Heard]:
        """A grammar candidate: acted on now, kept waiting for the spotter, or dropped."""
        options = self.options
        floor = min(options.grammar_floor, options.weak_floor)
        if heard.intent not in self._allowed or heard.confidence < floor or self._blocked(heard):
            return []
        if heard.confidence >= options.grammar_alone and self.contradiction(heard) < options.veto:
            return [self._act(heard)]
        self._pending.append(heard)
        return self._review(None)

    def flush(self) -> list[Heard]:
        """The stream has ended: decide every waiting candidate on what the spotter has said."""
        heard = self._review(math.inf)
        self._steps.clear()
        self._pending = []
        self._run_intent, self._run = None, 0
        return heard

    def _spotter_alone(self, step: Step) -> list[Heard]:
        options = self.options
        scores = {i: p for i, p in step.probabilities.items() if i in self._allowed}
        if not scores or step.end_seconds < self._quiet_until:
            self._run_intent, self._run = None, 0
            return []
        best = max(scores, key=scores.__getitem__)
        needed = options.spotter_alone if best in options.spotter_trusted else options.spotter_alone_untrusted
        if scores[best] < needed:
            self._run_intent, self._run = None, 0
            return []
        self._run = self._run + 1 if best is self._run_intent else 1
        self._run_intent = best
        if self._run < options.spotter_alone_steps:
            return []
        self._run_intent, self._run = None, 0
        self._quiet_until = step.end_seconds + options.refractory_seconds
        end = step.end_seconds
        heard = Heard(best, spoken_name(best), round(scores[best], 3), max(0.0, end - PHRASE_SECONDS), end)
        return [] if self._blocked(heard) else [self._act(heard)]

    def _review(self, now: float | None) -> list[Heard]:
        """Act on waiting candidates the spotter now supports; drop those it can no longer support
        (`now`: how far the spotter has heard; None: not known yet)."""
        acted, waiting = [], []
        for heard in self._pending:
            if self._blocked(heard):
                continue
            support = self.support(heard)
            named = self._named(heard, support)
            if named is not None:
                acted.append(self._act(named))
            elif support >= support_needed(heard, self.options):
                confidence = round(max(heard.confidence, support), 3)
                acted.append(self._act(dataclasses.replace(heard, confidence=confidence)))
            elif now is None or now < heard.end_seconds + self.options.after_seconds:
                waiting.append(heard)
        self._pending = waiting
        return acted

    def support(self, heard: Heard) -> float:
        """The spotter's highest probability for the candidate's intent around its words."""
        return max((s.probabilities.get(heard.intent, 0.0) for s in self._around(heard)), default=0.0)

    def _named(self, heard: Heard, support: float) -> Heard | None:
        """The candidate as the spotter names it (path 4), or None."""
        options = self.options
        if heard.confidence < max(options.grammar_floor, options.relabel_floor):
            return None
        if heard.intent not in options.spotter_trusted:
            return None
        best, probability = self._rival(heard)
        if best is None or probability <= support or probability < options.relabel:
            return None
        return dataclasses.replace(heard, intent=best, phrase=spoken_name(best), confidence=round(probability, 3))

    def contradiction(self, heard: Heard) -> float:
        """The spotter's highest probability, around the candidate's words, for another intent it
        has real recordings of (and that is listened for)."""
        return self._rival(heard)[1]

    def _rival(self, heard: Heard) -> tuple[Intent | None, float]:
        """The other intent with real recordings (and listened for) the spotter gives most around the
        candidate's words, and how much; (None, 0.0) when there is none."""
        others = (self.options.spotter_trusted & self._allowed) - {heard.intent}
        best, probability = None, 0.0
        for step in self._around(heard):
            for intent in others:
                if step.probabilities.get(intent, 0.0) > probability:
                    best, probability = intent, step.probabilities[intent]
        return best, probability

    def _around(self, heard: Heard) -> list[Step]:
        first = heard.start_seconds - self.options.before_seconds
        last = heard.end_seconds + self.options.after_seconds
        return [s for s in self._steps if first <= s.end_seconds <= last]

    def _blocked(self, heard: Heard) -> bool:
        """Whether `heard` belongs to an utterance already acted on."""
        margin, repeat = self.options.margin_seconds, self.options.repeat_seconds
        return any(
            (heard.start_seconds < a.end_seconds + margin and a.start_seconds - margin < heard.end_seconds)
            or (heard.intent is a.intent and abs(heard.end_seconds - a.end_seconds) < repeat)
            for a in self._acted
        )

    def _act(self, heard: Heard) -> Heard:
        self._acted.append(heard)
        return heard


def support_needed(heard: Heard, options: FusionOptions) -> float:
    """How much the spotter must give a grammar candidate's intent near its words for it to be acted on."""
    trusted = heard.intent in options.spotter_trusted
    needed = options.agree if trusted else options.agree_untrusted
    if heard.confidence < options.grammar_floor:  # a weak candidate, at or above weak_floor
        needed = max(needed, options.agree_weak if trusted else options.agree_weak_untrusted)
    return needed
