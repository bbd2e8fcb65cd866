"""Audio devices: a list with stable identities, choosing one by name, and noticing hot-plug.

A device's identity is its name plus its host API ("VirtualSpeaker [PulseAudio]"), which survives
re-plugging and reboots, unlike PortAudio's index. On Linux, PortAudio reaches PulseAudio through
one ALSA device called "pulse"; the individual PulseAudio sinks and sources are listed too and are
opened through that device with `PULSE_SINK` / `PULSE_SOURCE`.

PortAudio reads its device list once; PulseAudio's list is re-read with `pactl` at no risk to open
streams. `DeviceMonitor` polls both (PortAudio only re-initialised while no stream is open).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from qwenvoice.audio import backend
from qwenvoice.audio.backend import AudioUnavailable

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
PULSE_HOSTAPI = "PulseAudio"
MAX_CHANNELS = 2  # "pulse"/"default" report 32 channels; we never need more than stereo


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    name: str
    hostapi: str
    kind: Kind
    channels: int
    samplerate: int
    is_default: bool
    portaudio_index: int
    pulse_name: str | None = None  # set for PulseAudio sinks/sources routed through "pulse"
    is_monitor: bool = False

    @property
    def identity(self) -> str:
        return f"{self.name} [{self.hostapi}]"

    def open_environment(self) -> dict[str, str]:
        if self.pulse_name is None:
            return {}
        return {"PULSE_SINK" if self.kind == "output" else "PULSE_SOURCE": self.pulse_name}

    def describe(self) -> str:
        extra = f", pulse: {self.pulse_name}" if self.pulse_name else ""
        monitor = ", monitor" if self.is_monitor else ""
        return f"{self.identity}  ({self.channels} ch, {self.samplerate} Hz{extra}{monitor})"


def _run_pactl(*args: str) -> object:
    if shutil.which("pactl") is None:
        return None
    try:
        done = subprocess.run(
            ["pactl", "-f", "json", *args], capture_output=True, timeout=3.0, check=False, text=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def _parse_spec(spec: str) -> tuple[int, int]:
    """'s16le 2ch 48000Hz' -> (channels, rate)."""
    channels, rate = 2, 48000
    for part in spec.split():
        if part.endswith("ch") and part[:-2].isdigit():
            channels = int(part[:-2])
        elif part.endswith("Hz") and part[:-2].isdigit():
            rate = int(part[:-2])
    return channels, rate


def _is_monitor(entry: dict[str, object]) -> bool:
    properties = entry.get("properties")
    device_class = properties.get("device.class") if isinstance(properties, dict) else None
    return device_class == "monitor" or str(entry.get("name", "")).endswith(".monitor")


def pulse_devices(pulse_index: int) -> list[DeviceInfo]:
    """PulseAudio sinks and sources, or [] when PulseAudio is not reachable."""
    info = _run_pactl("info")
    if not isinstance(info, dict):
        return []
    found: list[DeviceInfo] = []
    for kind, listing, default_name in (
        ("output", "sinks", info.get("default_sink_name")),
        ("input", "sources", info.get("default_source_name")),
    ):
        entries = _run_pactl("list", listing)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            name = str(entry.get("name", ""))
            if not name:
                continue
            channels, rate = _parse_spec(str(entry.get("sample_specification", "")))
            found.append(
                DeviceInfo(
                    name=str(entry.get("description") or name),
                    hostapi=PULSE_HOSTAPI,
                    kind="output" if kind == "output" else "input",
                    channels=min(channels, MAX_CHANNELS),
                    samplerate=rate,
                    is_default=name == default_name,
                    portaudio_index=pulse_index,
                    pulse_name=name,
                    is_monitor=kind == "input" and _is_monitor(entry),
                )
            )
    return found


def list_devices(kind: Kind | None = None) -> list[DeviceInfo]:
    """Every usable device (PortAudio's own plus PulseAudio's), one default per kind marked.

    Raises AudioUnavailable when PortAudio itself is missing.
    """
    raw, hostapis, (default_in, default_out) = backend.query_devices()
    devices: list[DeviceInfo] = []
    pulse_index = -1
    for d in raw:
        index = int(d["index"])
        hostapi = str(hostapis[int(d["hostapi"])]["name"]) if 0 <= int(d["hostapi"]) < len(hostapis) else "?"
        if d["name"] == "pulse" and hostapi == "ALSA":
            pulse_index = index
        for k, count, default in (("input", d["max_input_channels"], default_in),
                                  ("output", d["max_output_channels"], default_out)):
            if int(count) > 0:
                devices.append(DeviceInfo(
                    name=str(d["name"]), hostapi=hostapi, kind="input" if k == "input" else "output",
                    channels=min(int(count), MAX_CHANNELS), samplerate=int(d["default_samplerate"]),
                    is_default=index == default, portaudio_index=index,
                ))
    if pulse_index >= 0:
        pulse = pulse_devices(pulse_index)
        for k in ("input", "output"):
            if any(p.kind == k and p.is_default for p in pulse):
                # PulseAudio's own default is the real one; PortAudio's "default" just points at it
                devices = [
                    DeviceInfo(d.name, d.hostapi, d.kind, d.channels, d.samplerate, False, d.portaudio_index,
                               d.pulse_name, d.is_monitor) if d.kind == k else d
                    for d in devices
                ]
        devices = pulse + devices
    if kind is not None:
        devices = [d for d in devices if d.kind == kind]
    return devices


def default_device(devices: list[DeviceInfo], kind: Kind) -> DeviceInfo | None:
    candidates = [d for d in devices if d.kind == kind]
    for d in candidates:
        if d.is_default:
            return d
    usable = [d for d in candidates if not d.is_monitor]
    return usable[0] if usable else (candidates[0] if candidates else None)


def find_device(devices: list[DeviceInfo], kind: Kind, wanted: str) -> DeviceInfo | None:
    """By identity, then by name or PulseAudio name (case-insensitive), then by a unique substring."""
    candidates = [d for d in devices if d.kind == kind]
    lowered = wanted.strip().lower()
    for d in candidates:
        if d.identity.lower() == lowered:
            return d
    for d in candidates:
        if d.name.lower() == lowered or (d.pulse_name or "").lower() == lowered:
            return d
    partial = [d for d in candidates if lowered in d.identity.lower() or lowered in (d.pulse_name or "").lower()]
    return partial[0] if len(partial) == 1 else None


def choose_device(
    devices: list[DeviceInfo], kind: Kind, wanted: str | None
) -> tuple[DeviceInfo | None, str | None]:
    """The wanted device, else the default with a notice saying so. (None, notice) if there is none."""
    default = default_device(devices, kind)
    noun = "microphone" if kind == "input" else "speaker"
    if wanted:
        found = find_device(devices, kind, wanted)
        if found is not None:
            return found, None
        if default is None:
            return None, f"No {noun} found (wanted '{wanted}')."
        return default, f"The {noun} '{wanted}' is not available; using the default, {default.identity}."
    if default is None:
        return None, f"No {noun} found."
    return default, None


def safe_list_devices() -> tuple[list[DeviceInfo], str | None]:
    """list_devices() that never raises: ([], reason) when there is no audio system."""
    try:
        return list_devices(), None
    except AudioUnavailable as exc:
        return [], str(exc)
    except Exception as exc:  # PortAudio can fail in odd ways on broken systems
        return [], f"Audio devices could not be listed: {exc}"


class DeviceMonitor:
    """Watches the device list and calls `on_change(devices, appeared, vanished)` on the loop.

    With PulseAudio, `pactl subscribe` reports sinks and sources coming and going, so the list is
    re-read only then (a full re-read costs about 20 ms of CPU in pactl); otherwise, and as a slow
    safety net, it polls every `interval` (`fallback_interval` while subscribed). PortAudio is
    re-initialised (to see hardware PortAudio enumerates itself) only while no stream is open and
    at most every `reinit_interval`.
    """

    def __init__(
        self,
        on_change: Callable[[list[DeviceInfo], list[DeviceInfo], list[DeviceInfo]], None],
        *,
        interval: float = 1.0,
        fallback_interval: float = 10.0,
        reinit_interval: float = 10.0,
        use_pactl_events: bool = True,
    ) -> None:
        self.on_change = on_change
        self.interval = interval
        self.fallback_interval = fallback_interval
        self.reinit_interval = reinit_interval
        self.use_pactl_events = use_pactl_events
        self.devices: list[DeviceInfo] = []
        self.error: str | None = None
        self.polls = 0
        self.event_driven = False
        self._task: asyncio.Task[None] | None = None
        self._last_reinit = time.monotonic()

    def _scan(self) -> tuple[list[DeviceInfo], str | None]:
        now = time.monotonic()
        if now - self._last_reinit >= self.reinit_interval and backend.open_stream_count() == 0:
            self._last_reinit = now
            with contextlib.suppress(AudioUnavailable):
                backend.reinitialize()
        return safe_list_devices()

    async def refresh(self) -> list[DeviceInfo]:
        devices, error = await asyncio.to_thread(self._scan)
        self.polls += 1
        before = {d.identity + d.kind: d for d in self.devices}
        after = {d.identity + d.kind: d for d in devices}
        appeared = [d for key, d in after.items() if key not in before]
        vanished = [d for key, d in before.items() if key not in after]
        defaults_changed = {k for k, d in before.items() if d.is_default} != {
            k for k, d in after.items() if d.is_default
        }
        first = self.polls == 1
        self.devices, self.error = devices, error
        if not first and (appeared or vanished or defaults_changed):
            self.on_change(devices, appeared, vanished)
        return devices

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="audio-device-monitor")

    async def _safe_refresh(self) -> None:
        try:
            await self.refresh()
        except Exception:  # a broken pactl must not end monitoring
            log.exception("device scan failed")

    async def _run(self) -> None:
        events = await self._subscribe() if self.use_pactl_events else None
        if events is not None:
            await self._safe_refresh()  # whatever changed before the subscription started
        try:
            while True:
                if events is None or events.stdout is None:
                    self.event_driven = False
                    await self._safe_refresh()
                    await asyncio.sleep(self.interval)
                    continue
                self.event_driven = True
                stdout = events.stdout
                try:
                    line = await asyncio.wait_for(stdout.readline(), self.fallback_interval)
                except TimeoutError:
                    await self._safe_refresh()
                    continue
                if not line:  # pactl exited (sound server gone): poll instead
                    events = None
                    continue
                if _device_event(line):
                    await self._drain_events(stdout)
                    await self._safe_refresh()
        finally:
            if events is not None and events.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    events.kill()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(events.wait(), 1.0)

    async def _subscribe(self) -> asyncio.subprocess.Process | None:
        if shutil.which("pactl") is None:
            return None
        try:
            return await asyncio.create_subprocess_exec(
                "pactl", "subscribe", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
                stdin=asyncio.subprocess.DEVNULL,
            )
        except OSError:
            return None

    @staticmethod
    async def _drain_events(stream: asyncio.StreamReader) -> None:
        """A device change comes as a burst of events: wait for the burst to end, then scan once."""
        while True:
            try:
                line = await asyncio.wait_for(stream.readline(), 0.1)
            except TimeoutError:
                return
            if not line:
                return

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # On Python 3.11 asyncio.wait_for can swallow a cancellation that lands while the line it
        # waits for arrives (pactl is chatty while devices change): cancel again until it is gone.
        for _ in range(20):
            task.cancel()
            done, _pending = await asyncio.wait({task}, timeout=0.25)
            if done:
                break
        else:
            log.warning("device monitor did not stop; leaving it behind")
            return
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()


def _device_event(line: bytes) -> bool:
    """`Event 'new' on sink #3`, `... 'remove' on source #5`, `... 'change' on server #-1` (defaults)."""
    text = line.decode(errors="replace")
    if "on server" in text:
        return True
    return ("'new'" in text or "'remove'" in text) and (" on sink #" in text or " on source #" in text)


def format_device_list(devices: list[DeviceInfo]) -> str:
    lines: list[str] = []
    for kind, title in (("output", "Output devices (speakers)"), ("input", "Input devices (microphones)")):
        lines.append(f"{title}:")
        group = [d for d in devices if d.kind == kind]
        if not group:
            lines.append("  (none)")
        for d in group:
            lines.append(f"  {'*' if d.is_default else ' '} {d.describe()}")
    lines.append("* = default. Choose one with --input-device / --output-device NAME.")
    return "\n".join(lines)
