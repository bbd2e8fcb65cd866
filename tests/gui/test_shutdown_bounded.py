"""Closing must finish and stop the offline server even when one shutdown step hangs.

A real offline server child (`qwenvoice serve`) and a real controller; the audio step is made to hang
the way a lost cancellation or a device that never closes does.
"""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from qwenvoice.app.controller import Controller, RunOptions
from qwenvoice.session import status as st
from tests.gui.helpers import wait_for

pytestmark = pytest.mark.offline


async def test_a_hanging_step_does_not_keep_the_server_alive(tmp_path, monkeypatch):
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    controller = Controller(RunOptions(offline=True, audio=False, data_root=tmp_path / "data",
                                       config_dir=tmp_path / "config"))
    controller.load_settings()
    await controller.start()
    await wait_for(lambda: controller.server is not None and controller.server.process is not None, within=60)
    server_pid = controller.server.process.pid
    assert psutil.pid_exists(server_pid)

    async def hangs() -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr(controller.voice.audio, "stop", hangs)
    started = time.monotonic()
    await asyncio.wait_for(controller.shutdown(), 60)
    assert time.monotonic() - started < 40
    assert controller.connection.state == st.DISCONNECTED
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(server_pid).status()
