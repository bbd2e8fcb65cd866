"""Honest status and clean ends, without Qt: a refused configuration, a reply the server marks
incomplete or failed, a failed transcription, usage with cached tokens, session.finish on close and a
push-to-talk session kept alive across a quiet spell. Driven against the scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from qwenvoice.session import status as st
from tests.reliability.helpers import TOKEN
from tests.session.test_voice_session import Recorder, _session, until
from tests.support.scripted_server import Script, ScriptedServer


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


REFUSED_VOICE = {"type": "invalid_request_error", "code": "invalid_value",
                 "message": "Voice 'Nobody' is not supported.", "param": "session.voice"}


async def test_a_refused_configuration_is_never_ready_and_names_the_field(tmp_path):
    async with ScriptedServer(Script(reject_session_update=REFUSED_VOICE, close_after_reject=True),
                              token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.FAILED, what=lambda: rec.states)
            await asyncio.sleep(0.6)  # a closed socket must not bring a reconnect that is refused again
            assert st.READY not in rec.states, rec.states
            assert session.connection.state == st.FAILED
            assert not session.ready
            assert "session.voice" in session.connection.detail
            assert "Nobody" in session.connection.detail
            errors = [text for level, text in rec.notices if level == st.ERROR]
            assert any("session.voice" in t and "Nobody" in t for t in errors), rec.notices
            assert server.handshakes == 1
        finally:
            await session.shutdown()


async def test_an_unattributed_refusal_of_the_first_configuration_is_not_ready(tmp_path):
    refusal = {"code": "invalid_value", "message": "Session update error: bad field."}  # no param, no type
    async with ScriptedServer(Script(reject_session_update=refusal), token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.FAILED, what=lambda: rec.states)
            assert st.READY not in rec.states
            assert "bad field" in session.connection.detail
        finally:
            await session.shutdown()
