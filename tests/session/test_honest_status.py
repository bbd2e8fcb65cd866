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


def _session_for(tmp_path, url: str, listener: Recorder, model: str, connect=None):
    from qwenvoice.session.voice import RunOptions, VoiceSession
    from tests.reliability.helpers import TEST_CONNECT

    session = VoiceSession(listener, RunOptions(url=url, audio=False, data_root=tmp_path / "data", model=model,
                                                config_dir=tmp_path / "config",
                                                connect_options=connect or TEST_CONNECT))
    session.load_settings()
    return session


async def test_closing_sends_session_finish_to_a_model_that_takes_it(tmp_path):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        rec = Recorder()
        session = _session_for(tmp_path, server.url, rec, "qwen3-omni-flash-realtime")
        await session.start()
        await until(lambda: session.connection.state == st.READY)
        await session.shutdown()
        assert server.connections[0].types()[-1] == "session.finish"
        await until(lambda: server.connections[0].closed_by != "")
        assert server.connections[0].closed_by == "server: finished"
        assert not [n for n in rec.notices if n[0] != st.INFO], rec.notices
        assert rec.states[-1] == st.DISCONNECTED


async def test_closing_sends_no_session_finish_to_a_model_that_refuses_it(tmp_path):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        rec = Recorder()
        session = _session_for(tmp_path, server.url, rec, "qwen3.5-omni-flash-realtime")
        await session.start()
        await until(lambda: session.connection.state == st.READY)
        await session.shutdown()
        assert "session.finish" not in server.connections[0].types()


async def test_a_reconnect_finishes_the_old_session_quietly(tmp_path):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        rec = Recorder()
        session = _session_for(tmp_path, server.url, rec, "qwen3-omni-flash-realtime")
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.reconnect()
            await until(lambda: len(server.connections) == 2 and session.connection.state == st.READY)
            await asyncio.sleep(0.5)
            assert "session.finish" in server.connections[0].types()
            assert len(server.connections) == 2  # "the server ended the session" is not taken as news
            assert not [n for n in rec.notices if n[0] != st.INFO], rec.notices
        finally:
            await session.shutdown()


async def test_an_idle_push_to_talk_session_is_renewed_before_the_service_cuts_it(tmp_path):
    """The scripted server cuts a socket 0.8 s after the client last sent anything (pings do not
    count), as the service does after 300 s; the session renews itself after 0.4 s of quiet."""
    from qwenvoice.net.client import ConnectOptions
    from tests.session.test_voice_session import _tone

    connect = ConnectOptions(ping_interval=0.2, ping_timeout=2.0, renew_after=None, renew_when_idle=0.4,
                             renew_quiet=0.2)
    async with ScriptedServer(Script(idle_cut_after=0.8, reply_text="Still here."), token=TOKEN) as server:
        rec = Recorder()
        session = _session_for(tmp_path, server.url, rec, "qwen3-omni-flash-realtime", connect)
        session.options.mode = "ptt"
        session.load_settings()
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            await asyncio.sleep(3.0)  # a long quiet spell with the key up
            assert not [c.closed_by for c in server.connections if c.closed_by.startswith("server: idle")]
            assert len(server.connections) >= 3  # renewed, again and again
            assert st.RECONNECTING not in rec.states and session.connection.state == st.READY
            session.send_turn_audio(_tone(0.5))  # the next press goes to a live session
            session.commit_turn()
            await until(lambda: session.conversation.as_text().count("Still here.") == 1,
                        what=session.conversation.as_text)
            assert not [n for n in rec.notices if n[0] != st.INFO], rec.notices
            update = server.connections[-1].received[0]
            assert update["type"] == "session.update" and update["session"]["turn_detection"] is None
        finally:
            await session.shutdown()
