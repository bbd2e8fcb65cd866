"""The API key never reaches a log, an exception text or the terminal, even with everything at DEBUG.

websockets logs every handshake request header at DEBUG, ``Authorization: Bearer <key>`` included.
These tests turn the root logger, every websockets logger and every qwenvoice logger to DEBUG,
capture all records (pytest's caplog and a plain handler of our own with no filter), run sessions
that succeed, fail at the handshake (401) and drop mid-response, and search everything for the key.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwenvoice.audio.wav import write_wav
from qwenvoice.cli import build_parser
from qwenvoice.commands.ask import run_ask
from qwenvoice.commands.speak import run_speak
from qwenvoice.logsetup import configure_logging
from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import RealtimeClient
from qwenvoice.net.errors import FatalConnectionError
from qwenvoice.protocol.events import (
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    ResponseCreate,
    SessionUpdate,
    SessionUpdated,
)
from tests.support.scripted_server import Script, ScriptedServer, speech_like_pcm

CANARY = "qv-canary-7f3a9c2e5b1d"
LOGGERS = ("", "websockets", "websockets.client", "websockets.server", "websockets.protocol",
           "websockets.asyncio.client", "qwenvoice", "qwenvoice.net", "qwenvoice.net.client", "qwenvoice.net.wire",
           "qwenvoice.commands", "qwenvoice.session", "asyncio")


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)  # no redaction filter of its own: only what the app does counts
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def all_log_text(caplog: pytest.LogCaptureFixture, sink: io.StringIO) -> str:
    parts = [sink.getvalue(), caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


async def test_client_never_logs_or_raises_the_key(
    everything_at_debug: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    messages: list[str] = []
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=1)
    # A good session, then a drop mid-response (reconnect), then a 401.
    async with ScriptedServer(Script(drop_after_deltas=1)) as server:
        client = RealtimeClient(server.url, CANARY, model="qwen3-omni-flash-realtime", policy=policy,
                                session_update=lambda: SessionUpdate(session={"turn_detection": None}))
        await client.start()
        client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 1600))
        client.send(InputAudioBufferCommit())
        client.send(ResponseCreate())
        async for item in client.incoming():
            messages.append(repr(item))
            if isinstance(item, SessionUpdated) and client.stats.connections == 2:
                await client.close()
        messages.append(repr(client))
        assert server.handshakes == 2  # it did reconnect once with the key
        assert server.connections[0].authorization == f"Bearer {CANARY}"
    async with ScriptedServer(Script(http_status=401)) as server:
        client = RealtimeClient(server.url, CANARY, model="qwen3-omni-flash-realtime", policy=policy)
        with pytest.raises(FatalConnectionError) as caught:
            await client.start()
        messages += [str(caught.value), repr(caught.value), repr(caught.value.__cause__),
                     repr(caught.value.__context__)]
    text = all_log_text(caplog, everything_at_debug)
    # The handshake headers really were logged at DEBUG, and scrubbed.
    assert "Authorization: Bearer ***" in text
    out, err = capsys.readouterr()
    for blob in (text, out, err, *messages):
        assert CANARY not in blob


def test_headless_commands_never_print_or_log_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    everything_at_debug: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", CANARY)
    monkeypatch.setenv("QWENVOICE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("QWENVOICE_ASK_PACE", "0")
    monkeypatch.setenv("QWENVOICE_SPEAK_PACE", "0")
    configure_logging(2)  # what -vv does
    for name in LOGGERS:  # and then everything at DEBUG regardless
        logging.getLogger(name).setLevel(logging.DEBUG)
    question = tmp_path / "q.wav"
    write_wav(question, speech_like_pcm(16000), 16000)
    parser = build_parser()
    codes = []
    for script in (Script(), Script(drop_after_deltas=1), Script(http_status=401, http_body=f"bad key {CANARY}")):
        with ScriptedServer(script).in_thread() as server:
            codes.append(run_speak(parser.parse_args(
                ["speak", "Hello there. Second sentence.", "--out", str(tmp_path / "s.wav"), "--url", server.url])))
            assert all(c.authorization == f"Bearer {CANARY}" for c in server.connections)
        with ScriptedServer(script).in_thread() as server:
            codes.append(run_ask(parser.parse_args(
                ["ask", "--wav", str(question), "--out", str(tmp_path / "a.wav"), "--url", server.url])))
            assert all(c.authorization == f"Bearer {CANARY}" for c in server.connections)
    assert codes == [0, 0, 3, 3, 4, 4]
    out, err = capsys.readouterr()
    text = all_log_text(caplog, everything_at_debug)
    assert "authentication failed (HTTP 401)" in err
    assert "bad key ***" in err  # the server echoed the key in its body: scrubbed
    for blob in (text, out, err):
        assert CANARY not in blob
