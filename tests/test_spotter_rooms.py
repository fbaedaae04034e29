"""Training audio heard as a session hears it: reverberant rooms, the coach's voice leaking in and
cancelled by the real echo canceller; and heads merged into one ensemble."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.hear.spotter import fit

pytest.importorskip("livekit.rtc", reason="the echo canceller ships in livekit")

from voicecoach.apps.trainspotter.data import Room, augment
from voicecoach.apps.trainspotter.rooms import cancelled, reverberant, speaker_path
from voicecoach.hear.spotter.clips import active_rms


def tone_bursts(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Speech-like stand-in: noise bursts a quarter of a second long, with gaps, at -20 dBFS."""
    n = int(seconds * 16000)
    gate = (np.arange(n) // 4000) % 2 == 0
    return rng.normal(0, 3300, n) * gate


def db(a: np.ndarray, b: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt((a**2).mean()) / np.sqrt((b**2).mean())))


def test_a_reverberant_copy_keeps_its_energy_and_gains_a_tail() -> None:
    rng = np.random.default_rng(0)
    dry = np.zeros(8000)
    dry[:1600] = rng.normal(0, 1000, 1600)
    wet = reverberant(dry, rng)
    assert len(wet) > len(dry)
    assert abs(db(wet, np.concatenate([dry, np.zeros(len(wet) - len(dry))]))) < 0.01
    assert np.abs(wet[3200:]).max() > 1.0  # sound after the burst ended: the room's tail


def test_the_echo_canceller_takes_out_the_leak_and_leaves_the_near_voice() -> None:
    rng = np.random.default_rng(1)
    prime = 16000
    played = tone_bursts(5.0, rng)
    heard = speaker_path(played, rng) * 10 ** (-12 / 20)
    near = np.zeros(len(played))
    near[prime + 32000 : prime + 40000] = rng.normal(0, 2000, 8000)  # the user, 2 s after priming
    out = cancelled(near + heard, played, prime)
    assert len(out) == len(played) - prime
    echo_only = slice(0, 32000)
    assert db(out[echo_only], heard[prime:][echo_only]) < -15  # the leak mostly gone
    voice = slice(32000, 40000)
    assert abs(db(out[voice], near[prime:][voice])) < 6  # the user still there, about as loud


@pytest.mark.parametrize("canceller", ["livekit", "speex"])
def test_an_augmented_copy_with_a_cancelled_leak_keeps_the_phrase_where_it_was(canceller: str) -> None:
    rng = np.random.default_rng(2)
    phrase = tone_bursts(0.5, rng)
    leak = [tone_bursts(6.0, rng)]
    plain, start, end = augment(phrase, np.random.default_rng(3), [], leak, None, None)
    room = Room(cancel=True, canceller=canceller)
    copy, start2, end2 = augment(phrase, np.random.default_rng(3), [], leak, None, 12.0, room=room)
    assert (start2, end2) == (start, end) and len(copy) == len(plain)
    assert abs(20 * np.log10(active_rms(copy[start:end]) / active_rms(plain[start:end]))) < 6
    raw, _, _ = augment(phrase, np.random.default_rng(3), [], leak, None, 12.0)
    before = slice(0, start - 8000)
    assert db(copy[before], raw[before]) < -15  # the leak before the phrase is cancelled


def test_merged_heads_score_the_mean_of_their_members() -> None:
    rng = np.random.default_rng(4)
    mean, std = rng.normal(size=96).astype(np.float32), (np.abs(rng.normal(size=96)) + 0.5).astype(np.float32)
    heads = [fit.new_head(mean, std, 5, 8, np.random.default_rng(seed)) for seed in range(3)]
    for head in heads:
        head.b1[:], head.b2[:], head.b3[:] = rng.normal(size=8), rng.normal(size=8), rng.normal(size=5)
    windows = rng.normal(size=(7, 16, 96)).astype(np.float32)
    merged = fit.merge(heads)
    assert np.allclose(merged.logits(windows), np.mean([h.logits(windows) for h in heads], axis=0), atol=1e-4)
    other = fit.new_head(mean + 1, std, 5, 8, rng)
    with pytest.raises(ValueError, match="normalisation"):
        fit.merge([heads[0], other])


def test_the_recipe_names_the_canceller_a_copy_goes_through() -> None:
    rng = np.random.default_rng(5)
    phrase, leak = tone_bursts(0.5, rng), [tone_bursts(10.0, rng)]
    copies = {
        name: augment(phrase, np.random.default_rng(6), [], leak, None, 12.0, room=Room(cancel=True, canceller=name))[0]
        for name in ("livekit", "speex")
    }
    assert not np.allclose(copies["livekit"], copies["speex"])
