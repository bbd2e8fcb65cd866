"""The offline server child process: ready line parsed, token required, stopped and reaped."""

from __future__ import annotations

import asyncio
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from qwenvoice.session.offline_server import READY_PATTERN, OfflineServer, OfflineServerError


def test_ready_line_pattern():
    line = "qwenvoice offline server ready at ws://127.0.0.1:40123/api-ws/v1/realtime"
    assert READY_PATTERN.search(line).group(1) == "ws://127.0.0.1:40123/api-ws/v1/realtime"


async def test_start_connect_stop_leaves_no_process(tmp_path):
    server = OfflineServer(log_file=tmp_path / "server.log", start_timeout=60)
    url = await server.start()
    assert url.startswith("ws://127.0.0.1:") and server.running
    pid = server.pid
    with pytest.raises(InvalidStatus):  # the fresh token is required
        async with connect(url + "?model=qwen3-omni-flash-realtime"):
            pass
    async with connect(url + "?model=qwen3-omni-flash-realtime",
                                  additional_headers={"Authorization": f"Bearer {server.token}"}) as ws:
        first = await asyncio.wait_for(ws.recv(), 10)
        assert '"session.created"' in first
    code = await server.stop(grace=8.0)
    assert code is not None and not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone and reaped (a zombie would still accept signal 0)
    assert "ready at" in (tmp_path / "server.log").read_text()


async def test_a_server_that_exits_early_is_reported(tmp_path, monkeypatch):
    import qwenvoice.session.offline_server as mod

    monkeypatch.setattr(mod, "serve_command", lambda: ["python3", "-c", "print('boom'); raise SystemExit(3)"])
    server = OfflineServer(start_timeout=20)
    with pytest.raises(OfflineServerError, match="exited"):
        await server.start()
    assert not server.running


async def test_the_token_is_not_on_the_command_line(tmp_path):
    # Any local user can read another process's argv (ps, /proc/PID/cmdline): the token goes through
    # the environment, which only the same user can read.
    server = OfflineServer(log_file=tmp_path / "server.log", start_timeout=60)
    await server.start()
    try:
        assert server.pid is not None
        from pathlib import Path

        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")  # noqa: ASYNC240
        assert server.token.encode() not in b" ".join(argv), argv
    finally:
        await server.stop(grace=8.0)


def test_serve_takes_its_token_from_the_environment(monkeypatch):
    from qwenvoice.cli import build_parser
    from qwenvoice.localserver.server import TOKEN_ENV, serve_options

    args = build_parser().parse_args(["serve", "--port", "0"])
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment")
    assert serve_options(args).token == "from-the-environment"
    args = build_parser().parse_args(["serve", "--port", "0", "--token", "given"])
    assert serve_options(args).token == "given"  # the option wins, for people who run it by hand
