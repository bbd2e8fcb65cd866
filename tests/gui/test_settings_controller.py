"""The settings panel as the main window's tab, wired to the real controller."""

from __future__ import annotations

import json

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.settings.schema import AppSettings
from qwenvoice.ui.settings_panel import SettingsPanel, build_for_controller
from tests.gui.helpers import TOKEN, wait_for
from tests.support.scripted_server import Script, ScriptedServer


def _controller(tmp_path) -> Controller:
    controller = Controller(RunOptions(audio=False, config_dir=tmp_path / "config", data_root=tmp_path / "data"))
    controller.load_settings()
    return controller


def test_panel_applies_through_the_controller(qtbot, tmp_path):
    controller = _controller(tmp_path)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    assert isinstance(panel, SettingsPanel) and panel.embedded
    panel.number_fields["omni.temperature"].setText("0.4")
    panel.controls["omni.instructions"].setPlainText("Short answers, please.")
    with qtbot.waitSignal(controller.settings_changed):
        panel.apply_button.click()
    assert controller.settings.omni.temperature == 0.4
    saved = json.loads((tmp_path / "config" / "settings.json").read_text(encoding="utf-8"))
    assert saved["omni"]["instructions"] == "Short answers, please."
    assert not panel.is_dirty()


def test_panel_follows_settings_changed_elsewhere(qtbot, tmp_path):
    controller = _controller(tmp_path)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    changed = AppSettings()
    changed.ui.turn_mode = "ptt"
    controller.settings_changed.emit(changed)
    assert panel.controls["ui.turn_mode"].currentData() == "off"
    # ...but not while the user is editing
    panel.number_fields["omni.top_k"].setText("9")
    controller.settings_changed.emit(AppSettings())
    assert panel.controls["ui.turn_mode"].currentData() == "off"


async def test_test_connection_reaches_a_real_server_through_the_controller(qtbot, tmp_path):
    controller = _controller(tmp_path)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    async with ScriptedServer(Script(), token=TOKEN) as server:
        panel.controls["connection.region"].setCurrentIndex(panel.controls["connection.region"].findData("custom"))
        panel.url_edit.setText(server.url)
        panel.key_edit.setText(TOKEN)
        panel.test_connection_button.click()
        await wait_for(lambda: panel.connection_result.severity() in ("ok", "error"), within=20)
        assert panel.connection_result.severity() == "ok", panel.connection_result.text()
        assert server.handshakes >= 1
    assert panel.test_connection_button.isEnabled()


async def test_test_connection_failure_is_shown(qtbot, tmp_path):
    controller = _controller(tmp_path)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    async with ScriptedServer(Script(http_status=401), token=TOKEN) as server:
        panel.controls["connection.region"].setCurrentIndex(panel.controls["connection.region"].findData("custom"))
        panel.url_edit.setText(server.url)
        panel.key_edit.setText("wrong-key-0000")
        panel.test_connection_button.click()
        await wait_for(lambda: panel.connection_result.severity() in ("ok", "error"), within=20)
    assert panel.connection_result.severity() == "error"
    assert panel.test_connection_button.isEnabled()
