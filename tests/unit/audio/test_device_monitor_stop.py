"""DeviceMonitor.stop() must return even when a cancellation is swallowed once.

On Python 3.11, asyncio.wait_for drops a cancellation that arrives while the awaited read completes;
with a chatty `pactl subscribe` the monitor then kept running and the app's shutdown waited forever.
"""

from __future__ import annotations

import asyncio
import time

from qwenvoice.audio.devices import DeviceMonitor


async def test_stop_returns_when_the_first_cancellation_is_lost():
    monitor = DeviceMonitor(lambda *_: None, use_pactl_events=False)
    lost = []

    async def stubborn_run() -> None:
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                if not lost:  # what the wait_for race does: the first cancel vanishes
                    lost.append(True)
                    continue
                raise

    monitor._task = asyncio.get_running_loop().create_task(stubborn_run())
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await asyncio.wait_for(monitor.stop(), 5)
    assert lost == [True]
    assert time.monotonic() - started < 2
    assert monitor._task is None
