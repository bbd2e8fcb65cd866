"""The main window driven like a user would: toolbar, talk button, Space, Esc, text box, tabs, dock,
against a real controller connected to a real loopback server (no sound devices here; the
PulseAudio tests are in test_audio_turns.py)."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.gui import build_settings_panel
from qwenvoice.session import status as st
from qwenvoice.session.conversation import ASSISTANT, USER, Turn
from qwenvoice.ui.main_window import MainWindow
from tests.gui.helpers import TOKEN, feed, wait_for
from tests.support.scripted_server import Script, ScriptedServer, speech_like_pcm


@pytest.fixture
async def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    server = await ScriptedServer(Script(reply_seconds=0.4), token=TOKEN).start()
    controller = Controller(RunOptions(url=server.url, mode="ptt", audio=False, data_root=tmp_path / "data",
                                       config_dir=tmp_path / "config"))
    controller.load_settings()
    win = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    await controller.start()
    await wait_for(lambda: controller.connection.state == st.READY and controller.session_configured)
    win.server = server
    yield win
    await controller.shutdown()
    await server.stop()


async def test_layout_and_minimum_size(window, qtbot):
    assert window.windowTitle() == "qwenvoice"
    assert window.minimumSize().width() <= 1024 and window.minimumSize().height() <= 700
    window.resize(1024, 700)
    await asyncio.sleep(0.05)
    assert window.talk_button.isVisible() and window.text_box.isVisible() and window.waveform.isVisible()
    assert window.playback.isVisible() and window.transcript.isVisible()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())][:3] == [
        "Conversation", "Speech studio", "History"]
    assert "ready" in window.status.connection.text()
    assert window.ptt_action.isChecked() and window.talk_button.text() == "Hold to talk"
    window.inspector_action.trigger()
    assert window.inspector_dock.isVisible()
    await wait_for(lambda: window.inspector.model.rowCount() > 0)
    assert window.inspector.model.records[0].type == "session.update"


def _inside_window(window, widget) -> bool:
    from PySide6.QtCore import QPoint, QRect

    return widget.isVisible() and window.rect().contains(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()))


async def test_settings_buttons_stay_in_an_800x600_window(window, qtbot):
    # A 1280x720 screen at 125 % scaling leaves about 1024x576: the window must go down to 800x600
    # with the settings scrolling and Apply/Cancel always on screen, notices shown or not.
    assert window.minimumSize().width() <= 800 and window.minimumSize().height() <= 600
    window.resize(800, 600)
    window.show_settings()
    await asyncio.sleep(0.05)
    assert window.width() == 800 and window.height() == 600
    panel = window.settings_panel
    assert _inside_window(window, panel.apply_button) and _inside_window(window, panel.cancel_button)
    for text in ("Connection failed: boom", "offline mode", "Settings applied."):
        window.controller.notice.emit(st.WARNING, text, "")
    panel.show_notice("Fix these fields before applying: a very long list of fields " * 3, "error")
    await asyncio.sleep(0.05)
    assert _inside_window(window, panel.apply_button) and _inside_window(window, panel.cancel_button)
    assert window.height() == 600


async def test_space_key_push_to_talk_turn(window, qtbot):
    c = window.controller
    window.transcript.setFocus()
    qtbot.keyPress(window, Qt.Key.Key_Space)
    assert c.talking and "release" in window.talk_button.text().lower()
    feed(c, speech_like_pcm())
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    await wait_for(lambda: not c.talking, within=2)  # the release is debounced
    await wait_for(lambda: len(window.transcript.bubbles) >= 2 and c.conversation.turns[-1].final)
    assert "What is the weather like?" in window.transcript.bubbles[0].text.text()
    assert "sunny" in window.transcript.bubbles[1].text.text()
    types = window.server.connections[0].types()
    assert types.index("input_audio_buffer.commit") < types.index("response.create")


async def test_space_types_into_the_text_box_instead(window, qtbot):
    window.text_box.setFocus()
    qtbot.keyClicks(window.text_box, "hi there")
    assert window.text_box.text() == "hi there" and not window.controller.talking


async def test_talk_button_held_with_the_mouse(window, qtbot):
    c = window.controller
    qtbot.mousePress(window.talk_button, Qt.MouseButton.LeftButton)
    assert c.talking
    feed(c, speech_like_pcm())
    qtbot.mouseRelease(window.talk_button, Qt.MouseButton.LeftButton)
    assert not c.talking
    await wait_for(lambda: len(window.transcript.bubbles) >= 2)


async def test_text_box_sends_and_mode_switch_updates_the_session(window, qtbot):
    c = window.controller
    window.text_box.setText("hello by text")
    qtbot.keyClick(window.text_box, Qt.Key.Key_Return)
    assert window.text_box.text() == ""
    await wait_for(lambda: len(window.transcript.bubbles) >= 2 and c.conversation.turns[-1].final)
    assert "(typed)" in window.transcript.bubbles[0].who.text()
    window.vad_action.trigger()
    assert c.mode == "vad" and window.vad_action.isChecked()
    await wait_for(lambda: len(window.server.received("session.update")) == 2)
    assert window.server.received("session.update")[1]["session"]["turn_detection"]["type"] == "server_vad"
    assert window.talk_button.text() == "Listening"


async def test_escape_and_stop_cut_a_reply(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    script = Script(reply_seconds=3.0, delta_delay=0.05, reply_text="a long answer " * 8)
    async with ScriptedServer(script, token=TOKEN) as server:
        c = Controller(RunOptions(url=server.url, mode="vad", audio=False, data_root=tmp_path / "d",
                                  config_dir=tmp_path / "c"))
        win = MainWindow(c)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            c.send_text("go on")
            await wait_for(lambda: c.response_active and c.assistant_ring.head > 0)
            qtbot.keyClick(win, Qt.Key.Key_Escape)
            assert not c.response_active
            await wait_for(lambda: "interrupted" in win.transcript.bubbles[-1].text.text())
            c.send_text("again")
            await wait_for(lambda: c.response_active and len(c.conversation.turns) >= 4)
            win.stop_action.trigger()
            assert c.conversation.turns[-1].interrupted
        finally:
            await c.shutdown()


async def test_escape_in_the_studio_stops_synthesis_like_stop(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    script = Script(tts_seconds_per_char=0.05, delta_delay=0.05)  # several seconds of speech, paced
    async with ScriptedServer(script, token=TOKEN) as server:
        c = Controller(RunOptions(url=server.url, mode="vad", audio=False, data_root=tmp_path / "d",
                                  config_dir=tmp_path / "c"))
        win = MainWindow(c)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        states: list[str] = []
        c.tts_state_changed.connect(lambda state, _detail: states.append(state))
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            win.tabs.setCurrentWidget(win.studio)
            win.studio.text.setPlainText("A long text to speak. " * 6)
            qtbot.mouseClick(win.studio.speak_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: states[-1:] == ["speaking"] and c.speech_duration_s() > 0.2,
                           what=lambda: states)
            qtbot.keyClick(win.studio.text, Qt.Key.Key_Escape)
            await wait_for(lambda: states[-1:] == ["stopped"], what=lambda: states)
            heard = c.speech_duration_s()
            await asyncio.sleep(0.5)
            assert states[-1] == "stopped" and "done" not in states, states
            assert c.speech_duration_s() == heard, "synthesis went on after Esc"
            assert win.studio.status.text().startswith("Stopped") and win.studio.speak_button.isEnabled()
            tts = next(x for x in server.connections if "tts" in x.model)
            assert "session.finished" not in tts.sent_types
        finally:
            await c.shutdown()


async def test_notices_show_as_banners_with_actions(window, qtbot):
    c = window.controller
    c.notice.emit(st.ERROR, "Connection failed: boom", st.ACTION_RECONNECT)
    banner = window.notifications.banners[-1]
    assert "boom" in banner.message.text() and banner.action_button.text() == "Reconnect"
    c.notice.emit(st.INFO, "offline mode", st.ACTION_ADD_KEY)
    assert window.notifications.banners[-1].action_button.text() == "Add a key…"


def _where(window, widget):
    from PySide6.QtCore import QPoint

    return widget.mapTo(window, QPoint(0, 0)), widget.size()


async def test_notices_float_over_the_page_and_move_nothing(window, qtbot):
    watched = (window.tabs, window.transcript, window.talk_button, window.text_box, window.send_button,
               window.waveform)
    await asyncio.sleep(0.05)
    before = [_where(window, w) for w in watched]
    c = window.controller
    c.notice.emit(st.ERROR, "Connection failed: boom", st.ACTION_RECONNECT)
    c.notice.emit(st.WARNING, "The microphone is muted " * 6, "")
    c.notice.emit(st.INFO, "offline mode", st.ACTION_ADD_KEY)
    await asyncio.sleep(0.05)
    assert window.notifications.isVisible() and len(window.notifications.banners) == 3
    assert [_where(window, w) for w in watched] == before
    # The banners sit below the tab bar, inside the window, and are all readable.
    area = window.notifications
    top = area.mapTo(window, area.rect().topLeft())
    assert top.y() >= window.tabs.tabBar().mapTo(window, window.tabs.tabBar().rect().bottomLeft()).y()
    assert area.geometry().right() <= area.parentWidget().width()
    assert all(b.isVisible() and b.height() >= b.minimumSizeHint().height() for b in area.banners)
    for banner in list(area.banners):
        banner.close_button.click()
    await asyncio.sleep(0.05)
    assert [_where(window, w) for w in watched] == before
    assert not window.notifications.isVisible()  # an empty area takes no clicks


async def test_the_same_notice_twice_is_one_banner_and_info_fades(window, qtbot):
    window.notifications.info_timeout_ms = 150
    c = window.controller
    for _ in range(3):
        c.notice.emit(st.WARNING, "The microphone is not available", "")
        c.notice.emit(st.INFO, "Saved.", "")
    assert window.notifications.texts() == ["The microphone is not available", "Saved."]
    await wait_for(lambda: window.notifications.texts() == ["The microphone is not available"], within=3)


async def test_settings_applied_goes_by_itself(window, qtbot, monkeypatch):
    panel = window.settings_panel
    panel.notice.auto_hide.setInterval(150)
    window.show_settings()
    assert panel.apply()
    assert panel.notice.isVisible() and panel.notice.text() == "Settings applied."
    await wait_for(lambda: not panel.notice.isVisible(), within=3)
    panel.show_notice("The settings could not be saved: disk full", "error")
    await asyncio.sleep(0.4)
    assert panel.notice.isVisible()  # problems stay until dealt with


async def test_settings_tab_applies_live(window, qtbot):
    c = window.controller
    assert window.settings_panel is not None
    assert window.tabs.tabText(window.tabs.count() - 1) == "Settings"
    window.show_settings()
    assert window.tabs.currentWidget() is window.settings_panel
    new = c.settings.copy()
    new.omni.instructions = "Answer in one short sentence."
    window.settings_panel.applied.emit(new)
    await wait_for(lambda: len(window.server.received("session.update")) == 2)
    assert window.server.received("session.update")[1]["session"]["instructions"] == "Answer in one short sentence."
    assert (c.settings_store.path).exists()
    check = await c.test_connection(window.server.url, c.model, TOKEN)
    assert check.ok and "Connected" in check.message
    bad = await c.test_connection("ws://127.0.0.1:9/api-ws/v1/realtime", c.model, TOKEN)
    assert not bad.ok


async def test_ctrl_q_closes_the_window_like_the_close_button(window, qtbot):
    closed = []
    window.close_finished = lambda: closed.append(True)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    await wait_for(lambda: closed == [True] and not window.isVisible())


async def test_main_window_starts_in_simplified_chinese_when_chosen(qtbot, tmp_path, monkeypatch):
    from qwenvoice.ui.i18n import LanguageManager

    manager = LanguageManager.current() or LanguageManager()
    manager.apply("zh_CN")
    try:
        controller = Controller(RunOptions(url="ws://127.0.0.1:9/x", audio=False, data_root=tmp_path / "d",
                                           config_dir=tmp_path / "c"))
        controller.load_settings()
        win = MainWindow(controller)
        qtbot.addWidget(win)
        tabs = [win.tabs.tabText(i) for i in range(win.tabs.count())]
        assert "Conversation" not in tabs and any("\u4e00" <= ch <= "\u9fff" for ch in "".join(tabs)), tabs
        await controller.shutdown()
    finally:
        manager.apply("en")


async def test_key_repeat_delivered_as_release_and_press_stays_one_turn(window, qtbot):
    # Under load X reports auto-repeat as real release/press pairs a few ms apart.
    c = window.controller
    window.transcript.setFocus()
    qtbot.keyPress(window, Qt.Key.Key_Space)
    feed(c, speech_like_pcm())
    for _ in range(4):
        qtbot.keyRelease(window, Qt.Key.Key_Space)
        assert c.talking, "a release followed by a press within a few ms must not end the turn"
        await asyncio.sleep(0.003)
        qtbot.keyPress(window, Qt.Key.Key_Space)
        assert c.talking
    qtbot.keyRelease(window, Qt.Key.Key_Space)
    await wait_for(lambda: not c.talking, within=2)
    await wait_for(lambda: "response.create" in window.server.connections[0].types())
    assert window.server.connections[0].types().count("input_audio_buffer.commit") == 1


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_a_live_language_switch_retranslates_the_open_window(window):
    """Choosing another language in the settings changes the window's texts at once, no restart."""
    from qwenvoice.ui.i18n import LanguageManager

    def texts() -> list[str]:
        return [
            *(window.tabs.tabText(i) for i in range(window.tabs.count())),
            window.vad_action.text(), window.ptt_action.toolTip(), window.stop_action.text(),
            window.send_button.text(), window.text_box.placeholderText(), window.talk_button.text(),
            window.inspector_dock.windowTitle(), window.studio.speak_button.text(), window.studio.save_button.text(),
            window.studio.status.text(), window.playback.volume.toolTip(), window.status.latency.toolTip(),
            window.inspector.pause_button.text(), window.inspector.direction.itemText(1),
            window.inspector.detail.placeholderText(), window.inspector.count_label.text(),
            window.history.export_button.text(), window.history.title.text(),
            window.transcript.placeholder.text(), *(b.copy_button.toolTip() for b in window.transcript.bubbles),
            *(b.who.text() for b in window.transcript.bubbles),
            *(b.text.text() for b in window.transcript.bubbles if b.turn.interrupted),
        ]  # fmt: skip

    window.inspector.pull()  # the event count
    typed, cut = Turn("t1", USER, "Hello", source="text"), Turn("t2", ASSISTANT, "Hi", interrupted=True)
    window.transcript.set_turns([typed, cut])
    english = texts()
    assert not any(_has_cjk(t) for t in english), english
    manager = LanguageManager.current() or LanguageManager()
    try:
        manager.apply("zh_CN")
        await wait_for(lambda: all(_has_cjk(t) for t in texts()), within=3, what=texts)
    finally:
        manager.apply("en")
    await wait_for(lambda: texts() == english, within=3, what=texts)


