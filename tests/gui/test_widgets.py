"""Every view widget on its own: build it, feed it data, check what it shows (offscreen)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from qwenvoice.session.conversation import Conversation
from qwenvoice.session.eventlog import IN, OUT, EventLog
from qwenvoice.session.metrics import SessionMetrics
from qwenvoice.session.status import (
    ERROR,
    INFO,
    PLAYBACK_IDLE,
    PLAYING,
    PREBUFFERING,
    READY,
    RECONNECTING,
    ConnectionInfo,
    PlaybackStatus,
)
from qwenvoice.session.waveform_data import TimelineRing
from qwenvoice.ui.conversation import TranscriptView
from qwenvoice.ui.history import HistoryPanel
from qwenvoice.ui.inspector import InspectorPanel
from qwenvoice.ui.notifications import NotificationArea
from qwenvoice.ui.playback import PlaybackPanel
from qwenvoice.ui.statusbar import AppStatusBar, connection_text
from qwenvoice.ui.waveform import ASSISTANT_COLOR, MIC_COLOR, WaveformView
from qwenvoice.ui.widgets import LevelMeter


def test_transcript_streams_into_bubbles_and_marks_interruptions(qtbot, tmp_path):
    conv = Conversation.create(tmp_path)
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    assert view.placeholder.isVisible()
    i = conv.user_transcript("item_1", "hello", final=False, preview=" wor")
    view.update_turn(conv.turns, i)
    assert "hello" in view.bubbles[0].text.text() and "wor" in view.bubbles[0].text.text()
    assert not view.placeholder.isVisible()
    a = conv.assistant_delta("r1", "The answer")
    view.update_turn(conv.turns, a)
    a = conv.assistant_delta("r1", " is long")
    view.update_turn(conv.turns, a)
    assert len(view.bubbles) == 2 and "The answer is long" in view.bubbles[1].text.text()
    conv.mark_interrupted("r1")
    view.update_turn(conv.turns, a)
    assert "interrupted" in view.bubbles[1].text.text()
    # copy puts the turn's text on the clipboard
    view.bubbles[1].copy_button.click()
    assert QGuiApplication.clipboard().text() == "The answer is long"
    view.set_turns([])
    assert view.bubbles == [] and view.placeholder.isVisible()


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _ring_with_tone(clock=time.monotonic) -> TimelineRing:
    ring = TimelineRing(16000, capacity_s=20, clock=clock)
    if isinstance(clock, ManualClock):
        clock.t += 1.0  # the tone is the last second before "now"
    t = np.arange(16000) / 16000
    ring.write((np.sin(2 * np.pi * 200 * t) * 20000).astype(np.int16))
    return ring


def test_waveform_draws_both_lanes_in_their_colours(qtbot):
    clock = ManualClock()
    mic = _ring_with_tone(clock)
    assistant = TimelineRing(16000, capacity_s=20, clock=clock)
    view = WaveformView(mic, assistant, seconds=2.0)
    qtbot.addWidget(view)
    image = view.render_image(400, 120)
    colours = {image.pixelColor(x, y).rgb() for x in range(300, 400) for y in range(60)}
    assert QColor(MIC_COLOR).rgb() in colours  # the mic lane (top) shows the tone
    lower = {image.pixelColor(x, y).rgb() for x in range(300, 400) for y in range(62, 120)}
    assert QColor(ASSISTANT_COLOR).rgb() not in lower  # nothing played yet
    clock.t += 0.5
    assistant.write((np.ones(8000) * 15000).astype(np.int16))
    image = view.render_image(400, 120)
    lower = {image.pixelColor(x, y).rgb() for x in range(350, 400) for y in range(62, 120)}
    assert QColor(ASSISTANT_COLOR).rgb() in lower


def test_waveform_timer_runs_only_while_visible_and_repaints(qtbot):
    mic = _ring_with_tone()
    view = WaveformView(mic, TimelineRing(16000), seconds=2.0, fps=60)
    qtbot.addWidget(view)
    assert not view.running
    view.resize(400, 120)
    view.show()
    qtbot.waitExposed(view)
    assert view.running
    qtbot.waitUntil(lambda: view.frames_painted >= 5, timeout=3000)
    view.hide()
    assert not view.running


def test_level_meter_tracks_the_level():
    meter = LevelMeter(Qt.Orientation.Vertical)
    meter.set_level_db(-6.0)
    assert meter.fraction(meter.level_db()) == pytest.approx(0.9)
    assert meter.peak_db == -6.0
    meter.set_level_db(-50.0)
    assert meter.level_db() == -50.0 and meter.peak_db == -6.0  # peak holds


def test_playback_panel_shows_state_depth_underruns_and_volume(qtbot):
    status = {"value": PlaybackStatus(state=PREBUFFERING, depth_ms=40, target_ms=80, underruns=0)}
    panel = PlaybackPanel(lambda: status["value"])
    qtbot.addWidget(panel)
    assert panel.state_label.text() == "prebuffering"
    assert panel.gauge.depth_ms == 40 and panel.gauge.target_ms == 80
    status["value"] = PlaybackStatus(state=PLAYING, depth_ms=160, target_ms=100, underruns=3, volume=0.5)
    panel.refresh()
    assert panel.state_label.text() == "playing" and "3" in panel.underrun_label.text()
    assert panel.volume.value() == 50 and "100" in panel.target_label.text()
    with qtbot.waitSignal(panel.volume_changed) as sig:
        panel.volume.setValue(25)
    assert sig.args == [0.25]


def test_notifications_stack_replace_expire_and_run_actions(qtbot):
    area = NotificationArea(max_visible=2, info_timeout_ms=100)
    qtbot.addWidget(area)
    area.show()
    clicked = []
    banner = area.show_notice(ERROR, "Connection failed", "Reconnect", lambda: clicked.append(1))
    assert banner.action_button is not None
    banner.action_button.click()
    assert clicked == [1] and area.banners == []
    area.show_notice(ERROR, "a")
    area.show_notice(ERROR, "b")
    area.show_notice(ERROR, "c")
    assert area.texts() == ["b", "c"]  # bounded
    area.show_notice(INFO, "offline 1", key="offline", sticky=True)
    area.show_notice(INFO, "offline 2", key="offline", sticky=True)
    assert area.texts().count("offline 2") == 1 and "offline 1" not in area.texts()
    area.show_notice(INFO, "short lived")
    qtbot.waitUntil(lambda: "short lived" not in area.texts(), timeout=2000)
    assert "offline 2" in area.texts()  # sticky notices stay


def test_status_bar_shows_state_countdown_latency_and_cost(qtbot):
    bar = AppStatusBar()
    qtbot.addWidget(bar)
    bar.show_connection(ConnectionInfo(state=READY, model="qwen3-omni-flash-realtime", region="beijing"))
    assert "ready" in bar.connection.text() and "qwen3-omni-flash-realtime" in bar.model.text()
    info = ConnectionInfo(state=RECONNECTING, retry_at=time.monotonic() + 3.2, detail="1006")
    assert connection_text(info) == "reconnecting in 4 s"
    bar.show_connection(info)
    assert "reconnecting in" in bar.connection.text()
    m = SessionMetrics(model="qwen3-omni-flash-realtime")
    m.speech_ended(1.0)
    m.first_sample_played(1.85)
    m.usage.add({"total_tokens": 1200, "input_audio_tokens": 1000, "output_audio_tokens": 200})
    bar.show_metrics(m)
    assert "850 ms" in bar.latency.text() and "1200" in bar.usage.text() and "$" in bar.usage.text()
    bar.show_metrics(m, offline=True)
    assert "free" in bar.usage.text()
    before = m.estimated_cost_usd
    m.usage.add({"input_text_tokens": 0, "cached_tokens": 0, "characters": 2500})  # a speech-studio job
    m.usage.add({"total_tokens": 300, "input_text_tokens": 256, "output_text_tokens": 44, "cached_tokens": 128})
    bar.show_metrics(m)
    shown = bar.usage.text()
    assert "1500" in shown and "cached: 128" in shown and "TTS characters: 2500" in shown, shown
    assert m.estimated_cost_usd > before


def test_inspector_lists_filters_expands_and_exports(qtbot, tmp_path):
    log = EventLog()
    panel = InspectorPanel(log)
    qtbot.addWidget(panel)
    log.add(OUT, {"type": "session.update", "session": {"voice": "Cherry"}})
    log.add(OUT, {"type": "input_audio_buffer.append", "audio": "QUJD" * 100})
    log.add(IN, {"type": "response.audio_transcript.delta", "delta": "Hi"})
    log.add(IN, {"type": "error", "error": {"message": "bad"}})
    panel.show()
    panel.pull()
    assert panel.hide_audio.isChecked() and panel.proxy.rowCount() == 3  # audio hidden by default
    panel.hide_audio.setChecked(False)
    assert panel.proxy.rowCount() == 4
    panel.filter_edit.setText("response.")
    assert panel.proxy.rowCount() == 1
    panel.filter_edit.clear()
    panel.direction.setCurrentIndex(panel.direction.findData("out"))
    assert panel.proxy.rowCount() == 2
    panel.hide_audio.setChecked(True)
    assert panel.proxy.rowCount() == 1
    panel.table.selectRow(0)
    detail = json.loads(panel.detail.toPlainText())
    assert detail["session"] == {"voice": "Cherry"}
    panel.hide_audio.setChecked(False)
    n = panel.export(tmp_path / "events.jsonl")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert n == 2 and "elided" in lines[1] and "QUJD" not in lines[1]
    panel.pause_button.setChecked(True)
    log.add(OUT, {"type": "response.create"})
    panel.pull()
    assert panel.model.rowCount() == 4
    panel.pause_button.setChecked(False)
    assert panel.model.rowCount() == 5
    panel.clear()
    assert panel.model.rowCount() == 0


def test_history_lists_opens_and_exports(qtbot, tmp_path):
    conv = Conversation.create(tmp_path)
    conv.user_transcript("i1", "tell me a joke", final=True)
    conv.assistant_delta("r1", "Why did the chicken cross the road?")
    conv.close()
    panel = HistoryPanel(lambda: tmp_path)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.list.count() == 1 and "tell me a joke" in panel.list.item(0).text()
    panel.list.setCurrentRow(0)
    assert len(panel.preview.bubbles) == 2 and panel.export_button.isEnabled()
    with qtbot.waitSignal(panel.exported):
        written = panel.export_selected(tmp_path / "out")
    assert {p.name for p in written} == {"transcript.md", "user.wav", "assistant.wav", "events.jsonl"}
    assert "chicken" in (tmp_path / "out" / "transcript.md").read_text()
    panel.list.setCurrentRow(-1)
    assert not panel.export_button.isEnabled()


def test_history_shows_a_reply_cut_by_a_crash_as_interrupted(qtbot, tmp_path):
    conv = Conversation.create(tmp_path)
    conv.user_transcript("i1", "first question", final=True)
    conv.assistant_delta("r1", "A whole answer.")
    conv.assistant_done("r1")
    conv.user_transcript("i2", "second question", final=True)
    conv.assistant_delta("r2", "Half an ans")  # the app died here: no close, no final record
    panel = HistoryPanel(lambda: tmp_path)
    qtbot.addWidget(panel)
    panel.show()
    panel.list.setCurrentRow(0)
    texts = [b.text.text() for b in panel.preview.bubbles]
    assert len(texts) == 4 and "interrupted" not in texts[1]
    assert "Half an ans" in texts[3] and "interrupted" in texts[3]
    conv.close()


@pytest.mark.parametrize(("status", "reason"), [("incomplete", "max_output_tokens"),
                                                  ("failed", "The model is overloaded.")])
def test_a_reply_the_server_did_not_complete_shows_its_status_live_and_in_history(qtbot, tmp_path, status, reason):
    conv = Conversation.create(tmp_path)
    conv.user_text("tell me everything")
    a = conv.assistant_delta("r1", "Half <an> answer")
    conv.assistant_status("r1", status, reason)
    conv.assistant_done("r1")
    view = TranscriptView()
    qtbot.addWidget(view)
    view.set_turns(conv.turns)
    shown = view.bubbles[a].text.text()
    assert "Half &lt;an&gt; answer" in shown and status in shown and reason in shown
    assert "interrupted" not in shown
    conv.close()
    panel = HistoryPanel(lambda: tmp_path)  # read back from the saved transcript
    qtbot.addWidget(panel)
    panel.show()
    panel.list.setCurrentRow(0)
    again = panel.preview.bubbles[1].text.text()
    assert status in again and reason in again


def test_studio_drives_the_controller_interface(qtbot):
    from PySide6.QtCore import QObject, Signal

    from qwenvoice.ui.studio import StudioPanel

    class Recorder(QObject):
        # The real controller's studio interface, recorded (pure view logic under test).
        tts_progress = Signal(int, int)
        tts_state_changed = Signal(str, str)

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple] = []

        def speak(self, text: str, mode: str) -> None:
            self.calls.append(("speak", text, mode))

        def stop_speaking(self) -> None:
            self.calls.append(("stop",))

        def speech_duration_s(self) -> float:
            return 1.5

        def tts_description(self) -> str:
            return "voice Cherry"

    ctl = Recorder()
    panel = StudioPanel(ctl)
    qtbot.addWidget(panel)
    panel.speak_button.click()
    assert ctl.calls == [] and "Nothing to speak" in panel.status.text()
    panel.text.setPlainText("Hello there. Second sentence.")
    panel.mode.setCurrentIndex(panel.mode.findData("commit"))
    qtbot.mouseClick(panel.speak_button, Qt.MouseButton.LeftButton)
    assert ctl.calls == [("speak", "Hello there. Second sentence.", "commit")]
    ctl.tts_state_changed.emit("speaking", "")
    ctl.tts_progress.emit(1, 2)
    assert not panel.speak_button.isEnabled() and panel.stop_button.isEnabled()
    assert panel.progress.value() == 1 and panel.progress.maximum() == 2
    panel.stop_button.click()
    assert ctl.calls[-1] == ("stop",)
    ctl.tts_state_changed.emit("done", "1.5 s")
    assert panel.save_button.isEnabled() and "Done" in panel.status.text()
    assert panel.voice_label.text() == "voice Cherry"


@pytest.mark.parametrize(("suffix", "kind"), [(".opus", "Opus audio"), (".mp3", "MP3 audio"), (".wav", "WAV audio")])
def test_studio_save_offers_the_extension_of_the_format_sent(qtbot, monkeypatch, tmp_path, suffix, kind):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QFileDialog

    from qwenvoice.ui.studio import StudioPanel

    class Recorder(QObject):
        tts_progress = Signal(int, int)
        tts_state_changed = Signal(str, str)

        def __init__(self) -> None:
            super().__init__()
            self.saved: list[Path] = []

        def speech_duration_s(self) -> float:
            return 1.0

        def speech_file_suffix(self) -> str:
            return suffix

        def stop_speaking(self) -> None:
            pass

        def save_speech(self, path: Path) -> Path:
            self.saved.append(path)
            return path

    asked: list[tuple[str, str]] = []
    answers = iter([str(tmp_path / f"mine{suffix}"), str(tmp_path / "typed-without-one")])

    def dialog(_parent, _title, name, filters):  # type: ignore[no-untyped-def]
        asked.append((name, filters))
        return next(answers), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    ctl = Recorder()
    panel = StudioPanel(ctl)
    qtbot.addWidget(panel)
    ctl.tts_state_changed.emit("done", "1.0 s")
    panel.save_button.click()
    panel.save_button.click()
    assert (Path(asked[0][0]).name, asked[0][1]) == (f"speech{suffix}", f"{kind} (*{suffix})")
    assert ctl.saved == [tmp_path / f"mine{suffix}", tmp_path / f"typed-without-one{suffix}"]


def test_history_lists_no_empty_conversation_and_counts_turns(qtbot, tmp_path):
    live = Conversation.create(tmp_path)  # a launch where nothing was said yet
    crashed = Conversation.create(tmp_path)
    crashed.log_event_line('{"type": "session.created"}')  # left by a crash before any turn
    said = Conversation.create(tmp_path)
    said.user_text("hello")
    said.close()
    panel = HistoryPanel(lambda: tmp_path)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.list.count() == 1
    assert "1 turn\n" in panel.list.item(0).text() and "hello" in panel.list.item(0).text()
    live.close()  # closed with no turn: its folder goes
    assert not live.folder.exists() and said.folder.exists()


def test_history_deletes_one_and_all_after_asking_never_the_live_one(qtbot, tmp_path):
    convs = []
    for text in ("first", "second", "third"):
        conv = Conversation.create(tmp_path)
        conv.user_text(text)
        convs.append(conv)
    for conv in convs[:2]:
        conv.close()
    live = convs[2]  # still being recorded
    panel = HistoryPanel(lambda: tmp_path, live_id=lambda: live.conversation_id)
    qtbot.addWidget(panel)
    panel.show()
    asked: list[str] = []
    answer = [False]
    panel.confirm = lambda title, question: asked.append(question) or answer[0]
    ids = [s.conversation_id for s in panel.summaries]
    panel.list.setCurrentRow(ids.index(live.conversation_id))
    assert not panel.delete_button.isEnabled() and not panel.delete_selected()
    panel.list.setCurrentRow(ids.index(convs[0].conversation_id))
    assert panel.delete_button.isEnabled()
    panel.delete_button.click()  # the user says no
    assert len(asked) == 1 and "first" in asked[0] and convs[0].folder.exists()
    answer[0] = True
    panel.delete_button.click()
    assert not convs[0].folder.exists() and panel.list.count() == 2
    assert not panel.export_button.isEnabled()  # nothing open any more
    panel.delete_all_button.click()
    assert "1" in asked[-1] and not convs[1].folder.exists() and live.folder.exists()
    assert panel.list.count() == 1 and not panel.delete_all_button.isEnabled()
    live.close()


def test_inspector_keeps_the_set_up_after_minutes_of_microphone_and_counts_appends(qtbot):
    log = EventLog()
    panel = InspectorPanel(log)
    qtbot.addWidget(panel)
    panel.hide_audio.setChecked(False)
    panel.show()
    log.add(IN, {"type": "session.created", "session": {"id": "s"}})
    log.add(OUT, {"type": "session.update", "session": {"voice": "Cherry"}})
    log.add(IN, {"type": "session.updated", "session": {}})
    panel.pull()
    for second in range(150):  # two and a half minutes of hands-free: 50 appends a second
        for _ in range(50):
            log.add(OUT, {"type": "input_audio_buffer.append", "audio": "A" * 856}, size=900)
        log.add(IN, {"type": "response.text.delta", "delta": "x"})
        if second == 3:
            log.add(IN, {"type": "error", "error": {"message": "bad"}})
        if second % 10 == 0:
            panel.pull()
    panel.pull()
    shown = [panel.model.data(panel.model.index(row, 2)) for row in range(panel.model.rowCount())]
    assert shown[:4] == ["session.created", "session.update", "session.updated", "input_audio_buffer.append ×50"]
    assert "error" in shown
    assert shown[-2:] == ["input_audio_buffer.append ×50", "response.text.delta"]
    assert panel.model.data(panel.model.index(3, 3)) == str(50 * 900)
    # a run still counting is shown with its new count at the next pull
    log.add(OUT, {"type": "input_audio_buffer.append", "audio": "A"}, size=900)
    log.add(OUT, {"type": "input_audio_buffer.append", "audio": "A"}, size=900)
    panel.pull()
    last = panel.model.rowCount() - 1
    assert panel.model.data(panel.model.index(last, 2)) == "input_audio_buffer.append ×2"


def test_playback_state_and_studio_modes_follow_chinese(qtbot):
    from unittest.mock import MagicMock

    from qwenvoice.ui.i18n import LanguageManager
    from qwenvoice.ui.studio import StudioPanel

    panel = PlaybackPanel(lambda: PlaybackStatus(state=PLAYBACK_IDLE))
    qtbot.addWidget(panel)
    ctl = MagicMock()
    ctl.tts_description.return_value = "voice Cherry"
    ctl.speech_duration_s.return_value = 0.0
    studio = StudioPanel(ctl)
    qtbot.addWidget(studio)
    panel.refresh()
    assert panel.state_label.text() == "idle"
    manager = LanguageManager.current() or LanguageManager()
    manager.apply("zh_CN")
    try:
        qtbot.waitUntil(lambda: panel.state_label.text() == "空闲", timeout=2000)
        modes = [studio.mode.itemText(i) for i in range(studio.mode.count())]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in modes), modes
    finally:
        manager.apply("en")
    qtbot.waitUntil(lambda: panel.state_label.text() == "idle", timeout=2000)
