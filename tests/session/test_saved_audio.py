"""What a saved hands-free conversation keeps: the user's speech, not the minutes of silence around it,
and no folder at all for a session in which nothing was said."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from qwenvoice.audio.wav import read_wav
from qwenvoice.session import status as st
from qwenvoice.session.conversation import conversations_dir
from tests.reliability.helpers import TOKEN
from tests.session.test_voice_session import Recorder, _feed, _session, _tone, until
from tests.support.scripted_server import Script, ScriptedServer


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", TOKEN)


async def _paced(session, pcm: bytes) -> None:
    """Fed at the microphone's pace, so the server's speech events arrive while it streams."""
    for i in range(0, len(pcm), 640):
        _feed(session, pcm[i : i + 640])
        await asyncio.sleep(0.02)


async def _one_spoken_turn(tmp_path, keep_audio: str) -> tuple[float, np.ndarray]:
    async with ScriptedServer(Script(reply_text="Fine.", reply_seconds=0.3), token=TOKEN) as server:
        session = _session(tmp_path, server.url, Recorder())
        session.settings.audio.keep_audio = keep_audio
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            _feed(session, bytes(16000 * 2 * 6))  # six seconds of a quiet room
            await _paced(session, _tone(0.6) + bytes(16000 * 2 * 1))
            await until(lambda: server.responses >= 1)
            await until(lambda: any(t.role == "assistant" and t.final for t in session.conversation.turns))
            _feed(session, bytes(16000 * 2 * 4))  # and more silence after the reply
            folder = session.conversation.folder
        finally:
            await session.shutdown()
    assert folder is not None
    user = read_wav(folder / "user.wav")
    samples = user.samples()
    return len(samples) / user.rate, samples


async def test_hands_free_keeps_the_speech_not_the_silence_by_default(tmp_path):
    seconds, samples = await _one_spoken_turn(tmp_path, "speech")
    # 11.6 s were sent; kept: the 0.6 s tone, the pre-roll before the server noticed it, and the
    # silence until the turn was committed.
    assert 0.6 <= seconds < 3.0, seconds
    assert int(np.abs(samples).max()) > 4000  # the tone itself is there


async def test_keep_all_keeps_the_whole_microphone_stream(tmp_path):
    seconds, _ = await _one_spoken_turn(tmp_path, "all")
    assert seconds >= 11.0, seconds


async def test_keep_none_saves_the_transcript_without_audio(tmp_path):
    async with ScriptedServer(Script(reply_text="Fine."), token=TOKEN) as server:
        session = _session(tmp_path, server.url, Recorder())
        session.settings.audio.keep_audio = "none"
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            session.send_text("hello")
            await until(lambda: any(t.role == "assistant" and t.final for t in session.conversation.turns))
            folder = session.conversation.folder
        finally:
            await session.shutdown()
    assert folder is not None and (folder / "transcript.jsonl").exists()
    assert not (folder / "user.wav").exists() and not (folder / "assistant.wav").exists()


async def test_a_session_where_nothing_was_said_leaves_no_conversation(tmp_path):
    async with ScriptedServer(Script(), token=TOKEN) as server:
        session = _session(tmp_path, server.url, Recorder())
        try:
            await session.start()
            await until(lambda: session.connection.state == st.READY)
            _feed(session, bytes(16000 * 2))  # a second of silence: no turn
        finally:
            await session.shutdown()
    assert list(conversations_dir(tmp_path / "data").iterdir()) == []
