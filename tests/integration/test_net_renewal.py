"""Session renewal before the service's session cap, against the scripted server on 127.0.0.1.

The cap is the server's ``max_session_seconds`` (it closes with 1000 "session time limit", as the
service does after 120 minutes); the client's ``renew_after`` is shortened to match. Everything else
is the real client on real sockets.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np

from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import (
    RENEW_AFTER_DEFAULT,
    SESSION_CAP,
    ConnectionState,
    ConnectionStatus,
    ConnectOptions,
    Incoming,
    RealtimeClient,
)
from qwenvoice.protocol.events import (
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    ResponseCreate,
    ResponseDone,
    SessionUpdate,
)
from tests.support.scripted_server import Script, ScriptedServer

OMNI = "qwen3-omni-flash-realtime"
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, jitter=0.2, max_attempts=3)
MANUAL = {"modalities": ["text", "audio"], "voice": "Ethan", "turn_detection": None, "instructions": "Be brief."}


def renewing_client(server: ScriptedServer, renew_after: float, **options: Any) -> RealtimeClient:
    options.setdefault("renew_quiet", 0.3)
    return RealtimeClient(
        server.url, None, model=OMNI, rng=random.Random(5), policy=FAST,
        session_update=lambda: SessionUpdate(session=dict(MANUAL)),
        renewal_update=lambda: SessionUpdate(session={**MANUAL, "instructions": "Be brief.\n\nSummary: hello"}),
        options=ConnectOptions(renew_after=renew_after, **options),
    )


class Collector:
    """Drains client.incoming() in the background, with loop timestamps."""

    def __init__(self, client: RealtimeClient) -> None:
        self.items: list[tuple[float, Incoming]] = []
        self.task = asyncio.get_running_loop().create_task(self._run(client))

    async def _run(self, client: RealtimeClient) -> None:
        loop = asyncio.get_running_loop()
        async for item in client.incoming():
            self.items.append((loop.time(), item))

    def statuses(self) -> list[ConnectionStatus]:
        return [i for _, i in self.items if isinstance(i, ConnectionStatus)]

    def index(self, predicate: Any) -> int:
        return next(n for n, (_, item) in enumerate(self.items) if predicate(item))

    async def wait(self, predicate: Any, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not any(predicate(i) for _, i in self.items):  # noqa: ASYNC110 - polls a plain list
                await asyncio.sleep(0.02)


def manual_turn(client: RealtimeClient) -> None:
    client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 3200))
    client.send(InputAudioBufferCommit())
    client.send(ResponseCreate())


def renewed(item: Incoming) -> bool:
    return isinstance(item, ConnectionStatus) and item.reason == "session renewed"


def test_the_default_renews_five_minutes_before_the_120_minute_cap() -> None:
    assert SESSION_CAP == 7200.0 and RENEW_AFTER_DEFAULT == 6900.0
    assert ConnectOptions().renew_after == RENEW_AFTER_DEFAULT
    assert RENEW_AFTER_DEFAULT + ConnectOptions().renew_force_after < SESSION_CAP


async def test_renewal_hands_over_before_the_cap_and_the_next_turn_works() -> None:
    async with ScriptedServer(Script(max_session_seconds=2.5, reply_seconds=0.2)) as server:
        client = renewing_client(server, renew_after=1.0)
        await client.start()
        seen = Collector(client)
        manual_turn(client)
        await seen.wait(lambda i: isinstance(i, ResponseDone))
        await seen.wait(renewed, within=5.0)
        # The renewed session got the renewal configuration, and the old one was closed by us, not the cap.
        assert len(server.connections) == 2
        second = server.connections[1].received
        assert second[0]["type"] == "session.update"
        assert second[0]["session"]["instructions"] == "Be brief.\n\nSummary: hello"
        await asyncio.sleep(0.3)
        assert server.connections[0].closed_by == "client"
        states = [s.state for s in seen.statuses()]
        assert ConnectionState.RENEWING in states
        assert ConnectionState.RECONNECTING not in states and ConnectionState.CLOSED not in states
        # Traffic now goes to the new session.
        manual_turn(client)
        await seen.wait(lambda i: isinstance(i, ResponseDone) and i.response_id != seen_first_response(seen))
        assert "response.create" in server.connections[1].types()
        assert client.stats.renewals == 1 and client.stats.reconnects == 0
        await client.close()
        assert client.status.state is ConnectionState.CLOSED


def seen_first_response(seen: Collector) -> str:
    return next(i.response_id for _, i in seen.items if isinstance(i, ResponseDone))


async def test_renewal_waits_for_the_running_reply_to_end() -> None:
    script = Script(max_session_seconds=6.0, reply_seconds=1.6, delta_ms=100, delta_delay=0.08)
    async with ScriptedServer(script) as server:
        client = renewing_client(server, renew_after=0.5)
        await client.start()
        seen = Collector(client)
        manual_turn(client)  # a reply of ~1.3 s starts before the renewal is due
        await seen.wait(renewed, within=8.0)
        done_at = seen.index(lambda i: isinstance(i, ResponseDone))
        renewing_at = seen.index(lambda i: isinstance(i, ConnectionStatus) and i.state is ConnectionState.RENEWING)
        assert done_at < renewing_at  # never mid-reply
        t_done = seen.items[done_at][0]
        assert seen.items[renewing_at][0] - t_done >= 0.3 - 0.05  # and only after a quiet moment
        await client.close()


async def test_a_half_recorded_manual_turn_delays_renewal_until_the_forcing_deadline() -> None:
    async with ScriptedServer(Script(max_session_seconds=8.0)) as server:
        client = renewing_client(server, renew_after=0.4, renew_force_after=1.2)
        await client.start()
        seen = Collector(client)
        loop = asyncio.get_running_loop()
        started = loop.time()
        client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 320))  # never committed
        await seen.wait(renewed, within=6.0)
        at = next(t for t, i in seen.items if renewed(i))
        assert at - started >= 0.4 + 1.2 - 0.1  # it waited for the deadline, not for quiet
        await client.close()


async def test_a_failed_renewal_keeps_the_current_session_and_retries_later() -> None:
    async with ScriptedServer(Script(max_session_seconds=10.0, reply_seconds=0.2)) as server:
        client = renewing_client(server, renew_after=0.5, renew_retry=0.6)
        await client.start()
        seen = Collector(client)
        server.script.http_status = 503  # new handshakes are refused from now on
        await seen.wait(lambda i: isinstance(i, ConnectionStatus) and "renewal failed" in i.reason, within=5.0)
        assert client.stats.renewal_failures >= 1 and client.connected
        manual_turn(client)  # the old session still answers
        await seen.wait(lambda i: isinstance(i, ResponseDone))
        server.script.http_status = None
        await seen.wait(renewed, within=5.0)
        assert client.stats.renewals == 1
        await client.close()


async def test_without_renewal_the_cap_ends_the_session() -> None:
    async with ScriptedServer(Script(max_session_seconds=1.0)) as server:
        client = renewing_client(server, renew_after=None)  # type: ignore[arg-type]
        await client.start()
        seen = Collector(client)
        await seen.wait(lambda i: isinstance(i, ConnectionStatus) and i.terminal, within=5.0)
        last = seen.statuses()[-1]
        assert last.state is ConnectionState.CLOSED and "session time limit" in last.reason
        assert server.connections[0].closed_by == "server: max session time"


async def test_a_reconnect_after_a_drop_sends_the_continuation_update() -> None:
    async with ScriptedServer(Script(drop_after_deltas=2, reply_seconds=1.0)) as server:
        client = renewing_client(server, renew_after=60.0)
        await client.start()
        seen = Collector(client)
        manual_turn(client)
        await seen.wait(lambda i: isinstance(i, ConnectionStatus) and i.state is ConnectionState.RECONNECTING)
        await seen.wait(lambda i: isinstance(i, ConnectionStatus) and i.state is ConnectionState.CONNECTED
                        and i.attempt == 2)
        await asyncio.sleep(0.3)
        first, second = server.connections[0].received[0], server.connections[1].received[0]
        assert first["session"]["instructions"] == "Be brief."
        assert second["session"]["instructions"] == "Be brief.\n\nSummary: hello"
        await client.close()


def vad_client(server: ScriptedServer, *, renew_after: float, renew_quiet: float) -> RealtimeClient:
    """A client in server-VAD mode that renews often and never by force (the tests watch for quiet)."""
    vad = {**MANUAL, "turn_detection": {"type": "server_vad"}}
    return RealtimeClient(
        server.url, None, model=OMNI, rng=random.Random(5), policy=FAST,
        session_update=lambda: SessionUpdate(session=dict(vad)),
        renewal_update=lambda: SessionUpdate(session=dict(vad)),
        options=ConnectOptions(renew_after=renew_after, renew_quiet=renew_quiet, renew_force_after=30.0),
    )  # fmt: skip


async def test_renewal_waits_while_the_user_may_be_speaking_in_vad_mode() -> None:
    """Server VAD: voiced audio just sent may be a turn the server has not announced yet; the renewal
    waits until the microphone has been quiet, and never hands over mid-utterance."""
    # The server's VAD never fires here: this is the few hundred ms before its speech_started, made long.
    async with ScriptedServer(Script(max_session_seconds=10.0, vad_threshold=0.9)) as server:
        client = vad_client(server, renew_after=0.3, renew_quiet=0.3)
        await client.start()
        seen = Collector(client)
        loop = asyncio.get_running_loop()
        voiced = (np.sin(np.arange(320) / 3.0) * 8000).astype(np.int16).tobytes()
        silence = bytes(640)
        until = loop.time() + 1.5
        while loop.time() < until:  # 1.5 s of voiced 20 ms chunks, in real time
            client.send(InputAudioBufferAppend(audio=voiced))
            await asyncio.sleep(0.02)
        stopped = loop.time()
        assert not any(renewed(i) for _, i in seen.items), "renewed while the user was speaking"
        for _ in range(50):  # then silence keeps streaming, as the microphone does
            client.send(InputAudioBufferAppend(audio=silence))
            await asyncio.sleep(0.02)
        await seen.wait(renewed, within=5.0)
        at = next(t for t, i in seen.items if renewed(i))
        assert at - stopped >= 0.3 - 0.05
        await client.close()


async def test_renewal_does_not_come_between_a_committed_turn_and_its_reply() -> None:
    """Server VAD commits the turn, then takes a moment to create the reply; a renewal in that gap
    would close the session that is about to answer."""
    script = Script(max_session_seconds=10.0, vad_response_delay=1.0, reply_seconds=0.3)
    async with ScriptedServer(script) as server:
        client = vad_client(server, renew_after=0.2, renew_quiet=0.2)
        await client.start()
        seen = Collector(client)
        await asyncio.sleep(0.3)
        client.send(InputAudioBufferAppend(audio=(np.sin(np.arange(3200) / 3.0) * 8000).astype(np.int16).tobytes()))
        for _ in range(30):  # the turn ends on silence (scripted VAD: 300 ms)
            client.send(InputAudioBufferAppend(audio=bytes(640)))
            await asyncio.sleep(0.02)
        await seen.wait(lambda i: isinstance(i, ResponseDone), within=8.0)
        committed = seen.index(lambda i: isinstance(i, InputAudioBufferCommitted))
        done = seen.index(lambda i: isinstance(i, ResponseDone))
        assert any(renewed(i) for _, i in seen.items[:committed]), "renewals were running before the turn"
        assert not any(renewed(i) for _, i in seen.items[committed:done]), "renewed between the turn and its reply"
        await client.close()


async def test_a_renewal_that_opened_while_the_user_began_to_speak_waits_to_hand_over() -> None:
    """The new session takes a while to get ready; the user starts speaking meanwhile. The hand-over
    waits for quiet: the old session keeps the words it is hearing."""
    script = Script(max_session_seconds=10.0, vad_threshold=0.9, later_session_ready_delay=0.6)
    async with ScriptedServer(script) as server:
        client = vad_client(server, renew_after=0.3, renew_quiet=0.3)
        await client.start()
        seen = Collector(client)
        loop = asyncio.get_running_loop()
        renewing = lambda i: isinstance(i, ConnectionStatus) and i.state is ConnectionState.RENEWING  # noqa: E731
        await seen.wait(renewing, within=5.0)
        voiced = (np.sin(np.arange(320) / 3.0) * 8000).astype(np.int16).tobytes()
        until = loop.time() + 1.5  # speaking from just after the new session began to open
        while loop.time() < until:
            client.send(InputAudioBufferAppend(audio=voiced))
            await asyncio.sleep(0.02)
        stopped = loop.time()
        assert not any(renewed(i) for _, i in seen.items), "handed over while the user was speaking"
        for _ in range(40):
            client.send(InputAudioBufferAppend(audio=bytes(640)))
            await asyncio.sleep(0.02)
        await seen.wait(renewed, within=5.0)
        assert next(t for t, i in seen.items if renewed(i)) - stopped >= 0.3 - 0.05
        await client.close()
