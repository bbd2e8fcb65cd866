"""What went wrong with a connection, and whether trying again can help.

Fatal: the handshake was refused for a reason a retry cannot fix (401/403: key or region; 400/404:
model or URL), the server closed with a code that means "stop" (1007 e.g. free tier exhausted, 1008
policy), TLS verification failed, or the configuration is invalid. Retryable: network errors,
timeouts, 5xx/429 at the handshake, abnormal closes (1006), 1001/1011/1012/1013/1014, and a
message larger than our ``max_size`` (1009).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from qwenvoice.logsetup import redact


class FailureKind(StrEnum):
    AUTH = "auth"  # HTTP 401/403 at the handshake, or a 1008 close
    CONFIG = "config"  # bad URL, unknown model/endpoint (HTTP 400/404)
    CLOSED = "closed"  # the server closed with a code that means "do not come back" (1007, 1003, 4xxx...)
    TLS = "tls"  # certificate verification failed
    HTTP = "http"  # any other refusal at the handshake
    PROTOCOL = "protocol"  # the server broke the WebSocket protocol
    CONNECTION_LOST = "connection_lost"  # retryable trouble, but no attempts left


class FatalConnectionError(Exception):
    """A connection failure that retrying will not fix. The message is safe to show and to log."""

    def __init__(
        self, kind: FailureKind, message: str, *, status: int | None = None, code: int | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status  # HTTP status at the handshake, if any
        self.code = code  # WebSocket close code, if any

    def __repr__(self) -> str:
        return f"FatalConnectionError({self.kind.value!r}, {self.message!r}, status={self.status}, code={self.code})"


@dataclass(frozen=True, slots=True)
class Retry:
    reason: str
    min_delay: float = 0.0  # e.g. from Retry-After
    code: int | None = None


@dataclass(frozen=True, slots=True)
class ServerClosed:
    """A clean close (1000) by the server: not an error, not retried unless asked for."""

    reason: str
    code: int


Outcome = Retry | ServerClosed | FatalConnectionError

MAX_DETAIL_CHARS = 300
RETRYABLE_CLOSE_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 1014})
RETRYABLE_HTTP = frozenset({408, 429, 500, 502, 503, 504})
CLOSE_CODE_NAMES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1006: "connection dropped",
    1007: "invalid payload",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "server error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
}


def short_text(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body_text(body: bytes | None) -> str:
    if not body:
        return ""
    return short_text(body.decode("utf-8", errors="replace"))


def describe_location(location: str) -> str:
    """Where a redirect points, safe to show: no user info, query string or fragment (they may carry
    tokens)."""
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
    except ValueError:
        return "(an invalid address)"
    return short_text(urlunsplit((parts.scheme, netloc, parts.path, "", ""))) or "(no address)"


def classify_http_status(
    status: int, body: bytes | None = None, retry_after: str | None = None, location: str | None = None
) -> Outcome:
    """Outcome of a handshake answered with HTTP ``status`` instead of 101. Redirects are never
    followed (the key would go wherever the server says): a 3xx is fatal and names its ``location``."""
    detail = _body_text(body)
    said = f" (server said: {detail})" if detail else ""
    if 300 <= status < 400:
        where = f" to {describe_location(location)}" if location else ""
        return FatalConnectionError(
            FailureKind.HTTP,
            f"the server redirected the connection (HTTP {status}){where}; redirects are not followed: "
            "if you trust that address, set it as the URL",
            status=status,
        )
    if status in (401, 403):
        return FatalConnectionError(
            FailureKind.AUTH,
            f"authentication failed (HTTP {status}): check the API key and that it belongs to this region{said}",
            status=status,
        )
    if status in RETRYABLE_HTTP:
        delay = 0.0
        if retry_after:
            try:
                delay = max(0.0, min(float(retry_after), 120.0))
            except ValueError:
                delay = 0.0
        return Retry(f"server answered HTTP {status}{said}", min_delay=delay)
    if status in (400, 404):
        return FatalConnectionError(
            FailureKind.CONFIG,
            f"the server refused the connection (HTTP {status}): check the URL and the model name{said}",
            status=status,
        )
    return FatalConnectionError(
        FailureKind.HTTP, f"the server refused the connection (HTTP {status}){said}", status=status
    )


def describe_close(code: int, reason: str) -> str:
    name = CLOSE_CODE_NAMES.get(code, "closed")
    text = short_text(reason, 1000) if reason else ""
    return f"{name} ({code})" + (f": {text}" if text else "")


def classify_close(
    rcvd: tuple[int, str] | None,
    sent: tuple[int, str] | None,
    oversized_close: tuple[int, str] | None = None,
) -> Outcome:
    """Outcome of a connection that ended. ``rcvd``/``sent`` are the close frames (code, reason) that
    were received from / sent to the server; ``oversized_close`` is a close frame the server sent with
    a reason longer than the protocol allows (which websockets refuses to parse; we recover it raw).
    """
    if oversized_close is not None:
        rcvd = oversized_close
    if rcvd is not None:
        code, reason = rcvd
        text = describe_close(code, reason)
        if code == 1000:
            return ServerClosed(f"the server closed the connection: {text}", code)
        if code in RETRYABLE_CLOSE_CODES:
            return Retry(f"connection closed: {text}", code=code)
        if code == 1008:
            return FatalConnectionError(FailureKind.AUTH, f"the server closed the session: {text}", code=code)
        return FatalConnectionError(FailureKind.CLOSED, f"the server closed the session: {text}", code=code)
    if sent is not None:
        code, reason = sent
        if code == 1009:
            return Retry(f"a message from the server exceeded our size limit: {short_text(reason)}", code=code)
        if code == 1011 or code == 1006:
            return Retry(f"connection lost: {describe_close(code, reason)}", code=code)
        if code in (1002, 1007):
            return FatalConnectionError(
                FailureKind.PROTOCOL, f"the server broke the WebSocket protocol: {short_text(reason)}", code=code
            )
        return Retry(f"connection closed: {describe_close(code, reason)}", code=code)
    return Retry("connection lost: no close frame (1006)", code=1006)
