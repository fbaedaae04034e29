"""PocketSphinx grammars generated from the phrase table, with pronunciations from the model's dictionary.

Two word lists come from the model that ships in the pocketsphinx wheel: pronunciations from its
CMU dictionary, and (optionally) the most frequent English words from its language model's
unigrams, used as "garbage" alternatives that a non-command word can match instead of a command.
Garbage words never include a word that is, or sounds exactly like, a one-word command phrase.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from voicecoach.commands import Intent

log = logging.getLogger(__name__)

GARBAGE_RULE = "garbage"


def read_pronunciations(dictionary: Path, words: Iterable[str] | None = None) -> dict[str, list[str]]:
    """word -> its pronunciations (ARPABET, space separated) from a CMU-format dictionary file.

    With `words`, only those words are kept (reading the whole file is still a single pass).
    """
    wanted = None if words is None else set(words)
    found: dict[str, list[str]] = {}
    with open(dictionary, encoding="utf-8") as lines:
        for line in lines:
            head, _, phones = line.partition(" ")
            word = head.split("(", 1)[0]
            if wanted is not None and word not in wanted:
                continue
            phones = phones.split("#", 1)[0].strip()
            if phones:
                found.setdefault(word, []).append(phones)
    return found


def frequent_words(language_model: Path, candidates: Iterable[str], count: int) -> list[str]:
    """The `count` most probable single words of `candidates` under an n-gram language model."""
    if count <= 0:
        return []
    import pocketsphinx

    model = pocketsphinx.NGramModel.readfile(str(language_model))
    ranked = sorted(((model.prob([word]), word) for word in candidates if word.isalpha()), reverse=True)
    return [word for _, word in ranked[:count]]


def garbage_candidates(pronunciations: Mapping[str, list[str]], phrases: Mapping[str, Intent]) -> list[str]:
    """Dictionary words that may stand for "not a command": no one-word phrase, nor its homophone."""
    single = {phrase for phrase in phrases if " " not in phrase}
    sounds = {phones for word in single for phones in pronunciations.get(word, [])}
    return [
        word
        for word, variants in pronunciations.items()
        if word not in single and not any(phones in sounds for phones in variants)
    ]


def jsgf(phrases: Iterable[str], garbage: Iterable[str] = (), garbage_weight: float = 1.0) -> str:
    """A JSGF grammar: one of `phrases`, or (when given) one garbage word."""
    alternatives = " | ".join(sorted(phrases))
    garbage = sorted(garbage)
    if not garbage:
        return f"#JSGF V1.0;\ngrammar commands;\npublic <utterance> = {alternatives};\n"
    return (
        "#JSGF V1.0;\ngrammar commands;\n"
        f"public <utterance> = /1.0/ <command> | /{garbage_weight:g}/ <{GARBAGE_RULE}>;\n"
        f"<command> = {alternatives};\n"
        f"<{GARBAGE_RULE}> = {' | '.join(garbage)};\n"
    )


def phrases_for(phrases: Mapping[str, Intent], intents: frozenset[Intent] | None) -> list[str]:
    """The phrases of `intents` (all phrases when None)."""
    return [phrase for phrase, intent in phrases.items() if intents is None or intent in intents]


def missing_words(phrases: Iterable[str], pronunciations: Mapping[str, list[str]]) -> list[str]:
    """Words of `phrases` that have no pronunciation."""
    return sorted({word for phrase in phrases for word in phrase.split() if word not in pronunciations})
