"""The offline server protects itself and its other sessions: a cap on sessions, voice-detection
models only for sessions that send audio, bounded appends, turns and text buffers, and no exposure
beyond loopback without a token or to browser pages."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from qwenvoice.localserver.common import ServerLimits
from qwenvoice.localserver.server import BackgroundServer, ServeOptions

pytestmark = pytest.mark.offline

TOKEN = "limits-token-789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
OMNI = "qwen3-omni-flash-realtime"
TTS = "qwen3-tts-flash-realtime"


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    limits = ServerLimits(max_turn_seconds=4.0)  # the default (two minutes) would make a slow test
    with BackgroundServer(ServeOptions(token=TOKEN, max_sessions=6, limits=limits)) as running:
        running.server.models.wait(120)
        yield running


def open_session(server: BackgroundServer, model: str = OMNI, **kwargs: object) -> websockets.connect:
    return websockets.connect(f"{server.url}?model={model}", additional_headers=HEADERS, compression=None,
                              max_size=2**24, **kwargs)  # type: ignore[arg-type]


async def recv_json(ws: websockets.ClientConnection, within: float = 30.0) -> dict[str, object]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


async def until_type(ws: websockets.ClientConnection, kind: str, within: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        event = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if event.get("type") == kind:
            return event


def append(pcm: bytes) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})


async def test_sessions_beyond_the_cap_are_refused_with_503(server: BackgroundServer) -> None:
    async with open_session(server) as a, open_session(server) as b, open_session(server) as c, \
            open_session(server) as d, open_session(server) as e, open_session(server) as f:
        for ws in (a, b, c, d, e, f):
            await until_type(ws, "session.created")
        with pytest.raises(InvalidStatus) as refused:
            async with open_session(server):
                pass
        assert refused.value.response.status_code == 503
    for _ in range(50):  # closed sessions free their places
        if server.session_count() == 0:
            break
        await asyncio.sleep(0.1)
    async with open_session(server) as again:
        assert (await until_type(again, "session.created"))["type"] == "session.created"


async def test_idle_sessions_hold_no_voice_detector_and_few_are_kept(server: BackgroundServer) -> None:
    pool = server.server.ctx.vad_pool
    alive_before = pool.alive
    async with open_session(server) as a, open_session(server) as b, open_session(server) as c, \
            open_session(server) as d:
        for ws in (a, b, c, d):
            await until_type(ws, "session.created")
            await ws.send(json.dumps({"type": "session.update", "session": {"turn_detection": {"type": "server_vad"}}}))
            await until_type(ws, "session.updated")
        # Voice activity detection is on in all four, but nobody has said anything: no model for them.
        assert pool.alive - pool.idle_count() == 0
        assert pool.alive - alive_before <= 0
        for ws in (a, b, c, d):
            await ws.send(append(bytes(6400)))
        for _ in range(50):
            if pool.alive - pool.idle_count() >= 4:
                break
            await asyncio.sleep(0.1)
        assert pool.alive - pool.idle_count() >= 4
    for _ in range(50):
        if server.session_count() == 0:
            break
        await asyncio.sleep(0.1)
    assert pool.idle_count() <= 2  # the rest were let go, not kept for ever


async def test_an_oversized_append_is_refused_and_other_sessions_keep_moving(server: BackgroundServer) -> None:
    async with open_session(server) as big, open_session(server) as other:
        await until_type(big, "session.created")
        await until_type(other, "session.created")
        huge = bytes(8 * 2**20)  # 8 MiB of audio (over four minutes at 16 kHz) in one append
        started = time.monotonic()
        await big.send(append(huge))
        error = await until_type(big, "error")
        assert error["error"]["type"] == "invalid_request_error" and error["error"]["param"] == "audio"
        # The other session is answered at once meanwhile.
        await other.send(json.dumps({"type": "session.update", "session": {"instructions": "hi"}}))
        await until_type(other, "session.updated", within=5)
        assert time.monotonic() - started < 10


async def test_a_spoken_turn_is_cut_at_the_length_limit(server: BackgroundServer) -> None:
    max_turn = server.server.ctx.limits.max_turn_seconds
    t = np.arange(16000) / 16000
    tone = (np.sin(2 * np.pi * 220 * t) * 12000).astype(np.int16)
    noise = (np.random.default_rng(1).standard_normal(16000) * 4000).astype(np.int16)
    second = (tone + noise).tobytes()
    async with open_session(server) as ws:
        await until_type(ws, "session.created")
        await ws.send(json.dumps({"type": "session.update", "session": {
            "turn_detection": {"type": "server_vad", "threshold": -1.0, "create_response": False}}}))
        await until_type(ws, "session.updated")
        for _ in range(int(max_turn) + 4):
            await ws.send(append(second))
        started = await until_type(ws, "input_audio_buffer.speech_started", within=60)
        stopped = await until_type(ws, "input_audio_buffer.speech_stopped", within=60)
        assert stopped["audio_end_ms"] - started["audio_start_ms"] <= (max_turn + 0.1) * 1000


async def test_the_tts_text_buffer_is_bounded(server: BackgroundServer) -> None:
    max_chars = server.server.ctx.limits.max_text_chars
    async with open_session(server, TTS) as ws:
        await until_type(ws, "session.created")
        await ws.send(json.dumps({"type": "session.update", "session": {"mode": "commit"}}))
        await until_type(ws, "session.updated")
        chunk = "x" * 10_000  # no separators at all
        for _ in range(max_chars // len(chunk) + 2):
            await ws.send(json.dumps({"type": "input_text_buffer.append", "text": chunk}))
        error = await until_type(ws, "error")
        assert "text" in json.dumps(error).lower()


async def test_a_browser_page_may_not_connect(server: BackgroundServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_session(server, origin="https://example.invalid"):
            pass
    assert refused.value.response.status_code == 403


def test_serve_on_every_interface_needs_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QWENVOICE_SERVE_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "qwenvoice", "serve", "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "token" in done.stderr.lower()
