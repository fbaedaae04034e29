"""The phrase table: what each phrase means, however it is typed or punctuated."""

from __future__ import annotations

import pytest

from voicecoach.core.commands import PHRASES, Intent, intent_for, phrases_for, spoken_name, vocabulary


@pytest.mark.parametrize(
    "typed, intent",
    [
        ("Louder", Intent.LOUDER),
        ("volume up", Intent.LOUDER),
        ("Speak up!", Intent.LOUDER),
        ("quieter", Intent.QUIETER),
        ("Volume down.", Intent.QUIETER),
        ("softer", Intent.QUIETER),
        ("What's next?", Intent.WHATS_NEXT),
        ("What’s next", Intent.WHATS_NEXT),
        ("what is next", Intent.WHATS_NEXT),
        ("What comes next?", Intent.WHATS_NEXT),
        ("next", Intent.NEXT),
    ],
)
def test_volume_and_what_s_next_phrases_mean_their_intents(typed: str, intent: Intent) -> None:
    assert intent_for(typed) is intent


def test_the_new_intents_are_named_in_help_by_their_first_phrase() -> None:
    assert [spoken_name(i) for i in (Intent.LOUDER, Intent.QUIETER, Intent.WHATS_NEXT)] == [
        "louder",
        "quieter",
        "what's next",
    ]
    assert phrases_for(Intent.QUIETER) == ["quieter", "volume down", "softer"]


def test_every_phrase_is_plain_lower_case_words_and_every_intent_has_one() -> None:
    for phrase in PHRASES:
        assert phrase == " ".join(phrase.split()) and intent_for(phrase) is PHRASES[phrase]
    assert set(PHRASES.values()) == set(Intent)
    assert {"louder", "quieter", "softer", "volume", "what's", "comes"} <= set(vocabulary())