async def test_a_damaged_settings_notice_found_before_the_window_exists_is_shown(qtbot, tmp_path):
    # Built the way gui.py builds it: the settings are loaded (and the notice sent) before the window.
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text("{not json", encoding="utf-8")
    controller = Controller(RunOptions(url="ws://127.0.0.1:9/x", audio=False, data_root=tmp_path / "data",
                                       config_dir=config))
    controller.load_settings()
    win = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    qtbot.addWidget(win)
    win.show()
    try:
        damaged = [text for text in win.notifications.texts() if "damaged" in text]
        assert len(damaged) == 1, win.notifications.texts()
        banner = next(b for b in win.notifications.banners if "damaged" in b.message.text())
        assert banner.action_button is not None and banner.action_button.text() == "Open settings"
        # Later notices come through the signal; the start-up one is not shown again.
        controller.notice.emit(st.WARNING, "later", "")  # (an info banner would outlive the window on a timer)
        assert [t for t in win.notifications.texts() if "damaged" in t] == damaged
    finally:
        await controller.shutdown()


async def test_a_connection_failure_banner_goes_once_the_session_is_ready_again(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)
    async with ScriptedServer(Script(reply_seconds=0.3, http_status=503), token=TOKEN) as server:
        c = Controller(RunOptions(url=server.url, mode="ptt", audio=False, data_root=tmp_path / "d",
                                  config_dir=tmp_path / "c", reconnect=False))
        c.load_settings()
        win = MainWindow(c)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.FAILED)
            assert any("Connection failed" in t for t in win.notifications.texts()), win.notifications.texts()
            server.script.http_status = None  # the server is back
            win.reconnect_action.trigger()  # the toolbar's Reconnect, which leaves the banner alone itself
            await wait_for(lambda: c.connection.state == st.READY)
            await asyncio.sleep(0.1)
            assert not any("Connection failed" in t for t in win.notifications.texts()), win.notifications.texts()
            assert any("Connection failed" in text for _, text in win.notifications.history)
            c.send_text("still there?")
            await wait_for(lambda: len(c.conversation.turns) >= 2 and c.conversation.turns[-1].final)
        finally:
            await c.shutdown()


async def test_the_status_bar_and_banner_buttons_follow_a_live_language_switch_both_ways(window):
    from qwenvoice.ui.i18n import LanguageManager

    window.controller.notice.emit(st.INFO, "offline mode", st.ACTION_ADD_KEY)
    banner = window.notifications.banners[-1]

    def texts() -> list[str]:
        return [window.status.connection.text().split("</span>")[-1], banner.action_button.text()]

    english = texts()
    assert "ready" in english[0] and english[1] == "Add a key…"
    manager = LanguageManager.current() or LanguageManager()
    try:
        manager.apply("zh_CN")
        await wait_for(lambda: all(_has_cjk(t) for t in texts()), within=3, what=texts)
    finally:
        manager.apply("en")
    await wait_for(lambda: texts() == english, within=3, what=texts)
