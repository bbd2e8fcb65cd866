"""The checks that need the running app: open a session with the shown connection settings, and
speak a sample with the shown TTS settings (both through the settings services, off the UI thread's
way: they run as tasks on the app's event loop)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from qwenvoice.logsetup import register_secret
from qwenvoice.settings.schema import TtsSettings, tts_errors
from qwenvoice.settings.services import ConnectionCheck, SettingsServices
from qwenvoice.ui.i18n import fill, translate

if TYPE_CHECKING:
    from qwenvoice.ui.settings_panel import SettingsPanel


class ServiceChecks:
    """Test connection and voice preview of one settings panel."""

    def __init__(self, panel: SettingsPanel, services: SettingsServices | None) -> None:
        self._panel = panel
        self._services = services

    def test_connection(self) -> None:
        panel = self._panel
        if self._services is None:
            return
        settings = panel.collect()
        key = panel.key_edit.text().strip() or None
        if key:
            register_secret(key)
        panel.test_connection_button.setEnabled(False)
        panel.connection_result.show_notice(translate("SettingsPanel", "Connecting…"), "info")
        url = settings.connection.endpoint_url()
        if not panel.spawn(self._run_connection_test(self._services, url, settings.connection.omni_model, key)):
            panel.test_connection_button.setEnabled(True)
            panel.connection_result.show_notice(
                translate("SettingsPanel", "The app's event loop is not running."), "error"
            )

    async def _run_connection_test(self, services: SettingsServices, url: str | None, model: str,
                                   key: str | None) -> None:
        panel = self._panel
        try:
            result: ConnectionCheck = await services.test_connection(url, model, key)
        except Exception as exc:  # the service reports failures as results; anything else is shown too
            result = ConnectionCheck(False, str(exc) or type(exc).__name__)
        with contextlib.suppress(RuntimeError):  # the dialog may be gone
            panel.test_connection_button.setEnabled(True)
            message = result.message
            if result.missing_key:
                message = translate(
                    "SettingsPanel",
                    "No API key: enter your DashScope key above (or set DASHSCOPE_API_KEY), or choose Offline.",
                )
            panel.connection_result.show_notice(message, "ok" if result.ok else "error")

    def preview_voice(self) -> None:
        panel = self._panel
        if self._services is None:
            return
        tts = panel.tts_section_or_none()
        problems = tts_errors(tts, panel.form.tts_model()) if tts is not None else []
        if tts is None or problems:
            self._set_preview_status(translate("SettingsPanel", "Fix the highlighted fields first."))
            return
        text = panel.preview_text.text().strip()
        if not text:
            return
        panel.preview_button.setEnabled(False)
        self._set_preview_status(translate("SettingsPanel", "Speaking…"))
        if not panel.spawn(self._run_preview(self._services, panel.form.tts_model(), tts, text)):
            panel.preview_button.setEnabled(True)
            self._set_preview_status(translate("SettingsPanel", "The app's event loop is not running."))

    def _set_preview_status(self, text: str) -> None:
        panel = self._panel
        panel.preview_status.setText(text)
        panel.preview_status.setVisible(bool(text))

    async def _run_preview(self, services: SettingsServices, model: str, tts: TtsSettings, text: str) -> None:
        panel = self._panel
        try:
            await services.preview_voice(model, tts, text)
        except Exception as exc:
            message = fill(translate("SettingsPanel", "Preview failed: %1"), str(exc) or type(exc).__name__)
        else:
            message = translate("SettingsPanel", "Done.")
        with contextlib.suppress(RuntimeError):
            panel.preview_button.setEnabled(True)
            self._set_preview_status(message)
