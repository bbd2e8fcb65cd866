"""Renewing a realtime session before the service's time limit: open a fresh connection at a quiet
moment, configure it, wait for ``session.updated``, and hand it to the client, which moves its outgoing
queue over. The old session carries on if any of this fails; a later attempt follows.

A busy conversation may never be quiet (``renew_quiet`` seconds without a request or a reply), so
``renew_turn_grace`` seconds after the renewal was due, the moment between two turns (a reply just
finished, nothing sent since) will do as well; the forcing deadline stays the last resort."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from qwenvoice.net.errors import FatalConnectionError, short_text
from qwenvoice.net.status import RENEWAL_FAILED, ConnectionState, ConnectionStatus
from qwenvoice.protocol.codec import decode_server_event, encode_event, new_event_id
from qwenvoice.protocol.events import ErrorEvent, SessionUpdate, SessionUpdated

if TYPE_CHECKING:
    from qwenvoice.net.client import RealtimeClient

log = logging.getLogger(__name__)


class SessionRenewer:
    def __init__(self, client: RealtimeClient) -> None:
        self._client = client

    async def when_due(self, renew_after: float | None, idle_after: float | None = None) -> Renewed:
        """Wait until the connection is ``renew_after`` seconds old, then for a quiet moment (after
        ``renew_turn_grace`` more, the moment between two turns; or the forcing deadline), and open the
        new session. Also when nothing was sent for ``idle_after`` seconds (the service cuts idle
        sockets; pings do not count) and it is quiet. Returns only with a ready session; failures are
        retried every ``renew_retry`` seconds while the old session carries on."""
        c = self._client
        opts = c.options
        loop = asyncio.get_running_loop()
        due = loop.time() + renew_after if renew_after is not None else float("inf")
        force_at = due + opts.renew_force_after
        between_at = due + min(opts.renew_turn_grace, opts.renew_force_after)
        next_try = due
        retry_at = float("-inf")  # after a failed attempt, nothing before this
        for _ in range(10_000_000):  # bounded; in practice ends with a renewal or a cancel
            now = loop.time()
            idle_due = c.quiet.last_sent + idle_after if idle_after is not None else float("inf")
            idle = now >= idle_due and now >= retry_at and c._quiet(now)
            if now < next_try and not idle:
                wake = min(next_try, max(idle_due, retry_at) if idle_after is not None else next_try)
                await asyncio.sleep(min(max(0.05, wake - now), 3600.0))
                continue
            if idle or now >= force_at or c._quiet(now) or (now >= between_at and c.quiet.between_turns(now)):
                why = "renewing the idle session" if idle and now < next_try else \
                    "renewing the session before its time limit"
                c._emit(ConnectionStatus(ConnectionState.RENEWING, reason=why))
                fresh = await self._open()
                if fresh is not None:
                    fresh.force_at = force_at
                    await self.until_handover(fresh)
                    return fresh
                c.stats.renewal_failures += 1
                retry_at = loop.time() + opts.renew_retry
                next_try = max(next_try, retry_at)
                c._emit(ConnectionStatus(ConnectionState.CONNECTED, attempt=c.stats.connections,
                                         reason=RENEWAL_FAILED))
                continue
            await self._nap(0.1)
        raise RuntimeError("renewal loop exhausted")

    async def _nap(self, seconds: float) -> None:
        """Sleep ``seconds``, waking early when a reply finishes: the moment between two turns may
        last only until the next request, so it is taken at once rather than at the next poll."""
        finished = self._client._reply_finished
        finished.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await finished.wait()

    async def until_handover(self, fresh: Renewed) -> Renewed:
        """The user may have started speaking, or a reply begun, while the new session was opening:
        keep it waiting until the old one is quiet, or between two turns, again (or the forcing
        deadline), so nothing in flight there is cut off. The client checks again, with no send in
        flight, when it takes the session over."""
        c = self._client
        loop = asyncio.get_running_loop()
        try:
            # Quiet is computed from timestamps: polled, and woken when a reply finishes.
            while not c._may_hand_over(loop.time(), fresh):
                await self._nap(0.05)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(fresh.ws.close(), c.options.close_timeout)
            raise
        return fresh

    async def _open(self) -> Renewed | None:
        c = self._client
        hook = c._renewal_update or c._session_update
        try:
            update = hook() if hook is not None else None
        except ValueError as exc:
            log.warning("session renewal skipped: invalid configuration: %s", short_text(str(exc)))
            return None
        result = await c._connect_once()
        if not isinstance(result, ClientConnection):
            reason = result.message if isinstance(result, FatalConnectionError) else result.reason
            log.warning("session renewal failed to connect: %s", reason)
            return None
        ws = result
        early: list[str] = []
        try:
            if update is not None:
                if update.event_id is None:
                    update.event_id = new_event_id()
                await ws.send(encode_event(update))
                c.stats.events_sent += 1
                async with asyncio.timeout(c.options.session_ready_timeout + c.options.open_timeout):
                    for _ in range(1000):
                        message = await ws.recv()
                        if isinstance(message, bytes):
                            c.stats.binary_frames += 1
                            continue
                        event = decode_server_event(message)
                        if isinstance(event, ErrorEvent):
                            raise RenewalRefused(event.error.message or event.error.code or "error")
                        early.append(message)
                        if isinstance(event, SessionUpdated):
                            break
            return Renewed(ws, early, update)
        except (TimeoutError, ConnectionClosed, OSError, RenewalRefused) as exc:
            log.warning("session renewal failed: %s", short_text(str(exc) or type(exc).__name__))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "renewal abandoned"), c.options.close_timeout + 1.0)
            return None


@dataclass(slots=True)
class Renewed:
    """A new connection whose session is configured and ready to take over."""

    ws: ClientConnection
    early: list[str]  # frames it sent before the hand-over (session.created, session.updated)
    update: SessionUpdate | None
    force_at: float = float("inf")  # the loop time after which it takes over whatever the old one does


class RenewalRefused(Exception):
    """The new session answered its configuration with an error."""
