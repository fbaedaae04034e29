"""The one table of spoken command phrases and the intents they mean.

Both the coach (typed and spoken commands) and the recognisers (their grammars) are generated from
PHRASES, so what can be heard and what is understood can never disagree.
"""

from __future__ import annotations

import enum
import re


class Intent(str, enum.Enum):
    """What the user wants; the coach acts on intents, never on raw words."""

    START = "start"
    NEXT = "next"
    SKIP = "skip"
    REPEAT = "repeat"
    PAUSE = "pause"
    RESUME = "resume"
    BACK = "back"
    STOP = "stop"
    HELP = "help"
    STATUS = "status"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    QUIETER = "quieter"
    WHATS_NEXT = "whats_next"
    PROGRESS = "progress"
    LEARN_VOICE = "learn_voice"
    BRING_BACK = "bring_back"
    YES = "yes"
    NO = "no"


# phrase -> intent. Lower case, words separated by single spaces, no punctuation: exactly the words
# a recogniser grammar is built from. The first phrase of each intent is its name in spoken help.
PHRASES: dict[str, Intent] = {
    "start": Intent.START,
    "begin": Intent.START,
    "start the routine": Intent.START,
    "let's start": Intent.START,
    "start the daily routine": Intent.START,
    "start daily": Intent.START,
    "start the short routine": Intent.START,
    "start short": Intent.START,
    "start the gentle routine": Intent.START,
    "start gentle": Intent.START,
    "start the core routine": Intent.START,
    "next": Intent.NEXT,
    "next one": Intent.NEXT,
    "move on": Intent.NEXT,
    "skip": Intent.SKIP,
    "skip it": Intent.SKIP,
    "skip this": Intent.SKIP,
    "it hurts": Intent.SKIP,
    "that hurts": Intent.SKIP,
    "this hurts": Intent.SKIP,
    "ouch": Intent.SKIP,
    "repeat": Intent.REPEAT,
    "say again": Intent.REPEAT,
    "say that again": Intent.REPEAT,
    "pause": Intent.PAUSE,
    "wait": Intent.PAUSE,
    "pause please": Intent.PAUSE,
    "resume": Intent.RESUME,
    "continue": Intent.RESUME,
    "go on": Intent.RESUME,
    "carry on": Intent.RESUME,
    "go": Intent.RESUME,
    "back": Intent.BACK,
    "go back": Intent.BACK,
    "previous": Intent.BACK,
    "stop": Intent.STOP,
    "stop the session": Intent.STOP,
    "finish": Intent.STOP,
    "help": Intent.HELP,
    "what can i say": Intent.HELP,
    "how long is left": Intent.STATUS,
    "status": Intent.STATUS,
    "how much longer": Intent.STATUS,
    "where am i": Intent.STATUS,
    "slower": Intent.SLOWER,
    "slow down": Intent.SLOWER,
    "faster": Intent.FASTER,
    "speed up": Intent.FASTER,
    # The coach's own volume, lying on a mat out of reach of the speaker's knob.
    "louder": Intent.LOUDER,
    "volume up": Intent.LOUDER,
    "speak up": Intent.LOUDER,
    "quieter": Intent.QUIETER,
    "volume down": Intent.QUIETER,
    "softer": Intent.QUIETER,
    "what's next": Intent.WHATS_NEXT,
    "what is next": Intent.WHATS_NEXT,
    "what comes next": Intent.WHATS_NEXT,
    "how am i doing": Intent.PROGRESS,
    # Enrolment, between sessions: the coach asks for each command a few times and adapts to the voice.
    # One three-word phrase, so that it is hard to say by accident.
    "learn my voice": Intent.LEARN_VOICE,
    # Exercises left out because they hurt are brought back by a yes to each in turn, so their names
    # never enter the grammar. Whole phrases only: a lone "bring" would be too little to go on, and
    # every phrase has three or more syllables besides "back" (itself a command).
    "bring it back": Intent.BRING_BACK,
    "bring back": Intent.BRING_BACK,
    "bring them back": Intent.BRING_BACK,
    "yes": Intent.YES,
    "yes please": Intent.YES,
    "no": Intent.NO,
    "no thanks": Intent.NO,
}

# A start phrase may name a routine: "start the short routine" starts the routine with id "short".
ROUTINE_WORDS = ("daily", "short", "gentle", "core")

# Intents acted on at once, even mid-sentence: someone in pain must never have to say them twice.
IMMEDIATE: frozenset[Intent] = frozenset({Intent.PAUSE, Intent.STOP, Intent.SKIP})

_NOT_WORD = re.compile(r"[^a-z' ]+")


def normalise(text: str) -> str:
    """Lower-case, drop punctuation and fold white space, as phrases are written in PHRASES."""
    return " ".join(_NOT_WORD.sub(" ", text.lower().replace("’", "'")).split())


def intent_for(text: str) -> Intent | None:
    """The intent a phrase means, or None when it is not a command."""
    return PHRASES.get(normalise(text))


def routine_named(phrase: str) -> str | None:
    """The routine id a start phrase names, if any: "start gentle" -> "gentle"."""
    return next((word for word in normalise(phrase).split() if word in ROUTINE_WORDS), None)


def phrases_for(intent: Intent) -> list[str]:
    """Every phrase that means `intent`, its spoken name first."""
    return [phrase for phrase, meant in PHRASES.items() if meant is intent]


def spoken_name(intent: Intent) -> str:
    """The phrase used for `intent` in spoken help."""
    return phrases_for(intent)[0]


def vocabulary(intents: frozenset[Intent] | None = None) -> list[str]:
    """The sorted set of words in the phrases of `intents` (all of them by default)."""
    words = {
        word for phrase, intent in PHRASES.items() if intents is None or intent in intents for word in phrase.split()
    }
    return sorted(words)
