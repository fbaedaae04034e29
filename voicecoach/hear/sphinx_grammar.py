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

from voicecoach.core.commands import Intent

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


def dictionary_words(dictionary: Path) -> list[str]:
    """Every word of a CMU-format dictionary file that has a pronunciation, once each, in file order:
    the words `read_pronunciations` would give, without the memory of their pronunciations."""
    words: dict[str, None] = {}
    with open(dictionary, encoding="utf-8") as lines:
        for line in lines:
            head, _, phones = line.partition(" ")
            if phones.split("#", 1)[0].strip():
                words[head.split("(", 1)[0]] = None
    return list(words)


def frequent_garbage(
    dictionary: Path,
    language_model: Path,
    phrases: Mapping[str, Intent],
    count: int,
    min_phone_distance: int = 2,
) -> tuple[list[str], dict[str, list[str]]]:
    """`garbage_words` from the whole dictionary ranked by the language model, and the pronunciations
    of the garbage words and of the phrases' words.

    The same words as ranking the dictionary read whole with `read_pronunciations`, at a fraction of
    the peak memory (which lasts as long as the hearing process): the language model is held only
    while the bare words are ranked, and then pronunciations are read only for the phrases' words and
    the most frequent words, a pool doubled until it holds `count` garbage words."""
    wanted = {word for phrase in phrases for word in phrase.split()}
    ranked = by_frequency(language_model, dictionary_words(dictionary))
    pool = 2 * count + 100
    while True:
        pronunciations = read_pronunciations(dictionary, wanted.union(ranked[:pool]))
        garbage = garbage_words(ranked[:pool], pronunciations, phrases, count, min_phone_distance)
        if len(garbage) >= count or pool >= len(ranked):
            kept = wanted.union(garbage)
            return garbage, {word: phones for word, phones in pronunciations.items() if word in kept}
        pool *= 2


def by_frequency(language_model: Path, words: Iterable[str]) -> list[str]:
    """`words` (plain alphabetic ones only), most probable first under an n-gram language model."""
    import pocketsphinx

    model = pocketsphinx.NGramModel.readfile(str(language_model))
    return [word for _, word in sorted(((model.prob([w]), w) for w in words if w.isalpha()), reverse=True)]


def garbage_words(
    ranked: Iterable[str],
    pronunciations: Mapping[str, list[str]],
    phrases: Mapping[str, Intent],
    count: int,
    min_phone_distance: int = 2,
) -> list[str]:
    """The first `count` words of `ranked` that may stand for "not a command": no one-word phrase,
    and nothing within `min_phone_distance` phone edits of one ("cause" would steal "pause")."""
    single = {phrase for phrase in phrases if " " not in phrase}
    sounds = [tuple(phones.split()) for word in single for phones in pronunciations.get(word, [])]

    def too_close(phones: str) -> bool:
        mine = tuple(phones.split())
        return any(_edit_distance(mine, theirs) < min_phone_distance for theirs in sounds)

    chosen: list[str] = []
    for word in ranked:
        if len(chosen) >= count:
            break
        if word not in single and not any(too_close(phones) for phones in pronunciations.get(word, ["?"])):
            chosen.append(word)
    return chosen


def _edit_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Levenshtein distance between two phone sequences."""
    if abs(len(a) - len(b)) > 2:
        return abs(len(a) - len(b))
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def jsgf(
    phrases: Iterable[str], garbage: Iterable[str] = (), garbage_weight: float = 1.0, sequence: bool = False
) -> str:
    """A JSGF grammar: one of `phrases`, or (when given) one garbage word (any number with `sequence`)."""
    alternatives = " | ".join(sorted(phrases))
    garbage = sorted(garbage)
    if not garbage:
        return f"#JSGF V1.0;\ngrammar commands;\npublic <utterance> = {alternatives};\n"
    return (
        "#JSGF V1.0;\ngrammar commands;\n"
        f"public <utterance> = /1.0/ <command> | /{garbage_weight:g}/ <{GARBAGE_RULE}>{'+' if sequence else ''};\n"
        f"<command> = {alternatives};\n"
        f"<{GARBAGE_RULE}> = {' | '.join(garbage)};\n"
    )


def phrases_for(phrases: Mapping[str, Intent], intents: frozenset[Intent] | None) -> list[str]:
    """The phrases of `intents` (all phrases when None)."""
    return [phrase for phrase, intent in phrases.items() if intents is None or intent in intents]


def missing_words(phrases: Iterable[str], pronunciations: Mapping[str, list[str]]) -> list[str]:
    """Words of `phrases` that have no pronunciation."""
    return sorted({word for phrase in phrases for word in phrase.split() if word not in pronunciations})
