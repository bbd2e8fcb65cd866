"""Test doubles for the settings panel's injected interfaces (pure logic; every widget stays real)."""

from __future__ import annotations

import asyncio

from qwenvoice.settings.schema import TtsSettings
from qwenvoice.settings.secrets import ApiKeyStatus, ApiKeyStore
from qwenvoice.settings.services import ConnectionCheck, DeviceInfo, EchoState, EchoTestReport, SettingsServices


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


class FakeServices(SettingsServices):
    """Records what the panel asks of the app and answers like the controller would.

    The API key goes to a real :class:`ApiKeyStore` (give it a :class:`MemoryKeyring`), as the
    controller's does; without one, key storage is unavailable.
    """

    def __init__(self, keys: ApiKeyStore | None = None) -> None:
        self.keys = keys
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
        self.echo_tests: list[tuple[str | None, str | None]] = []
        self.echo_report = EchoTestReport(False, "No loopback here.")
        self.echo: EchoState | None = None

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

    async def run_echo_self_test(self, input_device: str | None, output_device: str | None) -> EchoTestReport:
        self.echo_tests.append((input_device, output_device))
        await asyncio.sleep(0.01)
        return self.echo_report

    def echo_state(self) -> EchoState | None:
        return self.echo

    def api_key_status(self) -> ApiKeyStatus | None:
        return self.keys.status() if self.keys is not None else None

    def save_api_key(self, key: str, *, allow_plaintext_file: bool = False) -> None:
        assert self.keys is not None, "the panel stores a key only when storage is available"
        self.keys.set(key, allow_plaintext_file=allow_plaintext_file)

    def clear_api_key(self) -> None:
        assert self.keys is not None, "the panel forgets a key only when storage is available"
        self.keys.delete()
