"""The Audio tab's live parts: device lists that follow hot-plug, the microphone level, the test tone,
and the echo self-test and status. Everything goes through the injected settings services."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox

from qwenvoice.settings.services import (
    ECHO_HALF_DUPLEX,
    DeviceInfo,
    EchoState,
    EchoTestReport,
    SettingsServices,
    apply_echo_recommendation,
)
from qwenvoice.ui.i18n import fill, translate
from qwenvoice.ui.settings_form import select_data
from qwenvoice.ui.widgets import LevelMeter

if TYPE_CHECKING:
    from qwenvoice.ui.settings_panel import SettingsPanel


class AudioTools:
    """Devices, the mic level meter, the test tone and the echo self-test of one settings panel."""

    def __init__(self, panel: SettingsPanel, services: SettingsServices | None) -> None:
        self._panel = panel
        self._services = services
        self.echo_report: EchoTestReport | None = None
        self.mic_timer = QTimer(panel)
        self.mic_timer.setInterval(50)
        self.mic_timer.timeout.connect(self._poll_mic_level)
        self.device_timer = QTimer(panel)
        self.device_timer.setInterval(2000)
        self.device_timer.timeout.connect(panel.refresh_devices)
        self.device_timer.timeout.connect(self.refresh_echo_status)

    # ------------------------------------------------------------------ devices

    def refresh_devices(self) -> None:
        """Re-list devices (called every 2 s while the Audio tab is open: hot-plug aware)."""
        panel = self._panel
        inputs: list[DeviceInfo] = []
        outputs: list[DeviceInfo] = []
        if self._services is not None:
            try:
                inputs = list(self._services.list_input_devices())
                outputs = list(self._services.list_output_devices())
            except Exception as exc:
                panel.show_notice(
                    fill(translate("SettingsPanel", "Audio devices could not be listed: %1"), str(exc)), "error"
                )
        saved = panel.saved_audio()
        self._fill_devices(panel.input_combo, inputs, saved.input_device)
        self._fill_devices(panel.output_combo, outputs, saved.output_device)

    def _fill_devices(self, combo: QComboBox, devices: list[DeviceInfo], saved: str | None) -> None:
        chosen = combo.currentData() if combo.count() else saved
        entries: list[tuple[str, str | None]] = [(translate("SettingsPanel", "System default"), None)]
        for device in devices:
            label = device.identity
            if device.is_default:
                label = fill(translate("SettingsPanel", "%1 (default)"), device.identity)
            entries.append((label, device.identity))
        if chosen is not None and all(identity != chosen for _, identity in entries):
            # Keep an unplugged device selectable, so the choice survives until it comes back.
            entries.append((fill(translate("SettingsPanel", "%1 (not connected)"), chosen), chosen))
        current = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
        if current == entries:
            return
        form = self._panel.form
        was, form.loading = form.loading, True
        try:
            combo.clear()
            for label, identity in entries:
                combo.addItem(label, identity)
            select_data(combo, chosen)
        finally:
            form.loading = was

    # ------------------------------------------------------------------ microphone level

    def start_monitoring(self) -> None:
        if self._services is None or self.mic_timer.isActive():
            return
        try:
            self._services.start_mic_monitor(self._panel.input_combo.currentData())
        except Exception as exc:
            self._panel.show_notice(
                fill(translate("SettingsPanel", "The microphone could not be opened: %1"), str(exc)), "error"
            )
            return
        self._panel.refresh_devices()
        self.mic_timer.start()
        self.device_timer.start()

    def restart_mic_monitor(self, _index: int) -> None:
        # The level shown must be the chosen microphone's.
        if self.mic_timer.isActive() and not self._panel.form.loading:
            self.stop_monitoring()
            self.start_monitoring()

    def stop_monitoring(self) -> None:
        if not self.mic_timer.isActive():
            return
        self.mic_timer.stop()
        self.device_timer.stop()
        if self._services is not None:
            with contextlib.suppress(Exception):
                self._services.stop_mic_monitor()
        self._panel.mic_meter.set_level_db(LevelMeter.FLOOR_DB)
        self._panel.mic_level_label.setText("—")

    def _poll_mic_level(self) -> None:
        if self._services is None:
            return
        try:
            db = float(self._services.mic_level_db())
        except Exception:
            return
        self._panel.mic_meter.set_level_db(db)
        self._panel.mic_level_label.setText("—" if db <= LevelMeter.FLOOR_DB else f"{db:.0f} dBFS")

    # ------------------------------------------------------------------ test tone

    def play_test_tone(self) -> None:
        if self._services is None:
            return
        panel = self._panel
        try:
            self._services.play_test_tone(panel.output_combo.currentData(), panel.volume_slider.value())
        except Exception as exc:
            panel.show_notice(fill(translate("SettingsPanel", "The test tone could not play: %1"), str(exc)), "error")

    # ------------------------------------------------------------------ echo

    def run_echo_self_test(self) -> None:
        """Measure the echo on the devices chosen here (the app's own streams pause meanwhile)."""
        panel = self._panel
        if self._services is None:
            panel.echo_test_result.show_notice(
                translate("SettingsPanel", "This build of the app cannot do that yet."), "error"
            )
            return
        self.echo_report = None
        panel.apply_echo_button.setVisible(False)
        panel.echo_test_button.setEnabled(False)
        panel.echo_test_progress.setVisible(True)
        panel.echo_test_result.show_notice(
            translate("SettingsPanel", "Playing a test sound and listening… (about 5 s)"), "info"
        )
        test = self._run_echo_test(self._services, panel.input_combo.currentData(), panel.output_combo.currentData())
        if not panel.spawn(test):
            stopped = translate("SettingsPanel", "The app's event loop is not running.")
            self._echo_test_done(EchoTestReport(False, stopped))

    async def _run_echo_test(self, services: SettingsServices, input_device: str | None,
                             output_device: str | None) -> None:
        try:
            report = await services.run_echo_self_test(input_device, output_device)
        except Exception as exc:  # the service reports failures as results; anything else is shown too
            report = EchoTestReport(False, str(exc) or type(exc).__name__)
        with contextlib.suppress(RuntimeError):  # the dialog may be gone
            self._echo_test_done(report)

    def _echo_test_done(self, report: EchoTestReport) -> None:
        panel = self._panel
        panel.echo_test_button.setEnabled(True)
        panel.echo_test_progress.setVisible(False)
        text = report.summary + (f" ({report.notice})" if report.notice else "")
        severity = "error" if not report.ok else "warning" if report.recommendation == ECHO_HALF_DUPLEX else "ok"
        panel.echo_test_result.show_notice(text, severity)
        self.echo_report = report if report.ok else None
        current = panel.collect().audio
        recommended = apply_echo_recommendation(current, report.recommendation) if report.ok else current
        panel.apply_echo_button.setVisible(recommended != current)
        self.refresh_echo_status()

    def recommended_audio_shown(self) -> bool:
        """Set the audio fields as the last self-test recommends (False: there is nothing to set)."""
        report = self.echo_report
        if report is None:
            return False
        panel = self._panel
        audio = apply_echo_recommendation(panel.collect().audio, report.recommendation)
        select_data(panel.form.combo("audio.listening_setup"), audio.listening_setup)
        panel.form.check_box("audio.echo_cancellation").setChecked(audio.echo_cancellation)
        panel.form.check_box("audio.half_duplex").setChecked(audio.half_duplex)
        panel.apply_echo_button.setVisible(False)
        return True

    def refresh_echo_status(self) -> None:
        """The echo line: what the capture path does now (polled while the Audio tab is open)."""
        state: EchoState | None = None
        if self._services is not None:
            with contextlib.suppress(Exception):
                state = self._services.echo_state()
        self._panel.echo_status.setText(self.echo_status_text(state))

    @staticmethod
    def echo_status_text(state: EchoState | None) -> str:
        if state is None:
            return translate("SettingsPanel", "No audio is running.")
        gate = translate("SettingsPanel", "; microphone muted while the assistant speaks") if state.half_duplex else ""
        if state.mode == "off":
            return translate("SettingsPanel", "Echo cancellation off") + gate
        if state.mode == "bypassed":
            return fill(translate("SettingsPanel", "Echo cancellation bypassed: %1"), state.notice or "") + gate
        backend = state.backend + (f" ({state.playing_from})" if state.playing_from != state.backend else "")
        delay = "—" if state.delay_ms is None else f"{state.delay_ms:.0f} ms"
        return fill(
            translate("SettingsPanel", "Cancelling with %1 · delay %2 · CPU %3 ms per 10 ms frame (p95 %4)"),
            backend, delay, f"{state.cpu_ms_p50:.2f}", f"{state.cpu_ms_p95:.2f}",
        ) + gate
