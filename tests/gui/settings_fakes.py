"""Test doubles for the settings panel's injected interfaces (pure logic; every widget stays real)."""

from __future__ import annotations

import asyncio

from qwenvoice.settings.schema import TtsSettings
from qwenvoice.settings.services import ConnectionCheck, DeviceInfo


class MemoryKeyring:
    """An in-process keyring standing in for the OS keyring.

    Deliberately not a ``keyring.backend.KeyringBackend`` subclass: those register themselves with
    the keyring library, which would then hand this double to every ``keyring.get_keyring()``.
    """

    priority = 1.0

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class FakeServices:
    """Records what the panel asks of the app and answers like the controller would."""

    def __init__(self) -> None:
        self.inputs = [DeviceInfo("mic [PulseAudio]", True), DeviceInfo("USB Headset [ALSA]")]
        self.outputs = [DeviceInfo("speaker [PulseAudio]", True), DeviceInfo("USB Headset [ALSA]")]
        self.tones: list[tuple[str | None, int]] = []
        self.monitoring: list[str | None] = []
        self.monitor_stops = 0
        self.level_db = -20.0
        self.connection_calls: list[tuple[str | None, str, str | None]] = []
        self.connection_result = ConnectionCheck(True, "Connected in 12 ms (session.created)", 12.0)
        self.previews: list[tuple[str, TtsSettings, str]] = []
        self.preview_error: Exception | None = None

    def list_input_devices(self) -> list[DeviceInfo]:
        return list(self.inputs)

    def list_output_devices(self) -> list[DeviceInfo]:
        return list(self.outputs)

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None:
        self.tones.append((output_device, volume_percent))

    def start_mic_monitor(self, input_device: str | None) -> None:
        self.monitoring.append(input_device)

    def stop_mic_monitor(self) -> None:
        self.monitor_stops += 1

    def mic_level_db(self) -> float:
        return self.level_db

    async def test_connection(self, url: str | None, model: str, api_key: str | None) -> ConnectionCheck:
        self.connection_calls.append((url, model, api_key))
        await asyncio.sleep(0.01)
        return self.connection_result

    async def preview_voice(self, model: str, tts: TtsSettings, text: str) -> None:
        self.previews.append((model, tts, text))
        await asyncio.sleep(0.01)
        if self.preview_error is not None:
            raise self.preview_error
