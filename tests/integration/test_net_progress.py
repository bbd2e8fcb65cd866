"""Reconnect accounting against the scripted server: a connection that finished replies counts as
healthy, so a server that drops now and then (but answers in between) is never given up on, while one
that never gets anywhere still is."""

from __future__ import annotations

import asyncio
import random

from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import ConnectionState, ConnectionStatus, ConnectOptions, RealtimeClient
from qwenvoice.protocol.events import (
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    ResponseCreate,
    ResponseDone,
    SessionUpdate,
)
from tests.support.scripted_server import Script, ScriptedServer

OMNI = "qwen3-omni-flash-realtime"
POLICY = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, jitter=0.0, max_attempts=2, stable_after=30.0)


def client_for(server: ScriptedServer) -> RealtimeClient:
    return RealtimeClient(server.url, None, model=OMNI, policy=POLICY, rng=random.Random(1),
                          session_update=lambda: SessionUpdate(session={"turn_detection": None}),
                          options=ConnectOptions(renew_after=None))


async def test_connections_that_finish_replies_reset_the_attempt_count() -> None:
    # Every second reply is cut mid-way: each connection serves one full reply, then drops.
    async with ScriptedServer(Script(drop_every_responses=2, reply_seconds=0.4)) as server:
        client = client_for(server)
        await client.start()
        done = 0
        async with asyncio.timeout(20):
            while len(server.connections) < 6:  # five drops, far more than max_attempts=2
                client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 1600))
                client.send(InputAudioBufferCommit())
                client.send(ResponseCreate())
                while True:
                    item = await client.next_item()
                    if isinstance(item, ResponseDone):
                        done += 1
                        break
                    if isinstance(item, ConnectionStatus) and item.state is ConnectionState.CONNECTED:
                        break  # the reply was cut; ask again on the new connection
                    assert not (isinstance(item, ConnectionStatus) and item.terminal), item
        assert client.connected and done >= 3 and client.stats.reconnects >= 5
        await client.close()


async def test_a_server_that_drops_every_reply_before_it_ends_is_still_given_up_on() -> None:
    async with ScriptedServer(Script(drop_every_responses=1, reply_seconds=0.4)) as server:
        client = client_for(server)
        await client.start()
        last: ConnectionStatus | None = None
        async with asyncio.timeout(20):
            while last is None or not last.terminal:
                if client.connected:
                    client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 1600))
                    client.send(InputAudioBufferCommit())
                    client.send(ResponseCreate())
                item = await client.next_item()
                if isinstance(item, ConnectionStatus):
                    last = item
        assert last.state is ConnectionState.FAILED and "after 2 reconnect attempts" in last.reason
        assert len(server.connections) == 3
