"""What the session does when a device goes and comes back (voicecoach.session.loop.Faults), in virtual time."""

from __future__ import annotations

from pathlib import Path

from voicecoach.core.coach import Coach
from voicecoach.core.commands import Intent
from voicecoach.core.events import Command
from voicecoach.routinefile.loader import load
from voicecoach.session.faults import DeviceBack, DeviceLost, Faults
from voicecoach.session.loop import EstimatedSpeaker, Timeline, VirtualClock, run

LIBRARY = load(Path(__file__).resolve().parent.parent / "exercises.yaml")


class Session:
    """The short routine in virtual time, with events scheduled at chosen seconds."""

    def __init__(self, *events) -> None:
        self.clock = VirtualClock()
        for event in events:
            self.clock.schedule(event.now, event)
        self.timeline = Timeline()
        self.coach = Coach(LIBRARY, "short")
        self.faults = Faults()
        self.speaker = EstimatedSpeaker(self.clock)

    def until(self, seconds: float) -> Session:
        run(self.coach, self.clock, self.speaker, self.timeline, start=False, until=seconds, faults=self.faults)
        return self

    def said(self, after: float = 0.0) -> list[str]:
        return [e["text"] for e in self.timeline.entries if e["kind"] == "say" and e["t"] >= after]

    def states(self) -> list[tuple[float, str]]:
        return [(e["t"], e["state"]) for e in self.timeline.entries if e["kind"] == "state"]


def start(at: float = 0.0) -> Command:
    return Command(Intent.START, "start", at)


def lost(device: str, at: float) -> DeviceLost:
    return DeviceLost(device, "unplugged", at)


def test_a_microphone_lost_mid_session_pauses_it_and_its_return_carries_on_by_itself():
    session = Session(start(), lost("microphone", 20.0), DeviceBack("microphone", 300.0)).until(330.0)
    assert session.said(20.0)[:2] == ["Paused.", "I can't hear the microphone. I'll carry on when it is back."]
    assert session.said(300.0)[:2] == ["I can hear you again.", "Carrying on."]
    assert [state for t, state in session.states() if 20.0 <= t <= 300.0] == ["paused", "active"]
    assert [e for e in session.timeline.entries if e["kind"] == "say" and 25.0 < e["t"] < 300.0] == [], (
        "nothing is said while it waits"
    )


def test_a_speaker_lost_is_not_spoken_into_but_its_return_is_said():
    session = Session(start(), lost("speaker", 20.0), DeviceBack("speaker", 100.0)).until(120.0)
    assert "I lost the speaker. I'll carry on when it is back." not in session.said()
    assert session.said(100.0)[:2] == ["The speaker is back.", "Carrying on."]
    faults = [(e["device"], e["lost"]) for e in session.timeline.entries if e["kind"] == "fault"]
    assert faults == [("speaker", True), ("speaker", False)]


def test_a_user_who_paused_first_stays_paused_when_the_device_returns():
    session = Session(
        start(), Command(Intent.PAUSE, "pause", 10.0), lost("microphone", 20.0), DeviceBack("microphone", 60.0)
    ).until(120.0)
    assert session.coach.state == "paused"
    assert session.said(60.0) == ["I can hear you again."]


def test_with_both_devices_lost_it_carries_on_only_when_both_are_back():
    session = Session(
        start(),
        lost("microphone", 20.0),
        lost("speaker", 25.0),
        DeviceBack("microphone", 60.0),
        DeviceBack("speaker", 90.0),
    ).until(89.0)
    assert session.coach.state == "paused"
    assert "I can hear you again." not in session.said(), "nobody to hear it"
    session.until(100.0)
    assert session.coach.state == "active"
    assert session.said(90.0)[:2] == ["The speaker is back.", "Carrying on."]


def test_a_device_lost_while_idle_is_announced_and_nothing_starts_when_it_returns():
    session = Session(lost("microphone", 5.0), DeviceBack("microphone", 30.0)).until(60.0)
    assert session.said() == ["I can't hear the microphone. I'll carry on when it is back.", "I can hear you again."]
    assert session.coach.state == "idle"


def test_the_same_loss_reported_twice_is_one_loss():
    session = Session(
        start(), lost("microphone", 20.0), lost("microphone", 22.0), DeviceBack("microphone", 40.0)
    ).until(50.0)
    assert [e["lost"] for e in session.timeline.entries if e["kind"] == "fault"] == [True, False]
    assert session.coach.state == "active"


def test_a_resume_offer_cut_off_by_a_lost_microphone_is_made_again_when_it_returns():
    session = Session(lost("microphone", 3.0), DeviceBack("microphone", 300.0))
    run(session.coach, session.clock, session.speaker, session.timeline, start=False, until=0.0, faults=session.faults)
    offer = session.coach.offer_resume("short", 1, now=0.0)
    assert offer, "the offer is made"
    session.until(299.0)
    assert session.coach.state == "idle", "not asking, so no answer times out while nobody can answer"
    assert session.said(3.0) == ["I can't hear the microphone. I'll carry on when it is back."]
    session.until(330.0)
    question = "We stopped during knee rolls. Carry on from there? Say yes, or no."
    assert session.said(300.0)[:2] == ["I can hear you again.", question]
    session.clock.schedule(331.0, Command(Intent.YES, "yes", 331.0))
    session.until(340.0)
    assert "Carrying on with knee rolls." in session.said(331.0)
