"""Training data for the spotter: the corpus split by speaker, synthetic speech, augmentation, features.

Every example is a short stretch of audio (a word or phrase placed in context, or a stretch of
continuous speech) turned into speech embeddings, with a label for each 16-embedding window ending
at each embedding: the intent's class where the phrase has just ended, "none" where nothing
meant has been said, and IGNORE where the window holds part of a phrase (neither right nor wrong).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicecoach.core.commands import PHRASES, Intent
from voicecoach.hear.echo import CANCELLERS
from voicecoach.hear.spotter.clips import active_rms, speech_span, stretched
from voicecoach.hear.spotter.split import speaker_of, split_of

from .rooms import CONVERGE_SECONDS, cancelled, reverberant, speaker_path
from .voices import SAMPLE_RATE, Voice, read_wav_bytes

log = logging.getLogger(__name__)


# Words that sound like commands but are not: every command word has a few near-rhymes here.
NEAR_RHYMES = [
    "top",
    "shop",
    "stock",
    "drop",
    "hop",
    "stuff",
    "stomp",
    "step",
    "spot",
    "stoop",
    "goal",
    "gold",
    "though",
    "so",
    "show",
    "grow",
    "toe",
    "low",
    "snow",
    "dough",
    "yet",
    "yeah",
    "yellow",
    "yearn",
    "less",
    "mess",
    "guess",
    "chess",
    "bless",
    "know",
    "now",
    "note",
    "nose",
    "slow",
    "knee",
    "gnaw",
    "pose",
    "paws",
    "cause",
    "pass",
    "purse",
    "post",
    "pies",
    "ski",
    "skid",
    "skin",
    "script",
    "chip",
    "ship",
    "text",
    "neck",
    "nest",
    "necks",
    "vest",
    "presume",
    "assume",
    "consume",
    "resin",
    "repair",
    "repeal",
    "retreat",
    "report",
    "treat",
    "hack",
    "bag",
    "pack",
    "black",
    "track",
    "sack",
    "bat",
    "weight",
    "wheat",
    "white",
    "late",
    "kelp",
    "yelp",
    "health",
    "hell",
    "helmet",
    "star",
    "stark",
    "art",
    "tart",
    "smart",
    "cart",
    "fish",
    "finished",
    "finch",
    "vanish",
    "flower",
    "follower",
    "lower",
    "master",
    "plaster",
    "faster's",
    "statue",
    "station",
    "static",
    "couch",
    "pouch",
    "vouch",
    "continent",
    "contain",
    "bring",
    "ring",
    "sing",
    "thing",
    "speed",
    "seed",
    "sweet",
    "begging",
    "beginning",
    "again",
]

# Everyday phrases, some containing a command word in passing.
NEGATIVE_PHRASES = (
    "I don't know",
    "where is my phone",
    "that was a good one",
    "okay then",
    "let me think",
    "what time is it",
    "the weather is nice",
    "I need some water",
    "this mat is comfortable",
    "my back feels better",
    "can you hear me",
    "hold on a second",
    "turn it around",
    "good morning",
    "see you later",
    "the cat is hungry",
    "I'll do it tomorrow",
    "it's a bit cold in here",
    "not today",
    "thank you",
    "one more time please",
    "the phone is ringing",
    "I forgot",
)


@dataclass(frozen=True)
class Item:
    """One source of audio: a corpus file or a phrase in a voice. intent None means not a command."""

    kind: str  # real, synth, nontarget, speech, narration
    label: str
    intent: Intent | None
    split: str  # train, tune, test
    path: str | None = None
    voice: Voice | None = None


@dataclass(frozen=True)
class Room:
    """How one copy is heard: across a reverberant room, and with the leak cancelled as in a session."""

    reverb: bool = False
    cancel: bool = False
    canceller: str = "livekit"  # which one (`hear.echo` kinds)


@dataclass
class Noises:
    """The corpus's background noises, each cut in two: the first part for training, the rest for tests."""

    train: list[np.ndarray] = field(default_factory=list)
    test: list[np.ndarray] = field(default_factory=list)


