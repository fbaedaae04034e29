"""Choosing the recogniser: the grammar recogniser (Vosk when a Vosk model is installed, PocketSphinx
otherwise), the trained spotter, or both fused into one decision."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
from pathlib import Path
from typing import Any

from voicecoach.errors import ModelError
from voicecoach.hear import Recogniser
from voicecoach.hear.models import find_vosk_model, search_dirs

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "pocketsphinx", "spotter", "fusion")

# Fusion runs the grammar recogniser looser than it runs alone, so that its weaker candidates reach
# the fusion rule as evidence: PocketSphinx's rejection threshold this many log units a frame lower
# (its confidence scale widened so the candidates spread over 0.5..1), Vosk's minimum confidence this
# much lower. PocketSphinx also keeps a phrase of several words that its garbage-word sequence decodes
# as other words, unless they score better by the margin an immediate phrase has (alone, such a phrase
# is rejected outright). `python -m voicecoach.bench.sequencemargin` (each of the 62 phrases without
# real recordings in six of the spotter's training voices, never the benchmark's; 14.6 minutes of the
# train and tune speakers' speech): acted on 69.6 % rather than 48.9 %, 3 false commands rather than 2
# (PocketSphinx's own candidates: 22 rather than 9); margins of -5, 0 and no limit gave 67.5, 68.8
# and 70.4 %, 3 false commands each (13, 19 and 34 candidates). `tunefusion` kept its rule with it.
#
# Fusion also closes PocketSphinx's utterances after 0.18 s of silence rather than 0.2 (20 ms sooner
# for every command the grammar decides). On the tune speakers (`tunefusion`) the fused engine's
# figures and chosen rule were the same at 0.18 as at 0.2; PocketSphinx's own candidates made 80
# false activations an hour rather than 73, which the rule filters. At 0.15 the rule's figures fell
# (false activations 7.7 -> 11.5 an hour; its best rule heard 79 % of synthetic phrases, not 84 %).
FUSION_SPHINX_HANGOVER_SECONDS = 0.18
# Where PocketSphinx's grammar hears a frequent word rather than a command, fusion still hears its best
# command, as a weak candidate of at most this confidence (below the rule's grammar_floor).
FUSION_SPHINX_FALLBACK_CONFIDENCE = 0.55
FUSION_SPHINX_LOOSER_LLR = 30.0
FUSION_SPHINX_CONFIDENCE_SCALE_LLR = 20.0
FUSION_VOSK_LOOSER_CONFIDENCE = 0.3


def open_recogniser(engine: str = "auto", model: Path | None = None, **options: Any) -> Recogniser:
    """The recogniser for `engine` ("auto", "vosk", "pocketsphinx", "spotter" or "fusion").

    auto is fusion: the spotter and the grammar recogniser, which is Vosk when a Vosk model is found
    (`model`, $VOICECOACH_VOSK_MODEL, then the model directories), else PocketSphinx; if the spotter
    cannot be loaded (no onnxruntime), auto is that grammar recogniser alone, with a warning. It
    measured best on held-out speakers (README, "Engines"). `options` are fields of the engine's
    options dataclass (SpotterOptions, VoskOptions, SphinxOptions, FusionOptions); with auto and
    fusion, fields the chosen engines lack are ignored. The option `enrolled=False` has the spotter
    hear with the shipped model even when the user has enrolled their voice (every other engine
    ignores it).
    """
    enrolled = bool(options.pop("enrolled", True))
    if engine not in ENGINES:
        raise ModelError(f"There is no speech engine called {engine!r}; choose one of {', '.join(ENGINES)}.")
    if engine == "spotter":
        log.info("hearing with the trained command spotter")
        return _open_spotter(options | {"enrolled": enrolled})
    if engine == "fusion":
        return open_fusion(model, enrolled=enrolled, **options)
    if engine == "auto":
        try:
            spotter = _open_spotter(options | {"enrolled": enrolled})
        except ModelError as error:
            log.warning("hearing without the command spotter: %s", error)
        else:
            return open_fusion(model, spotter=spotter, **options)
    vosk_model = find_vosk_model(model) if engine in ("auto", "vosk") else None
    if engine == "vosk" or (engine == "auto" and vosk_model is not None):
        if vosk_model is None:
            looked = ", ".join(str(d) for d in search_dirs())
            raise ModelError(
                f"No Vosk speech model was found in {looked}; run `voicecoach download-model` to fetch one."
            )
        from voicecoach.hear.vosk_engine import VoskOptions, VoskRecogniser

        log.info("hearing with Vosk, model %s", vosk_model)
        return VoskRecogniser(vosk_model, _options(VoskOptions, options, strict=engine != "auto"))
    if model is not None:
        log.warning("ignoring the model %s: PocketSphinx uses the model in its own package", model)
    sphinx = _import_sphinx()
    log.info("hearing with PocketSphinx")
    return sphinx.SphinxRecogniser(options=_options(sphinx.SphinxOptions, options, strict=engine != "auto"))


def open_fusion(
    model: Path | None = None, trace: list | None = None, spotter: Any = None, **options: Any
) -> Recogniser:
    """The spotter and the grammar recogniser (Vosk when a model is found, else PocketSphinx) fused.

    `options` may be fields of SpotterOptions, VoskOptions or SphinxOptions (the grammar's own
    thresholds, as it would run alone; fusion loosens them) and of FusionOptions (which override the
    tuned rule for that grammar engine). `trace`: see FusedRecogniser; `spotter`: one already open.
    """
    from voicecoach.hear.fusion.decide import FusionOptions
    from voicecoach.hear.fusion.engine import TUNED, FusedRecogniser

    spotter = spotter or _open_spotter(options)
    vosk_model = find_vosk_model(model)
    grammar: Recogniser
    rule = dataclasses.replace(
        TUNED["vosk" if vosk_model is not None else "pocketsphinx"], **_fields(FusionOptions, options)
    )
    if vosk_model is not None:
        from voicecoach.hear.vosk_engine import VoskOptions, VoskRecogniser

        alone = _options(VoskOptions, options, strict=False)
        looser = dataclasses.replace(
            alone, min_confidence=max(0.0, alone.min_confidence - FUSION_VOSK_LOOSER_CONFIDENCE)
        )
        grammar, accepts = VoskRecogniser(vosk_model, looser), alone.min_confidence
    else:
        sphinx = _import_sphinx()
        alone = _options(sphinx.SphinxOptions, options, strict=False)
        looser = dataclasses.replace(
            alone,
            reject_below_llr=alone.reject_below_llr - FUSION_SPHINX_LOOSER_LLR,
            confidence_scale_llr=FUSION_SPHINX_CONFIDENCE_SCALE_LLR,
            sequence_margin=alone.immediate_sequence_margin if alone.sequence_margin is None else alone.sequence_margin,
            segmenter=dataclasses.replace(alone.segmenter, hangover_seconds=FUSION_SPHINX_HANGOVER_SECONDS),
            # a command lost to a frequent word is decoded again only where the rule hears such weak candidates
            garbage_fallback_confidence=(
                FUSION_SPHINX_FALLBACK_CONFIDENCE if rule.weak_floor <= FUSION_SPHINX_FALLBACK_CONFIDENCE else None
            ),
        )
        # the looser engine's confidence where the engine alone would have accepted
        accepts = 1.0 / (1.0 + math.exp(-FUSION_SPHINX_LOOSER_LLR / FUSION_SPHINX_CONFIDENCE_SCALE_LLR))
        grammar = sphinx.SphinxRecogniser(options=looser)
    log.info("hearing with the spotter and %s, fused", grammar.name)
    return FusedRecogniser(spotter, grammar, rule, grammar_accepts=accepts, trace=trace)


def _open_spotter(options: dict[str, Any]) -> Any:
    from voicecoach.hear.spotter.engine import SpotterOptions, SpotterRecogniser

    return SpotterRecogniser(_options(SpotterOptions, options, strict=False))


def _fields(cls: type, given: dict[str, Any]) -> dict[str, Any]:
    known = {field.name for field in dataclasses.fields(cls)}
    return {name: value for name, value in given.items() if name in known}


def _options(cls: type, given: dict[str, Any], strict: bool) -> Any:
    """An options dataclass from keyword options; unknown names are an error unless not `strict`."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(given) - known)
    if unknown and strict:
        raise TypeError(f"{cls.__name__} has no option {', '.join(unknown)}")
    if unknown:
        log.debug("%s ignores the options %s", cls.__name__, ", ".join(unknown))
    return cls(**{name: value for name, value in given.items() if name in known})


def _import_sphinx() -> Any:
    try:
        return importlib.import_module("voicecoach.hear.sphinx")
    except ImportError as error:
        raise ModelError(
            f"PocketSphinx cannot be used ({error}); install it with pip install 'voicecoach[audio]' "
            "or fetch a Vosk model with `voicecoach download-model`."
        ) from error
