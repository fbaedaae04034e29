"""Text to speech with pyttsx3 (espeak-ng), rendered to files and cached on disk, never played."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.errors import AudioError
from voicecoach.speak import Audio, CachingSynthesiser, RenderProgress, Synthesiser, VoiceSettings, render_missing
from voicecoach.speak.tones import tone

__all__ = [
    "Audio",
    "PyttsxSynthesiser",
    "Synthesiser",
    "VoiceSettings",
    "default_cache_dir",
    "read_wav",
    "tone",
    "wav_complete",
    "write_wav",
]

log = logging.getLogger(__name__)

# What the coach says often enough to be worth rendering before the first exercise.
COUNTS = (
    "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen", "Twenty", "Twenty-one", "Twenty-two", "Twenty-three", "Twenty-four",
    "Twenty-five", "Twenty-six", "Twenty-seven", "Twenty-eight", "Twenty-nine", "Thirty",
)  # fmt: skip
BREATHING_CUES = ("Breathe in", "Breathe out", "Hold", "Relax")

RENDER_TIMEOUT_SECONDS = 30.0
SETTINGS_TIMEOUT_SECONDS = 5.0
_CACHE_FORMAT = 1
# espeak-ng can be initialised once per process and has one global synthesis callback: one render
# at a time, whichever synthesiser asks.
_ENGINE_LOCK = threading.Lock()
_ENGINES: dict[str, Any] = {}


def default_cache_dir() -> Path:
    """The per-user cache: $XDG_CACHE_HOME/voicecoach, else ~/.cache/voicecoach."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicecoach"


