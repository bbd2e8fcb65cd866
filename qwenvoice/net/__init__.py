"""qwenvoice.net: the asyncio WebSocket transport (endpoints, auth header, reconnect, error classes).

Imports nothing from Qt or the sound stack; the controller and the headless commands build on it.
The entry point is ``RealtimeClient`` (see its docstring); ``tests/support/scripted_server.py`` is the
fault-injecting server its tests run against.
"""

from qwenvoice.net.backoff import NO_RECONNECT, ReconnectPolicy
from qwenvoice.net.client import (
    RENEWAL_FAILED,
    RENEWED,
    ClientStats,
    ConnectionState,
    ConnectionStatus,
    ConnectOptions,
    Incoming,
    RealtimeClient,
)
from qwenvoice.net.endpoints import REGION_ENDPOINTS, Endpoint, EndpointError, build_endpoint, resolve_endpoint
from qwenvoice.net.errors import FailureKind, FatalConnectionError

__all__ = [
    "NO_RECONNECT",
    "REGION_ENDPOINTS",
    "RENEWAL_FAILED",
    "RENEWED",
    "ClientStats",
    "ConnectOptions",
    "ConnectionState",
    "ConnectionStatus",
    "Endpoint",
    "EndpointError",
    "FailureKind",
    "FatalConnectionError",
    "Incoming",
    "RealtimeClient",
    "ReconnectPolicy",
    "build_endpoint",
    "resolve_endpoint",
]
