"""What a new user met in the first hour, with real widgets: the Stop icon, Copy feedback, the order of
the validation banner, the cost shown, "Add a key…", Test connection without a key, file dialogs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.session import status as st
from qwenvoice.session.conversation import ASSISTANT, Turn
from qwenvoice.session.metrics import SessionMetrics
from qwenvoice.settings.schema import AppSettings
from qwenvoice.settings.secrets import ApiKeyStore
from qwenvoice.ui import filedialogs
from qwenvoice.ui.conversation import Bubble
from qwenvoice.ui.settings_panel import TAB_KEYS, SettingsPanel, build_for_controller
from qwenvoice.ui.statusbar import AppStatusBar
from qwenvoice.ui.theme import _palette, icon
from tests.gui.helpers import TOKEN, wait_for
from tests.gui.settings_fakes import MemoryKeyring
from tests.support.scripted_server import Script, ScriptedServer


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_stop_icon_is_a_filled_square_not_a_checkbox(qapp, scheme):
    image = icon("stop", _palette(scheme)).pixmap(24, 24).toImage()
    centre = image.pixelColor(12, 12)
    assert centre.alpha() > 200  # filled: a checkbox outline is empty in the middle
    text = _palette(scheme).color(_palette(scheme).ColorRole.WindowText)
    assert abs(centre.lightness() - text.lightness()) < 40  # drawn in the theme's text colour
    assert image.pixelColor(2, 2).alpha() == 0  # a square inside a margin, not the whole tile


def test_copy_says_copied_for_a_moment(qtbot, monkeypatch):
    monkeypatch.setattr("qwenvoice.ui.conversation.COPIED_FEEDBACK_MS", 150)
    bubble = Bubble(Turn("t1", ASSISTANT, text="It is sunny.", final=True))
    qtbot.addWidget(bubble)
    bubble.copy_requested.connect(QGuiApplication.clipboard().setText)
    bubble.show()
    assert bubble.copy_button.text() == "Copy"
    bubble.copy_button.click()
    assert QGuiApplication.clipboard().text() == "It is sunny."
    assert bubble.copy_button.text().startswith("Copied")
    qtbot.waitUntil(lambda: bubble.copy_button.text() == "Copy", timeout=2000)


def test_the_validation_banner_lists_fields_in_form_order(qtbot):
    panel = SettingsPanel(AppSettings(), embedded=True)
    qtbot.addWidget(panel)
    panel.number_fields["tts.volume"].setText("150")  # Speech tab
    panel.number_fields["omni.temperature"].setText("9")  # Conversation tab, below Threshold
    panel.number_fields["omni.vad_threshold"].setText("5")  # Conversation tab, first number
    text = panel.notice.text()
    names = ["Conversation › Threshold", "Conversation › Temperature", "Speech › Volume"]
    assert all(name in text for name in names), text
    assert sorted(names, key=text.index) == names, text


def test_offline_shows_free_from_the_start_and_online_a_sensible_precision(qtbot):
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    assert "0.0000" not in bar.usage.text()
    metrics = SessionMetrics(model="qwen3-omni-flash-realtime")
    metrics.usage.add({"total_tokens": 300, "input_audio_tokens": 250, "output_audio_tokens": 50})
    bar.show_metrics(metrics)
    cost = metrics.estimated_cost_usd
    assert 0 < cost < 0.01
    shown = bar.usage.text().split("$")[-1]
    assert float(shown) == pytest.approx(cost, rel=0.05), bar.usage.text()
    big = SessionMetrics(model="qwen3-omni-flash-realtime")
    big.usage.add({"total_tokens": 3_000_000, "input_audio_tokens": 2_000_000, "output_audio_tokens": 1_000_000})
    bar.show_metrics(big)
    assert bar.usage.text().endswith(f"${big.estimated_cost_usd:.2f}")


def _controller(tmp_path) -> Controller:
    controller = Controller(RunOptions(audio=False, config_dir=tmp_path / "config", data_root=tmp_path / "data"))
    controller.load_settings()
    controller.voice._key_store = ApiKeyStore(config_dir=tmp_path / "config", backend=MemoryKeyring(), environ={})
    return controller


def _window(qtbot, controller):
    from qwenvoice.gui import build_settings_panel
    from qwenvoice.ui.main_window import MainWindow

    window = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_cost_of_an_offline_session_is_free_before_any_usage(qtbot, tmp_path):
    window = _window(qtbot, _controller(tmp_path))
    window.controller.connection_changed.emit(st.ConnectionInfo(state=st.STARTING_SERVER, offline=True))
    assert "free (offline)" in window.status.usage.text()
    window.controller.connection_changed.emit(st.ConnectionInfo(state=st.READY, region="beijing"))
    assert "free" not in window.status.usage.text() and "0.0000" not in window.status.usage.text()


def test_add_a_key_opens_the_connection_tab_at_the_key(qtbot, tmp_path):
    window = _window(qtbot, _controller(tmp_path))
    panel = window.settings_panel
    assert isinstance(panel, SettingsPanel)
    panel.tabs.setCurrentIndex(TAB_KEYS.index("appearance"))
    window.controller.notice.emit(st.INFO, "Offline mode: no API key.", st.ACTION_ADD_KEY)
    banner = window.notifications.banners[-1]
    banner.action_button.click()
    assert window.tabs.currentWidget() is panel
    assert TAB_KEYS[panel.tabs.currentIndex()] == "connection"
    qtbot.waitUntil(lambda: panel.key_edit.hasFocus(), timeout=2000)
    assert panel.key_edit.visibleRegion().boundingRect().height() == panel.key_edit.height()


async def test_test_connection_without_a_key_says_so(qtbot, tmp_path, monkeypatch):
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    controller = _controller(tmp_path)
    panel = build_for_controller(controller)
    qtbot.addWidget(panel)
    async with ScriptedServer(Script(), token=TOKEN) as server:
        panel.controls["connection.region"].setCurrentIndex(panel.controls["connection.region"].findData("custom"))
        panel.url_edit.setText(server.url)
        panel.test_connection_button.click()
        await wait_for(lambda: panel.connection_result.severity() == "error", within=20)
        assert server.handshakes == 0  # not even tried
    assert "No API key" in panel.connection_result.text(), panel.connection_result.text()


def test_file_dialogs_start_in_the_users_folders_and_remember(qtbot, tmp_path, monkeypatch):
    from qwenvoice.session.eventlog import EventLog
    from qwenvoice.ui.inspector import InspectorPanel

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(home / "Documents"))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # run from the source checkout
    filedialogs.forget_all()
    asked: list[str] = []
    chosen = tmp_path / "elsewhere" / "mine.jsonl"
    chosen.parent.mkdir()

    def fake_save(parent, caption, start, filters):
        asked.append(start)
        return str(chosen), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    panel = InspectorPanel(EventLog())
    qtbot.addWidget(panel)
    panel._export_clicked()
    assert Path(asked[0]).parent in (home / "Documents", home), asked
    assert not asked[0].startswith(os.getcwd())
    panel._export_clicked()
    assert Path(asked[1]).parent == chosen.parent  # where the user went last time
    filedialogs.forget_all()


def _icon_lightness(qicon) -> int:
    image = qicon.pixmap(24, 24).toImage()
    return max(image.pixelColor(x, y).lightness() for x in range(24) for y in range(24)
               if image.pixelColor(x, y).alpha() > 200)


def test_a_live_theme_switch_redraws_the_toolbar_and_tab_icons(qtbot, tmp_path):
    from qwenvoice.ui.theme import ThemeManager

    window = _window(qtbot, _controller(tmp_path))
    themes = ThemeManager.current()
    assert themes is not None
    before = themes.mode
    try:
        themes.apply("light")
        assert _icon_lightness(window.stop_action.icon()) < 100  # dark glyphs on a light window
        themes.apply("dark")
        for qicon in (window.stop_action.icon(), window.vad_action.icon(), window.inspector_action.icon(),
                      window.send_button.icon(), window.tabs.tabIcon(0)):
            assert _icon_lightness(qicon) > 180  # light glyphs on the dark window, without a restart
    finally:
        themes.apply(before)
