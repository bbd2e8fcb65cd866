"""The conversation core without Qt: a VoiceSession and a SpeechSession driven on a plain asyncio loop
against the scripted realtime server on 127.0.0.1, the way the terminal face drives them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from qwenvoice.protocol.config import TtsSessionConfig
from qwenvoice.session import status as st
from qwenvoice.session.reports import QuietSpeechListener, QuietVoiceListener
from qwenvoice.session.speech import SpeechSession
from qwenvoice.session.voice import RunOptions, VoiceSession
from tests.reliability.helpers import TEST_CONNECT, TOKEN
from tests.support.scripted_server import Script, ScriptedServer

LONG_REPLY = " ".join(f"word{i}" for i in range(1, 40)) + "."


class Recorder(QuietVoiceListener):
    def __init__(self) -> None:
        self.states: list[str] = []
        self.notices: list[tuple[str, str]] = []
        self.turns: list[int] = []
        self.active: list[bool] = []

    def connection_changed(self, info: st.ConnectionInfo) -> None:
        self.states.append(info.state)

    def notice(self, level: str, text: str, action: str) -> None:
        self.notices.append((level, text))

    def turn_changed(self, index: int) -> None:
        self.turns.append(index)

    def response_active_changed(self, active: bool) -> None:
        self.active.append(active)


async def until(predicate: Callable[[], object], within: float = 15.0,
                what: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s" + (f": {what()!r}" if what else ""))
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


def _session(tmp_path, url: str, listener: Recorder) -> VoiceSession:
    session = VoiceSession(listener, RunOptions(url=url, audio=False, data_root=tmp_path / "data",
                                                config_dir=tmp_path / "config", connect_options=TEST_CONNECT))
    session.load_settings()
    return session


def _tone(seconds: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16).tobytes()


def _feed(session: VoiceSession, pcm: bytes) -> None:
    for i in range(0, len(pcm), 640):
        session.feed_mic(pcm[i : i + 640])


async def test_the_session_runs_without_qt(tmp_path):
    async with ScriptedServer(Script(reply_text="Hello from the server."), token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("hi there")
            await until(lambda: session.conversation.as_text().count("Hello from the server.") == 1,
                        what=session.conversation.as_text)
            roles = [(t.role, t.text) for t in session.conversation.turns]
            assert roles == [("user", "hi there"), ("assistant", "Hello from the server.")]
            assert rec.active[:1] == [True] and rec.active[-1] is False
            assert session.metrics.usage.responses == 1
        finally:
            await session.shutdown()
        assert rec.states[-1] == st.DISCONNECTED


async def test_a_spoken_turn_after_a_reconnect_is_dated_on_the_new_session(tmp_path):
    async with ScriptedServer(Script(reply_text="Fine.", reply_seconds=0.3), token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            _feed(session, bytes(16000 * 2 * 6))  # six seconds of the first session
            _feed(session, _tone(0.6))
            _feed(session, bytes(16000))
            await until(lambda: server.responses >= 1)
            await asyncio.sleep(1.0)
            session.reconnect()
            await until(lambda: len(server.connections) == 2 and session.connection.state == st.READY)
            _feed(session, _tone(0.6))
            ended = time.monotonic()
            _feed(session, bytes(16000))
            await until(lambda: server.responses >= 2)
            speech_end = session.metrics.pending.speech_end
            assert speech_end is not None and abs(speech_end - ended) < 0.5
        finally:
            await session.shutdown()


async def test_stop_cuts_the_reply_and_its_late_audio_is_dropped(tmp_path):
    script = Script(reply_text=LONG_REPLY, reply_seconds=3.0, delta_ms=100, delta_delay=0.05)
    async with ScriptedServer(script, token=TOKEN) as server:
        rec = Recorder()
        session = _session(tmp_path, server.url, rec)
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("tell me a long story")
            await until(lambda: session.replies.response_active and session.audio.assistant_ring.head > 8000)
            session.stop()
            assert not session.replies.response_active
            await until(lambda: any(m.get("type") == "response.cancel" for m in server.connections[0].received))
            await asyncio.sleep(0.5)
            reply = session.conversation.turns[-1]
            assert reply.role == "assistant" and reply.interrupted
            assert session.machine is not None and session.machine.active_response_id is None
        finally:
            await session.shutdown()


async def test_a_speech_job_streams_audio_and_reports_progress(tmp_path):
    class Progress(QuietSpeechListener):
        def __init__(self) -> None:
            self.progress: list[tuple[int, int]] = []

        def speech_progress(self, done: int, expected: int) -> None:
            self.progress.append((done, expected))

    async with ScriptedServer(Script(tts_seconds_per_char=0.01), token=TOKEN) as server:
        listener = Progress()
        heard: list[bytes] = []
        job = SpeechSession("qwen3-tts-flash-realtime", TtsSessionConfig(mode="commit"), listener=listener,
                            on_audio=lambda _r, _i, pcm, _rate: heard.append(pcm))
        await job.connect(server.url, TOKEN)
        result = await job.run(["One sentence.", "And another one."])
        assert result.failure == "" and result.responses == 2
        assert b"".join(heard) == bytes(result.pcm) and result.seconds > 0.2
        assert listener.progress[0] == (0, 2) and listener.progress[-1] == (2, 2)


async def test_a_server_error_that_echoes_the_key_is_shown_and_saved_without_it(tmp_path):
    # Some gateways quote the credential they refused; it must not reach the screen or the disk.
    echoed = {"type": "invalid_request_error", "code": "invalid_api_key", "param": None,
              "message": f"The key {TOKEN} is not allowed to use this model."}

    class ErrorRecorder(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []

        def server_error(self, error) -> None:  # type: ignore[no-untyped-def]
            self.errors.append(repr(error))

    async with ScriptedServer(Script(error_events=[echoed]), token=TOKEN) as server:
        rec = ErrorRecorder()
        session = VoiceSession(rec, RunOptions(url=server.url, audio=False, data_root=tmp_path / "data",
                                               config_dir=tmp_path / "config", connect_options=TEST_CONNECT,
                                               save_conversation=True))
        session.load_settings()
        try:
            await session.start()
            await until(lambda: any("reported an error" in text for _, text in rec.notices), what=lambda: rec.notices)
            # Read while the conversation runs: ended with no turn, its folder is removed.
            saved = list((tmp_path / "data").rglob("events.jsonl"))
            assert len(saved) == 1
            text = saved[0].read_text(encoding="utf-8")
        finally:
            await session.shutdown()
    shown = [text for _, text in rec.notices if "reported an error" in text]
    assert shown and "is not allowed to use this model" in shown[0]
    assert all(TOKEN not in text for _, text in rec.notices)
    assert rec.errors and all(TOKEN not in e for e in rec.errors)
    records = [r.to_json() for r in session.eventlog.records()]
    assert any('"error"' in r and "is not allowed to use this model" in r for r in records)
    assert all(TOKEN not in r for r in records)
    assert "is not allowed to use this model" in text and TOKEN not in text


async def test_a_silent_server_is_not_shown_ready_is_reported_and_is_reconnected(tmp_path):
    options = replace(TEST_CONNECT, session_ready_timeout=1.0)
    async with ScriptedServer(Script(silent_connections=1), token=TOKEN) as server:
        rec = Recorder()
        session = VoiceSession(rec, RunOptions(url=server.url, audio=False, data_root=tmp_path / "data",
                                               config_dir=tmp_path / "config", connect_options=options))
        session.load_settings()
        try:
            await session.start()
            await until(lambda: len(server.connections) == 1)
            await asyncio.sleep(0.5)  # connected, configuration sent, no answer yet
            assert session.connection.state != st.READY
            await until(lambda: server.handshakes >= 2 and session.connection.state == st.READY,
                        what=lambda: (server.handshakes, rec.states, rec.notices))
        finally:
            await session.shutdown()
    before_reconnect = rec.states[: rec.states.index(st.RECONNECTING)]
    assert st.READY not in before_reconnect
    said = [text for _, text in rec.notices if "does not answer" in text]
    assert len(said) == 1 and "Reconnecting" in said[0]
