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
    # ...and while the user is editing: the edit stays, the rest follows
    panel.number_fields["omni.top_k"].setText("9")
    controller.settings_changed.emit(AppSettings())
    assert panel.controls["ui.turn_mode"].currentData() == "server_vad"
    assert panel.number_fields["omni.top_k"].text() == "9" and panel.is_dirty()


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


def _window(qtbot, controller: Controller):
    from qwenvoice.gui import build_settings_panel
    from qwenvoice.ui.main_window import MainWindow

    window = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    qtbot.addWidget(window)
    assert isinstance(window.settings_panel, SettingsPanel)
    return window, window.settings_panel


def _saved_turn_mode(tmp_path) -> str:
    return json.loads((tmp_path / "config" / "settings.json").read_text(encoding="utf-8"))["ui"]["turn_mode"]


def _edit_instructions_and_apply(qtbot, controller: Controller, panel: SettingsPanel, text: str) -> None:
    panel.controls["omni.instructions"].setPlainText(text)
    with qtbot.waitSignal(controller.settings_changed):
        panel.apply_button.click()
    assert controller.settings.omni.instructions == text


def test_apply_keeps_the_turn_mode_chosen_on_the_toolbar(qtbot, tmp_path):
    controller = _controller(tmp_path)
    window, panel = _window(qtbot, controller)
    assert controller.mode == "vad"
    window.ptt_action.trigger()
    assert controller.mode == "ptt"
    assert panel.controls["ui.turn_mode"].currentData() == "off"  # the form follows the toolbar

    _edit_instructions_and_apply(qtbot, controller, panel, "Only the instructions changed.")
    assert controller.mode == "ptt" and window.ptt_action.isChecked()
    assert controller.settings.ui.turn_mode == "ptt" and _saved_turn_mode(tmp_path) == "ptt"

    window.vad_action.trigger()  # and the other way round
    assert panel.controls["ui.turn_mode"].currentData() == "server_vad"
    _edit_instructions_and_apply(qtbot, controller, panel, "Changed again.")
    assert controller.mode == "vad" and window.vad_action.isChecked()
    assert controller.settings.ui.turn_mode == "vad" and _saved_turn_mode(tmp_path) == "vad"


def test_toolbar_switch_during_an_edit_keeps_both(qtbot, tmp_path):
    controller = _controller(tmp_path)
    window, panel = _window(qtbot, controller)
    panel.controls["omni.instructions"].setPlainText("Typed before the switch.")
    window.ptt_action.trigger()
    assert panel.controls["omni.instructions"].toPlainText() == "Typed before the switch."
    assert panel.controls["ui.turn_mode"].currentData() == "off"
    with qtbot.waitSignal(controller.settings_changed):
        panel.apply_button.click()
    assert controller.mode == "ptt" and _saved_turn_mode(tmp_path) == "ptt"
    assert controller.settings.omni.instructions == "Typed before the switch."


def test_the_api_key_is_stored_through_the_controller(qtbot, tmp_path):
    from qwenvoice.settings.secrets import KEYRING_SERVICE, KEYRING_USERNAME, ApiKeyStore
    from qwenvoice.settings.services import SettingsServices
    from qwenvoice.ui.settings_panel import ControllerServices
    from tests.gui.settings_fakes import MemoryKeyring

    controller = _controller(tmp_path)
    keyring = MemoryKeyring()
    controller.voice._key_store = ApiKeyStore(config_dir=tmp_path / "config", backend=keyring, environ={})
    assert isinstance(ControllerServices(controller), SettingsServices)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    assert "Paste your DashScope API key" in panel.key_edit.placeholderText()
    panel.key_edit.setText("sk-controller0123456789")
    with qtbot.waitSignal(controller.settings_changed):
        panel.apply_button.click()
    assert keyring.entries[(KEYRING_SERVICE, KEYRING_USERNAME)] == "sk-controller0123456789"
    assert controller.voice.lookup_key() == "sk-controller0123456789"
    assert "stored in the keyring" in panel.key_edit.placeholderText() and panel.key_edit.text() == ""
    panel.remove_key_button.click()
    with qtbot.waitSignal(controller.settings_changed):
        panel.apply_button.click()
    assert keyring.entries == {}
