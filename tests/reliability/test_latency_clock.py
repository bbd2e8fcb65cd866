"""The end of the user's speech is placed on the timeline of the session that heard it.

Each new server session starts its ``audio_end_ms`` at 0. The capture clock that maps those
milliseconds back to local time has to start again with it, or a turn after a reconnect is dated
to audio captured in the previous session (the status bar showed 14 s and 194 s for replies that
came in about a second).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from qwenvoice.session import status as st
from tests.gui.helpers import feed, wait_for
from tests.reliability.helpers import TOKEN, make_controller
from tests.support.scripted_server import Script, ScriptedServer

pytestmark = pytest.mark.qt_loop


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


def _tone(seconds: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16).tobytes()


def _silence(seconds: float) -> bytes:
    return bytes(int(16000 * seconds) * 2)


async def _spoken_turn(c, server, replies_before: int) -> float:
    """Speak a short turn; returns the local time the speech ended."""
    feed(c, _tone(0.6))
    ended = time.monotonic()
    feed(c, _silence(0.5))
    await wait_for(lambda: server.responses > replies_before, what=lambda: c.conversation.as_text())
    return ended


async def test_speech_end_is_dated_on_the_current_session_after_a_reconnect(tmp_path):
    async with ScriptedServer(Script(reply_text="Fine.", reply_seconds=0.3), token=TOKEN) as server:
        c, _notices = make_controller(tmp_path, server.url)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            # A long first session: 6 s of audio, then a turn.
            feed(c, _silence(6.0))
            await _spoken_turn(c, server, 0)
            await asyncio.sleep(1.5)
            c.reconnect()
            await wait_for(lambda: len(server.connections) == 2 and c.connection.state == st.READY)
            ended = await _spoken_turn(c, server, 1)
            speech_end = c.metrics.pending.speech_end
            assert speech_end is not None
            # Dated within the feed of this turn, not to audio of the first session seconds earlier.
            assert abs(speech_end - ended) < 0.5, f"speech end off by {speech_end - ended:+.2f} s"
        finally:
            await c.shutdown()
