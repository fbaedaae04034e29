"""A private PulseAudio server with virtual devices: `speaker` (play here, hear on speaker.monitor)
and `mic_feed` (inject here; the default microphone is mic_feed.monitor, with a -80 dB noise floor)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 15.0
# The feeders' buffer: a microphone's noise floor that runs dry reaches the coach as exact zeros, which
# it rightly takes for a lost microphone. 10 ms ran dry on a busy two-core machine (35% of three
# seconds was zeros); 200 ms rides out the scheduler. What a test injects or records is unaffected.
FEED_LATENCY_MS = 200
CAPTURE_RATE = 16_000


class SoundCardUnavailable(RuntimeError):
    """PulseAudio cannot run here; audio tests are skipped with this reason."""


class VirtualSoundCard:
    """Starts `pulseaudio` on a socket in a temporary directory, with two null sinks kept running by
    silent feeders (an idle null sink's monitor stalls). Point clients at it with `env`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voicecoach-pulse-"))
        self.socket = self.dir / "native"
        self.server = f"unix:{self.socket}"
        self.env = {**os.environ, "PULSE_SERVER": self.server}
        self._server: subprocess.Popen[bytes] | None = None
        self._feeders: dict[str, subprocess.Popen[bytes]] = {}
        self._log = self.dir / "pulseaudio.log"

    def start(self) -> VirtualSoundCard:
        for tool in ("pulseaudio", "pactl", "pacat", "paplay", "parecord"):
            if shutil.which(tool) is None:
                raise SoundCardUnavailable(f"{tool} is not installed (scripts/setup.sh --test)")
        home, runtime = self.dir / "home", self.dir / "runtime"
        home.mkdir()
        runtime.mkdir(mode=0o700)
        server_env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
        server_env.pop("PULSE_SERVER", None)
        command = [
            "pulseaudio", "--daemonize=no", "--system=no", "--exit-idle-time=-1",
            "--enable-memfd=no", "--disable-shm=yes", "--realtime=no", "--high-priority=no",
            "--log-target=stderr", "-n",
            f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            "--load=module-null-sink sink_name=speaker rate=44100",
            "--load=module-null-sink sink_name=mic_feed rate=44100",
        ]  # fmt: skip
        with open(self._log, "wb") as log_file:
            self._server = subprocess.Popen(
                command, env=server_env, stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._answers():
            if self._server.poll() is not None or time.monotonic() > deadline:
                tail = self._log.read_text(errors="replace").strip().splitlines()[-3:]
                self.stop()
                raise SoundCardUnavailable(f"pulseaudio did not start: {' | '.join(tail)}")
            time.sleep(0.05)
        self.pactl("set-default-sink", "speaker")
        self.pactl("set-default-source", "mic_feed.monitor")
        self.keep_running("speaker")  # silent: what we capture from its monitor is only ours
        self.keep_running("mic_feed", noise=True)  # like a real microphone: never exact zeros
        return self

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        result = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=5)
        return result.returncode == 0

    def pactl(self, *args: str) -> str:
        result = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10, check=True)
        return result.stdout.strip()

    def keep_running(self, sink: str, noise: bool = False) -> None:
        """Play into `sink` for ever, with a buffer that rides out a busy machine, so its monitor keeps flowing: digital silence,
        or with `noise` a microphone's noise floor (white noise at about -80 dBFS)."""
        feed: subprocess.Popen[bytes] | None = None
        if noise:
            feed = subprocess.Popen(
                ["sox", "-q", "-n", "-r", "44100", "-c", "2", "-b", "16", "-e", "signed-integer",
                 "-t", "raw", "-", "synth", "whitenoise", "vol", "0.0001"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            self._feeders[f"{sink}-noise"] = feed
        player = subprocess.Popen(
            ["pacat", f"--latency-msec={FEED_LATENCY_MS}", "-d", sink], env=self.env,
            stdin=feed.stdout if feed else open("/dev/zero", "rb"),  # noqa: SIM115
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if feed is not None and feed.stdout is not None:
            feed.stdout.close()  # the player holds the pipe now
        self._feeders[sink] = player

    def add_sink(self, name: str, noise: bool = True) -> int:
        """Load one more null sink, fed like mic_feed; the module index, for remove_sink."""
        index = int(self.pactl("load-module", "module-null-sink", f"sink_name={name}", "rate=44100"))
        self.keep_running(name, noise=noise)
        return index

    def remove_sink(self, name: str, index: int) -> None:
        """Unplug a sink from add_sink: its feeders stop first (PulseAudio would move them to
        another sink), then its module goes, and streams on its monitor move to the default source."""
        for key in (name, f"{name}-noise"):
            feeder = self._feeders.pop(key, None)
            if feeder is not None:
                feeder.kill()
                feeder.wait(timeout=5)
        self.pactl("unload-module", str(index))

    def module_of(self, sink: str) -> int:
        """The module index of the null sink named `sink`."""
        for line in self.pactl("list", "short", "modules").splitlines():
            if f"sink_name={sink}" in line.split("\t", 2)[-1].split():
                return int(line.split()[0])
        raise KeyError(sink)

    def unplug_microphone(self) -> None:
        """Take mic_feed away, as a USB microphone pulled out: PulseAudio moves the streams of its
        monitor to what is left, here speaker.monitor (the coach's own voice, silence in between)."""
        self.remove_sink("mic_feed", self.module_of("mic_feed"))

    def plug_microphone(self) -> None:
        """Put mic_feed back, with its noise floor, as the default source again."""
        self.add_sink("mic_feed", noise=True)
        self.pactl("set-default-source", "mic_feed.monitor")

    def unplug_speaker(self) -> None:
        """Take the speaker away. PulseAudio would move its streams to the default sink, here
        mic_feed, the microphone's own input, which no room has; so a sink that takes no sound (a
        suspended one, like a device gone) becomes the default first, and they fall into it."""
        if "nowhere" not in self.pactl("list", "short", "sinks"):
            self.pactl("load-module", "module-null-sink", "sink_name=nowhere", "rate=44100")
        self.pactl("suspend-sink", "nowhere", "1")
        self.pactl("set-default-sink", "nowhere")
        self.remove_sink("speaker", self.module_of("speaker"))

    def plug_speaker(self) -> None:
        """Put the speaker back (kept running by a silent feeder) as the default sink."""
        self.add_sink("speaker", noise=False)
        self.pactl("set-default-sink", "speaker")

    def inject(self, wav: Path, sink: str = "mic_feed") -> subprocess.Popen[bytes]:
        """Start playing a WAV file into `sink` (the microphone hears it); returns the player."""
        return subprocess.Popen(
            ["paplay", "--latency-msec=20", "-d", sink, str(wav)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    @contextlib.contextmanager
    def capture(self, source: str = "speaker.monitor") -> Iterator[Capture]:
        """Record `source` as 16 kHz mono int16 while the block runs; the result is in .samples."""
        path = Path(tempfile.mkstemp(dir=self.dir, suffix=".raw")[1])
        recorder = subprocess.Popen(
            ["parecord", "--raw", "--latency-msec=20", "--format=s16le", "--channels=1",
             f"--rate={CAPTURE_RATE}", "-d", source, str(path)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        result = Capture()
        try:
            # parecord needs a moment to connect; wait until it has written something.
            deadline = time.monotonic() + 5.0
            while path.stat().st_size < CAPTURE_RATE * 2 // 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            yield result
        finally:
            time.sleep(0.2)  # let the last of the sound reach the monitor
            recorder.terminate()
            recorder.wait(timeout=5)
            result.samples = np.fromfile(path, dtype="<i2")

    def stop(self) -> None:
        for feeder in self._feeders.values():
            feeder.terminate()
        for feeder in self._feeders.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                feeder.wait(timeout=5)
        self._feeders.clear()
        if self._server is not None and self._server.poll() is None:
            self._server.terminate()
            try:
                self._server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Capture:
    """What a capture() recorded: 16 kHz mono int16 samples, filled in when the block ends."""

    def __init__(self) -> None:
        self.samples = np.zeros(0, dtype=np.int16)
        self.sample_rate = CAPTURE_RATE

    def sound_span_seconds(self, threshold: int = 300) -> tuple[float, float] | None:
        """(first, last) time in seconds where the level exceeds `threshold`, or None if silent."""
        loud = np.flatnonzero(np.abs(self.samples.astype(np.int32)) > threshold)
        if len(loud) == 0:
            return None
        return loud[0] / self.sample_rate, loud[-1] / self.sample_rate
