"""Hearing with PocketSphinx: a per-state command grammar, with non-commands rejected by a phone loop.

Theory of operation: a closed grammar turns almost any sound into its nearest command, so the
grammar alone never decides. The stream is cut into short utterances by a VAD (`segmenter`); each
utterance goes through these checks, cheapest first:

1. the segmenter drops utterances that are too short, too quiet or too long to be a command;
2. the utterance is decoded with the command grammar, whose alternatives also include the most
   frequent English words as "garbage": a word that is not a command can come out as itself,
   and then nothing is heard (with `garbage_fallback_confidence`, as fusion runs it, the audio is
   decoded again with the commands alone, and their best goes on as a weak candidate);
3. the same audio is decoded with an unconstrained phone loop (allphone search). The phone loop
   fits any speech at least about as well as the grammar does, so the grammar's score minus the
   phone loop's score, per frame of speech, is a log-likelihood ratio: near zero when the audio
   really is the command, well below zero when the grammar had to force it. Below
   `reject_below_llr` the utterance is rejected; `confidence` maps the ratio to 0..1 (0.5 at the
   threshold).
4. a phrase of several words is decoded once more against any sequence of garbage words: a
   stretch of a sentence ("how much longer is the road") comes out as those words. A phrase that
   is not immediate is then rejected; an immediate one (pause, stop and skip phrases: "it hurts",
   "stop the session") only when the garbage words also score better than it by more than
   `immediate_sequence_margin` per frame, since this search sometimes loses a real command it
   should have kept. Read speech otherwise makes dozens of false commands an hour. (With
   `sequence_margin` a phrase that is not immediate gets such a margin too: fusion uses that, since
   its spotter must also agree; this search loses many a synthetic "how am i doing".) One-word
   commands skip this check, since two short garbage words can imitate one word, and someone in
   pain must never have to say "stop" twice;
5. a one-word command that is not immediate ("resume", "status") is rejected when its utterance
   has more than `max_one_word_seconds` of speech: nobody takes that long over one word, but a
   stretch of a sentence often comes out as one.

Both decodes run when the utterance ends, over the whole utterance (so cepstral mean normalisation
sees all of it), and the result comes back from the `feed` call that completed it.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pocketsphinx

from voicecoach.core import commands
from voicecoach.core.commands import Intent
from voicecoach.errors import ModelError
from voicecoach.hear import SAMPLE_RATE, Heard
from voicecoach.hear import sphinx_grammar as grammar
from voicecoach.hear.segmenter import Segmenter, SegmenterOptions, Utterance

log = logging.getLogger(__name__)

FRAMES_PER_SECOND = 100  # PocketSphinx's default 10 ms frame shift
_ALTERNATE = re.compile(r"\(\d+\)$")
_FILLERS = {"<s>", "</s>", "<sil>", "(NULL)"}


@dataclass(frozen=True)
class SphinxOptions:
    """How the PocketSphinx recogniser hears and what it rejects (see the module docstring)."""

    # Grammar score minus phone-loop score, in PocketSphinx log units per 10 ms frame of speech.
    # Below this an utterance is not a command. Lower = easier to trigger.
    reject_below_llr: float = -40.0
    # Immediate intents (pause, stop, skip) are accepted this much lower, so they stay easy to say.
    immediate_llr_allowance: float = 10.0
    # Log units per frame for confidence to go from 0.5 to about 0.73.
    confidence_scale_llr: float = 10.0
    # Frequent English words that compete with the commands inside the grammar (0 turns it off).
    garbage_words: int = 300
    # Prior weight of the whole garbage branch against the whole command branch.
    garbage_weight: float = 1.0
    # A garbage word must differ from every one-word command by at least this many phones.
    garbage_min_phone_distance: int = 2
    # Audio decoded around the VAD's speech: the decoder's cepstral normalisation does best when
    # it sees little of the room's silence, so only this much of it is kept on each side.
    lead_seconds: float = 0.0
    trail_seconds: float = 0.0
    # Gaussians evaluated per frame; phone insertion probability (below 1 favours fewer phones).
    top_gaussians: int = 16
    phone_insertion_probability: float = 0.5
    # Language weight of the phone loop's phone bigram: low, so the loop is nearly acoustic only.
    phone_loop_language_weight: float = 1.0
    # Check phrases of several words against a sequence of garbage words (step 4).
    verify_with_garbage_sequence: bool = True
    # An immediate phrase of several words is rejected when a sequence of garbage words scores
    # better than it by more than this, in log units per frame of the phrase (step 4).
    immediate_sequence_margin: float = 4.0
    # The same for a phrase that is not immediate (None: rejected whatever the scores; fusion, whose
    # spotter must agree, runs it at immediate_sequence_margin unless this is given).
    sequence_margin: float | None = None
    # When the grammar hears a garbage word: None, nothing is heard; a value, the utterance is decoded
    # again with the commands alone, and their best is a candidate of at most this confidence (step 2;
    # fusion uses it, where a candidate that weak needs the spotter's firm agreement).
    garbage_fallback_confidence: float | None = None
    # Speech in an utterance heard as a one-word command that is not immediate, at most (step 5).
    max_one_word_seconds: float = 1.4
    segmenter: SegmenterOptions = field(default_factory=SegmenterOptions)


@dataclass(frozen=True)
class Decision:
    """What was decided about one utterance, with the evidence (for logs and measuring)."""

    phrase: str
    llr: float
    candidate: Heard | None  # the command it would be, accepted or not
    accepted: bool

    @property
    def heard(self) -> Heard | None:
        return self.candidate if self.accepted else None


class SphinxRecogniser:
    """A streaming command recogniser over the model shipped with the pocketsphinx wheel."""

    name = "pocketsphinx"

    def __init__(
        self,
        options: SphinxOptions = SphinxOptions(),
        phrases: Mapping[str, Intent] | None = None,
    ) -> None:
        self.options = options
        self.phrases = dict(commands.PHRASES if phrases is None else phrases)
        self.decisions: list[Decision] = []  # the latest utterances' decisions, newest last
        model = Path(pocketsphinx.get_model_path())
        acoustic = model / "en-us" / "en-us"
        dictionary = model / "en-us" / "cmudict-en-us.dict"
        if not acoustic.is_dir() or not dictionary.is_file():
            raise ModelError(f"The PocketSphinx English model is missing from {model}; reinstall pocketsphinx.")
        self._segmenter = Segmenter(options.segmenter)
        self._grammar_decoder, self._garbage = self._make_grammar_decoder(acoustic, dictionary, model)
        self._phone_decoder = pocketsphinx.Decoder(
            hmm=str(acoustic),
            lm=None,
            dict=None,
            allphone=str(model / "en-us" / "en-us-phone.lm.bin"),
            lw=options.phone_loop_language_weight,
            bestpath=False,
            topn=options.top_gaussians,
            pip=options.phone_insertion_probability,
            loglevel="FATAL",
        )
        self._logmath = self._grammar_decoder.logmath
        self._searches: dict[frozenset[Intent], str] = {}
        self._sequence_searches: dict[frozenset[Intent], str] = {}  # for step 4
        self._plain_searches: dict[frozenset[Intent], str] = {}  # the commands alone, for step 2's fallback
        self.listen_for(frozenset(Intent))

    def _make_grammar_decoder(
        self, acoustic: Path, dictionary: Path, model: Path
    ) -> tuple[pocketsphinx.Decoder, list[str]]:
        wanted = {word for phrase in self.phrases for word in phrase.split()}
        if self.options.garbage_words > 0:
            garbage, pronunciations = grammar.frequent_garbage(
                dictionary,
                model / "en-us" / "en-us.lm.bin",
                self.phrases,
                self.options.garbage_words,
                self.options.garbage_min_phone_distance,
            )
        else:
            pronunciations = grammar.read_pronunciations(dictionary, wanted)
            garbage = []
        missing = grammar.missing_words(self.phrases, pronunciations)
        if missing:
            log.warning("PocketSphinx's dictionary lacks %s; phrases with them cannot be heard", ", ".join(missing))
            self.phrases = {
                phrase: intent
                for phrase, intent in self.phrases.items()
                if not any(word in missing for word in phrase.split())
            }
        decoder = pocketsphinx.Decoder(
            hmm=str(acoustic),
            lm=None,
            dict=None,
            bestpath=False,
            topn=self.options.top_gaussians,
            pip=self.options.phone_insertion_probability,
            loglevel="FATAL",
        )
        for word in sorted((wanted - set(missing)) | set(garbage)):
            for number, phones in enumerate(pronunciations[word], start=1):
                decoder.add_word(word if number == 1 else f"{word}({number})", phones, False)
        return decoder, garbage

    def listen_for(self, intents: frozenset[Intent]) -> None:
        """Narrow the grammar to the phrases of `intents`; an empty set hears nothing."""
        intents = frozenset(intents)
        if intents not in self._searches:
            phrases = grammar.phrases_for(self.phrases, intents)
            if phrases:
                name = f"commands{len(self._searches)}"
                text = grammar.jsgf(phrases, self._garbage, self.options.garbage_weight)
                self._grammar_decoder.add_jsgf_string(name, text)
                self._searches[intents] = name
                if self.options.verify_with_garbage_sequence and self._garbage:
                    sequence = grammar.jsgf(phrases, self._garbage, self.options.garbage_weight, sequence=True)
                    self._grammar_decoder.add_jsgf_string(f"sequence{name}", sequence)
                    self._sequence_searches[intents] = f"sequence{name}"
                if self.options.garbage_fallback_confidence is not None and self._garbage:
                    self._grammar_decoder.add_jsgf_string(f"plain{name}", grammar.jsgf(phrases))
                    self._plain_searches[intents] = f"plain{name}"
            else:
                self._searches[intents] = ""
        self._active = intents
        if self._searches[intents]:
            self._grammar_decoder.activate_search(self._searches[intents])
        log.debug("listening for %s", ", ".join(sorted(intent.value for intent in intents)) or "nothing")

    def feed(self, pcm: bytes) -> list[Heard]:
        """Take the next chunk of PCM; return the commands of any utterance it completed."""
        return self._decide_all(self._segmenter.push(pcm))

    def flush(self) -> list[Heard]:
        """The audio has ended: decide on the utterance in progress."""
        return self._decide_all(self._segmenter.flush())

    def _decide_all(self, utterances: list[Utterance]) -> list[Heard]:
        heard = []
        for utterance in utterances:
            decision = self.decide(utterance)
            self.decisions = [*self.decisions[-99:], decision]
            if decision.heard is not None:
                heard.append(decision.heard)
        return heard

    def decide(self, utterance: Utterance) -> Decision:
        """Decode one utterance and decide whether it is a command."""
        if not self._searches[self._active]:
            return Decision("", -math.inf, None, False)
        begin_sample = max(
            utterance.start_sample, utterance.speech_start_sample - round(self.options.lead_seconds * SAMPLE_RATE)
        )
        end_sample = utterance.speech_end_sample + round(self.options.trail_seconds * SAMPLE_RATE)
        pcm = utterance.pcm[(begin_sample - utterance.start_sample) * 2 : (end_sample - utterance.start_sample) * 2]
        phrase, grammar_score, first, last = _decode_grammar(self._grammar_decoder, pcm)
        intent = self.phrases.get(phrase)
        cap = 1.0
        if intent is None and self._active in self._plain_searches:
            log.debug("a garbage word: %r; decoding with the commands alone", phrase)
            phrase, grammar_score, first, last = self._decode_with(self._plain_searches[self._active], pcm)
            intent = self.phrases.get(phrase)
            cap = self.options.garbage_fallback_confidence or 0.0
        if intent is None:
            log.debug("not a command: %r", phrase)
            return Decision(phrase, -math.inf, None, False)
        phone_score = _decode_phones(self._phone_decoder, pcm)
        frames = max(1, last + 1 - first)
        llr = (self._raw(grammar_score) - self._raw(phone_score)) / frames
        threshold = self.options.reject_below_llr
        if intent in commands.IMMEDIATE:
            threshold -= self.options.immediate_llr_allowance
        confidence = min(cap, 1.0 / (1.0 + math.exp(-(llr - threshold) / self.options.confidence_scale_llr)))
        accepted = llr >= threshold
        immediate = intent in commands.IMMEDIATE
        if accepted and " " in phrase and self._active in self._sequence_searches:
            words, sequence_score, _, _ = self._decode_with(self._sequence_searches[self._active], pcm)
            better_by = (self._raw(sequence_score) - self._raw(grammar_score)) / frames
            margin = self.options.immediate_sequence_margin if immediate else self.options.sequence_margin
            if margin is None:
                margin = -math.inf
            if words not in self.phrases and better_by > margin:
                log.debug("rejected %r: as a sentence it is %r (better by %.1f a frame)", phrase, words, better_by)
                accepted = False
        if (
            accepted
            and " " not in phrase
            and not immediate
            and utterance.speech_seconds > self.options.max_one_word_seconds
        ):
            log.debug("rejected %r: %.2f s of speech is too long for one word", phrase, utterance.speech_seconds)
            accepted = False
        log.debug("%s %r llr %.2f (threshold %.2f)", "heard" if accepted else "rejected", phrase, llr, threshold)
        start = begin_sample / SAMPLE_RATE + first / FRAMES_PER_SECOND
        end = begin_sample / SAMPLE_RATE + (last + 1) / FRAMES_PER_SECOND
        candidate = Heard(intent, phrase, round(confidence, 3), round(start, 3), round(end, 3))
        return Decision(phrase, llr, candidate, accepted)

    def _decode_with(self, search: str, pcm: bytes) -> tuple[str, float, int, int]:
        """`_decode_grammar` under another search; the active one is restored after."""
        self._grammar_decoder.activate_search(search)
        try:
            return _decode_grammar(self._grammar_decoder, pcm)
        finally:
            self._grammar_decoder.activate_search(self._searches[self._active])

    def _raw(self, score: float) -> float:
        """PocketSphinx reports path scores exponentiated; take them back to its integer log units."""
        return float(self._logmath.log(score)) if score > 0 else -1e9


def _decode_grammar(decoder: pocketsphinx.Decoder, pcm: bytes) -> tuple[str, float, int, int]:
    """(phrase, path score, first and last frame of words) of `pcm` under the active grammar."""
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    if hypothesis is None or not hypothesis.hypstr:
        return "", 0.0, 0, 0
    words = [segment for segment in decoder.seg() or [] if not _is_filler(segment.word)]
    phrase = " ".join(_ALTERNATE.sub("", word) for word in hypothesis.hypstr.split())
    first = words[0].start_frame if words else 0
    last = words[-1].end_frame if words else 0
    return phrase, hypothesis.score, first, last


def _decode_phones(decoder: pocketsphinx.Decoder, pcm: bytes) -> float:
    """The phone loop's path score for `pcm`."""
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.score if hypothesis is not None else 0.0


def _is_filler(word: str) -> bool:
    return word in _FILLERS or word.startswith("[") or word.startswith("+")
