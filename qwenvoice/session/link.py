"""One voice session's line to the server: the realtime client, the protocol machine of the current
server session, and the events in both directions recorded for the inspector.

Every connection is a new session on the server, so every (re)connect starts a fresh, configured
``OmniConversation``. A renewal configures the next machine while the current one still talks; it
takes over when the client reports the hand-over (or the old one carries on if the renewal failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from qwenvoice.net.backoff import ReconnectPolicy
from qwenvoice.net.client import (
    RENEWAL_FAILED,
    RENEWED,
    ConnectionState,
    ConnectionStatus,
    ConnectOptions,
    RealtimeClient,
    answers_configuration,
)
from qwenvoice.protocol import events as ev
from qwenvoice.protocol.config import OmniSessionConfig
from qwenvoice.protocol.notifications import Notification
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.session.eventlog import IN, OUT, EventLog

log = logging.getLogger(__name__)

# How long a close waits for session.finished after session.finish (some models never send it).
FINISH_WAIT_S = 1.0


class ServerLink:
    def __init__(
        self,
        eventlog: EventLog,
        *,
        session_config: Callable[[], OmniSessionConfig],
        renewal_config: Callable[[], OmniSessionConfig],
        on_status: Callable[[ConnectionStatus], None],
        on_notes: Callable[[list[Notification]], None],
        on_received_line: Callable[[str], None],
        on_invalid_config: Callable[[Exception], None],
        on_answered: Callable[[], None] = lambda: None,
    ) -> None:
        self.eventlog = eventlog
        self._session_config = session_config
        self._renewal_config = renewal_config
        self._on_status = on_status
        self._on_notes = on_notes
        self._on_received_line = on_received_line
        self._on_invalid_config = on_invalid_config
        self._on_answered = on_answered
        self.client: RealtimeClient | None = None
        self.consumer: asyncio.Task[None] | None = None
        self.machine: OmniConversation | None = None  # the protocol machine of the current server session
        self._machine_before_renewal: OmniConversation | None = None
        # The machine whose responses are being finished after a drop, until the next one starts.
        self._last_machine: OmniConversation | None = None
        self.ready = False  # connected and configured: what the user says now is sent
        # The server has answered this connection's configuration (session.updated or an error), the
        # same rule the client uses to release queued traffic: only then does the session work.
        self.answered = False
        self._configuration_sent = False  # the last update hook produced a configuration to send
        self.model = ""
        self.closing = False  # close() is finishing the session: what the connection does now is expected

    # ----- connecting

    def open(self, url: str, key: str | None, model: str, options: ConnectOptions | None,
             policy: ReconnectPolicy | None = None, continuing: bool = False) -> RealtimeClient:
        """A client for this endpoint (raises EndpointError for a refused URL) and its consumer task.
        ``continuing``: its first session continues the conversation too (configured with a summary)."""
        self.model = model
        first = self._renewal_update_event if continuing else self._session_update_event
        client = RealtimeClient(url, key, model=model, session_update=first,
                                renewal_update=self._renewal_update_event, options=options, policy=policy)
        self.client = client
        self.consumer = asyncio.get_running_loop().create_task(self._consume(client), name="qwenvoice-session-consumer")
        return client

    async def close(self, finish_within: float = FINISH_WAIT_S) -> None:
        """End the session: ``session.finish`` first where the model takes it (closing without it leaves
        the session marked failed in the service's console), waiting up to ``finish_within`` seconds for
        ``session.finished``; then close the connection. Its statuses meanwhile are not news."""
        self.closing = True
        try:
            await self._finish(finish_within)
        finally:
            self.closing = False
        client, self.client = self.client, None
        self.ready = False
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        consumer, self.consumer = self.consumer, None
        if consumer is not None and not consumer.done():
            consumer.cancel()
            with contextlib.suppress(BaseException):
                await consumer

    async def _finish(self, within: float) -> None:
        client, machine = self.client, self.machine
        if client is None or machine is None or not self.ready or not machine.ready or within <= 0:
            return
        events = machine.finish()
        if not events:
            return  # the model refuses session.finish: just close
        self.send_all(events)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Polled: the consumer feeds session.finished to the machine; nothing else to wait on here.
        while not machine.finished and client.connected and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    @property
    def responses(self) -> OmniConversation | None:
        """The machine that owns response state now: the current one, or the one just lost."""
        return self.machine or self._last_machine

    def _start_machine(self, cfg: OmniSessionConfig) -> ev.SessionUpdate:
        machine = OmniConversation(self.model)
        self.machine = machine
        self._last_machine = None
        update = machine.configure(cfg)[0]
        assert isinstance(update, ev.SessionUpdate)
        self.eventlog.add_event(OUT, update)
        return update

    def _session_update_event(self) -> ev.SessionUpdate | None:
        """Called by the client on every (re)connect, right before it sends the update."""
        try:
            update = self._start_machine(self._session_config())
        except Exception as exc:
            self._configuration_sent = False
            self._on_invalid_config(exc)
            return None
        self._configuration_sent = True
        return update

    def _renewal_update_event(self) -> ev.SessionUpdate | None:
        """For a session that continues this one (renewed before the service's time limit, or opened
        after a drop): the settings with a short summary of the conversation in the instructions."""
        try:
            cfg = self._renewal_config()
        except Exception:
            return self._session_update_event()  # reports what is wrong with the settings
        previous = self.machine  # None after a drop; the live session's machine for a renewal
        update = self._start_machine(cfg)
        self._machine_before_renewal = previous
        self._configuration_sent = True
        return update

    def reconfigure(self, cfg: OmniSessionConfig) -> None:
        """A live change (turn mode, settings): the whole session again, on the same connection."""
        if self.client is None or self.machine is None:
            return
        self.send_all(self.machine.configure(cfg))

    # ----- status

    def connected(self, status: ConnectionStatus) -> bool:
        """Take a CONNECTED status; True when a new server session started (not a failed renewal)."""
        new_session = True
        if status.reason == RENEWAL_FAILED and self._machine_before_renewal is not None:
            self.machine = self._machine_before_renewal  # the old session carries on
            new_session = False
        elif status.reason == RENEWAL_FAILED:
            new_session = False
        self._machine_before_renewal = None
        self.ready = True
        # A renewal is handed over only once its session answered; a failed one leaves the old session,
        # which had answered. A new connection has answered once its configuration is answered.
        renewal = status.reason in (RENEWED, RENEWAL_FAILED)
        self.answered = renewal or not self._configuration_sent
        self._configuration_sent = False
        return new_session

    def lost(self) -> list[Notification]:
        """The connection is gone: the machine's responses end (a partial reply kept, marked cut off)."""
        self.ready = False
        self.answered = False
        machine, self.machine = self.machine, None
        if machine is None:
            return []
        self._last_machine = machine
        return machine.connection_lost()

    # ----- traffic

    def send(self, event: ev.ClientEvent) -> None:
        client = self.client
        if client is None:
            return
        self.eventlog.add_event(OUT, event)
        client.send(event)

    def send_all(self, events: list[ev.ClientEvent]) -> None:
        for event in events:
            self.send(event)

    def tick(self) -> list[Notification]:
        """The machine's own deadlines (a create waiting for a transcript, a cancel's grace)."""
        machine = self.machine
        if machine is None:
            return []
        deadline = machine.next_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            return machine.on_timer()
        return []

    async def _consume(self, client: RealtimeClient) -> None:
        async for item in client.incoming():
            if client is not self.client:
                break
            try:
                if isinstance(item, ConnectionStatus):
                    if not self.closing:
                        self._on_status(item)
                else:
                    record = self.eventlog.add_event(IN, item)
                    self._on_received_line(record.to_json())
                    if self.machine is not None:
                        self._on_notes(self.machine.receive(item))
                    if self.ready and not self.answered and answers_configuration(item):
                        self.answered = True
                        self._on_answered()
            except Exception:
                log.exception("handling %r failed", type(item).__name__)


__all__ = ["ConnectionState", "ServerLink"]
