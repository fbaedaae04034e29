"""Devices lost and found mid-session: the events the device threads post, and what the loop makes of them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from voicecoach.core.coach import ACTIVE, ASKING, PAUSED
from voicecoach.core.commands import Intent
from voicecoach.core.events import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceLost:
    """Not for the coach: the microphone or the speaker (`device`) went away, `why`."""

    device: str
    why: str
    now: float


@dataclass(frozen=True)
class DeviceBack:
    """Not for the coach: a lost device works again."""

    device: str
    now: float


LOST_TEXT = {
    "microphone": "I can't hear the microphone. I'll carry on when it is back.",
    "speaker": "I lost the speaker. I'll carry on when it is back.",
}
BACK_TEXT = {"microphone": "I can hear you again.", "speaker": "The speaker is back."}


class Faults:
    """The devices that are missing, and whether the session was paused for them.

    A device lost mid-session pauses it (the coach hears "pause", as if the user had said it) and is
    announced, through the speaker if that still works, and always in the timeline and the log.
    Once every lost device is back, the session resumes, but only if it was paused for them and is
    still paused: a user who paused, stopped or resumed by voice meanwhile keeps what they chose."""

    def __init__(self) -> None:
        self.missing: dict[str, str] = {}
        self.paused_session = False
        self.question: tuple[tuple, str] | None = None  # asked while idle, set aside until all are back

    def is_news(self, event: DeviceLost | DeviceBack) -> bool:
        """Whether `event` changes what is known: a device not yet missing lost, or a missing one back
        (a loss reported twice is one loss)."""
        return isinstance(event, DeviceLost) != (event.device in self.missing)

    def handle(self, event: DeviceLost | DeviceBack, state: str) -> tuple[Command | None, str | None]:
        """Record `event` (news, see `is_news`), the coach being in `state`: the command to give the
        coach for it (a pause, a resume, or None) and what to say about it (None if the speaker is
        missing)."""
        now, device = event.now, event.device
        command = None
        if isinstance(event, DeviceLost):
            self.missing[device] = event.why
            log.warning("the %s is lost (%s); waiting for it", device, event.why)
            if state in (ACTIVE, ASKING) and not self.paused_session:
                self.paused_session = True
                command = Command(Intent.PAUSE, f"({device} lost)", now)
            text = LOST_TEXT[device]
        else:
            del self.missing[device]
            log.warning("the %s is back", device)
            if not self.missing and self.paused_session:
                self.paused_session = False
                if state == PAUSED:
                    command = Command(Intent.RESUME, f"({device} back)", now)
            text = BACK_TEXT[device]
        if "speaker" in self.missing:
            log.warning("cannot say %r: the speaker is missing", text)
            return command, None
        return command, text
