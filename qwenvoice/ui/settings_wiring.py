"""The running app as the settings form's :class:`SettingsServices`: typed calls to the controller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwenvoice.settings.schema import TtsSettings
from qwenvoice.settings.secrets import ApiKeyStatus
from qwenvoice.settings.services import ConnectionCheck, DeviceInfo, EchoState, EchoTestReport

if TYPE_CHECKING:
    from qwenvoice.app.controller import Controller


class ControllerServices:
    """:class:`SettingsServices` over the app controller: the form's names for what the controller does."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def list_input_devices(self) -> list[DeviceInfo]:
        return self._controller.device_lists()[0]

    def list_output_devices(self) -> list[DeviceInfo]:
        return self._controller.device_lists()[1]

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None:
        self._controller.play_test_tone(output_device, volume_percent)

    def start_mic_monitor(self, input_device: str | None) -> None:
        self._controller.start_mic_monitor(input_device)

    def stop_mic_monitor(self) -> None:
        self._controller.stop_mic_monitor()

    def mic_level_db(self) -> float:
        return float(self._controller.mic_level_dbfs())

    async def test_connection(self, url: str | None, model: str, api_key: str | None) -> ConnectionCheck:
        return await self._controller.test_connection(url, model, api_key)

    async def preview_voice(self, model: str, tts: TtsSettings, text: str) -> None:
        await self._controller.preview_voice(model, tts, text)

    async def run_echo_self_test(self, input_device: str | None, output_device: str | None) -> EchoTestReport:
        return await self._controller.run_echo_self_test(input_device, output_device)

    def echo_state(self) -> EchoState | None:
        return self._controller.echo_state()

    def api_key_status(self) -> ApiKeyStatus | None:
        return self._controller.api_key_status()

    def save_api_key(self, key: str, *, allow_plaintext_file: bool = False) -> None:
        self._controller.save_api_key(key, allow_plaintext_file=allow_plaintext_file)

    def clear_api_key(self) -> None:
        self._controller.clear_api_key()
