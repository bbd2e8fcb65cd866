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


INCOMPLETE = {"type": "incomplete", "reason": "max_output_tokens"}
FAILED = {"type": "failed", "error": {"type": "server_error", "code": "internal_error",
                                      "message": "The model is overloaded."}}


@pytest.mark.parametrize(("status", "details", "reason"), [("incomplete", INCOMPLETE, "max_output_tokens"),
                                                            ("failed", FAILED, "The model is overloaded.")])
async def test_a_reply_the_server_marks_incomplete_or_failed_says_so_and_is_saved(tmp_path, status, details, reason):
    from qwenvoice.session.conversation import load_turns

    script = Script(reply_text="Half an answer.", response_status=status, response_status_details=details)
    async with ScriptedServer(script, token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("tell me everything")
            await until(lambda: session.metrics.usage.responses == 1)
            reply = session.conversation.turns[-1]
            assert reply.role == "assistant" and reply.status == status
            assert reply.status_reason == reason
            assert any(status in text and reason in text for _level, text in rec.notices), rec.notices
            folder = session.conversation.folder
        finally:
            await session.shutdown()
    assert folder is not None
    saved = load_turns(folder)[-1]
    assert (saved.status, saved.status_reason, saved.text) == (status, reason, "Half an answer.")


async def test_a_completed_reply_has_no_status_mark(tmp_path):
    async with ScriptedServer(Script(reply_text="All of it."), token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("hi")
            await until(lambda: session.metrics.usage.responses == 1)
            assert session.conversation.turns[-1].status in (None, "completed")
            assert not [n for n in rec.notices if n[0] != st.INFO]
        finally:
            await session.shutdown()


async def test_a_failed_transcription_shows_the_servers_reason(tmp_path):
    from tests.session.test_voice_session import _feed, _tone

    error = {"code": "asr_failed", "message": "The audio could not be decoded."}
    async with ScriptedServer(Script(transcription_error=error, user_transcript_deltas=False),
                              token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            _feed(session, _tone(0.6))
            _feed(session, bytes(16000))
            await until(lambda: any("transcribed" in t for _l, t in rec.notices), what=lambda: rec.notices)
            shown = [t for _l, t in rec.notices if "transcribed" in t]
            assert shown == ["Your words could not be transcribed: The audio could not be decoded."], shown
        finally:
            await session.shutdown()


async def test_cached_tokens_of_a_reply_reach_the_usage_totals(tmp_path):
    async with ScriptedServer(Script(cached_tokens=64), token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("hi")
            await until(lambda: session.metrics.usage.responses == 1)
            usage = session.metrics.usage
            assert usage.cached_input_tokens == 64 and usage.total_tokens == 120
            assert "64 cached" in usage.summary()
        finally:
            await session.shutdown()
