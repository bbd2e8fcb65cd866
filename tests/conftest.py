"""Shared test set-up: a qasync loop for async tests (so Qt timers run while tests await)."""

from __future__ import annotations

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _runs_on_qt_loop(item) -> bool:
    path = str(item.fspath)
    return "tests/gui" in path or "tests/e2e" in path or item.get_closest_marker("qt_loop") is not None


@pytest.fixture(autouse=True)
def _collect_qt_garbage_on_the_gui_thread(request):
    # A closed qasync loop (and any Qt object in a reference cycle) must be destroyed on the GUI thread:
    # left to the cyclic collector, it can be freed from a worker or PortAudio thread, leaving a Qt
    # timer pointing at freed memory, and the next test's event loop segfaults.
    if not _runs_on_qt_loop(request.node):
        yield
        return
    gc.collect()
    yield
    gc.collect()


def pytest_asyncio_loop_factories(config, item):  # pytest-asyncio >= 1.4
    # Only GUI tests need Qt's loop; everything else runs on the stock asyncio loop.
    if _runs_on_qt_loop(item):
        import qasync
        from PySide6.QtWidgets import QApplication

        return {"qasync": lambda: qasync.QEventLoop(QApplication.instance() or QApplication([]))}
    # pytest-asyncio 1.5 rejects None here: name the stock loop explicitly.
    import asyncio

    return {"asyncio": asyncio.new_event_loop}
