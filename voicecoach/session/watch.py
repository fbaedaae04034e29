"""The device threads: the listening thread, and looking for a microphone or speaker that was lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from voicecoach.audio import AudioInput, AudioOutput
from voicecoach.core.coach import Coach
from voicecoach.core.events import Command
from voicecoach.errors import AudioError
from voicecoach.session.faults import DeviceBack, DeviceLost
from voicecoach.session.loop import RealClock
from voicecoach.session.settings import Config

if TYPE_CHECKING:
    pass
from voicecoach.session.listener import Listener
from voicecoach.session.speech import SpokenOutput

log = logging.getLogger(__name__)
REOPEN_SECONDS = 2.0  # how often a lost device is looked for


def start_watching(
    microphone: AudioInput,
    listener: Listener,
    coach: Coach,
    clock: RealClock,
    speaker: SpokenOutput,
    settings: Config,
    stop: threading.Event,
) -> list[threading.Thread]:
    """Start the listener thread (`listen`) and the speaker's watch (`watch_speaker`) until `stop`:
    lost devices are reported to the session, looked for, and taken back when they work."""
    threads = [
        threading.Thread(
            target=listen,
            args=(microphone, listener, coach, clock, stop, settings.input),
            name="listener",
            kwargs={
                "speaking": lambda: speaker.output.now_playing is not None,
                "open_again": lambda device: open_microphone(device, **settings.microphone_options()),
            },
            daemon=True,
        ),
        threading.Thread(
            target=watch_speaker,
            args=(speaker, lambda: open_speaker(settings.output), clock, stop),
            name="speaker-watch",
            daemon=True,
        ),
    ]
    for thread in threads:
        thread.start()
    return threads


def listen(
    microphone: AudioInput,
    listener: Listener,
    coach: Coach,
    clock: RealClock,
    stop: threading.Event,
    device,
    open_again: Callable[[object], AudioInput] | None = None,
    speaking: Callable[[], bool] = lambda: False,
) -> None:
    """The listener thread: microphone to recogniser to the coach's inbox.

    A lost microphone is reported (DeviceLost: the session pauses), looked for every REOPEN_SECONDS
    (with `open_again`, by default open_microphone),
    and reported again once one is found that really hears something (DeviceBack: it carries on).
    It is looked for only while the coach is not `speaking`: PulseAudio may put a lost microphone's
    stream on the monitor of our own speaker, which hears the coach and nothing else."""
    first = True
    while not stop.is_set():
        try:
            pcm = microphone.read(timeout=0.2)
        except AudioError as error:
            clock.post(partial(DeviceLost, "microphone", str(error)))
            microphone.close()
            found = _look_for(lambda: (open_again or open_microphone)(device), "microphone", stop, speaking)
            if found is None:
                return
            microphone = found
            clock.post(partial(DeviceBack, "microphone"))
            first = True
            continue
        if not pcm:
            continue
        now = clock.now()
        if first:
            listener.align(now, pcm)
            first = False
        else:
            listener.keep_aligned(now, pcm)
        listener.listen_for(coach.listening_for())
        for command in listener.hear(pcm, now):
            clock.post(partial(Command, command.intent, command.phrase, confidence=command.confidence))


def open_microphone(device, **options) -> AudioInput:
    """A microphone on `device` that hears something: one that opens but gives only digital
    silence (PulseAudio's monitor of a silent sink, where it moves a lost source's streams) is not
    one. `options` go to Microphone (Config.microphone_options)."""
    from voicecoach.audio.microphone import Microphone

    microphone = Microphone(device, **options)
    try:
        microphone.check_hearing()
    except AudioError:
        microphone.close()
        raise
    return microphone


def _look_for(
    open_device: Callable[[], Any], what: str, stop: threading.Event, speaking: Callable[[], bool] = lambda: False
) -> Any:
    """A lost device, opened again: `open_device` is tried every REOPEN_SECONDS (never while
    `speaking`) until it works; None once `stop` is set."""
    while not stop.wait(REOPEN_SECONDS):
        while speaking() and not stop.wait(0.1):
            pass
        try:
            return open_device()
        except AudioError as error:
            log.info("%s still missing: %s", what, error)
    return None


def open_speaker(device) -> AudioOutput:
    """A speaker on `device` that plays: one that opens on a sink that never takes sound is not one."""
    from voicecoach.audio.speaker import Speaker

    speaker = Speaker(device)
    try:
        speaker.check_playing()
    except AudioError:
        speaker.close()
        raise
    return speaker


def watch_speaker(
    spoken: SpokenOutput,
    open_speaker: Callable[[], AudioOutput],
    clock: RealClock,
    stop: threading.Event,
    poll_seconds: float = 0.5,
) -> None:
    """The speaker's watch thread: a lost speaker is reported (DeviceLost: the session pauses),
    looked for every REOPEN_SECONDS, and once one plays again it takes over (DeviceBack)."""
    while not stop.wait(poll_seconds):
        output = spoken.output
        why = getattr(output, "lost_why", "")
        if not why:
            continue
        clock.post(partial(DeviceLost, "speaker", why))
        output.close()  # what was queued is dropped, so nobody waits for it
        found = _look_for(open_speaker, "speaker", stop)
        if found is None:
            return
        spoken.replace_output(found)
        clock.post(partial(DeviceBack, "speaker"))
