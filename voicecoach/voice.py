"""Hearing and speaking for real: the coach wired to a recogniser, a synthesiser and audio devices.

`simulate_from_wav` drives everything from a microphone recording, with a clock that follows the
audio, faster than real time; `run_voice` does the same live, with a listener thread reading the
microphone. Both put the coach's speech through the EchoGuard so it does not obey its own voice.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.audio import AudioInput, AudioOutput
from voicecoach.bargein import EchoGuard
from voicecoach.coach import Coach
from voicecoach.config import Config
from voicecoach.commands import Intent
from voicecoach.errors import AudioError
from voicecoach.events import Command, SpeechFinished
from voicecoach.hear import SAMPLE_RATE, Heard, Recogniser
from voicecoach.hear.echo import EchoCanceller
from voicecoach.hear.reference import EchoPresence, ReferenceTrack
from voicecoach.loader import Library
from voicecoach.loop import Announce, Clock, DeviceBack, DeviceLost, Entry, RealClock, Timeline, VirtualClock, run
from voicecoach.simulate import Said
from voicecoach.speak import Synthesiser

if TYPE_CHECKING:
    from voicecoach.history import History

log = logging.getLogger(__name__)
REOPEN_SECONDS = 2.0  # how often a lost device is looked for
REALIGN_SECONDS = (1.0, 30.0)  # of audio: how often the listener checks the microphone's time against the
# clock, at first (the first chunks may have waited in the queue for seconds) and at most (the window doubles)
ALIGN_TOLERANCE_SECONDS = 0.01


class SpokenOutput:
    """The loop's Speaker: renders each utterance and plays it through our own output stream.

    With a virtual clock the utterance is finished when its audio would end; with a real one, when
    the output stream says so. Either way the EchoGuard learns what is said and when."""

    def __init__(self, synthesiser: Synthesiser, output: AudioOutput, clock: Clock, guard: EchoGuard,
                 virtual: bool, reference: ReferenceTrack | None = None):
        self.synthesiser, self.output, self.clock, self.guard = synthesiser, output, clock, guard
        self.virtual = virtual
        self.reference = reference
        self._busy_until = 0.0

    def say(self, text: str, utterance: int, now: float) -> None:
        self._play(self.synthesiser.render(text), utterance, now)

    def cue(self, name: str, now: float) -> None:
        from voicecoach.speak.tones import tone

        self._play(tone(name), 0, now)

    def stop(self, now: float) -> None:
        self.output.stop()
        self._busy_until = now
        self.guard.cut(now)
        if self.reference is not None:
            self.reference.cut(now)

    def _play(self, audio, utterance: int, now: float) -> None:
        start = max(now, self._busy_until)
        end = self._busy_until = start + audio.duration_seconds
        if audio.text:
            self.guard.spoke(audio.text, start, end)
        if self.reference is not None:
            self.reference.add(audio.samples, audio.sample_rate, start)
        if self.virtual:
            self.output.play(audio)
            if utterance:
                self.clock.schedule(end, SpeechFinished(utterance, end))
            return

        def done(complete: bool, text: str = audio.text) -> None:
            if complete and text:
                self.guard.finished(text, self.clock.now())
            if utterance:
                self.clock.post(lambda at: SpeechFinished(utterance, at))

        try:
            self.output.play(audio, on_done=done)
        except AudioError as error:  # the speaker is gone: nothing is heard, the coach is not kept waiting
            log.warning("not said, %s: %r", error, audio.text)
            self._busy_until = now
            done(False)

    def replace_output(self, output: AudioOutput) -> AudioOutput:
        """Play through `output` from now on (a speaker found again); returns the old one."""
        old, self.output = self.output, output
        self._busy_until = self.clock.now()
        return old


class Listener:
    """Feeds microphone audio to the recogniser and judges what it hears against the EchoGuard.

    With an echo canceller and the reference track, the coach's own voice is first taken out of
    the audio. Heard times are in the audio; `origin` is the session time at which it began."""

    def __init__(self, recogniser: Recogniser, guard: EchoGuard, timeline: Timeline, origin: float = 0.0,
                 canceller: EchoCanceller | None = None, reference: ReferenceTrack | None = None):
        self.recogniser, self.guard, self.timeline, self.origin = recogniser, guard, timeline, origin
        self.canceller, self.reference = canceller, reference
        self.echo = EchoPresence()
        self._cancelling = False
        self._intents: frozenset[Intent] | None = None
        self.fed_seconds = 0.0  # audio fed to the recogniser so far
        self._least_lag = float("inf")
        self._window_from = 0.0
        self._window_seconds = REALIGN_SECONDS[0]

    def align(self, now: float, pcm: bytes) -> None:
        """A microphone (re)opened and `pcm` is its first chunk, read at session time `now`."""
        self.origin = now - self.fed_seconds - len(pcm) / 2 / SAMPLE_RATE
        self._least_lag, self._window_from = float("inf"), self.fed_seconds
        self._window_seconds = REALIGN_SECONDS[0]

    def keep_aligned(self, now: float, pcm: bytes) -> float:
        """`pcm` is the next chunk, read at session time `now`: keep the microphone's time on the clock.

        The microphone counts time in samples, the clock in seconds, and the two never quite agree
        (a sound card's crystal is off by up to 100 ppm, about 3 s in 8 hours), nor does the first
        chunk come fresh (it may have waited in the queue). So the lag of each chunk, how long after
        its last sample it was read, is watched, and at the end of each window of audio (one second
        at first, doubling up to thirty) the least lag seen, that of the chunk read at once, is taken
        out. Returns this chunk's lag."""
        lag = now - (self.origin + self.fed_seconds + len(pcm) / 2 / SAMPLE_RATE)
        self._least_lag = min(self._least_lag, lag)
        if self.fed_seconds - self._window_from >= self._window_seconds:
            if abs(self._least_lag) > ALIGN_TOLERANCE_SECONDS:
                log.debug("microphone time off the clock by %.0f ms; realigned", 1000 * self._least_lag)
                self.origin += self._least_lag
            self._least_lag, self._window_from = float("inf"), self.fed_seconds
            self._window_seconds = min(2 * self._window_seconds, REALIGN_SECONDS[1])
        return lag

    def listen_for(self, intents: frozenset[Intent]) -> None:
        if intents != self._intents:
            self._intents = intents
            self.recogniser.listen_for(intents)

    def hear(self, pcm: bytes, now: float, final: bool = False) -> list[Command]:
        """Commands heard in this chunk, stamped `now` (when they were recognised)."""
        if self.canceller is not None and self.reference is not None and pcm:
            played = self.reference.read(self.origin + self.fed_seconds, len(pcm) // 2)
            cleaned = self.canceller.process(pcm, played)  # always run, so it stays converged
            if self.echo.update(pcm, played) != self._cancelling:
                self._cancelling = self.echo.present
                log.info("echo %s (correlation %.2f): %s", "found" if self._cancelling else "gone",
                         self.echo.correlation, "cancelling it" if self._cancelling else "using the raw microphone")
            if self._cancelling:
                pcm = cleaned
        self.fed_seconds += len(pcm) / 2 / SAMPLE_RATE
        heard = self.recogniser.flush() if final else self.recogniser.feed(pcm)
        return [command for h in heard if (command := self._judge(h, now)) is not None]

    def _judge(self, heard: Heard, now: float) -> Command | None:
        lag = self.canceller.delay_samples / SAMPLE_RATE if self._cancelling and self.canceller else 0.0
        start, end = self.origin + heard.start_seconds - lag, self.origin + heard.end_seconds - lag
        reason = self.guard.verdict(heard.intent, heard.phrase, start, end)
        if reason is not None:
            self.timeline.add(now, "ignored", phrase=heard.phrase, intent=heard.intent.value,
                              confidence=round(heard.confidence, 3), reason=reason)
            return None
        log.info("heard %r (%s, %.2f), %.0f ms after it ended", heard.phrase, heard.intent.value,
                 heard.confidence, 1000 * (now - end))
        return Command(heard.intent, heard.phrase, now, heard.confidence)


def simulate_from_wav(
    library: Library, routine: str, wav: Path, said: list[Said] = (), *, show: Callable[[Entry], None] | None = None,
    engine: str = "auto", model: Path | None = None, speaker_out: Path | None = None,
    recogniser: Recogniser | None = None, synthesiser: Synthesiser | None = None,
    echo: str = "auto", room_echo_db: float | None = None, settings: Config | None = None,
) -> Timeline:
    """`voicecoach simulate --mic IN.wav`: the real recogniser and synthesiser, a clock that follows
    the audio; when the recording ends the session goes on in virtual time until it finishes.

    `echo` chooses the echo canceller ("auto", "livekit", "none"). `room_echo_db` simulates a room:
    the coach's own voice is added to the microphone at that level (e.g. -10), 40 ms late."""
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.audio.fakes import RecordingSpeaker, WavMicrophone
    from voicecoach.hear.engines import open_recogniser
    from voicecoach.speak.tts import PyttsxSynthesiser

    microphone = WavMicrophone(wav, chunk_seconds=0.05)
    recogniser = recogniser or open_recogniser(engine, model)
    clock = VirtualClock()
    for s in said:
        clock.schedule(s.seconds, Command(s.intent, s.phrase, s.seconds))
    settings = settings or Config()
    guard = EchoGuard(settings.guard_settings())
    timeline = Timeline(show)
    recording = RecordingSpeaker(clock=clock.now)
    reference = ReferenceTrack()
    speaker = SpokenOutput(synthesiser or PyttsxSynthesiser(settings.voice_settings()), recording, clock, guard,
                           virtual=True, reference=reference)
    coach = Coach(library, routine, settings.pace())
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(echo), reference=reference)
    room = _Room(reference, room_echo_db) if room_echo_db is not None else None
    ended = run(coach, clock, speaker, timeline, start=True, until=0.0)
    while ended is None and not microphone.ended:
        start = microphone.position_seconds
        pcm = microphone.read()
        now = microphone.position_seconds
        ended = run(coach, clock, speaker, timeline, start=False, until=now)  # what plays during the chunk
        if ended is None:
            if room is not None:
                pcm = room.leak(pcm, start)
            listener.listen_for(coach.listening_for())
            ended = _act_on(listener.hear(pcm, now), coach, clock, speaker, timeline)
    if ended is None:
        ended = _act_on(listener.hear(b"", clock.now(), final=True), coach, clock, speaker, timeline)
    if ended is None:
        run(coach, clock, speaker, timeline, start=False)
    if speaker_out:
        recording.write_wav(Path(speaker_out))
    return timeline


class _Room:
    """A simulated room: the speaker's sound reaches the microphone, quieter and a little late."""

    DELAY_SECONDS = 0.04

    def __init__(self, reference: ReferenceTrack, level_db: float):
        self.reference, self.gain = reference, 10 ** (level_db / 20)

    def leak(self, pcm: bytes, start: float) -> bytes:
        import numpy as np

        played = np.frombuffer(self.reference.read(start - self.DELAY_SECONDS, len(pcm) // 2), dtype="<i2")
        mixed = np.frombuffer(pcm, dtype="<i2").astype(np.float32) + self.gain * played
        return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()


def _act_on(commands: list[Command], coach: Coach, clock: VirtualClock, speaker: SpokenOutput, timeline: Timeline):
    for command in commands:
        clock.schedule(command.now, command)
    return run(coach, clock, speaker, timeline, start=False, until=clock.now()) if commands else None


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
    from voicecoach.cli import describe, keep_history
    from voicecoach.hear.echo import make_echo_canceller
    from voicecoach.hear.engines import open_recogniser
    from voicecoach.speak.tts import BREATHING_CUES, COUNTS, PyttsxSynthesiser

    settings: Config = args.settings
    output = Speaker(settings.output)  # no device: one sentence suggesting --text, before anything slow
    microphone = Microphone(settings.input, **settings.microphone_options())
    recogniser = open_configured_recogniser(settings)
    synthesiser = PyttsxSynthesiser(settings.voice_settings())
    synthesiser.prerender(COUNTS + BREATHING_CUES)
    clock = RealClock()
    guard = EchoGuard(settings.guard_settings())
    timeline = Timeline(lambda entry: print(describe(entry), flush=True))
    reference = ReferenceTrack()
    speaker = SpokenOutput(synthesiser, output, clock, guard, virtual=False, reference=reference)
    coach = Coach(library, routine, settings.pace())
    listener = Listener(recogniser, guard, timeline, canceller=make_echo_canceller(args.echo), reference=reference)
    stop = threading.Event()
    routine_name = library.routine(routine).name.lower()
    clock.post(lambda now: Announce(f"Ready. Say start to begin the {routine_name}.", now))
    threads = start_watching(microphone, listener, coach, clock, speaker, settings, stop)
    try:
        run(coach, clock, speaker, timeline, start=False, observe=keep_history(history, library, coach))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2.0)
        speaker.output.close()
    return 0


def start_watching(microphone: AudioInput, listener: Listener, coach: Coach, clock: RealClock,
                   speaker: SpokenOutput, settings: Config, stop: threading.Event) -> list[threading.Thread]:
    """Start the listener thread (`listen`) and the speaker's watch (`watch_speaker`) until `stop`:
    lost devices are reported to the session, looked for, and taken back when they work."""
    threads = [
        threading.Thread(
            target=listen, args=(microphone, listener, coach, clock, stop, settings.input), name="listener",
            kwargs={"speaking": lambda: speaker.output.now_playing is not None,
                    "open_again": lambda device: open_microphone(device, **settings.microphone_options())},
            daemon=True),
        threading.Thread(target=watch_speaker, args=(speaker, lambda: open_speaker(settings.output), clock, stop),
                         name="speaker-watch", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return threads


def listen(microphone: AudioInput, listener: Listener, coach: Coach, clock: RealClock,
            stop: threading.Event, device, open_again: Callable[[object], AudioInput] | None = None,
            speaking: Callable[[], bool] = lambda: False) -> None:
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
            clock.post(lambda now, why=str(error): DeviceLost("microphone", why, now))
            microphone.close()
            found = _look_for(lambda: (open_again or open_microphone)(device), "microphone", stop, speaking)
            if found is None:
                return
            microphone = found
            clock.post(lambda now: DeviceBack("microphone", now))
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
            clock.post(lambda now, c=command: Command(c.intent, c.phrase, now, c.confidence))


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


def _look_for(open_device: Callable[[], Any], what: str, stop: threading.Event,
              speaking: Callable[[], bool] = lambda: False) -> Any:
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


def watch_speaker(spoken: SpokenOutput, open_speaker: Callable[[], AudioOutput], clock: RealClock,
                  stop: threading.Event, poll_seconds: float = 0.5) -> None:
    """The speaker's watch thread: a lost speaker is reported (DeviceLost: the session pauses),
    looked for every REOPEN_SECONDS, and once one plays again it takes over (DeviceBack)."""
    while not stop.wait(poll_seconds):
        output = spoken.output
        why = getattr(output, "lost_why", "")
        if not why:
            continue
        clock.post(lambda now, why=why: DeviceLost("speaker", why, now))
        output.close()  # what was queued is dropped, so nobody waits for it
        found = _look_for(open_speaker, "speaker", stop)
        if found is None:
            return
        spoken.replace_output(found)
        clock.post(lambda now: DeviceBack("speaker", now))
