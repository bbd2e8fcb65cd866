"""Realtime endpoints: regions, custom URLs and the rules a URL must pass before we connect.

Both realtime protocols share one path; the model in the ``?model=`` query decides which one the
server speaks. Plain ``ws://`` is only accepted for loopback hosts (the offline server, tests): on any
other host the API key would cross the network in clear text.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Same values as qwenvoice.protocol.models.ENDPOINTS; kept here too so that the transport can be used
# (and tested) on its own.
REGION_ENDPOINTS: dict[str, str] = {
    "beijing": "wss://dashscope.aliyuncs.com/api-ws/v1/realtime",
    "singapore": "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime",
}
DEFAULT_REGION = "beijing"


class EndpointError(ValueError):
    """A URL or region we refuse to connect to; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str  # full URL including ?model=
    host: str
    secure: bool
    loopback: bool


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def region_url(region: str) -> str:
    try:
        return REGION_ENDPOINTS[region.lower()]
    except KeyError:
        allowed = ", ".join(sorted(REGION_ENDPOINTS))
        raise EndpointError(f"unknown region {region!r}; allowed: {allowed}") from None


def build_endpoint(base_url: str, model: str | None) -> Endpoint:
    """Validate ``base_url`` and add ``model=`` to its query (existing query parameters are kept).

    An existing ``model`` parameter is replaced when ``model`` is given, kept otherwise.
    """
    raw = base_url.strip()
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        raise EndpointError(f"unsupported URL scheme {parts.scheme or '(none)'!r}: use wss:// (or ws:// on loopback)")
    host = parts.hostname or ""
    if not host:
        raise EndpointError("the URL has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise EndpointError(f"invalid port in URL: {exc}") from None
    loopback = is_loopback_host(host)
    if scheme == "ws" and not loopback:
        raise EndpointError(
            f"refusing plain ws:// to {host}: the API key would travel unencrypted; "
            "use wss:// (ws:// is only allowed for 127.0.0.1, ::1 or localhost)"
        )
    if parts.username or parts.password:
        raise EndpointError("credentials in the URL are not supported; use the API key setting")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if model:
        query = [(k, v) for k, v in query if k != "model"]
        query.append(("model", model))
    path = parts.path or "/"
    url = urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))
    return Endpoint(url=url, host=host, secure=scheme == "wss", loopback=loopback)


def resolve_endpoint(model: str | None, *, url: str | None = None, region: str | None = None) -> Endpoint:
    """The endpoint for ``model``: an explicit URL wins, else the region's URL (Beijing by default)."""
    base = url if url else region_url(region or DEFAULT_REGION)
    return build_endpoint(base, model)
