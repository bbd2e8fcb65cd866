"""Small shared helpers for the GUI tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

TOKEN = "test-token-123456"


async def wait_for(predicate: Callable[[], object], within: float = 10.0) -> None:
    """Poll ``predicate`` on the running (qasync) loop until it is true; fail after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


def feed(controller, pcm: bytes, block: int = 320) -> None:
    """Hand PCM to the controller block by block, the way the capture stream does."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    for i in range(0, len(samples), block):
        controller.feed_mic(samples[i : i + block].copy())
