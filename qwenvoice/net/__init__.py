"""qwenvoice.net: the asyncio WebSocket transport (endpoints, auth header, reconnect, error classes).

Imports nothing from Qt or the sound stack; the controller and the headless commands build on it.
"""

from qwenvoice.net.backoff import NO_RECONNECT, ReconnectPolicy
from qwenvoice.net.endpoints import REGION_ENDPOINTS, Endpoint, EndpointError, build_endpoint, resolve_endpoint
from qwenvoice.net.errors import FailureKind, FatalConnectionError

__all__ = [
    "NO_RECONNECT",
    "REGION_ENDPOINTS",
    "Endpoint",
    "EndpointError",
    "FailureKind",
    "FatalConnectionError",
    "ReconnectPolicy",
    "build_endpoint",
    "resolve_endpoint",
]
