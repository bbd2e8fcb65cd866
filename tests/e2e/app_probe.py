"""Runs the desktop app exactly as ``python -m qwenvoice ARGS`` does, and writes what its window
shows to a JSON file several times a second, for the end-to-end tests to read.

    python -m tests.e2e.app_probe STATE.json [qwenvoice GUI options...]

The app is started through ``qwenvoice.cli.main`` (the real bootstrap: QApplication, qasync loop,
controller, offline server child, main window). The only addition is a timer that reads the live
widgets — the transcript bubbles' text as drawn, the window's activation, the talk state — and the
key events Qt actually received, so a test can check "what the user saw" without touching the app.
Times are epoch seconds (``time.time()``), comparable with the test process.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QToolBar

DUMP_INTERVAL_MS = 50


class KeyWatch(QObject):
    """Records the Space presses/releases that reach the application, once each (a key event is
    offered to the filter again for every widget it propagates to), autorepeat marked."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[float, str, bool]] = []
        self._seen: set[tuple[int, int]] = set()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if (kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Space):
            once = (int(kind.value), int(event.timestamp()))
            if once not in self._seen:
                self._seen.add(once)
                name = "press" if kind == QEvent.Type.KeyPress else "release"
                self.events.append((time.time(), name, event.isAutoRepeat()))
        return False


class Probe:
    def __init__(self, app: QApplication, state_path: Path) -> None:
        self.app = app
        self.state_path = state_path
        self.keys = KeyWatch()
        app.installEventFilter(self.keys)
        self.window: Any = None
        self.talking: list[tuple[float, bool]] = []
        self.events: list[tuple[float, str, str]] = []  # (time, direction, type), no audio deltas
        self._echo: dict[str, Any] | None = None
        self._event_seq = 0
        self.timer = QTimer()
        self.timer.setInterval(DUMP_INTERVAL_MS)
        self.timer.timeout.connect(self.dump)
        self.timer.start()

    def _find_window(self) -> Any:
        for widget in self.app.topLevelWidgets():
            if type(widget).__name__ == "MainWindow" and hasattr(widget, "controller"):
                return widget
        return None

    def _attach(self, window: Any) -> None:
        self.window = window
        # The window's own filter consumes Space; the filter installed last runs first, so go after it.
        self.app.removeEventFilter(self.keys)
        self.app.installEventFilter(self.keys)
        window.controller.talking_changed.connect(lambda on: self.talking.append((time.time(), bool(on))))

    def _collect_events(self, controller: Any) -> None:
        for record in controller.eventlog.since(self._event_seq):
            self._event_seq = record.seq + 1
            if not record.type.endswith(".delta") and record.type != "input_audio_buffer.append":
                self.events.append((record.time, record.direction, record.type))

    def dump(self) -> None:
        try:
            self._dump()
        except Exception as exc:  # the probe must never disturb the app
            print(f"probe: {exc!r}", file=sys.stderr)

    def _dump(self) -> None:
        if self.window is None:
            window = self._find_window()
            if window is None:
                return
            self._attach(window)
        win = self.window
        c = win.controller
        self._collect_events(c)
        focus = QApplication.focusWidget()
        bubbles = []
        for bubble in win.transcript.bubbles:
            shown = QTextDocumentFragment.fromHtml(bubble.text.text()).toPlainText()
            bubbles.append({"role": bubble.turn.role, "text": shown, "turn_text": bubble.turn.text,
                            "final": bubble.turn.final, "interrupted": bubble.turn.interrupted,
                            "visible": bubble.isVisible()})
        playback = c.playback_status()
        buttons = {}
        for name in ("vad_action", "ptt_action", "stop_action"):
            action = getattr(win, name, None)
            bars = [b for b in win.findChildren(QToolBar) if action is not None and b.widgetForAction(action)]
            if bars:
                button = bars[0].widgetForAction(action)
                corner = button.mapToGlobal(QPoint(0, 0))
                buttons[name] = [corner.x(), corner.y(), button.width(), button.height()]
        echo = _echo_snapshot(c)
        if echo is not None:  # the last one seen stays after shutdown, for the report of a failure
            self._echo = echo
        state = {
            "time": time.time(),
            "pid": os.getpid(),
            "window_id": int(win.winId()),
            "title": win.windowTitle(),
            "visible": win.isVisible(),
            "active": win.isActiveWindow(),
            "focus": type(focus).__name__ if focus is not None else None,
            "platform": QApplication.platformName(),
            "connection": c.connection.state,
            "offline": c.connection.offline,
            "mode": c.mode,
            "talking": c.talking,
            "response_active": c.response_active,
            "playback": playback.state,
            "mic_blocks": c.mic_blocks,
            "bubbles": bubbles,
            "buttons": buttons,
            "notices": win.notifications.texts(),
            "talk_changes": self.talking,
            "space_keys": self.keys.events,
            "events": self.events[-400:],
            "conversation_folder": str(c.conversation.folder) if c.conversation.folder else None,
            "server_pid": c.server.process.pid if c.server is not None and c.server.process is not None else None,
            "input_device": _pulse_name(c.audio.capture if c.audio is not None else None),
            "output_device": _pulse_name(c.audio.player if c.audio is not None else None),
            "echo": self._echo,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, default=str), encoding="utf-8")
        os.replace(tmp, self.state_path)


def _echo_snapshot(c: Any) -> dict[str, Any] | None:
    """What the capture path's echo handling is doing (to tell why the app heard itself)."""
    echo, audio = c.echo, c.audio
    if echo is None or audio is None:
        return None
    snap: dict[str, Any] = {"state": dataclasses.asdict(echo.state())}
    processor = echo.processor
    if processor is not None:
        snap["aligner"] = dataclasses.asdict(processor.aligner.stats)
        snap["waits"] = processor.stats.waits
        snap["delay_changes"] = processor.stats.delay_changes
        canceller = processor.canceller
        snap["hybrid"] = {k: getattr(canceller, k, None) for k in ("using_keeper", "switches", "robust_erle_db",
                                                                    "keeper_erle_db", "audible_frames")}
    snap["capture"] = {"dropped_blocks": audio.capture.dropped_blocks, "overflows": audio.capture.overflows,
                       "recoveries": getattr(audio.capture, "recoveries", None)}
    snap["player"] = {"lost": audio.player.played_lost_samples, "underflows": audio.player.device_underflows,
                      "recoveries": getattr(audio.player, "recoveries", None)}
    return snap


def _pulse_name(stream: Any) -> str | None:
    device = getattr(stream, "device", None)
    return None if device is None else (device.pulse_name or device.identity)


def main(argv: list[str]) -> int:
    state_path = Path(argv[0])
    # A test that finds the app hung sends SIGUSR1 to get every thread's stack in the log.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # Same order as the real bootstrap: the rounding policy must be set before the QApplication.
    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(["qwenvoice"])
    probe = Probe(app, state_path)
    from qwenvoice.cli import main as qwenvoice_main

    try:
        return qwenvoice_main(argv[1:])
    finally:
        probe.timer.stop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
