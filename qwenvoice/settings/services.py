"""What the settings panel needs from the running app, as a typed interface (no Qt, no I/O here).

The controller implements :class:`SettingsServices`; the panel receives it at construction, so the
panel never touches audio devices or sockets itself (the layer rules forbid the UI to). Device
identities are stable strings "name (host API)" — the same strings ``AudioSettings`` stores.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qwenvoice.settings.schema import TtsSettings


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    ok: bool
    message: str  # user-facing: "Connected in 182 ms (session.created)" or the reason it failed
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    identity: str  # "name (host API)"
    is_default: bool = False


@runtime_checkable
class SettingsServices(Protocol):
    def list_input_devices(self) -> list[DeviceInfo]: ...

    def list_output_devices(self) -> list[DeviceInfo]: ...

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None: ...

    def start_mic_monitor(self, input_device: str | None) -> None: ...

    def stop_mic_monitor(self) -> None: ...

    def mic_level_db(self) -> float:
        """The latest input level in dBFS (-inf … 0) while the monitor runs."""
        ...

    def test_connection(self, url: str | None, model: str, api_key: str | None) -> Awaitable[ConnectionCheck]:
        """Open a session with these values (``api_key`` None = the stored key) and report."""
        ...

    def preview_voice(self, model: str, tts: TtsSettings, text: str) -> Awaitable[None]:
        """Speak ``text`` with these TTS settings; raises with a user-facing message on failure."""
        ...
