"""Runs the real window under a real X display and writes a screenshot of each main view.

Used by test_screenshots.py in a child process (QT_QPA_PLATFORM=xcb, DISPLAY from .ci/devices.sh):
``python -m tests.gui.shoot_views OUT_DIR``. It starts the controller in offline mode (the offline
server child process and the virtual sound devices), holds a short conversation, then grabs each view.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path


async def _wait(predicate, within: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def main(out_dir: Path) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from qwenvoice.app.controller import Controller, RunOptions
    from qwenvoice.gui import build_settings_panel
    from qwenvoice.ui.main_window import MainWindow
    from qwenvoice.ui.theme import ThemeManager, app_icon

    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="qwenvoice-shots-"))
    os.environ.pop("DASHSCOPE_API_KEY", None)
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    ThemeManager(app).apply(os.environ.get("QWENVOICE_SHOT_THEME", "light"))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    controller = Controller(RunOptions(offline=True, mode="vad", audio=True, data_root=work / "data",
                                       config_dir=work / "config"))
    controller.load_settings()
    window = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    window.resize(1280, 800)
    window.show()
    shots: list[str] = []

    def grab(name: str) -> None:
        # No processEvents() here: inside a coroutine it would re-enter the asyncio loop.
        path = out_dir / f"{name}.png"
        window.grab().save(str(path))
        shots.append(str(path))
        print("shot", path, flush=True)

    speech = work / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(work / "s.wav"), "What time is it?"], check=True)
    subprocess.run(["sox", str(work / "s.wav"), "-r", "16000", "-c", "1", str(speech), "pad", "0.2", "1.5"],
                   check=True)

    async def run() -> None:
        await controller.start()
        await _wait(lambda: controller.connection.state == "ready", 120)
        proc = await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", str(speech))
        await proc.wait()
        turns = controller.conversation.turns
        await _wait(lambda: len(turns) >= 2 and turns[-1].role == "assistant" and turns[-1].final, 90)
        await _wait(lambda: controller.playback_status().state == "idle", 20)
        await asyncio.sleep(1.0)
        controller.send_text("What can you do?")
        await _wait(lambda: controller.response_active, 30)
        await asyncio.sleep(2.5)
        controller.stop()  # a cut-in reply, so the transcript shows the marker
        await asyncio.sleep(1.0)
        controller.send_text("Thanks!")
        await _wait(lambda: turns[-1].role == "assistant" and turns[-1].final, 30)
        await asyncio.sleep(1.5)
        window.inspector_dock.hide()
        await asyncio.sleep(0.4)
        grab("conversation")
        window.inspector_dock.show()
        await asyncio.sleep(0.6)
        window.inspector.table.selectRow(3)
        grab("conversation-inspector")
        window.inspector_dock.hide()
        window.tabs.setCurrentWidget(window.studio)
        window.studio.text.setPlainText("Streaming speech from text. Each paragraph is one segment.\n\n"
                                        "The audio plays as it arrives, and it can be saved as a WAV file.")
        window.studio.mode.setCurrentIndex(window.studio.mode.findData("commit"))
        window.studio.speak()
        await _wait(lambda: window.studio.save_button.isEnabled(), 60)
        await asyncio.sleep(0.4)
        grab("studio")
        window.tabs.setCurrentWidget(window.history)
        window.history.refresh()
        window.history.list.setCurrentRow(0)
        await asyncio.sleep(0.4)  # let the layout settle before the grab
        grab("history")
        if window.settings_panel is not None:
            window.show_settings()
            await asyncio.sleep(0.4)
            grab("settings")
        window.tabs.setCurrentIndex(0)
        window.resize(1024, 700)
        await asyncio.sleep(0.5)
        grab("conversation-1024x700")
        await controller.shutdown()

    with loop:
        loop.run_until_complete(run())
    print("\n".join(shots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/artifacts")))
