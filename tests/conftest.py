"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from soundcard import SoundCardUnavailable, VirtualSoundCard

# Property tests (tests/test_coach_properties.py): "ci", the default, runs the same examples every
# time with no deadline, so a loaded machine can neither find new ones nor fail one for being slow;
# "explore" (pytest --hypothesis-profile=explore) looks much further, with fresh examples.
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

# --- The virtual sound card (tests/soundcard.py): a private PulseAudio server for audio tests. ---


@pytest.fixture(scope="session")
def soundcard() -> Iterator[VirtualSoundCard]:
    """A private PulseAudio server, shared by the session; PortAudio in this process is pointed at
    it (its `default`/`pulse` devices). Skips only when PulseAudio cannot run here at all."""
    card = VirtualSoundCard()
    try:
        card.start()
    except SoundCardUnavailable as error:
        pytest.skip(f"no virtual sound card: {error}")
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = card.server
    try:
        from voicecoach.audio.devices import list_devices

        names = [device.name for device in list_devices(rescan=True)]
        if not {"pulse", "default"} & set(names):
            pytest.fail(
                f"PortAudio does not reach the PulseAudio server (devices: {names}); "
                "install libasound2-plugins (scripts/setup.sh --test)."
            )
        yield card
    finally:
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        card.stop()
