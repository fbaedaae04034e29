"""Hearing with Vosk: a Kaldi recogniser restricted to the phrase table, for a Vosk model on disk.

Theory of operation: the grammar is the phrase table's phrases (only those whose every word the
model knows) plus "[unk]" when the model has it, so out-of-grammar speech can come out as "[unk]"
instead of as the nearest command. Vosk returns a result at each end of an utterance, with each
word's confidence and times; the words are split at "[unk]" and matched greedily (longest phrase
first) against the table, and each match whose mean word confidence reaches `min_confidence`
becomes one `Heard`. Word times count from the start of each Kaldi recogniser, so every recogniser
remembers how many samples had been fed before it began.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach.core import commands
from voicecoach.core.commands import Intent
from voicecoach.errors import ModelError
from voicecoach.hear import SAMPLE_RATE, SAMPLE_WIDTH_BYTES, Heard
from voicecoach.hear.models import is_vosk_model

log = logging.getLogger(__name__)

UNKNOWN_WORD = "[unk]"
_FETCH_HINT = "run `voicecoach download-model` to fetch the English one"


@dataclass(frozen=True)
class VoskOptions:
    """How the Vosk recogniser decides."""

    # A phrase whose words' mean confidence (0..1) is below this is ignored as a mishearing.
    min_confidence: float = 0.5
    # Kaldi's own log level: -1 silences its start-up chatter, 0 shows it.
    kaldi_log_level: int = -1


@dataclass(frozen=True)
class _Word:
    text: str
    confidence: float
    start_seconds: float
    end_seconds: float


class VoskRecogniser:
    """A streaming command recogniser over a Vosk model directory (see the module docstring)."""

    name = "vosk"

    def __init__(
        self,
        model_path: Path,
        options: VoskOptions = VoskOptions(),
        phrases: Mapping[str, Intent] | None = None,
    ) -> None:
        self.options = options
        self._phrases = commands.PHRASES if phrases is None else phrases
        self._vosk = _import_vosk()
        self._model = _load_model(self._vosk, Path(model_path), options.kaldi_log_level)
        self.model_path = Path(model_path)
        self.usable_phrases = self._check_vocabulary()
        self._has_unknown = self._model.vosk_model_find_word(UNKNOWN_WORD) != -1
        if not self._has_unknown:
            log.warning(
                "The Vosk model %s has no %s word, so any speech may be heard as the nearest command.",
                self.model_path,
                UNKNOWN_WORD,
            )
        self._longest_phrase_words = max(len(phrase.split()) for phrase in self.usable_phrases)
        self._fed_samples = 0
        self._odd_byte = b""
        self._pending: list[Heard] = []
        self._grammar: list[str] = []
        self._recogniser: Any = None
        self._start(list(self.usable_phrases))

    # ---- the Recogniser protocol ---------------------------------------------------------------

    def feed(self, pcm: bytes) -> list[Heard]:
        """Take the next chunk of 16 kHz mono 16-bit PCM; return the commands completed in it."""
        heard, self._pending = self._pending, []
        data = self._odd_byte + pcm
        usable = len(data) - len(data) % SAMPLE_WIDTH_BYTES
        data, self._odd_byte = data[:usable], data[usable:]
        if not data:
            return heard
        self._fed_samples += len(data) // SAMPLE_WIDTH_BYTES
        if self._recogniser is not None and self._recogniser.AcceptWaveform(data):
            heard += self._decode(self._recogniser.Result())
        return heard

    def flush(self) -> list[Heard]:
        """Decide on the utterance in progress; the next audio starts a fresh one."""
        heard, self._pending = self._pending, []
        if self._recogniser is not None:
            heard += self._decode(self._recogniser.FinalResult())
        self._odd_byte = b""  # half a sample at the end of the audio is no sample
        self._start(self._grammar)
        return heard

    def listen_for(self, intents: frozenset[Intent]) -> None:
        """Narrow the grammar to `intents`. Audio already fed is still judged by the old grammar:
        what it held is returned by the next feed() or flush()."""
        phrases = [p for p in self.usable_phrases if self._phrases[p] in intents]
        if phrases == self._grammar:
            return
        if self._recogniser is not None:
            self._pending += self._decode(self._recogniser.FinalResult())
        self._start(phrases)

    # ---- inside --------------------------------------------------------------------------------

    def _check_vocabulary(self) -> list[str]:
        """The phrases whose every word the model knows; warn once, by name, about the words it lacks."""
        missing = sorted(
            {
                word
                for phrase in self._phrases
                for word in phrase.split()
                if self._model.vosk_model_find_word(word) == -1
            }
        )
        usable = [p for p in self._phrases if not set(p.split()) & set(missing)]
        if missing:
            left_out = [p for p in self._phrases if p not in usable]
            log.warning(
                "The Vosk model %s lacks the words %s, so these phrases cannot be heard: %s.",
                self.model_path,
                ", ".join(repr(w) for w in missing),
                ", ".join(repr(p) for p in left_out),
            )
        if not usable:
            raise ModelError(f"The Vosk model at {self.model_path} knows none of the command words; {_FETCH_HINT}.")
        return usable

    def _start(self, phrases: list[str]) -> None:
        """A fresh Kaldi recogniser for `phrases`, its clock starting at the samples fed so far."""
        self._grammar = phrases
        self._base_seconds = self._fed_samples / SAMPLE_RATE
        if not phrases:
            log.info("listening for nothing: no usable phrase means any of the intents asked for")
            self._recogniser = None
            return
        grammar = phrases + ([UNKNOWN_WORD] if self._has_unknown else [])
        # ensure_ascii=False: Vosk reads "\uXXXX" escapes literally, so non-English words would be lost.
        grammar_json = json.dumps(grammar, ensure_ascii=False)
        recogniser = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE, grammar_json)
        recogniser.SetWords(True)
        self._recogniser = recogniser

    def _decode(self, result_json: str) -> list[Heard]:
        """The commands in one Vosk result."""
        result = json.loads(result_json)
        words = [
            _Word(
                w["word"],
                float(w.get("conf", 1.0)),
                self._base_seconds + float(w["start"]),
                self._base_seconds + float(w["end"]),
            )
            for w in result.get("result", [])
        ]
        if words:
            log.debug("vosk heard %r", result.get("text", ""))
        heard: list[Heard] = []
        for run in _split_at_unknown(words):
            heard += self._match(run)
        return heard

    def _match(self, words: list[_Word]) -> list[Heard]:
        """Greedy longest-phrase-first matching of a run of words against the phrase table."""
        heard: list[Heard] = []
        i = 0
        while i < len(words):
            for length in range(min(self._longest_phrase_words, len(words) - i), 0, -1):
                span = words[i : i + length]
                intent = self._intent_for(" ".join(w.text for w in span))
                if intent is not None:
                    heard += self._accept(intent, span)
                    i += length
                    break
            else:
                log.debug("ignored the stray word %r", words[i].text)
                i += 1
        return heard

    def _intent_for(self, text: str) -> Intent | None:
        if self._phrases is commands.PHRASES:
            return commands.intent_for(text)
        return self._phrases.get(" ".join(text.split()))

    def _accept(self, intent: Intent, span: list[_Word]) -> list[Heard]:
        phrase = " ".join(w.text for w in span)
        confidence = sum(w.confidence for w in span) / len(span)
        if confidence < self.options.min_confidence:
            threshold = self.options.min_confidence
            log.info("ignored %r: confidence %.2f is below %.2f", phrase, confidence, threshold)
            return []
        return [Heard(intent, phrase, confidence, span[0].start_seconds, span[-1].end_seconds)]


def _split_at_unknown(words: list[_Word]) -> list[list[_Word]]:
    """Runs of known words; "[unk]" separates phrases and is never part of one."""
    runs: list[list[_Word]] = [[]]
    for word in words:
        if word.text == UNKNOWN_WORD:
            runs.append([])
        else:
            runs[-1].append(word)
    return [run for run in runs if run]


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError as error:
        raise ModelError("The Vosk recogniser needs the vosk package: pip install 'voicecoach[audio]'.") from error
    return vosk


def _load_model(vosk: Any, path: Path, kaldi_log_level: int) -> Any:
    """vosk.Model from an explicit directory only (its other ways of finding one download)."""
    if not path.exists():
        raise ModelError(f"There is no Vosk speech model at {path}; {_FETCH_HINT}.")
    if not is_vosk_model(path):
        raise ModelError(f"{path} is not a Vosk speech model; {_FETCH_HINT}.")
    key = str(path.resolve())
    model = _loaded.get(key)
    if model is not None:
        return model
    vosk.SetLogLevel(kaldi_log_level)
    try:
        model = vosk.Model(key)
    except Exception as error:  # vosk raises a bare Exception when Kaldi cannot read the model
        raise ModelError(f"The Vosk speech model at {path} could not be loaded; {_FETCH_HINT}.") from error
    _loaded[key] = model
    return model


# Loaded models by directory, shared by the recognisers alive at the same time (a model is read-only
# and takes hundreds of megabytes); a model is freed with the last recogniser using it.
_loaded: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
