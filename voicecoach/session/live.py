"""A live session by voice: the recogniser, synthesiser and devices from the settings, wired to the coach."""

from __future__ import annotations

import argparse
import logging
import threading
from functools import partial
from typing import TYPE_CHECKING

from voicecoach.core.coach import Coach
from voicecoach.core.library import Library
from voicecoach.hear import Recogniser
from voicecoach.hear.reference import ReferenceTrack
from voicecoach.session.bargein import EchoGuard
from voicecoach.session.loop import Announce, RealClock, Timeline, run
from voicecoach.session.settings import Config

if TYPE_CHECKING:
    from voicecoach.history.store import History
from voicecoach.session.listener import Listener
from voicecoach.session.speech import SpokenOutput
from voicecoach.session.watch import start_watching

log = logging.getLogger(__name__)


def open_configured_recogniser(settings: Config) -> Recogniser:
    """The recogniser the settings ask for, with their thresholds."""
    from voicecoach.hear.engines import open_recogniser

    options = {
        "pocketsphinx": {"reject_below_llr": settings.sphinx_reject_below_llr},
        "vosk": {"min_confidence": settings.vosk_min_confidence},
    }
    chosen = options.get(settings.engine, options["pocketsphinx"] | options["vosk"])  # auto: both, each takes its own
    return open_recogniser(settings.engine, settings.model, **chosen)


def run_voice(library: Library, routine: str, args: argparse.Namespace, history: History | None = None) -> int:
    """`voicecoach run`: greet, wait for "start", coach the routine by voice (written to `history`,
    if given), then exit."""
    from voicecoach.audio.microphone import Microphone
    from voicecoach.audio.speaker import Speaker
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.session.enrolment import first_offer, with_enrolment
    from voicecoach.session.keeper import keep_history
    from voicecoach.session.report import describe
    from voicecoach.session.voices import open_synthesiser, progress_display, render_ahead

    settings: Config = args.settings
    output = Speaker(settings.output)  # no device: one sentence suggesting --text, before anything slow
    microphone = Microphone(settings.input, **settings.microphone_options())
    recogniser = open_configured_recogniser(settings)
    synthesiser = open_synthesiser(settings)
    render_ahead(synthesiser, library, routine, progress_display())
    clock = RealClock()
    guard = EchoGuard(settings.guard_settings())
    timeline = Timeline(lambda entry: print(describe(entry), flush=True))
    reference = ReferenceTrack()
    coach = Coach(library, routine, settings.pace(), volume=settings.start_volume(), can_enrol=True)
    speaker = SpokenOutput(
        synthesiser, output, clock, guard, virtual=False, reference=reference, volume=coach.volume.level
    )
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(args.echo), reference=reference)
    # the coach's plans, and the pace and volume said last; "learn my voice" runs the enrolment dialogue
    observe = with_enrolment(keep_history(history, library, coach), listener, speaker, clock, recogniser, timeline)
    stop = threading.Event()
    routine_name = library.routine(routine).name.lower()
    clock.post(partial(Announce, f"Ready. Say start to begin the {routine_name}."))
    offer = first_offer(recogniser)
    if offer:
        clock.post(partial(Announce, offer))
    threads = start_watching(microphone, listener, coach, clock, speaker, settings, stop)
    try:
        run(coach, clock, speaker, timeline, start=False, observe=observe)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2.0)
        speaker.output.close()
    return 0
