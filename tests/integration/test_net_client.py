"""The realtime client against the scripted server on 127.0.0.1: real sockets, real faults."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest

from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import ConnectionState, ConnectionStatus, ConnectOptions, Incoming, RealtimeClient
from qwenvoice.net.endpoints import EndpointError
from qwenvoice.net.errors import FailureKind, FatalConnectionError
from qwenvoice.protocol.events import (
    ErrorEvent,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputTextBufferAppend,
    ResponseAudioDelta,
    ResponseCreate,
    ResponseDone,
    SessionCreated,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SessionUpdated,
    UnknownEvent,
)
from tests.support.scripted_server import (
    ERROR_SEED_INVALID_REQUEST,
    ERROR_TTS,
    ERROR_WITH_EVENT_ID,
    FREE_TIER_REASON,
    Script,
    ScriptedServer,
)

OMNI = "qwen3-omni-flash-realtime"
TTS = "qwen3-tts-flash-realtime"
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, jitter=0.2, max_attempts=3)
MANUAL_SESSION = {"modalities": ["text", "audio"], "voice": "Ethan", "turn_detection": None}


def make_client(server: ScriptedServer, *, key: str | None = None, model: str = OMNI, **kwargs: Any) -> RealtimeClient:
    kwargs.setdefault("policy", FAST)
    kwargs.setdefault("session_update", lambda: SessionUpdate(session=dict(MANUAL_SESSION)))
    return RealtimeClient(server.url, key, model=model, rng=random.Random(3), **kwargs)


async def collect_until(client: RealtimeClient, stop: type | tuple[type, ...], limit: float = 10.0) -> list[Incoming]:
    items: list[Incoming] = []
    async with asyncio.timeout(limit):
        async for item in client.incoming():
            items.append(item)
            if isinstance(item, stop):
                break
    return items


def states(items: list[Incoming]) -> list[ConnectionState]:
    return [i.state for i in items if isinstance(i, ConnectionStatus)]


def one_manual_turn(client: RealtimeClient) -> None:
    client.send(InputAudioBufferAppend(audio=b"\x01\x00" * 3200))
    client.send(InputAudioBufferCommit())
    client.send(ResponseCreate())


async def test_a_full_manual_turn_with_session_update_first_and_auth_header() -> None:
    async with ScriptedServer(Script(reply_seconds=0.5)) as server:
        client = make_client(server, key="test-key-abcdef")
        await client.start()
        one_manual_turn(client)
        items = await collect_until(client, ResponseDone)
        await client.close()
        conn = server.connections[0]
        assert conn.authorization == "Bearer test-key-abcdef"
        assert "model=qwen3-omni-flash-realtime" in conn.path
        assert conn.types() == ["session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
                                "response.create"]
        assert conn.received[0]["session"]["voice"] == "Ethan"
        # Every client event carries a unique id.
        ids = [m["event_id"] for m in conn.received]
        assert len(set(ids)) == len(ids) and all(i.startswith("event_") for i in ids)
        audio = b"".join(i.audio for i in items if isinstance(i, ResponseAudioDelta))
        assert len(audio) == int(0.5 * 24000) * 2
        assert isinstance(items[2], SessionCreated)
        assert states(items) == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        assert client.status.state is ConnectionState.CLOSED
        assert client.stats.handshakes == 1 and client.stats.reconnects == 0


async def test_no_authorization_header_without_a_key() -> None:
    async with ScriptedServer() as server:
        client = make_client(server, key=None)
        await client.start()
        await collect_until(client, SessionUpdated)
        await client.close()
        assert server.connections[0].authorization is None


async def test_traffic_waits_for_session_updated() -> None:
    # The session update is answered only after the server saw it; appends queued before start()
    # must reach the server after it.
    async with ScriptedServer() as server:
        client = make_client(server)
        client.send(InputAudioBufferAppend(audio=b"\x00\x00" * 160))
        await client.start()
        await collect_until(client, SessionUpdated)
        await asyncio.sleep(0.1)
        await client.close()
        assert server.connections[0].types()[:2] == ["session.update", "input_audio_buffer.append"]


async def test_drop_mid_response_reconnects_and_resends_session_update() -> None:
    seen: list[ConnectionStatus] = []
    async with ScriptedServer(Script(drop_after_deltas=2, reply_seconds=0.6)) as server:
        version = {"n": 0}

        def current_session() -> SessionUpdate:
            version["n"] += 1
            return SessionUpdate(session={**MANUAL_SESSION, "instructions": f"config v{version['n']}"})

        client = make_client(server, session_update=current_session, on_status=seen.append)
        await client.start()
        one_manual_turn(client)
        items: list[Incoming] = []
        async with asyncio.timeout(10):
            async for item in client.incoming():  # through the drop and the reconnect
                items.append(item)
                if isinstance(item, SessionUpdated) and client.stats.connections == 2:
                    break
        deltas_before_drop = [i for i in items if isinstance(i, ResponseAudioDelta)]
        assert len(deltas_before_drop) == 2
        reconnecting = [s for s in seen if s.state is ConnectionState.RECONNECTING]
        assert len(reconnecting) == 1
        assert reconnecting[0].attempt == 1 and reconnecting[0].code == 1006
        assert 0.0 < reconnecting[0].delay <= 0.2
        # Second connection: the session configuration comes first, freshly built.
        one_manual_turn(client)
        items = await collect_until(client, ResponseDone)
        await client.close()
        assert server.handshakes == 2
        first, second = server.connections
        assert first.received[0]["type"] == "session.update"
        assert second.received[0]["type"] == "session.update"
        assert second.received[0]["session"]["instructions"] == "config v2"
        assert second.types()[1:] == ["input_audio_buffer.append", "input_audio_buffer.commit", "response.create"]
        assert sum(1 for i in items if isinstance(i, ResponseAudioDelta)) == 6
        assert client.stats.close_codes.get(1006) == 1


async def test_http_401_fails_at_once_without_retrying() -> None:
    async with ScriptedServer(Script(http_status=401, http_body="Invalid API-key provided.")) as server:
        client = make_client(server, key="wrong-key-123456", policy=ReconnectPolicy(max_attempts=5))
        with pytest.raises(FatalConnectionError) as caught:
            await client.start()
        error = caught.value
        assert error.kind is FailureKind.AUTH and error.status == 401
        assert "authentication failed (HTTP 401): check the API key and that it belongs to this region" in str(error)
        assert "Invalid API-key provided." in str(error)
        await asyncio.sleep(0.3)  # a retry loop would have made more handshakes by now
        assert server.handshakes == 1
        assert client.status.state is ConnectionState.FAILED


async def test_a_redirect_is_not_followed_and_fails_once_saying_where_it_pointed() -> None:
    async with ScriptedServer() as elsewhere:
        target = f"{elsewhere.url}?model={OMNI}&token=secret-in-the-query"
        async with ScriptedServer(Script(redirect_to=target)) as server:
            client = make_client(server, key="test-key-abcdef", policy=ReconnectPolicy(max_attempts=5))
            with pytest.raises(FatalConnectionError) as caught:
                await client.start()
            error = caught.value
            assert error.status == 302
            assert "redirect" in error.message and elsewhere.url in error.message
            assert "secret-in-the-query" not in error.message and "?" not in error.message
            await asyncio.sleep(0.3)  # a retry loop would have made more handshakes by now
            assert server.handshakes == 1
            assert elsewhere.handshakes == 0  # the redirect was not followed
            assert client.status.state is ConnectionState.FAILED


async def test_http_403_is_fatal_too() -> None:
    async with ScriptedServer(Script(http_status=403, http_body="Forbidden")) as server:
        client = make_client(server, key="k-123456")
        with pytest.raises(FatalConnectionError, match=r"HTTP 403"):
            await client.start()
        assert server.handshakes == 1


async def test_unavailable_server_is_retried_then_given_up() -> None:
    policy = ReconnectPolicy(initial_delay=0.02, max_delay=0.05, jitter=0.0, max_attempts=3)
    seen: list[ConnectionStatus] = []
    async with ScriptedServer(Script(http_status=503, http_body="busy")) as server:
        client = make_client(server, policy=policy, on_status=seen.append)
        with pytest.raises(FatalConnectionError) as caught:
            await client.start()
        assert caught.value.kind is FailureKind.CONNECTION_LOST
        assert "HTTP 503" in caught.value.message
        assert server.handshakes == 4  # first try + 3 attempts
        delays = [s.delay for s in seen if s.state is ConnectionState.RECONNECTING]
        assert delays == [0.02, 0.04, 0.05]


async def test_close_1007_with_an_oversized_reason_reaches_the_user() -> None:
    async with ScriptedServer(Script(close_after_created=(1007, FREE_TIER_REASON))) as server:
        assert len(FREE_TIER_REASON.encode()) > 125
        client = make_client(server, policy=ReconnectPolicy(max_attempts=5))
        await client.start()
        items = await collect_until(client, ConnectionStatus)
        items += [i async for i in client.incoming()]
        final = items[-1]
        assert isinstance(final, ConnectionStatus) and final.state is ConnectionState.FAILED
        assert final.code == 1007 and final.error is not None and final.error.kind is FailureKind.CLOSED
        assert FREE_TIER_REASON in final.reason
        assert server.handshakes == 1


async def test_short_close_reasons_come_through_websockets_normally() -> None:
    async with ScriptedServer(Script(close_after_created=(1008, "policy says no"))) as server:
        client = make_client(server)
        await client.start()
        items = [i async for i in client.incoming()]
        final = items[-1]
        assert isinstance(final, ConnectionStatus) and final.state is ConnectionState.FAILED
        assert final.code == 1008 and "policy says no" in final.reason
        assert server.handshakes == 1


async def test_malformed_and_unknown_frames_are_counted_and_reading_continues() -> None:
    script = Script(malformed_frames=["{", "[1, 2]", '{"type": "response.audio.delta"}'], unknown_events=2)
    async with ScriptedServer(script) as server:
        client = make_client(server)
        await client.start()
        one_manual_turn(client)
        items = await collect_until(client, ResponseDone)
        await client.close()
        assert client.stats.malformed == 3
        assert client.stats.unknown == 2
        assert sum(isinstance(i, UnknownEvent) for i in items) == 2
        assert sum(isinstance(i, ResponseAudioDelta) for i in items) == 6


@pytest.mark.parametrize("error", [ERROR_SEED_INVALID_REQUEST, ERROR_TTS, ERROR_WITH_EVENT_ID])
async def test_error_events_of_every_documented_shape_are_typed_and_not_fatal(error: dict[str, Any]) -> None:
    async with ScriptedServer(Script(error_events=[error])) as server:
        client = make_client(server)
        await client.start()
        items = await collect_until(client, ErrorEvent)
        detail = items[-1].error  # type: ignore[union-attr]
        assert detail.message == error["message"]
        assert detail.code == error["code"]
        assert detail.param == error.get("param")
        assert detail.event_id == error.get("event_id")
        # The session goes on: a turn still works on the same connection.
        one_manual_turn(client)
        await collect_until(client, ResponseDone)
        await client.close()
        assert server.handshakes == 1


async def test_slow_jittery_server_delivers_everything_in_order() -> None:
    script = Script(reply_seconds=1.0, delta_ms=50, delta_delay=0.02, delta_jitter=0.015)
    async with ScriptedServer(script) as server:
        client = make_client(server)
        await client.start()
        one_manual_turn(client)
        items = await collect_until(client, ResponseDone)
        await client.close()
        audio = b"".join(i.audio for i in items if isinstance(i, ResponseAudioDelta))
        assert audio == script_audio(script)


def script_audio(script: Script) -> bytes:
    from tests.support.scripted_server import sine_pcm

    return sine_pcm(script.reply_seconds, 24000, 330.0)


async def test_idle_cut_is_a_drop_and_reconnects() -> None:
    seen: list[ConnectionStatus] = []
    back = asyncio.Event()

    def on_status(status: ConnectionStatus) -> None:
        seen.append(status)
        if status.state is ConnectionState.CONNECTED and status.attempt == 2:
            back.set()

    async with ScriptedServer(Script(idle_cut_after=0.3)) as server:
        client = make_client(server, on_status=on_status)
        await client.start()
        async with asyncio.timeout(5):
            await back.wait()
        await client.close()
        assert [s.state for s in seen][:4] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED,
                                               ConnectionState.RECONNECTING, ConnectionState.CONNECTED]
        assert server.connections[0].closed_by.startswith("server: idle")
        assert [c.types()[0] for c in server.connections] == ["session.update"] * len(server.connections)


async def test_clean_server_close_ends_the_client_without_reconnecting() -> None:
    async with ScriptedServer() as server:
        client = make_client(server, model=TTS,
                             session_update=lambda: SessionUpdate(session={"voice": "Cherry", "mode": "server_commit"}))
        await client.start()
        client.send(InputTextBufferAppend(text="Hello there."))
        client.send(SessionFinish())
        items = [i async for i in client.incoming()]
        assert any(isinstance(i, SessionFinished) for i in items)
        final = items[-1]
        assert isinstance(final, ConnectionStatus) and final.state is ConnectionState.CLOSED and final.code == 1000
        assert server.handshakes == 1
        assert not client.send(InputTextBufferAppend(text="late"))  # ended: dropped, not queued


async def test_refused_connection_is_retried_per_policy() -> None:
    # Nothing listens on this port once the server is gone.
    server = await ScriptedServer().start()
    url = server.url
    await server.stop()
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, jitter=0.0, max_attempts=2)
    client = RealtimeClient(url, None, model=OMNI, policy=policy, options=ConnectOptions(open_timeout=2))
    with pytest.raises(FatalConnectionError) as caught:
        await client.start()
    assert caught.value.kind is FailureKind.CONNECTION_LOST
    assert "could not connect to 127.0.0.1" in caught.value.message
    assert client.stats.handshakes == 3


async def test_close_is_idempotent_and_discard_pending_works() -> None:
    async with ScriptedServer() as server:
        client = make_client(server)
        await client.start()
        await collect_until(client, SessionUpdated)
        await client.close()
        await client.close()
        assert client.status.state is ConnectionState.CLOSED
    other = RealtimeClient("ws://127.0.0.1:9/x", None)
    other.send(InputAudioBufferAppend(audio=b"\x00\x00"))
    other.send(InputAudioBufferCommit())
    assert other.discard_pending(lambda e: isinstance(e, InputAudioBufferAppend)) == 1
    assert other.pending == 1


def test_plain_ws_to_a_remote_host_is_refused_before_connecting() -> None:
    with pytest.raises(EndpointError, match="refusing plain ws://"):
        RealtimeClient("ws://example.com/api-ws/v1/realtime", "k", model=OMNI)


async def test_plain_ws_to_localhost_by_name_still_connects() -> None:
    # The name is resolved by the system resolver; every address it gives must be loopback, and the
    # connection goes to one of those very addresses.
    async with ScriptedServer() as server:
        url = server.url.replace("127.0.0.1", "localhost")
        client = RealtimeClient(url, "test-key-abcdef", model=OMNI, policy=FAST,
                                session_update=lambda: SessionUpdate(session=dict(MANUAL_SESSION)))
        await client.start()
        await collect_until(client, SessionUpdated)
        await client.close()
        assert server.handshakes == 1 and client.stats.connections == 1


async def test_plain_ws_to_a_localhost_name_that_resolves_elsewhere_is_refused_at_connect() -> None:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[tuple[int, int, int, str, tuple[Any, ...]]]:
        asked.append(host)  # one loopback address is not enough: every address must be loopback
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("198.51.100.9", port))]

    async with ScriptedServer() as server:
        url = server.url.replace("127.0.0.1", "rebound.localhost")
        client = RealtimeClient(url, "test-key-abcdef", model=OMNI, policy=FAST, resolver=resolver,
                                session_update=lambda: SessionUpdate(session=dict(MANUAL_SESSION)))
        with pytest.raises(FatalConnectionError) as failed:
            await client.start()
        assert failed.value.kind is FailureKind.CONFIG
        assert "refusing plain ws:// to rebound.localhost" in failed.value.message
        assert "198.51.100.9" in failed.value.message
        assert asked == ["rebound.localhost"]  # not retried: DNS will not change its mind in a second
        assert server.handshakes == 0


async def test_tls_certificate_errors_are_fatal_and_trusted_certificates_work(tmp_path: Any) -> None:
    pytest.importorskip("cryptography")
    import ssl

    from tests.support.scripted_server import self_signed_certificate, server_tls_context

    cert, key = self_signed_certificate(tmp_path)
    async with ScriptedServer(ssl_context=server_tls_context(cert, key)) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        # Default verification: a self-signed certificate is refused, once, with a clear reason.
        client = make_client(server, key="k-123456", policy=ReconnectPolicy(max_attempts=4))
        with pytest.raises(FatalConnectionError) as caught:
            await client.start()
        assert caught.value.kind is FailureKind.TLS
        assert "certificate verification failed" in caught.value.message
        assert client.stats.handshakes == 1 and server.handshakes == 0
        # Trusting that certificate explicitly: a normal session over TLS.
        trusted = ssl.create_default_context(cafile=cert)
        client = make_client(server, key="k-123456", ssl_context=trusted)
        await client.start()
        await collect_until(client, SessionUpdated)
        await client.close()
        assert server.connections[0].authorization == "Bearer k-123456"


async def test_invalid_session_configuration_is_fatal_without_retry() -> None:
    from qwenvoice.protocol.config import OmniSessionConfig

    def bad_config() -> SessionUpdate:
        return SessionUpdate(session=OmniSessionConfig(voice="Cherry", temperature=5.0).to_session(OMNI))

    async with ScriptedServer() as server:
        client = make_client(server, session_update=bad_config, policy=ReconnectPolicy(max_attempts=4))
        with pytest.raises(FatalConnectionError) as caught:
            await client.start()
        assert caught.value.kind is FailureKind.CONFIG and "session.temperature" in caught.value.message
        assert client.status.state is ConnectionState.FAILED
        await asyncio.sleep(0.1)
        assert server.handshakes == 1 and server.connections[0].received == []


async def test_binary_frames_are_counted_and_skipped() -> None:
    async with ScriptedServer(Script(binary_frames=2)) as server:
        client = make_client(server)
        await client.start()
        one_manual_turn(client)
        items = await collect_until(client, ResponseDone)
        await client.close()
        assert client.stats.binary_frames == 2
        # The binary frame's JSON was not taken for a session.updated: exactly one came through.
        assert sum(isinstance(i, SessionUpdated) for i in items) == 1


async def test_a_frame_over_max_size_closes_1009_and_reconnects() -> None:
    options = ConnectOptions(max_size=64 * 1024)
    async with ScriptedServer(Script(oversized_frame_bytes=100_000)) as server:
        client = make_client(server, options=options)
        await client.start()
        async with asyncio.timeout(10):
            async for item in client.incoming():
                if isinstance(item, SessionUpdated) and client.stats.connections == 2:
                    break
        await client.close()
        assert client.stats.close_codes.get(1009) == 1
        assert server.handshakes == 2
        assert server.connections[1].types()[0] == "session.update"


async def test_a_frozen_server_is_detected_by_keepalive_and_replaced() -> None:
    options = ConnectOptions(ping_interval=0.2, ping_timeout=0.3, close_timeout=0.3)
    seen: list[ConnectionStatus] = []
    async with ScriptedServer(Script(freeze_after_created=True)) as server:
        client = make_client(server, options=options, on_status=seen.append)
        started = asyncio.get_running_loop().time()
        await client.start()
        async with asyncio.timeout(10):
            async for item in client.incoming():
                if isinstance(item, SessionUpdated) and client.stats.connections == 2:
                    break
        detected_after = asyncio.get_running_loop().time() - started
        await client.close()
        reconnecting = [s for s in seen if s.state is ConnectionState.RECONNECTING]
        assert reconnecting and reconnecting[0].code == 1011 and "keepalive" in reconnecting[0].reason
        # ping interval + timeout + close timeout + reconnect, with slack for a busy machine; the defaults
        # (20 s + 20 s) would take 40 s.
        assert detected_after < 0.2 + 0.3 + 0.3 + 4.0


async def test_a_server_that_never_answers_the_session_update_is_reported_and_replaced() -> None:
    # The socket opens and pings are answered, so keepalive sees nothing wrong; the session update is
    # never answered. After session_ready_timeout the client gives up on that connection and retries.
    options = ConnectOptions(session_ready_timeout=0.5, renew_after=None)
    seen: list[ConnectionStatus] = []
    async with ScriptedServer(Script(silent_connections=2)) as server:
        client = make_client(server, options=options, on_status=seen.append)
        client.send(InputTextBufferAppend(text="held back"))
        await client.start()
        async with asyncio.timeout(10):
            async for item in client.incoming():
                if isinstance(item, SessionUpdated):
                    break
            while len(server.connections[-1].received) < 2:  # noqa: ASYNC110 - the server offers no event
                await asyncio.sleep(0.02)
        await client.close()
        reconnecting = [s for s in seen if s.state is ConnectionState.RECONNECTING]
        assert len(reconnecting) == 2
        assert all("does not answer" in s.reason for s in reconnecting)
        assert reconnecting[1].delay >= reconnecting[0].delay * 0.5  # backoff, not a storm
        assert server.handshakes == 3 and client.stats.connections == 3
        # Nothing queued went to the silent sessions; it all went to the one that answered.
        assert [c.types() for c in server.connections[:2]] == [["session.update"], ["session.update"]]
        assert server.connections[2].types()[:2] == ["session.update", "input_text_buffer.append"]


@pytest.mark.parametrize("code", [1011, 1012, 1013])
async def test_server_error_closes_are_retried_until_the_policy_gives_up(code: int) -> None:
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, jitter=0.0, max_attempts=2)
    async with ScriptedServer(Script(close_after_created=(code, "internal trouble"))) as server:
        client = make_client(server, policy=policy)
        await client.start()
        items = [i async for i in client.incoming()]
        final = items[-1]
        assert isinstance(final, ConnectionStatus) and final.state is ConnectionState.FAILED
        assert final.error is not None and final.error.kind is FailureKind.CONNECTION_LOST
        assert str(code) in final.reason and "internal trouble" in final.reason
        assert server.handshakes == 3
        assert states(items).count(ConnectionState.RECONNECTING) == 2


async def test_audio_queued_during_an_outage_is_not_replayed_after_reconnect() -> None:
    client_ref: list[RealtimeClient] = []

    def on_status(status: ConnectionStatus) -> None:
        if status.state is ConnectionState.RECONNECTING:
            # The microphone keeps producing while the socket is down; then the user asks again.
            for _ in range(5):
                client_ref[0].send(InputAudioBufferAppend(audio=b"\x05\x00" * 320))
            client_ref[0].send(ResponseCreate())

    async with ScriptedServer(Script(drop_after_deltas=1)) as server:
        client = make_client(server, on_status=on_status)
        client_ref.append(client)
        await client.start()
        one_manual_turn(client)
        async with asyncio.timeout(10):
            async for item in client.incoming():
                if isinstance(item, ResponseDone) and client.stats.connections == 2:
                    break
        await client.close()
        assert server.connections[1].types() == ["session.update", "response.create"]
        assert client.stats.stale_media_dropped == 5


async def test_close_during_a_backoff_wait_ends_at_once() -> None:
    policy = ReconnectPolicy(initial_delay=5.0, max_delay=5.0, jitter=0.0, max_attempts=3)
    reconnecting = asyncio.Event()

    def on_status(status: ConnectionStatus) -> None:
        if status.state is ConnectionState.RECONNECTING:
            reconnecting.set()

    async with ScriptedServer(Script(close_after_created=(1011, "restart"))) as server:
        client = make_client(server, policy=policy, on_status=on_status)
        await client.start()
        async with asyncio.timeout(5):
            await reconnecting.wait()
        loop = asyncio.get_running_loop()
        before = loop.time()
        await client.close("user quit")
        assert loop.time() - before < 2.5  # did not sit out the 5 s backoff
        assert client.status.state is ConnectionState.CLOSED and client.status.reason == "user quit"
        assert server.handshakes == 1
