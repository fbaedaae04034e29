"""Listing and choosing sound devices (sounddevice/PortAudio)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import sounddevice as sd

from voicecoach.errors import AudioError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
DeviceSpec = int | str | None  # an index, a name substring, or None for the system default


@dataclass(frozen=True)
class Device:
    """One PortAudio device, as `voicecoach devices` shows it."""

    index: int
    name: str
    hostapi: str
    input_channels: int
    output_channels: int
    default_sample_rate: int
    is_default_input: bool = False
    is_default_output: bool = False

    def describe(self) -> str:
        marks = ("<" if self.is_default_input else " ") + (">" if self.is_default_output else " ")
        return (
            f"{marks} {self.index:3d}  {self.name} ({self.hostapi}): {self.input_channels} in, "
            f"{self.output_channels} out, {self.default_sample_rate} Hz"
        )


def list_devices(rescan: bool = False) -> list[Device]:
    """Every device PortAudio knows; with `rescan`, look again first (see rescan_devices)."""
    if rescan:
        rescan_devices()
    try:
        raw_devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as error:
        raise AudioError(f"Could not list the sound devices: {error}.") from error
    return [
        Device(
            index=int(info["index"]),
            name=str(info["name"]),
            hostapi=str(hostapis[info["hostapi"]]["name"]),
            input_channels=int(info["max_input_channels"]),
            output_channels=int(info["max_output_channels"]),
            default_sample_rate=int(info["default_samplerate"]),
            is_default_input=info["index"] == default_in,
            is_default_output=info["index"] == default_out,
        )
        for info in raw_devices
    ]


def find_device(spec: DeviceSpec, kind: Kind) -> Device:
    """The device for `spec` (index, case-insensitive name substring, or None for the default)
    that can do `kind`; one-sentence AudioError when there is none."""
    devices = [d for d in list_devices() if _channels(d, kind) > 0]
    what = "microphone" if kind == "input" else "speaker"
    if not devices:
        raise AudioError(f"No {what} was found; plug one in, check `voicecoach devices`, or run with --text.")
    if spec is None:
        chosen = [d for d in devices if (d.is_default_input if kind == "input" else d.is_default_output)]
        return chosen[0] if chosen else devices[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        for device in devices:
            if device.index == index:
                return device
        raise AudioError(f"There is no {what} with number {index}; see `voicecoach devices`.")
    matches = [d for d in devices if spec.lower() in d.name.lower()]
    if not matches:
        raise AudioError(f"No {what} has {spec!r} in its name; see `voicecoach devices`.")
    exact = [d for d in matches if d.name.lower() == spec.lower()]
    if len(matches) > 1 and not exact:
        log.info("%d %ss match %r; using %s", len(matches), what, spec, matches[0].name)
    return (exact or matches)[0]


def _channels(device: Device, kind: Kind) -> int:
    return device.input_channels if kind == "input" else device.output_channels


def rescan_devices() -> None:
    """Make PortAudio look for devices again (it lists them once, at start-up). This closes every
    open stream, so call it only before opening any."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception as error:  # noqa: BLE001 - a failed rescan keeps the old list
        log.debug("could not rescan sound devices: %s", error)


def pick_settings(device: Device, kind: Kind, rates: list[int]) -> tuple[int, int]:
    """The first of `rates` the device accepts in 16 bits, mono if it takes it, else stereo."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    for rate in dict.fromkeys(rates):
        for channels in (1, 2):
            try:
                check(device=device.index, samplerate=rate, channels=channels, dtype="int16")
                return rate, channels
            except (sd.PortAudioError, ValueError):
                continue
    what = "microphone" if kind == "input" else "speaker"
    raise AudioError(f"The {what} {device.name!r} accepts none of the rates {sorted(set(rates))} Hz in 16 bits.")
