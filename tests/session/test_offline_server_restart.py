"""The built-in offline server is a child of the app: when it dies, the session notices, starts a new
one (new port, new token) and reconnects by itself, saying so once, with no network advice."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import pytest

from qwenvoice.session import status as st
from qwenvoice.session.reports import QuietVoiceListener
from qwenvoice.session.voice import RunOptions, VoiceSession
from tests.reliability.helpers import TEST_CONNECT

pytestmark = pytest.mark.offline


class Recorder(QuietVoiceListener):
    def __init__(self) -> None:
        self.states: list[str] = []
        self.notices: list[tuple[str, str, str]] = []
        self.cleared: list[str] = []

    def connection_changed(self, info: st.ConnectionInfo) -> None:
        self.states.append(info.state)

    def notice(self, level: str, text: str, action: str) -> None:
        self.notices.append((level, text, action))

    def notices_cleared(self, action: str) -> None:
        self.cleared.append(action)


async def until(predicate: Callable[[], object], within: float, what: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s" + (f": {what()!r}" if what else ""))
        await asyncio.sleep(0.05)


async def test_a_killed_offline_server_is_restarted_and_the_session_reconnects_by_itself(tmp_path):
    rec = Recorder()
    session = VoiceSession(rec, RunOptions(offline=True, audio=False, data_root=tmp_path / "data",
                                           config_dir=tmp_path / "config", connect_options=TEST_CONNECT))
    session.load_settings()
    try:
        await session.start()
        await until(lambda: session.connection.state == st.READY, 120, lambda: session.connection)
        first = session.server
        assert first is not None and first.process is not None
        old_url, old_token, old_pid = session.connection.url, first.token, first.pid
        before = len(rec.notices)

        first.process.send_signal(signal.SIGKILL)
        await until(lambda: session.connection.state != st.READY, 10, lambda: session.connection)
        await until(lambda: session.connection.state == st.READY, 60,
                    lambda: (session.connection, rec.notices[before:]))

        server = session.server
        assert server is not None and server.running and server.pid != old_pid
        assert session.connection.url and session.connection.url != old_url and server.token != old_token
        assert first.process.poll() is not None  # the dead child was reaped

        session.send_text("hello, are you there?")
        await until(lambda: len(session.conversation.turns) >= 2 and session.conversation.turns[-1].final, 60,
                    session.conversation.as_text)
        reply = session.conversation.turns[-1]
        assert reply.role == "assistant" and reply.text and not reply.interrupted

        said = rec.notices[before:]
        about_server = [n for n in said if "offline server" in n[1].lower()]
        assert len(about_server) == 1, said
        assert "restart" in about_server[0][1].lower()
        assert not [n for n in said if "network" in n[1].lower() or "connection lost" in n[1].lower()], said
        assert not [n for n in said if n[0] == st.ERROR], said
        assert st.FAILED not in rec.states
        assert st.ACTION_RECONNECT in rec.cleared  # a face drops its connection banners once READY again
    finally:
        await session.shutdown()
    assert session.server is None or not session.server.running
