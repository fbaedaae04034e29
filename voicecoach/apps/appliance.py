"""`voicecoach serve`: the Raspberry Pi appliance. Boots into listening, survives faults, remembers.

It greets once it can hear and speak, offers to carry on a session a crash or power cut cut short,
then waits for "start" (or "start gentle", ...), coaches, records everything as it happens, and
waits again, for as long as it runs. Nothing a user can do by voice, and no broken file, makes it
exit: a bad settings, routine or history file is said aloud in one sentence and replaced by safe
defaults; missing sound devices are waited for, and one lost mid-session pauses it until it is back
(voicecoach.session.loop.Faults). SIGTERM (systemctl stop) ends it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import tempfile
import threading
from pathlib import Path

from voicecoach.core.library import Library
from voicecoach.errors import AudioError, VoicecoachError
from voicecoach.routinefile.loader import load

log = logging.getLogger(__name__)
DEVICE_RETRY_SECONDS = 5.0
STOP_POLL_SECONDS = 0.5
TIMELINE_KEEP = 1000  # entries kept in memory; every one is printed (the journal keeps them)
SHIPPED_EXERCISES = Path(__file__).resolve().parents[2] / "exercises.yaml"


def serve(args: argparse.Namespace) -> int:
    from voicecoach.core.coach import Coach
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.hear.reference import ReferenceTrack
    from voicecoach.history.store import History
    from voicecoach.session.bargein import EchoGuard
    from voicecoach.session.enrolment import first_offer, with_enrolment
    from voicecoach.session.faults import Faults
    from voicecoach.session.keeper import SessionKeeper
    from voicecoach.session.listener import Listener
    from voicecoach.session.live import open_configured_recogniser
    from voicecoach.session.loop import RealClock, Timeline, carry_out, run
    from voicecoach.session.report import describe
    from voicecoach.session.speech import SpokenOutput
    from voicecoach.session.voices import progress_display, ready_synthesiser
    from voicecoach.session.watch import start_watching

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # only that: raising here can land anywhere
    settings = args.settings
    problems = (
        ["My settings file has a problem, so part of it is set to the defaults. The log says which."]
        if args.settings_warning
        else []
    )
    library, problem = _library(settings.exercises)
    problems += [problem] if problem else []
    history = _history(History, settings.history, problems)
    if history.recovered_from is not None:
        problems.append("My history file was damaged, so I set it aside and started a new one.")
    devices = _open_devices(settings, stopping)
    if devices is None:
        return 0
    output, microphone = devices
    recogniser = open_configured_recogniser(settings)
    routine = settings.routine if settings.routine in library.content.routines else library.routine_ids[0]
    synthesiser, problem = ready_synthesiser(settings, library, routine, progress_display())
    problems += [problem] if problem else []
    clock = RealClock()
    guard = EchoGuard(settings.guard_settings())
    timeline = Timeline(lambda entry: print(describe(entry), flush=True), keep=TIMELINE_KEEP)
    reference = ReferenceTrack()
    coach = Coach(library, routine, settings.pace(), volume=settings.start_volume(), can_enrol=True)
    keeper = SessionKeeper(history, library, coach)
    keeper.refresh()
    keeper.start_voice()  # the pace and volume said last, unless the settings file changed since
    speaker = SpokenOutput(
        synthesiser, output, clock, guard, virtual=False, reference=reference, volume=coach.volume.level
    )
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(), reference=reference)
    observe = with_enrolment(keeper.observe, listener, speaker, clock, recogniser, timeline)  # "learn my voice"
    faults = Faults()
    offer = keeper.resume_offer()
    greeting = (
        "Hello." if offer else f"Hello. Say start when you're ready for the {library.routine(routine).name.lower()}."
    )
    offer_enrolment = [] if offer else [first_offer(recogniser)]  # once, at the first start with no voice learnt
    for text in problems + [greeting] + [t for t in offer_enrolment if t]:  # in this order, before any question
        timeline.add(clock.now(), "say", text=text)
        speaker.say(text, 0, clock.now())
    threads = start_watching(microphone, listener, coach, clock, speaker, settings, stopping)
    try:
        if offer is not None:
            carry_out(coach.offer_resume(*offer, now=clock.now()), clock, speaker, timeline, observe)
        while not stopping.is_set():  # the loop comes up for air twice a second to see whether to stop
            run(
                coach,
                clock,
                speaker,
                timeline,
                start=False,
                until=clock.now() + STOP_POLL_SECONDS,
                observe=observe,
                faults=faults,
            )
        log.info("stopping on request")
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=2.0)
        speaker.output.close()
        history.close()
    return 0


def _history(History, configured: Path | None, problems: list[str]):
    """The history; if it cannot be opened at all (a folder that cannot be made, a file from a newer
    voicecoach), a throwaway one, so that coaching goes on, with a sentence to say."""
    try:
        return History.open(configured)
    except VoicecoachError as error:
        log.error("%s", error)
        problems.append("I can't open my history file, so today's session won't be remembered. The log says why.")
        return History.open(Path(tempfile.mkdtemp(prefix="voicecoach-history-")) / "history.sqlite3")


def _library(configured: Path | None) -> tuple[Library, str | None]:
    """The configured routine file, or the shipped one (with a sentence to say) if it is broken."""
    from voicecoach.routinefile.loader import find_exercises

    try:
        chosen = find_exercises(str(configured) if configured else None)  # the setting, $VOICECOACH_EXERCISES, ...
        return load(chosen), None
    except VoicecoachError as error:
        log.error("%s", error)
        if not SHIPPED_EXERCISES.is_file():
            raise
        return load(SHIPPED_EXERCISES), "My exercise file has a problem, so I'm using the built-in routines."


def _open_devices(settings, stopping: threading.Event):
    """The speaker and microphone, waiting (and logging) until both can be opened."""
    from voicecoach.audio.microphone import Microphone
    from voicecoach.audio.speaker import Speaker

    while not stopping.is_set():
        try:
            output = Speaker(settings.output)
            try:
                return output, Microphone(settings.input, **settings.microphone_options())
            except AudioError:
                output.close()
                raise
        except AudioError as error:
            log.warning("%s Trying again in %.0f s.", error, DEVICE_RETRY_SECONDS)
            stopping.wait(DEVICE_RETRY_SECONDS)
    return None
