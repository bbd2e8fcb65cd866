"""Shared test set-up: a qasync loop for async tests (so Qt timers run while tests await)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_asyncio_loop_factories(config, item):  # pytest-asyncio >= 1.4
    # Only GUI tests need Qt's loop; everything else runs on the stock asyncio loop.
    if "tests/gui" in str(item.fspath) or "tests/e2e" in str(item.fspath) or item.get_closest_marker("qt_loop"):
        import qasync
        from PySide6.QtWidgets import QApplication

        return {"qasync": lambda: qasync.QEventLoop(QApplication.instance() or QApplication([]))}
    # pytest-asyncio 1.5 rejects None here: name the stock loop explicitly.
    import asyncio

    return {"asyncio": asyncio.new_event_loop}
