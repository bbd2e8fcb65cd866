"""The realtime WebSocket client: one reader task, one writer queue, reconnect with backoff.

``RealtimeClient`` owns a single logical session toward one endpoint. It connects, sends the session
configuration first (and again after every reconnect, because the service has no session resumption),
then drains the outgoing queue. Incoming frames are decoded into typed events by the protocol codec.
Everything the consumer needs arrives, in order, on one async iterator: server events and
``ConnectionStatus`` notices (connecting, connected, reconnecting, closed, failed).

The API key only ever travels in the ``Authorization`` header. It is registered with the log redactor,
and websockets gets a logger of ours with a redacting filter, so even a DEBUG handshake dump
(which lists every request header) cannot print it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as _ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.version import version as websockets_version

from qwenvoice import __version__
from qwenvoice.logsetup import RedactingFilter, register_secret
from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.endpoints import (
    EndpointError,
    Resolver,
    build_endpoint,
    open_socket,
    plain_ws_addresses,
    system_resolver,
)
from qwenvoice.net.errors import (
    FailureKind,
    FatalConnectionError,
    Outcome,
    Retry,
    ServerClosed,
    classify_close,
    classify_http_status,
    short_text,
)
from qwenvoice.net.renewal import Renewed, SessionRenewer
from qwenvoice.net.status import NO_ANSWER as NO_ANSWER
from qwenvoice.net.status import RENEWAL_FAILED as RENEWAL_FAILED
from qwenvoice.net.status import RENEWED as RENEWED
from qwenvoice.net.status import ConnectionState as ConnectionState
from qwenvoice.net.status import ConnectionStatus as ConnectionStatus
from qwenvoice.protocol.codec import decode_server_event, encode_event, new_event_id
from qwenvoice.protocol.events import (
    ClientEvent,
    ErrorEvent,
    InputAudioBufferAppend,
    InputImageBufferAppend,
    MalformedEvent,
    ResponseDone,
    ServerEvent,
    SessionUpdate,
    SessionUpdated,
    UnknownEvent,
)
from qwenvoice.protocol.quiet import QuietTracker

log = logging.getLogger(__name__)

# Base64 audio in JSON: a 1 MiB limit (the websockets default) is ~16 s of 24 kHz audio in one delta,
# which real deltas never approach, but a server is free to send a whole reply at once (TTS with
# a long text). 16 MiB keeps memory bounded while leaving room for such bursts; an even larger
# frame closes with 1009 and we reconnect.
DEFAULT_MAX_SIZE = 16 * 2**20
# The cloud closes a session after 120 minutes; renew 5 minutes before (plus the forcing window).
SESSION_CAP = 120 * 60.0
RENEW_AFTER_DEFAULT = 115 * 60.0
# The service has been seen to cut a socket on which the client sent nothing for 300 s, and pings do not
# count (reference/protocol.md): a session idle this long is replaced by a fresh one before that.
RENEW_WHEN_IDLE_DEFAULT = 240.0


def _wire_logger() -> logging.Logger:
    """The logger handed to websockets: its handshake dumps pass a redacting filter first."""
    logger = logging.getLogger("qwenvoice.net.wire")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    if logger.level == logging.NOTSET:
        # Header dumps live at DEBUG; -vv on the root logger must not turn them on.
        logger.setLevel(logging.INFO)
    return logger


class _NoRedirects(_ws_connect):
    """websockets' connect without following HTTP redirects (it follows up to 10 by default, and
    version 17 has no option to turn that off): the 3xx surfaces as InvalidStatus, which we report."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    open_timeout: float = 10.0
    # Dead-peer detection in <= 20 s; the defaults (20 + 20) are slow for a voice session.
    ping_interval: float | None = 10.0
    ping_timeout: float | None = 10.0
    close_timeout: float = 2.0
    max_size: int = DEFAULT_MAX_SIZE
    # After sending the session configuration, hold queued traffic until session.updated (or an error)
    # arrives: audio sent before the update applies would use the old settings. A server that has not
    # answered after this long is not working: the connection is dropped and retried with backoff.
    session_ready_timeout: float = 5.0
    # A clean 1000 close by the server ends the client unless this is set.
    reconnect_on_server_close: bool = False
    # Audio and images queued while the connection was down are stale by the time it is back: speech
    # from seconds ago must not start a turn in the new session. Other events are kept.
    discard_stale_media_on_reconnect: bool = True
    # The service ends a session after 120 minutes. After this many seconds on one connection, open a
    # fresh session at a quiet moment (no reply running, the user not speaking, no request just sent),
    # send it the configuration, and move the outgoing queue over to it before closing the old one.
    # None turns renewal off.
    renew_after: float | None = RENEW_AFTER_DEFAULT
    # "Quiet" means nothing of a reply and no request for this long.
    renew_quiet: float = 2.0
    # A busy conversation is never quiet that long: this long after the renewal was due, the moment
    # between two turns will do too (a reply just finished; nothing sent since, the user not speaking,
    # no manual turn half recorded).
    renew_turn_grace: float = 20.0
    # Renew even without a quiet moment this much later (a reply whose end never came).
    renew_force_after: float = 180.0
    # After a failed renewal, try again this much later (the old session keeps running meanwhile).
    renew_retry: float = 30.0
    # A session on which nothing was sent for this many seconds (push-to-talk with the key up) is
    # renewed, so the next press never meets a socket the service cut for idleness. Only for clients
    # that continue a conversation (with a renewal hook); None turns it off.
    renew_when_idle: float | None = RENEW_WHEN_IDLE_DEFAULT


