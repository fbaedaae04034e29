"""Enrolment with real I/O: the dialogue's prompts spoken, each take recorded and judged, the voice
learnt and stored, and the recogniser told to use it.

The dialogue itself (what to ask, what to say about a bad take) is `core.enrolment`; the judging
and the learning are `hear.spotter`. Time here is counted in samples read, never by a clock, so a
file-backed microphone runs it as fast as it can be read and a real one at the pace it speaks; only
in a live session does it wait (on the clock) for the coach to finish saying each prompt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicecoach.audio import AudioInput
from voicecoach.core.commands import Intent
from voicecoach.core.enrolment import EnrolDialogue, Finished, Learn, Record, Speak, TakeJudged, Verdict
from voicecoach.core.events import Action, EnrolRequested
from voicecoach.hear import SAMPLE_RATE
from voicecoach.hear.spotter.adapt import Replay, Take, adapt, load_replay
from voicecoach.hear.spotter.features import Embedder
from voicecoach.hear.spotter.model import SpotterModel, load_model
from voicecoach.hear.spotter.takes import judge
from voicecoach.session.listener import Listener
from voicecoach.session.loop import RealClock, Timeline
from voicecoach.session.speech import SpokenOutput

log = logging.getLogger(__name__)

TAKE_SECONDS = 4.0  # longest wait for one take
QUIET_AFTER_SECONDS = 0.7  # a take ends this long after the speech does
SPEECH_ABOVE_ROOM_DB = 15.0


@dataclass
class VoiceLearner:
    """Judges takes against the shipped model, keeps the good ones and the room around them, and
    adapts the shipped model to them."""

    base: SpotterModel = field(default_factory=load_model)
    embedder: Embedder = field(default_factory=Embedder)
    replay: Replay | None = field(default_factory=load_replay)
    takes: list[Take] = field(default_factory=list)
    rooms: list[np.ndarray] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (what, why) of every bad take

    def judge(self, intent: Intent, samples: np.ndarray, name: str = "") -> TakeJudged:
        judged = judge(samples, intent, self.base, self.embedder)
        if judged.event.verdict is Verdict.GOOD:
            self.takes.append(Take(intent, judged.speech))
            if len(judged.room):
                self.rooms.append(judged.room)
        else:
            why = judged.event.verdict.value + (f" ({judged.event.heard})" if judged.event.heard else "")
            self.rejected.append((name or intent.value, why))
        return judged.event

    def learn(self) -> SpotterModel:
        room = np.concatenate(self.rooms) if self.rooms else None
        return adapt(self.base, self.takes, self.embedder, room, self.replay)


def record_take(microphone: AudioInput, seconds: float = TAKE_SECONDS) -> np.ndarray:
    """Up to `seconds` of audio, ending `QUIET_AFTER_SECONDS` after speech when there was some.

    Speech is a 20 ms block `SPEECH_ABOVE_ROOM_DB` over the quietest block heard so far."""
    blocks: list[np.ndarray] = []
    heard = quiet_after = 0
    floor = None
    spoke = False
    waited = 0  # reads that brought nothing: a microphone that stops sending ends the take
    while heard < seconds * SAMPLE_RATE:
        pcm = microphone.read(timeout=0.5)
        if not pcm:
            waited += 1
            if microphone.ended or waited * 0.5 > seconds + 5.0:
                break
            continue
        block = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        blocks.append(block)
        heard += len(block)
        level = 10 * np.log10((block**2).mean() + 1.0)
        floor = level if floor is None else min(floor, level)
        if level > floor + SPEECH_ABOVE_ROOM_DB:
            spoke, quiet_after = True, 0
        elif spoke:
            quiet_after += len(block)
            if quiet_after >= QUIET_AFTER_SECONDS * SAMPLE_RATE:
                break
    return np.concatenate(blocks) if blocks else np.zeros(0)


def drain(microphone: AudioInput) -> None:
    """Drop what the microphone heard while the coach spoke (its own prompt)."""
    while microphone.read(timeout=0.05):
        pass


def run_dialogue(
    dialogue: EnrolDialogue,
    say: Callable[[str], None],
    take: Callable[[Record], np.ndarray],
    learner: VoiceLearner,
    store: Callable[[SpotterModel], None],
) -> bool:
    """Run the dialogue to its end: `say` speaks a sentence and returns once it is said, `take`
    records one take; the model learnt is handed to `store`. Whether a voice was learnt."""
    actions = list(dialogue.start())
    while actions:
        action = actions.pop(0)
        if isinstance(action, Speak):
            say(action.text)
        elif isinstance(action, Record):
            event = learner.judge(action.intent, take(action), action.phrase)
            log.info("take %d of %r: %s", action.take + 1, action.phrase, event.verdict.value)
            actions += dialogue.judged(event)
        elif isinstance(action, Learn):
            try:
                model = learner.learn()
                store(model)
            except Exception:  # a failure to learn leaves the coach as it was, and says so
                log.exception("learning the voice failed")
                actions += dialogue.learnt(False)
            else:
                actions += dialogue.learnt(True)
        elif isinstance(action, Finished):
            return action.learnt
    return False


def takes_from_dir(folder: Path) -> list[tuple[str, Path]]:
    """(phrase, file) for every WAV file in `folder` named by a command phrase: `pause.wav`,
    `pause-2.wav`, `say_that_again_1.wav`. Files named otherwise are an error."""
    from voicecoach.core.commands import PHRASES

    found: list[tuple[str, Path]] = []
    unknown: list[tuple[str, Path]] = []
    for path in sorted(folder.glob("*.wav")):
        words = path.stem.replace("_", " ").replace("-", " ").split()
        while words and words[-1].isdigit():
            words.pop()
        phrase = " ".join(words).lower()
        (found if phrase in PHRASES else unknown).append((phrase, path))
    if unknown:
        from voicecoach.errors import VoicecoachError

        names = ", ".join(p.name for _, p in unknown)
        raise VoicecoachError(f"{folder}: these files are not named by a command phrase: {names}.")
    return found


class Tap:
    """An AudioInput fed by the listener while enrolment has the microphone (see Listener.divert)."""

    def __init__(self) -> None:
        import queue

        self._queue: queue.Queue[bytes] = queue.Queue()
        self.ended = False

    def put(self, pcm: bytes) -> None:
        self._queue.put(pcm)

    def read(self, timeout: float | None = None) -> bytes:
        import queue

        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return b""

    def close(self) -> None:
        self.ended = True


def spotter_of(recogniser: object) -> object | None:
    """The spotter inside a recogniser (itself, or the `spotter` of an engine that combines it), if any."""
    for candidate in (recogniser, getattr(recogniser, "spotter", None)):
        if candidate is not None and callable(getattr(candidate, "use_model", None)):
            return candidate
    return None


def enrol_in_session(
    listener: Listener,
    speaker: SpokenOutput,
    clock: RealClock,
    recogniser: object,
    learner: VoiceLearner | None = None,
    store: Callable[[SpotterModel], object] | None = None,
    wait: Callable[[float], None] = time.sleep,
    record: Callable[[AudioInput], np.ndarray] = record_take,
) -> bool:
    """ "Learn my voice" in a live session: the dialogue spoken by the coach's voice, the takes read
    from the live microphone (the listener diverts it meanwhile), the voice stored and, when the
    recogniser has a spotter, heard with at once. Whether a voice was learnt."""
    from voicecoach.hear.spotter.enrolled import save_enrolled

    tap = Tap()

    def say(text: str) -> None:
        speaker.say(text, 0, clock.now())
        wait(max(0.0, speaker.busy_until - clock.now()) + 0.3)
        drain(tap)  # the coach's own words, as the microphone heard them

    def keep(model: SpotterModel) -> None:
        (store or save_enrolled)(model)
        spotter = spotter_of(recogniser)
        if spotter is not None:
            spotter.use_model(model)  # type: ignore[attr-defined]

    listener.divert = tap.put
    try:
        return run_dialogue(EnrolDialogue(), say, lambda _: record(tap), learner or VoiceLearner(), keep)
    finally:
        listener.divert = None


OFFER = "If I ever mishear you, say: learn my voice. It takes about two minutes, and then I hear you better."


def first_offer(recogniser: object) -> str | None:
    """The sentence offering enrolment, the first time a live coach hearing with the spotter (alone
    or in a combined engine) starts with no voice learnt; None after that (the offer is remembered
    in the data directory, so a user who lets it pass is not asked again), when a voice is learnt,
    or when no spotter hears (a learnt voice would change nothing)."""
    from voicecoach.hear.spotter.enrolled import is_enrolled, offered_path

    path = offered_path()
    if spotter_of(recogniser) is None or path.exists() or is_enrolled():
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("offered\n")
    except OSError as error:  # a data directory that cannot be written: offer now, and again next time
        log.warning("cannot remember that enrolment was offered (%s)", error)
    return OFFER


def with_enrolment(
    observe: Callable[[Action], None] | None,
    listener: Listener,
    speaker: SpokenOutput,
    clock: RealClock,
    recogniser: object,
    timeline: Timeline,
) -> Callable[[Action], None]:
    """`observe` (for the loop's `run`) that also runs the enrolment dialogue when the coach hands
    over to it (EnrolRequested), and notes in the timeline whether a voice was learnt."""

    def seen(action: Action) -> None:
        if observe is not None:
            observe(action)
        if isinstance(action, EnrolRequested):
            learnt = enrol_in_session(listener, speaker, clock, recogniser)
            timeline.add(clock.now(), "enrolled", learnt=learnt)

    return seen
