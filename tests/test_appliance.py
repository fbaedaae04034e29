"""The appliance as it runs on a Pi, on the virtual sound card: greets, coaches, survives kill -9."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (scripts/setup.sh --test)")


class Appliance:
    """`voicecoach serve` in a child process, with its output lines collected as they come."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "serve", "--routine", "short"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never came; the appliance said:\n" + "\n".join(self.seen))


def say(soundcard, tmp_path: Path, text: str) -> None:
    wav = tmp_path / f"{text.replace(' ', '_')}.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(wav)], check=True)
    soundcard.inject(wav).wait(timeout=10)


def test_it_greets_coaches_and_after_kill_9_offers_to_carry_on_where_it_stopped(tmp_path, soundcard):
    env = {**soundcard.env, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = Appliance(env)
    try:
        first.wait_for("coach  Hello. Say start when you're ready for the short routine.")
        time.sleep(4.0)  # the greeting has been spoken
        say(soundcard, tmp_path, "start")
        first.wait_for('user   "start" (start')
        first.wait_for("state  active · pelvic_tilt", timeout=90)
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)

    second = Appliance(env)
    try:
        second.wait_for("coach  We stopped during pelvic tilt. Carry on from there? Say yes, or no.")
        time.sleep(6.0)  # "Hello." and the question have been spoken
        say(soundcard, tmp_path, "yes")
        second.wait_for('user   "yes" (yes')
        second.wait_for("coach  Carrying on with pelvic tilt.")
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=20) == 0, "SIGTERM ends it cleanly"
    finally:
        second.process.kill()