def read_wav(path: Path, text: str = "") -> Audio:
    """A 16-bit WAV file as Audio (stereo is mixed down to mono)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise AudioError(f"{path} is not a 16-bit WAV file.")
        frames = wav.readframes(wav.getnframes())
        channels, rate = wav.getnchannels(), wav.getframerate()
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).round()
    return Audio(samples=samples.astype(np.int16), sample_rate=rate, text=text)


def write_wav(path: Path, audio: Audio) -> None:
    """Write Audio as a mono 16-bit WAV file, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(audio.sample_rate)
            wav.writeframes(audio.samples.astype("<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _engine_version() -> str:
    """pyttsx3 and espeak-ng versions: a new engine may say the same text differently."""
    try:
        pyttsx3_version = metadata.version("pyttsx3")
    except metadata.PackageNotFoundError:
        pyttsx3_version = "unknown"
    espeak_version = "unknown"
    with contextlib.suppress(Exception):
        from pyttsx3.drivers import _espeak

        espeak_version = (_espeak.Info(None) or b"").decode("utf-8", "replace") or "unknown"
    return f"pyttsx3 {pyttsx3_version}; espeak-ng {espeak_version}"


def wav_complete(path: Path) -> bool:
    """True once the WAV file is whole: header readable and all announced frames present."""
    try:
        with wave.open(str(path), "rb") as wav:
            expected = wav.getnframes() * wav.getnchannels() * wav.getsampwidth()
            return len(wav.readframes(wav.getnframes())) == expected
    except (OSError, EOFError, wave.Error):
        return False


@functools.cache
def _espeak_bindings() -> tuple[Any, Callable[[int], int] | None] | None:
    """pyttsx3's espeak-ng bindings, and espeak_GetParameter(parameter, current=1) from them (None
    if it cannot be had); None for a pyttsx3 without them. Looked up once.

    pyttsx3 declares GetParameter with one argument; the value "as set by SetParameter" needs the
    second."""
    try:
        from pyttsx3.drivers import _espeak
    except Exception:  # another driver, or a pyttsx3 laid out differently: nothing to wait for
        return None
    try:
        reader = _espeak.dll.espeak_GetParameter
        reader.argtypes = [ctypes.c_int, ctypes.c_int]
        reader.restype = ctypes.c_int
    except Exception:  # nothing to read: wait for idle only
        return _espeak, None
    return _espeak, lambda parameter: reader(parameter, 1)


def _espeak_settled(settings: VoiceSettings | None = None) -> bool:
    """Wait until espeak-ng's command queue is idle (and has applied the rate and volume of
    `settings`, if given); False on time-out.

    pyttsx3 hands settings to espeak-ng's asynchronous queue, and runAndWait() begins by
    cancelling whatever is still there, settings included, and leaves a flag that cancels the
    utterance after: a render then came out at the previous rate or volume (about one render in
    a hundred here), or empty. So nothing may be queued when runAndWait() starts."""
    bindings = _espeak_bindings()
    if bindings is None:
        return True
    espeak, read = bindings
    wanted = {}
    if settings is not None and read is not None:
        wanted = {espeak.RATE: settings.rate_wpm, espeak.VOLUME: int(round(settings.volume * 100))}
    deadline = time.monotonic() + SETTINGS_TIMEOUT_SECONDS
    idle_checks = 0
    while time.monotonic() < deadline:
        # IsPlaying() is false for a moment between a command queued and the command taken up.
        idle_checks = idle_checks + 1 if not espeak.IsPlaying() else 0
        if idle_checks >= 3 and (read is None or all(read(key) == value for key, value in wanted.items())):
            return True
        time.sleep(0.001)
    return False


def _engine_for(driver: str) -> Any:
    """The process's one pyttsx3 engine for the driver, created on first use and kept for good.

    pyttsx3 keeps engines only weakly, and a collected engine clears espeak-ng's one global
    synthesis callback, whichever engine set it; a fresh engine also queues commands until its
    first loop has run. One engine, primed once, avoids both. Call with _ENGINE_LOCK held."""
    if driver not in _ENGINES:
        try:
            import pyttsx3

            engine = pyttsx3.init(driver)
        except Exception as error:  # pyttsx3 raises whatever its driver raises
            raise AudioError(
                f"Could not start the {driver} speech engine ({error}); install espeak-ng with scripts/setup.sh."
            ) from error
        if engine.isBusy():  # an empty loop, so settings reach the driver at once from now on
            _espeak_settled()  # the driver's own start-up settings
            engine.runAndWait()
        if not _ENGINES:
            atexit.register(_release_engines)
        _ENGINES[driver] = engine
    return _ENGINES[driver]


def _release_engines() -> None:
    """Let the engines go while Python is whole: at interpreter shutdown pyttsx3's clean-up
    found its modules gone and printed an ignored exception. (Not collected here: a forced
    collection at exit, with audio threads still running, killed the appliance with SIGILL.)"""
    _ENGINES.clear()


class CachedRenders:
    """What every synthesiser here shares: a phrase is rendered once, then kept on disk (so a restart
    finds it) and in memory (so a count lands on time). A subclass says where a phrase is cached
    (`cache_path`, whose name is its key) and renders one that is not (`_render_uncached`, which
    leaves the phrase as a WAV file at that path)."""

    _memory: dict[str, Audio]

    def cache_path(self, text: str) -> Path:
        raise NotImplementedError

    def _render_uncached(self, text: str, path: Path) -> Audio:
        raise NotImplementedError

    def render(self, text: str) -> Audio:
        """The phrase as Audio: from memory, else from the disk cache, else rendered now."""
        text = " ".join(text.split())
        if not text:
            return Audio(samples=np.zeros(0, dtype=np.int16), sample_rate=22_050, text="")
        path = self.cache_path(text)
        if path.name in self._memory:
            return self._memory[path.name]
        audio = read_wav(path, text) if wav_complete(path) else None
        if audio is None:
            audio = self._render_uncached(text, path)
        self._memory[path.name] = audio
        return audio

    def is_cached(self, text: str) -> bool:
        """Whether the phrase would come from memory or the disk cache (or is empty)."""
        text = " ".join(text.split())
        return not text or self.cache_path(text).name in self._memory or wav_complete(self.cache_path(text))

    def prerender(self, texts: Iterable[str] = COUNTS + BREATHING_CUES, progress: RenderProgress | None = None) -> int:
        """Render every phrase not yet cached (at start-up, so counts land on time); how many were
        rendered afresh. `progress` is told (done, to do) over those phrases only, and not at all
        when everything is cached."""
        return render_missing(self, texts, progress)


class PyttsxSynthesiser(CachedRenders):
    """Renders phrases with pyttsx3's espeak-ng driver into a disk cache; implements Synthesiser."""

    def __init__(
        self,
        settings: VoiceSettings | None = None,
        cache_dir: Path | None = None,
        driver: str = "espeak",
    ) -> None:
        self.settings = settings or VoiceSettings()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.driver = driver
        self.engine_renders = 0  # how many phrases the engine rendered (cache misses)
        self._resolved_voice: str | None = None
        self._version: str | None = None
        self._memory: dict[str, Audio] = {}

    def cache_path(self, text: str) -> Path:
        """Where the phrase's audio is cached for these settings and this engine version."""
        if self._version is None:
            self._version = _engine_version()
        key = json.dumps(
            [_CACHE_FORMAT, text, self.settings.voice, self.settings.rate_wpm,
             self.settings.volume, self.driver, self._version],
        )  # fmt: skip
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.cache_dir / "tts" / f"{digest}.wav"

    def _render_uncached(self, text: str, path: Path) -> Audio:
        """Render with the engine; an empty render (espeak-ng cancelled it) is tried once more."""
        audio = self._render_once(text, path)
        if len(audio.samples) == 0:
            log.warning("espeak-ng rendered %r as nothing; rendering it again", text)
            audio = self._render_once(text, path)
        if len(audio.samples) == 0:
            raise AudioError(f"espeak-ng rendered {text!r} as silence.")
        return audio

    def _render_once(self, text: str, path: Path) -> Audio:
        started = time.monotonic()
        with _ENGINE_LOCK:
            engine = _engine_for(self.driver)
            self._apply_settings(engine)
            finished = threading.Event()
            token = engine.connect("finished-utterance", lambda **_: finished.set())
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".render.wav")
            os.close(fd)
            os.unlink(tmp_name)  # the engine creates it; its presence then means "written"
            tmp = Path(tmp_name)
            try:
                # The espeak driver prints "Audio saved to ..." on stdout; keep stdout for the user.
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.save_to_file(text, str(tmp))
                    engine.runAndWait()
                    # runAndWait() may return before the file is written: wait for both signs.
                    deadline = time.monotonic() + RENDER_TIMEOUT_SECONDS
                    while not (finished.is_set() and wav_complete(tmp)):
                        if time.monotonic() > deadline:
                            raise AudioError(f"espeak-ng did not finish saying {text!r} in time.")
                        time.sleep(0.005)
                audio = read_wav(tmp, text)
                if len(audio.samples):  # an empty render is never cached
                    os.replace(tmp, path)
            finally:
                engine.disconnect(token)
                with contextlib.suppress(OSError):
                    tmp.unlink()
        self.engine_renders += 1
        log.debug(
            "rendered %r (%.2f s of audio) in %.3f s",
            text, audio.duration_seconds, time.monotonic() - started,
        )  # fmt: skip
        return audio

    def _apply_settings(self, engine: Any) -> None:
        if self._resolved_voice is None:
            self._resolved_voice = self._voice_id(engine)
        for attempt in range(3):
            engine.setProperty("voice", self._resolved_voice)
            engine.setProperty("rate", self.settings.rate_wpm)
            engine.setProperty("volume", self.settings.volume)
            if self.driver != "espeak" or _espeak_settled(self.settings):
                return
            log.warning("espeak-ng did not take the voice settings; trying again (%d)", attempt + 1)
        raise AudioError("espeak-ng did not take the speaking rate and volume.")

    def _voice_id(self, engine: Any) -> str:
        """The installed voice the settings name: by id ("gmw/en-us"), by its last part ("en-us")
        or by its name ("English (America)"). espeak-ng ignores unknown names, so we check."""
        wanted = self.settings.voice.strip().lower()
        voices = engine.getProperty("voices")
        for voice in voices:
            voice_id = str(voice.id).lower()
            if wanted in (voice_id, voice_id.rsplit("/", 1)[-1], str(voice.name).lower()):
                return str(voice.id)
        raise AudioError(
            f"espeak-ng has no voice {self.settings.voice!r}; `espeak-ng --voices` lists the installed ones."
        )


def _check_protocol(synthesiser: PyttsxSynthesiser) -> CachingSynthesiser:
    return synthesiser  # type-checks that PyttsxSynthesiser implements CachingSynthesiser