def corpus_items(corpus: Path) -> list[Item]:
    """Every recording of the corpus, with its intent and split."""
    items = []
    for folder in sorted((corpus / "commands").iterdir()):
        intent = PHRASES.get(folder.name)
        kind = "real" if intent is not None else "nontarget"
        for path in sorted(folder.glob("*.wav")):
            items.append(Item(kind, folder.name, intent, split_of(speaker_of(path)), str(path)))
    for path in sorted((corpus / "other" / "sc_nontarget_words").rglob("*.wav")):
        items.append(Item("nontarget", path.parent.name, None, split_of(speaker_of(path)), str(path)))
    for path in sorted((corpus / "speech").rglob("*.wav")):
        items.append(Item("speech", path.parent.name, None, split_of(speaker_of(path)), str(path)))
    return items


def read_noises(corpus: Path, train_fraction: float = 0.6) -> Noises:
    noises = Noises()
    for path in sorted((corpus / "background_noise").rglob("*.wav")):
        samples = read_wav_bytes(path.read_bytes()).astype(np.float32)
        if len(samples) < SAMPLE_RATE:
            log.warning("skipping the noise %s: shorter than a second", path)
            continue
        cut = int(len(samples) * train_fraction)
        noises.train.append(samples[:cut])
        noises.test.append(samples[cut:])
    return noises


def synth_items(
    voices: tuple[Voice, ...], per_phrase: int, negatives: int, narration: list[str], split: str, seed: int
) -> list[Item]:
    """Every command phrase in `per_phrase` voices, near-rhymes and everyday phrases in `negatives`
    voices each, and the narration sentences in a few voices."""
    rng = random.Random(seed)
    items = []
    for phrase, intent in PHRASES.items():
        for voice in rng.sample(voices, min(per_phrase, len(voices))):
            items.append(Item("synth", phrase, intent, split, voice=voice))
    for text in (*NEAR_RHYMES, *NEGATIVE_PHRASES):
        for voice in rng.sample(voices, min(negatives, len(voices))):
            items.append(Item("synth", text, None, split, voice=voice))
    for text in narration:
        items.append(Item("narration", text, None, split, voice=rng.choice(voices)))
    return items


def piece(track: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    if len(track) <= length:
        return np.resize(track, length)
    start = int(rng.integers(0, len(track) - length))
    return track[start : start + length]


def augment(
    samples: np.ndarray,
    rng: np.random.Generator,
    noises: list[np.ndarray],
    leak: list[np.ndarray],
    snr_db: float | None,
    leak_db: float | None,
    speed: float = 1.0,
    before_seconds: float = 2.0,
    after_seconds: float = 0.6,
    room: Room | None = None,
) -> tuple[np.ndarray, int, int]:
    """The phrase at a random level, with context before and after, noise at `snr_db` below it and
    the coach's narration `leak_db` below it (through the speaker's path into the microphone, and
    through the echo canceller where `room.cancel`). Returns the audio and where the phrase starts
    and ends."""
    room = room or Room()
    voice = stretched(samples.astype(np.float64), speed) if speed != 1.0 else samples.astype(np.float64)
    start, end = speech_span(voice)
    if room.reverb:
        voice = reverberant(voice, rng)  # the tail is after `end`: the phrase is still over when it was
    voice = voice * (10 ** (rng.uniform(-32, -14) / 20) * 32768 / active_rms(voice))
    before, after = round(before_seconds * SAMPLE_RATE), round(after_seconds * SAMPLE_RATE)
    audio = np.zeros(before + len(voice) + after)
    audio[before : before + len(voice)] = voice
    level = active_rms(voice)
    floor = rng.normal(0, level * 10 ** (-rng.uniform(45, 70) / 20), len(audio))
    audio += floor
    if snr_db is not None and noises:
        noise = piece(noises[int(rng.integers(len(noises)))], len(audio), rng)
        audio += noise * (level / (np.sqrt((noise**2).mean()) + 1e-6) * 10 ** (-snr_db / 20))
    if leak_db is not None and leak:
        prime = round(CONVERGE_SECONDS[room.canceller] * SAMPLE_RATE) if room.cancel else 0
        played = piece(leak[int(rng.integers(len(leak)))], prime + len(audio), rng)
        played = played * (level / active_rms(played) * 10 ** (-leak_db / 20))
        heard = speaker_path(played, rng)
        if room.cancel:
            canceller = CANCELLERS[room.canceller][0]()  # not make_echo_canceller: it logs every one
            audio = cancelled(np.concatenate([np.zeros(prime), audio]) + heard, played, prime, canceller)
        else:
            audio += heard
    return np.clip(audio, -32768, 32767).astype(np.float32), before + start, before + end
