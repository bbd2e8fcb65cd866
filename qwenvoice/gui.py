"""The GUI bootstrap: QApplication on a qasync loop, the controller, the main window.

Sits on the top floor beside cli.py so that no layer arrow runs back up: the controller (app) never
imports the UI, the UI only talks to the controller.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from qwenvoice.app.controller import Controller

log = logging.getLogger(__name__)


def _log_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir("qwenvoice", appauthor=False)) / "qwenvoice.log"


def _install_excepthooks(controller: Controller) -> None:
    """Errors in slots and threads are logged and shown as a notice, never lost or fatal."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
            return
        log.error("unhandled error", exc_info=(kind, value, tb))
        try:
            controller.notice.emit("error", f"Unexpected error: {value}", "")
        except Exception:
            pass

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            log.error("unhandled error in thread %s", args.thread, exc_info=args.exc_value)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def build_settings_panel(controller: Controller, window_parent: QWidget | None = None) -> QWidget | None:
    """The settings panel from qwenvoice.ui.settings_panel, wired to the controller (None if missing)."""
    import importlib

    try:
        settings_panel = importlib.import_module("qwenvoice.ui.settings_panel")
    except ImportError:
        return None
    build = getattr(settings_panel, "build_for_controller", None)
    return build(controller) if callable(build) else None


def run_gui(args: argparse.Namespace) -> int:
    if getattr(args, "install_desktop_entry", False):
        from qwenvoice.desktop_entry import run_install

        return run_install()
    from qwenvoice.logsetup import configure_logging

    configure_logging(getattr(args, "verbose", 0), log_file=_log_file())

    import qasync
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from qwenvoice.app.controller import Controller, RunOptions
    from qwenvoice.ui.main_window import MainWindow

    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("qwenvoice")
    app.setApplicationDisplayName("qwenvoice")
    app.setDesktopFileName("qwenvoice")
    # Closing the window must not stop the loop before the session and the server are shut down.
    app.setQuitOnLastWindowClosed(False)
    try:
        from qwenvoice.ui.theme import ThemeManager, app_icon

        app.setWindowIcon(app_icon())
        theme = ThemeManager(app)
    except Exception:
        log.exception("theme set-up failed")
        theme = None

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    options = RunOptions(
        offline=bool(getattr(args, "offline", False)),
        url=getattr(args, "url", None),
        model=getattr(args, "model", None),
        mode=getattr(args, "mode", None),
        workspace=getattr(args, "workspace", None),
        region=getattr(args, "region", None),
        mcp=tuple(getattr(args, "mcp", None) or ()),
    )
    controller = Controller(options)
    controller.load_settings()
    if theme is not None:
        try:
            theme.apply(controller.settings.ui.theme)
        except Exception:
            log.exception("theme could not be applied")
    try:
        # The language goes in before any widget is built, so every view starts translated.
        from qwenvoice.ui.i18n import LanguageManager

        (LanguageManager.current() or LanguageManager(app)).apply(controller.settings.ui.language)
    except Exception:
        log.exception("language could not be applied")
    _install_excepthooks(controller)
    window = MainWindow(controller, settings_panel_factory=lambda: build_settings_panel(controller))
    finished = asyncio.Event()

    def close_done() -> None:
        finished.set()

    window.close_finished = lambda: controller.on_close_requested(close_done)
    app.aboutToQuit.connect(close_done)
    window.show()
    # SIGTERM / Ctrl+C close the window the normal way, so the shutdown is the same clean one.
    from PySide6.QtCore import QTimer

    def close_from_signal(*_: object) -> None:
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, close_from_signal)
    wake = QTimer()  # Python runs signal handlers only between bytecodes: wake up now and then
    wake.start(250)
    wake.timeout.connect(lambda: None)

    async def main() -> None:
        await controller.start()
        await finished.wait()

    with loop:
        try:
            loop.run_until_complete(main())
        except KeyboardInterrupt:
            pass
        finally:
            if not controller.shutting_down:
                loop.run_until_complete(controller.shutdown())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qwenvoice-gui`` script (GUI options only)."""
    from qwenvoice.cli import build_gui_parser

    args = build_gui_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_gui(args)


if __name__ == "__main__":
    raise SystemExit(main())
