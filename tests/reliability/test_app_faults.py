"""The whole app (the real controller, the real client) against the fault-injecting scripted server on
127.0.0.1: dropped connections, malformed and unknown frames, every documented error shape, a refused
key, a 1007 close with an over-long reason, the idle cut and the session cap.

No sound devices here (``audio=False``; turns are fed as PCM blocks); the audio faults are in
test_audio_faults.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from qwenvoice.net.client import ConnectOptions
from qwenvoice.session import status as st
from qwenvoice.session.conversation import load_turns
from tests.gui.helpers import feed, wait_for
from tests.reliability.helpers import TOKEN, ErrorLog, make_controller
from tests.support.scripted_server import (
    ERROR_SEED_INVALID_REQUEST,
    ERROR_TTS,
    ERROR_WITH_EVENT_ID,
    FREE_TIER_REASON,
    Script,
    ScriptedServer,
    speech_like_pcm,
)

pytestmark = pytest.mark.qt_loop

LONG_REPLY = " ".join(f"word{n}" for n in range(1, 31)) + "."


class StateLog:
    """Connection states and details as the status bar sees them, with loop times."""

    def __init__(self, controller: Any) -> None:
        self.items: list[tuple[float, str, str]] = []
        loop = asyncio.get_running_loop()
        controller.connection_changed.connect(lambda info: self.items.append((loop.time(), info.state, info.detail)))

    def states(self) -> list[str]:
        return [s for _, s, _ in self.items]

    def first(self, state: str) -> float:
        return next(t for t, s, _ in self.items if s == state)


def last_reply_done(c: Any, count: int) -> bool:
    turns = c.conversation.turns
    return len(turns) >= count and turns[-1].role == "assistant" and turns[-1].final


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


async def test_a_drop_mid_reply_reconnects_keeps_the_partial_reply_marked_and_the_next_turn_works(tmp_path):
    script = Script(drop_after_deltas=3, reply_seconds=2.0, delta_ms=100, delta_delay=0.02, reply_text=LONG_REPLY)
    async with ScriptedServer(script, token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, instructions="Answer like a sailor.")
        log = StateLog(c)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            c.send_text("count for me")
            await wait_for(lambda: st.RECONNECTING in log.states(), what=lambda: log.states())
            await wait_for(lambda: c.connection.state == st.READY and len(server.connections) == 2
                           and server.connections[1].received)
            # Backoff: the second handshake came after the scheduled delay (0.5 s +/- 25 %).
            reconnecting_at = log.first(st.RECONNECTING)
            ready_again = next(t for t, s, _ in log.items if s == st.READY and t > reconnecting_at)
            assert ready_again - reconnecting_at >= 0.5 * 0.75 - 0.05
            partial = c.conversation.turns[1]
            assert partial.role == "assistant" and partial.interrupted
            assert partial.text.startswith("word1 word2") and len(partial.text) < len(LONG_REPLY)
            # The new session got the configuration again: instructions first, then what was said.
            update = server.connections[1].received[0]
            assert update["type"] == "session.update"
            instructions = update["session"]["instructions"]
            assert instructions.startswith("Answer like a sailor.") and "count for me" in instructions
            assert update["session"]["turn_detection"]["type"] == "server_vad"
            assert len(notices.containing("connection lost")) == 1  # one warning, not one per attempt
            c.send_text("again please")
            await wait_for(lambda: last_reply_done(c, 4), what=lambda: c.conversation.as_text())
            assert c.conversation.turns[-1].text == LONG_REPLY and not c.conversation.turns[-1].interrupted
            folder = c.conversation.folder
            in_memory = [(t.role, t.text, t.interrupted) for t in c.conversation.turns]
        finally:
            await c.shutdown()
        saved = [(t.role, t.text, t.interrupted) for t in load_turns(folder)]
        assert saved == in_memory  # nothing lost from the saved conversation


async def test_malformed_unknown_and_binary_frames_are_skipped_and_the_session_goes_on(tmp_path):
    bad = ["{", "[1, 2]", '{"type": 7}', '{"type": "response.audio.delta", "delta": "%%%"}']
    script = Script(malformed_frames=bad, unknown_events=3, binary_frames=1)
    async with ScriptedServer(script, token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        with ErrorLog() as errors:
            try:
                await c.start()
                await wait_for(lambda: c.connection.state == st.READY)
                c.send_text("still there?")
                await wait_for(lambda: last_reply_done(c, 2))
                stats = c.client.stats
                assert (stats.malformed, stats.unknown, stats.binary_frames) == (4, 3, 1)
                assert sum(r.type == "<malformed>" for r in c.eventlog.records()) == 4
                assert sum(r.type == "response.future_event" for r in c.eventlog.records()) == 3
                assert len(server.connections) == 1 and not notices.of(st.ERROR)
            finally:
                await c.shutdown()
        assert errors.messages() == []


ERROR_SHAPES = {
    "omni-invalid-request": ERROR_SEED_INVALID_REQUEST,
    "tts-no-type-no-param": ERROR_TTS,
    "with-event-id": ERROR_WITH_EVENT_ID,
    "internal-null": {"type": "server_error", "code": "internal_error", "message": "Internal service error: null"},
    "code-only": {"code": "rate_limit_exceeded"},
    "empty": {},
}


@pytest.mark.parametrize("error", ERROR_SHAPES.values(), ids=ERROR_SHAPES.keys())
async def test_every_documented_error_shape_is_shown_clearly_and_the_session_continues(tmp_path, error):
    async with ScriptedServer(Script(error_events=[error]), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        try:
            await c.start()
            await wait_for(lambda: notices.of(st.ERROR), what=lambda: notices.items)
            shown = notices.of(st.ERROR)[0]
            assert shown.startswith("The server reported an error: ")
            detail = shown.removeprefix("The server reported an error: ").rstrip(".").strip()
            assert len(detail) >= 5  # says something, even for an empty error object
            for key in ("message", "code"):
                if error.get(key):
                    assert error[key] in shown
                    break
            if error.get("param"):
                assert error["param"] in shown
            c.send_text("and now?")
            await wait_for(lambda: last_reply_done(c, 2))
            assert server.handshakes == 1 and c.connection.state == st.READY
        finally:
            await c.shutdown()


async def test_a_cancel_that_raced_the_end_of_a_reply_is_not_shown_as_an_error(tmp_path):
    harmless = {"type": "invalid_request_error", "code": "invalid_value",
                "message": "Cancellation failed: no active response found", "param": None}
    async with ScriptedServer(Script(error_events=[harmless]), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY and server.connections[0].sent_types.count("error"))
            await asyncio.sleep(0.2)
            assert not notices.of(st.ERROR)
        finally:
            await c.shutdown()


async def test_a_refused_key_fails_once_with_a_clear_message_and_no_retry_storm(tmp_path):
    async with ScriptedServer(Script(http_status=401, http_body="Invalid API-key provided."), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        log = StateLog(c)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.FAILED)
            await asyncio.sleep(1.5)  # would be several attempts with any retry
            assert server.handshakes == 1
            assert st.RECONNECTING not in log.states()
            errors = notices.of(st.ERROR)
            assert len(errors) == 1 and "API key" in errors[0] and "HTTP 401" in errors[0]
            assert "Invalid API-key provided." in errors[0]
            assert notices.items[-1][2] == st.ACTION_OPEN_SETTINGS
            assert TOKEN not in " ".join(t for _, t, _ in notices.items)
        finally:
            await c.shutdown()


async def test_a_1007_close_with_an_over_long_reason_shows_the_reason(tmp_path):
    async with ScriptedServer(Script(close_after_created=(1007, FREE_TIER_REASON)), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.FAILED)
            await asyncio.sleep(0.8)
            assert server.handshakes == 1
            shown = notices.of(st.ERROR)
            assert len(shown) == 1 and "1007" in shown[0]
            assert "free tier of the model has been exhausted" in shown[0]
            assert "free tier" in c.connection.detail
        finally:
            await c.shutdown()


async def test_the_idle_cut_is_a_quiet_reconnect_and_the_next_turn_works(tmp_path):
    # Push-to-talk with nothing held: no audio flows, so the server's idle timer runs out.
    async with ScriptedServer(Script(idle_cut_after=0.8), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, mode="ptt")
        try:
            await c.start()
            await wait_for(lambda: len(server.connections) >= 2 and c.connection.state == st.READY
                           and server.connections[-1].received, within=8.0)
            assert server.connections[0].closed_by == "server: idle for 0.8 s"
            assert server.connections[1].received[0]["session"]["turn_detection"] is None  # ptt kept
            c.send_text("are you there?")
            await wait_for(lambda: last_reply_done(c, 2))
            assert not notices.of(st.ERROR)
        finally:
            await c.shutdown()


async def test_the_session_is_renewed_before_the_cap_with_instructions_and_a_summary(tmp_path):
    """The cap is the scripted server's max_session_seconds (3 s here, 120 minutes in the service);
    the client renews after 1 s instead of 115 minutes. The user sees a status detail, nothing else."""
    connect = ConnectOptions(ping_interval=2.0, ping_timeout=2.0, renew_after=1.0, renew_quiet=0.3)
    async with ScriptedServer(Script(max_session_seconds=3.0, reply_seconds=0.3), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, connect=connect, instructions="Be kind.")
        log = StateLog(c)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            feed(c, speech_like_pcm(speech_s=0.6, tail_s=0.5))
            await wait_for(lambda: last_reply_done(c, 2))
            await wait_for(lambda: len(server.connections) >= 2 and server.connections[1].received, within=5.0)
            update = server.connections[1].received[0]["session"]
            assert update["instructions"].startswith("Be kind.")
            assert "What is the weather like?" in update["instructions"]
            assert "It is sunny and warm today." in update["instructions"]
            assert update["turn_detection"]["type"] == "server_vad"
            await wait_for(lambda: c.connection.state == st.READY and c.connection.detail == "")
            feed(c, speech_like_pcm(speech_s=0.6, tail_s=0.5))  # the next turn goes to the new session
            await wait_for(lambda: last_reply_done(c, 4))
            assert "input_audio_buffer.append" in server.connections[-1].types()
            await asyncio.sleep(2.5)  # past the first session's cap
            assert all(conn.closed_by != "server: max session time" for conn in server.connections)
            assert server.connections[0].closed_by == "client"
            assert "renewing the session" in [d for _, _, d in log.items]
            assert set(log.states()) <= {st.CONNECTING, st.READY}  # no reconnecting, no disconnected
            assert not notices.of(st.WARNING) and not notices.of(st.ERROR)
            assert c.client.stats.renewals >= 1
            folder = c.conversation.folder
            in_memory = [(t.role, t.text) for t in c.conversation.turns]
        finally:
            await c.shutdown()
        assert [(t.role, t.text) for t in load_turns(folder)] == in_memory


async def test_a_failed_renewal_keeps_the_current_session_working(tmp_path):
    connect = ConnectOptions(ping_interval=2.0, ping_timeout=2.0, renew_after=0.8, renew_quiet=0.3, renew_retry=60.0)
    async with ScriptedServer(Script(max_session_seconds=20.0, reply_seconds=0.3), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url, connect=connect)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.READY)
            server.script.http_status = 503  # the new session cannot be opened
            await wait_for(lambda: c.client.stats.renewal_failures >= 1, within=5.0)
            await wait_for(lambda: c.connection.state == st.READY and c.connection.detail == "")
            feed(c, speech_like_pcm(speech_s=0.6, tail_s=0.5))  # the old session still hears and answers
            await wait_for(lambda: last_reply_done(c, 2))
            assert len(server.connections) == 1 and not notices.of(st.ERROR) and not notices.of(st.WARNING)
        finally:
            await c.shutdown()


async def test_without_renewal_the_cap_disconnects_and_says_so(tmp_path):
    async with ScriptedServer(Script(max_session_seconds=1.0), token=TOKEN) as server:
        c, notices = make_controller(tmp_path, server.url)
        try:
            await c.start()
            await wait_for(lambda: c.connection.state == st.DISCONNECTED, within=5.0)
            assert notices.containing("session time limit")[0][2] == st.ACTION_RECONNECT
        finally:
            await c.shutdown()