@dataclass(slots=True)
class ClientStats:
    handshakes: int = 0
    connections: int = 0
    reconnects: int = 0
    events_sent: int = 0
    events_received: int = 0
    malformed: int = 0
    binary_frames: int = 0
    unknown: int = 0
    uncertain_dropped: int = 0  # sends interrupted by a drop: never replayed
    stale_media_dropped: int = 0  # audio/image events queued during an outage, dropped on reconnect
    renewals: int = 0  # sessions replaced before the session cap
    renewal_failures: int = 0  # renewal attempts that failed (the old session carried on)
    close_codes: dict[int, int] = field(default_factory=dict)


Incoming = ServerEvent | ConnectionStatus


def answers_configuration(event: ServerEvent) -> bool:
    """Whether ``event`` is the server's answer to a session configuration: from then on the session
    is ready for traffic (an error means it keeps its previous settings, but it is answering)."""
    return isinstance(event, SessionUpdated | ErrorEvent)


class _NoAnswer(Exception):
    """The session configuration went unanswered for ``session_ready_timeout`` seconds."""


class _SniffingConnection(ClientConnection):
    """Keeps references to the last few raw chunks received (no copies), so that a close frame
    websockets refuses (a reason over 123 bytes, which the service sends when a free tier runs out)
    can still be read and shown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw_tail: deque[bytes] = deque(maxlen=4)

    def data_received(self, data: bytes) -> None:
        self.raw_tail.append(data)
        super().data_received(data)


def find_oversized_close_frame(tail: bytes) -> tuple[int, str] | None:
    """Find the last unmasked close frame with an extended (>125 byte) length in ``tail`` and return
    (code, reason). Only used after websockets rejected such a frame ("control frame too long"), so
    the frame is among the last bytes received; whatever follows it (our own reply) is ignored."""
    best: tuple[int, str] | None = None
    for start in range(len(tail) - 4, -1, -1):
        if tail[start] != 0x88 or tail[start + 1] not in (126, 127):
            continue
        if tail[start + 1] == 126:
            (length,) = struct.unpack_from("!H", tail, start + 2)
            header = 4
        elif start + 10 <= len(tail):
            (length,) = struct.unpack_from("!Q", tail, start + 2)
            header = 10
        else:
            continue
        end = start + header + length
        if length < 2 or end > len(tail):
            continue
        (code,) = struct.unpack_from("!H", tail, start + header)
        if not 1000 <= code <= 4999:
            continue
        try:
            reason = tail[start + header + 2 : end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        best = (code, reason)
        break
    return best


class RealtimeClient:
    """A realtime session over a reconnecting WebSocket.

    ``session_update`` returns the current ``SessionUpdate`` (or None); it is called on every
    (re)connect and sent before anything queued. Before the service's session cap
    (``ConnectOptions.renew_after``) the client opens a fresh session at a quiet moment, configures it
    with ``renewal_update`` (or ``session_update``; reconnects after a drop use it too), waits for
    ``session.updated`` and then moves the
    outgoing queue over to it; consumers see a RENEWING status, then CONNECTED with the reason
    "session renewed", and events simply continue. Use::

        client = RealtimeClient(url, key, session_update=lambda: SessionUpdate(session=cfg))
        await client.start()          # raises FatalConnectionError if it cannot connect at all
        client.send(event)
        async for item in client.incoming():   # ServerEvent | ConnectionStatus, ends when terminal
            ...
        await client.close()
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        model: str | None = None,
        session_update: Callable[[], SessionUpdate | None] | None = None,
        renewal_update: Callable[[], SessionUpdate | None] | None = None,
        policy: ReconnectPolicy | None = None,
        options: ConnectOptions | None = None,
        on_status: Callable[[ConnectionStatus], None] | None = None,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.endpoint = build_endpoint(url, model)  # raises EndpointError for refused URLs
        register_secret(api_key)
        self._api_key = api_key
        self._session_update = session_update
        # The update for a session that continues an earlier one: renewed before the cap, or opened
        # after a drop (e.g. instructions plus a summary of the conversation so far);
        # ``session_update`` when not given.
        self._renewal_update = renewal_update
        self.policy = policy or ReconnectPolicy()
        self.options = options or ConnectOptions()
        self._on_status = on_status
        self._rng = rng or random.Random()
        self._ssl_context = ssl_context
        # Resolves a plain ws:// host name at every connect; all its addresses must be loopback.
        self._resolver = resolver
        self.stats = ClientStats()
        self.status = ConnectionStatus(ConnectionState.CONNECTING)
        self._outgoing: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self._incoming: asyncio.Queue[Incoming] = asyncio.Queue()
        self._supervisor: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._closing = False
        self._close_reason = "closed by the client"
        self._stop = asyncio.Event()
        self._first_outcome: asyncio.Future[ConnectionStatus] | None = None
        self._unknown_seen: set[str] = set()
        # Serialises sends with the hand-over to a renewed session: no send is ever in flight on the
        # old connection once the new one has taken over.
        self._send_lock = asyncio.Lock()
        # What a renewal waits for to be quiet: decided by the protocol layer from the traffic.
        self.quiet = QuietTracker()
        self._reply_finished = asyncio.Event()  # set at every response.done: wakes a waiting renewal

    def __repr__(self) -> str:
        # Never include the key.
        return f"RealtimeClient({self.endpoint.url!r}, state={self.status.state.value})"

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        return self.status.state is ConnectionState.CONNECTED

    async def start(self) -> None:
        """Connect (retrying per the policy). Returns once connected; raises FatalConnectionError when
        the first connection fails for good."""
        if self._supervisor is not None:
            raise RuntimeError("already started")
        loop = asyncio.get_running_loop()
        self._first_outcome = loop.create_future()
        self._supervisor = asyncio.create_task(self._run(), name="qwenvoice-net-supervisor")
        status = await asyncio.shield(self._first_outcome)
        if status.state is ConnectionState.FAILED and status.error is not None:
            raise status.error
        if status.state is ConnectionState.CLOSED:
            raise FatalConnectionError(FailureKind.CONNECTION_LOST, status.reason or "closed", code=status.code)

    def send(self, event: ClientEvent) -> bool:
        """Queue ``event`` for the writer. False (dropped) once the client has ended."""
        if self.status.terminal or self._closing:
            return False
        self._outgoing.put_nowait(event)
        return True

    def discard_pending(self, predicate: Callable[[ClientEvent], bool] | None = None) -> int:
        """Drop queued, unsent events (all, or those matching ``predicate``), e.g. stale microphone
        audio after an outage. Returns how many were dropped."""
        kept: list[ClientEvent] = []
        dropped = 0
        while not self._outgoing.empty():
            event = self._outgoing.get_nowait()
            if predicate is None or predicate(event):
                dropped += 1
            else:
                kept.append(event)
        for event in kept:
            self._outgoing.put_nowait(event)
        return dropped

    @property
    def pending(self) -> int:
        return self._outgoing.qsize()

    async def incoming(self) -> AsyncIterator[Incoming]:
        """Server events and status changes in arrival order; ends after CLOSED or FAILED."""
        while True:
            item = await self._incoming.get()
            yield item
            if isinstance(item, ConnectionStatus) and item.terminal:
                return

    async def next_item(self) -> Incoming:
        """One item from ``incoming`` (wrap in ``asyncio.timeout`` to bound the wait)."""
        return await self._incoming.get()

    async def close(self, reason: str = "closed by the client") -> None:
        """Close the connection (code 1000) and stop reconnecting. Idempotent."""
        self._closing = True
        self._close_reason = reason
        self._stop.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(1000, "client closing")
        task = self._supervisor
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), self.options.close_timeout + 1.0)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if not self.status.terminal:
            self._emit(ConnectionStatus(ConnectionState.CLOSED, reason=reason))

    async def wait_closed(self) -> ConnectionStatus:
        if self._supervisor is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._supervisor)
        return self.status

    # ------------------------------------------------------------------ internals

    def _emit(self, status: ConnectionStatus) -> None:
        if self.status.terminal:
            return
        self.status = status
        if status.state is ConnectionState.FAILED:
            log.warning("connection failed: %s", status.reason)
        elif status.state is ConnectionState.RECONNECTING:
            log.info("reconnecting (attempt %d in %.2f s): %s", status.attempt, status.delay, status.reason)
        else:
            log.info("connection %s %s", status.state.value, status.reason)
        self._incoming.put_nowait(status)
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("status callback failed")
        first = self._first_outcome
        if (
            first is not None
            and not first.done()
            and status.state in (ConnectionState.CONNECTED, ConnectionState.CLOSED, ConnectionState.FAILED)
        ):
            first.set_result(status)

    def _fail(self, error: FatalConnectionError) -> None:
        self._emit(
            ConnectionStatus(ConnectionState.FAILED, reason=error.message, code=error.code, error=error)
        )

    async def _run(self) -> None:
        attempt = 0  # consecutive unsuccessful attempts
        self._emit(ConnectionStatus(ConnectionState.CONNECTING))
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                result = await self._connect_once()
                if isinstance(result, ClientConnection) and self._closing:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(result.close(1000, "client closing"), self.options.close_timeout + 1.0)
                    break
                if isinstance(result, ClientConnection):
                    up_since = loop.time()
                    outcome = await self._serve(result)
                    if self._closing:
                        break
                    # Healthy: it stayed up a while, or it finished a reply (a server that drops after
                    # every few replies is making progress, not refusing us).
                    if loop.time() - up_since >= self.policy.stable_after or self.quiet.replies_done:
                        attempt = 0
                else:
                    outcome = result
                if self._closing:
                    break
                if isinstance(outcome, FatalConnectionError):
                    self._fail(outcome)
                    return
                if isinstance(outcome, ServerClosed):
                    if not self.options.reconnect_on_server_close:
                        self._emit(ConnectionStatus(ConnectionState.CLOSED, reason=outcome.reason, code=outcome.code))
                        return
                    outcome = Retry(outcome.reason, code=outcome.code)
                attempt += 1
                if not self.policy.allows(attempt):
                    tried = f" after {attempt - 1} reconnect attempts" if attempt > 1 else ""
                    self._fail(
                        FatalConnectionError(
                            FailureKind.CONNECTION_LOST, f"{outcome.reason}{tried}", code=outcome.code
                        )
                    )
                    return
                delay = max(self.policy.delay(attempt, self._rng), outcome.min_delay)
                self.stats.reconnects += 1
                self._emit(
                    ConnectionStatus(
                        ConnectionState.RECONNECTING,
                        attempt=attempt,
                        delay=delay,
                        reason=outcome.reason,
                        code=outcome.code,
                    )
                )
                # Sleep, but wake at once when close() is called.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            self._emit(ConnectionStatus(ConnectionState.CLOSED, reason=self._close_reason))
        except asyncio.CancelledError:
            self._emit(ConnectionStatus(ConnectionState.CLOSED, reason="cancelled"))
            raise
        except Exception as exc:  # a bug here must still end the session visibly
            log.exception("realtime client supervisor crashed")
            self._fail(FatalConnectionError(FailureKind.PROTOCOL, f"internal error: {short_text(repr(exc))}"))

    async def _connect_once(self) -> ClientConnection | Outcome:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else None
        opts = self.options
        kwargs: dict[str, Any] = {}
        if self.endpoint.secure and self._ssl_context is not None:
            kwargs["ssl"] = self._ssl_context
        self.stats.handshakes += 1
        try:
            try:
                pinned = await plain_ws_addresses(self.endpoint, self._resolver)
            except EndpointError as exc:
                return FatalConnectionError(FailureKind.CONFIG, str(exc))
            if pinned is not None:
                # Connect to the addresses just checked, not to the name: a second lookup could differ.
                async with asyncio.timeout(opts.open_timeout):
                    kwargs["sock"] = await open_socket(pinned)
            ws = await self._handshake(headers, kwargs)
        except InvalidStatus as exc:
            response = exc.response
            location = response.headers.get("Location")
            return classify_http_status(
                response.status_code,
                bytes(response.body or b""),
                response.headers.get("Retry-After"),
                urljoin(self.endpoint.url, location) if location else None,
            )
        except InvalidURI as exc:
            return FatalConnectionError(FailureKind.CONFIG, f"invalid URL: {short_text(str(exc))}")
        except ssl.SSLCertVerificationError as exc:
            return FatalConnectionError(
                FailureKind.TLS, f"TLS certificate verification failed: {short_text(str(exc.verify_message or exc))}"
            )
        except (OSError, TimeoutError, EOFError, InvalidHandshake, ConnectionClosed) as exc:
            return Retry(f"could not connect to {self.endpoint.host}: {short_text(str(exc) or type(exc).__name__)}")
        self.stats.connections += 1
        return ws

    async def _handshake(self, headers: dict[str, str] | None, kwargs: dict[str, Any]) -> ClientConnection:
        opts = self.options
        sock = kwargs.get("sock")
        try:
            return await _NoRedirects(
                self.endpoint.url,
                additional_headers=headers,
                user_agent_header=f"qwenvoice/{__version__} websockets/{websockets_version}",
                # permessage-deflate cannot shrink base64 of noisy PCM and costs 10-45x the CPU.
                compression=None,
                max_size=opts.max_size,
                open_timeout=opts.open_timeout,
                ping_interval=opts.ping_interval,
                ping_timeout=opts.ping_timeout,
                close_timeout=opts.close_timeout,
                logger=_wire_logger(),
                create_connection=_SniffingConnection,
                # A system proxy must never see loopback traffic (the offline server, tests).
                proxy=None if self.endpoint.loopback else True,
                **kwargs,
            )
        except BaseException:
            if sock is not None:
                sock.close()  # websockets closes it once it owns it; before that it is ours
            raise

    async def _serve(self, ws: ClientConnection) -> Outcome:
        self._ws = ws
        ready = asyncio.Event()
        # A reconnect continues the earlier session (the service keeps no history across sessions).
        hook = self._renewal_update if self.stats.connections > 1 and self._renewal_update else self._session_update
        try:
            update = hook() if hook is not None else None
        except ValueError as exc:  # ConfigError is a ValueError: retrying cannot fix the configuration
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "client configuration error"), self.options.close_timeout + 1.0)
            self._ws = None
            return FatalConnectionError(FailureKind.CONFIG, f"invalid session configuration: {short_text(str(exc))}")
        self.quiet.new_connection()
        reader = asyncio.create_task(self._read(ws, ready), name="qwenvoice-net-reader")
        writer: asyncio.Task[None] | None = None
        renewer: asyncio.Task[Renewed] | None = None
        no_answer = False
        retiring: list[asyncio.Task[None]] = []
        try:
            if self.stats.connections > 1 and self.options.discard_stale_media_on_reconnect:
                stale = self.discard_pending(lambda e: isinstance(e, InputAudioBufferAppend | InputImageBufferAppend))
                self.stats.stale_media_dropped += stale
                if stale:
                    log.info("dropped %d audio/image events queued during the outage", stale)
            self._emit(ConnectionStatus(ConnectionState.CONNECTED, attempt=self.stats.connections))
            if update is not None:
                if update.event_id is None:
                    update.event_id = new_event_id()
                try:
                    await ws.send(encode_event(update))
                    self.stats.events_sent += 1
                    self.quiet.sent(update, asyncio.get_running_loop().time())
                except ConnectionClosed:
                    pass
            else:
                ready.set()
            writer = asyncio.create_task(self._write(ready), name="qwenvoice-net-writer")
            renewer = self._start_renewer()
            while True:
                waiting: set[asyncio.Task[None] | asyncio.Task[Renewed]] = {reader, writer}
                if renewer is not None:
                    waiting.add(renewer)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if renewer is None or renewer not in done or reader in done or writer in done:
                    break
                # Hand over to the renewed session: from here on every send goes to it.
                fresh = renewer.result()
                old_ws, old_reader = ws, reader
                async with self._send_lock:
                    # Checked again with no send in flight: a turn may have begun since the renewer looked.
                    taken = self._may_hand_over(asyncio.get_running_loop().time(), fresh)
                    if taken:
                        ws = self._ws = fresh.ws
                if not taken:
                    renewer = asyncio.create_task(SessionRenewer(self).until_handover(fresh),
                                                  name="qwenvoice-net-renewer")
                    continue
                self.quiet.new_connection()
                if fresh.update is not None:
                    self.quiet.sent(fresh.update, asyncio.get_running_loop().time())
                self.stats.renewals += 1
                self._emit(ConnectionStatus(ConnectionState.CONNECTED, attempt=self.stats.connections,
                                            reason=RENEWED))
                renewed_ready = asyncio.Event()
                renewed_ready.set()
                for raw in fresh.early:
                    self._accept(raw, renewed_ready)
                reader = asyncio.create_task(self._read(ws, renewed_ready), name="qwenvoice-net-reader")
                # The old session is quiet; close it (its reader hands over anything still in flight).
                retiring.append(asyncio.create_task(self._retire(old_ws, old_reader), name="qwenvoice-net-retire"))
                renewer = self._start_renewer()
            if writer in done and not reader.done():
                problem = writer.exception()
                if isinstance(problem, _NoAnswer):
                    no_answer = True
                    log.warning("no answer to the session configuration within %.1f s; reconnecting",
                                self.options.session_ready_timeout)
                    with contextlib.suppress(Exception):
                        await ws.close(1000, "no answer to the session configuration")
                elif problem is not None:
                    log.error("realtime writer failed: %s", short_text(repr(problem)))
                    with contextlib.suppress(Exception):
                        await ws.close(1011, "client error")
                # The reader drains what already arrived and ends when the connection is closed.
                await reader
        finally:
            tasks = [t for t in (reader, writer, renewer) if t is not None]
            for task in tasks:
                if not task.done():
                    task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            for task in retiring:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, self.options.close_timeout + 2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), self.options.close_timeout + 1.0)
            self._ws = None
        outcome = self._ending(ws)
        if no_answer:
            # However the close went, this connection never worked: retry (never a clean ServerClosed).
            return Retry(f"{NO_ANSWER} (no reply to the session configuration within "
                         f"{self.options.session_ready_timeout:g} s)")
        return outcome

    # ----- session renewal (before the service's session cap)

    def _start_renewer(self) -> asyncio.Task[Renewed] | None:
        idle = self.options.renew_when_idle if self._renewal_update is not None else None
        if (self.options.renew_after is None and idle is None) or self._closing:
            return None
        return asyncio.create_task(SessionRenewer(self).when_due(self.options.renew_after, idle),
                                   name="qwenvoice-net-renewer")

    def _quiet(self, now: float) -> bool:
        return self.quiet.quiet(now, self.options.renew_quiet)

    def _may_hand_over(self, now: float, fresh: Renewed) -> bool:
        """Whether the renewed session may take over now: the old one is quiet or between two turns
        (nothing of it is in flight), or the forcing deadline has passed."""
        return now >= fresh.force_at or self._quiet(now) or self.quiet.between_turns(now)

    async def _retire(self, ws: ClientConnection, reader: asyncio.Task[None]) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(1000, "session renewed"), self.options.close_timeout + 1.0)
        try:
            await asyncio.wait_for(reader, self.options.close_timeout + 1.0)
        except BaseException:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    def _ending(self, ws: ClientConnection) -> Outcome:
        protocol = ws.protocol
        rcvd = (protocol.close_rcvd.code, protocol.close_rcvd.reason) if protocol.close_rcvd else None
        sent = (protocol.close_sent.code, protocol.close_sent.reason) if protocol.close_sent else None
        oversized = None
        if rcvd is None and sent is not None and sent[0] == 1002 and isinstance(ws, _SniffingConnection):
            oversized = find_oversized_close_frame(b"".join(ws.raw_tail))
        code = oversized[0] if oversized else rcvd[0] if rcvd else sent[0] if sent else 1006
        self.stats.close_codes[code] = self.stats.close_codes.get(code, 0) + 1
        return classify_close(rcvd, sent, oversized)

    async def _read(self, ws: ClientConnection, ready: asyncio.Event) -> None:
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    # The protocol is JSON text frames only; a binary frame is counted and skipped.
                    self.stats.binary_frames += 1
                    if self.stats.binary_frames == 1:
                        log.warning("binary frame from the server ignored (%d bytes)", len(message))
                    continue
                self._accept(message, ready)
        except ConnectionClosed:
            pass

    def _accept(self, message: str, ready: asyncio.Event) -> None:
        event = decode_server_event(message)
        self.stats.events_received += 1
        if isinstance(event, MalformedEvent):
            self.stats.malformed += 1
            log.warning("malformed server event (%s): %s", event.reason, short_text(event.raw, 200))
        elif isinstance(event, UnknownEvent):
            self.stats.unknown += 1
            if event.type not in self._unknown_seen:
                self._unknown_seen.add(event.type)
                log.info("unknown server event type %r (ignored)", event.type)
        else:
            if answers_configuration(event):
                ready.set()
            self.quiet.received(event, asyncio.get_running_loop().time())
            if isinstance(event, ResponseDone):
                self._reply_finished.set()
        self._incoming.put_nowait(event)

    async def _write(self, ready: asyncio.Event) -> None:
        if not ready.is_set():
            try:
                await asyncio.wait_for(ready.wait(), self.options.session_ready_timeout)
            except TimeoutError:
                raise _NoAnswer from None
        while True:
            event = await self._outgoing.get()
            if event.event_id is None:
                # TTS requires a unique id per client event; Omni accepts one.
                event.event_id = new_event_id()
            data = encode_event(event)
            async with self._send_lock:  # the connection may change at a renewal, never mid-send
                ws = self._ws
                if ws is None:
                    self.stats.uncertain_dropped += 1
                    return
                try:
                    await ws.send(data)
                except ConnectionClosed:
                    # Whether the server got it is unknown: never replay it on the next connection.
                    self.stats.uncertain_dropped += 1
                    return
            self.stats.events_sent += 1
            self.quiet.sent(event, asyncio.get_running_loop().time())
