"""Pieces both protocol sessions share: the per-connection event loop, the outgoing side of a connection,
errors, ids, PCM framing."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from qwenvoice.localserver.responder import Responder
from qwenvoice.localserver.speech import SpeechModels
from qwenvoice.localserver.vad import MAX_TURN_SECONDS, ScorerPool
from qwenvoice.protocol.codec import decode_client_event, encode_event, new_event_id
from qwenvoice.protocol.events import (
    ErrorDetail,
    ErrorEvent,
    Event,
    MalformedEvent,
    SessionCreated,
    SessionFinished,
    UnknownEvent,
)

log = logging.getLogger(__name__)

# The cloud streams faster than real time; so do we: a short burst, then twice real time. The client's
# jitter buffer absorbs it, and a cancel still has audio left to stop.
PACE_BURST_SECONDS = 1.0
PACE_SPEED = 2.0
CHUNK_SECONDS = 0.1


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:22]}"


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one session may ask of the server, so that no client can starve the others."""

    max_append_bytes: int = 6 * 1024 * 1024  # audio in one input_audio_buffer.append (~3 min at 16 kHz)
    max_turn_seconds: float = MAX_TURN_SECONDS  # one spoken turn under voice activity detection
    max_text_chars: int = 20_000  # TTS text waiting to be spoken (buffer and queue together)


@dataclass
class ServerContext:
    """What every session of one server process shares."""

    models: SpeechModels
    executor: Executor
    limits: ServerLimits = field(default_factory=ServerLimits)
    responder: Responder = field(default_factory=Responder)
    vad_pool: ScorerPool = field(default_factory=ScorerPool)
    sessions: set[Any] = field(default_factory=set)


class Outbox:
    """Sends events on one connection; after the peer is gone every send is a no-op."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.closed = False
        self.sent_types: list[str] = []

    async def send(self, event: Event) -> bool:
        if self.closed:
            return False
        if event.event_id is None:
            event.event_id = new_event_id()
        try:
            await self.connection.send(encode_event(event))
        except ConnectionClosed:
            self.closed = True
            return False
        return True

    async def error(
        self,
        message: str,
        *,
        code: str = "invalid_value",
        param: str | None = None,
        error_type: str = "invalid_request_error",
        client_event_id: str | None = None,
    ) -> None:
        detail = ErrorDetail(type=error_type, code=code, message=message, param=param, event_id=client_event_id)
        await self.send(ErrorEvent(error=detail))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True
        try:
            await self.connection.close(code, reason)
        except ConnectionClosed:
            pass


class Pacer:
    """Sleeps so that audio goes out at most ``PACE_SPEED`` times real time after a short burst."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._sent_seconds = 0.0

    async def before_sending(self, seconds: float) -> None:
        if self._start is None:
            self._start = time.monotonic()  # the clock starts with the first chunk, not the synthesis
        due = self._start + max(0.0, self._sent_seconds - PACE_BURST_SECONDS) / PACE_SPEED
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._sent_seconds += seconds


def pcm_chunks(samples: np.ndarray, rate: int) -> list[bytes]:
    step = max(1, int(rate * CHUNK_SECONDS))
    return [samples[i : i + step].tobytes() for i in range(0, samples.size, step)]


class _SessionConfig(Protocol):
    def to_session(self, model: str) -> dict[str, Any]: ...


ConfigT = TypeVar("ConfigT", bound=_SessionConfig)
#: An event handler is a plain coroutine function of (session, client event).
EventHandler = Callable[[Any, Any], Awaitable[None]]


class ConnectionSession(Generic[ConfigT]):
    """One protocol session on one connection: ``session.created``, then each client event in order
    until the peer leaves or the session finishes. Subclasses map event classes to handlers."""

    _handlers: ClassVar[dict[type, EventHandler]] = {}

    def __init__(self, outbox: Outbox, model: str, ctx: ServerContext, config: ConfigT) -> None:
        self.out = outbox
        self.model = model
        self.ctx = ctx
        self.session_id = new_id("sess")
        self.config = config
        self.finishing = False

    def wire_session(self) -> dict[str, Any]:
        """The session as the server echoes it: the effective configuration plus its identity."""
        session = self.config.to_session(self.model)
        session.update({"id": self.session_id, "object": "realtime.session", "model": self.model})
        return session

    async def opened(self) -> None:
        """Work between ``session.created`` and the first client event."""

    async def shutdown(self) -> None:
        """Stop what the session started; runs however the connection ended."""

    async def run(self) -> None:
        await self.out.send(SessionCreated(session=self.wire_session()))
        await self.opened()
        try:
            async for message in self.out.connection:
                try:
                    await self.handle(message)
                except ConnectionClosed:
                    raise
                except Exception as exc:  # one bad event must not end the session
                    logging.getLogger(type(self).__module__).exception("handling an event failed")
                    await self.out.error(f"Internal error: {exc}", code="internal_error", error_type="server_error")
                if self.finishing:
                    break
        finally:
            await self.shutdown()

    async def handle(self, message: str | bytes) -> None:
        event = decode_client_event(message)
        if isinstance(event, MalformedEvent):
            await self.out.error(f"Invalid event: {event.reason}", code="invalid_event")
            return
        if isinstance(event, UnknownEvent):
            await self._refuse_type(f"Invalid event type: {event.type!r}", event.event_id)
            return
        handler = self._handlers.get(type(event))
        if handler is None:
            await self._refuse_type(f"Invalid event type for this model: {event.TYPE!r}", event.event_id)
            return
        await handler(self, event)

    async def _refuse_type(self, message: str, client_event_id: str | None) -> None:
        await self.out.error(message, code="invalid_event_type", param="type", client_event_id=client_event_id)

    async def end_session(self) -> None:
        """``session.finished``, then a normal close: the end of a ``session.finish``."""
        await self.out.send(SessionFinished())
        await self.out.close(1000, "session finished")
