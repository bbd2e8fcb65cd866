"""How a realtime connection is doing, as the client reports it to its consumer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from qwenvoice.net.errors import FatalConnectionError

# ConnectionStatus reasons of a renewal: CONNECTED with RENEWED after the hand-over, CONNECTED with
# RENEWAL_FAILED when the new session could not be opened (the old one carries on, the renewal hook's
# session is not used).
RENEWED = "session renewed"
RENEWAL_FAILED = "session renewal failed; the current session continues"
# The start of a RECONNECTING reason when the server accepted the connection but never answered the
# session configuration (no session.updated, no error) within ConnectOptions.session_ready_timeout.
NO_ANSWER = "the server does not answer"



class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    RENEWING = "renewing"  # opening a fresh session before the service's session cap; still connected
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """A change of connection state. ``reason`` is human text, safe to show."""

    state: ConnectionState
    attempt: int = 0  # reconnect attempt number (RECONNECTING), handshake number (CONNECTED)
    delay: float = 0.0  # seconds until the next attempt (RECONNECTING)
    reason: str = ""
    code: int | None = None  # close code, when one is known
    error: FatalConnectionError | None = None  # set for FAILED

    @property
    def terminal(self) -> bool:
        return self.state in (ConnectionState.CLOSED, ConnectionState.FAILED)
