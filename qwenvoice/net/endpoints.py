"""Realtime endpoints: regions, custom URLs and the rules a URL must pass before we connect.

Both realtime protocols share one path; the model in the ``?model=`` query decides which one the
server speaks. Plain ``ws://`` is only accepted for loopback hosts (the offline server, tests): on any
other host the API key would cross the network in clear text. A loopback *name* (``localhost``,
``*.localhost``) only looks like loopback: DNS decides where it goes, so at connect time every address it
resolves to must be a loopback address, and the connection is opened to one of those addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Same values as qwenvoice.protocol.models.ENDPOINTS; kept here too so that the transport can be used
# (and tested) on its own.
REGION_ENDPOINTS: dict[str, str] = {
    "beijing": "wss://dashscope.aliyuncs.com/api-ws/v1/realtime",
    "singapore": "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime",
}
DEFAULT_REGION = "beijing"
# Workspace endpoints: wss://{workspace}.{host region}.maas.aliyuncs.com (the only way to qwen3.8).
WORKSPACE_HOST_REGIONS: dict[str, str] = {"beijing": "cn-beijing", "singapore": "ap-southeast-1"}


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


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_loopback_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


# One getaddrinfo result: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]
Resolver = Callable[[str, int], Awaitable[Sequence[AddrInfo]]]


async def system_resolver(host: str, port: int) -> Sequence[AddrInfo]:
    """The running loop's getaddrinfo, TCP addresses only."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(int(family), int(kind), proto, canon, tuple(sockaddr)) for family, kind, proto, canon, sockaddr in infos]


def endpoint_port(endpoint: Endpoint) -> int:
    parts = urlsplit(endpoint.url)
    return parts.port or (443 if endpoint.secure else 80)


async def plain_ws_addresses(endpoint: Endpoint, resolve: Resolver = system_resolver) -> list[AddrInfo] | None:
    """For plain ``ws://`` to a host *name*: its addresses, every one of them loopback, to connect to.

    None when nothing needs checking (``wss://``, or an IP literal, which ``build_endpoint`` already
    checked). Raises EndpointError when any address is not loopback (the key would leave the machine)
    and OSError when the name does not resolve. Connect to the returned addresses, not to the name:
    a second lookup could answer differently.
    """
    if endpoint.secure or _is_ip_literal(endpoint.host):
        return None
    infos = list(await resolve(endpoint.host, endpoint_port(endpoint)))
    if not infos:
        raise OSError(f"{endpoint.host} did not resolve to any address")
    for info in infos:
        address = str(info[4][0])
        if not _is_loopback_address(address):
            raise EndpointError(
                f"refusing plain ws:// to {endpoint.host}: it resolves to {address}, which is not a loopback "
                "address, so the API key would travel unencrypted; use wss:// (ws:// is only allowed for "
                "127.0.0.1, ::1 or localhost)"
            )
    return infos


async def open_socket(infos: Sequence[AddrInfo]) -> socket.socket:
    """A TCP connection to the first of ``infos`` that accepts, tried in order (like
    ``loop.create_connection`` does for a host name)."""
    loop = asyncio.get_running_loop()
    errors: list[OSError] = []
    for family, kind, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, sockaddr)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    if len(errors) == 1:
        raise errors[0]
    raise OSError("; ".join(dict.fromkeys(str(e) for e in errors)) or "no address to connect to")


def region_url(region: str) -> str:
    try:
        return REGION_ENDPOINTS[region.lower()]
    except KeyError:
        allowed = ", ".join(sorted(REGION_ENDPOINTS))
        raise EndpointError(f"unknown region {region!r}; allowed: {allowed}") from None


def workspace_url(workspace: str, region: str) -> str:
    """The realtime endpoint of ``workspace`` in ``region`` (beijing or singapore)."""
    try:
        host_region = WORKSPACE_HOST_REGIONS[region.lower()]
    except KeyError:
        allowed = ", ".join(sorted(WORKSPACE_HOST_REGIONS))
        raise EndpointError(f"unknown region {region!r} for a workspace; allowed: {allowed}") from None
    label = workspace.strip()
    if not (0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-"
            and all(c.isascii() and (c.isalnum() or c == "-") for c in label)):
        raise EndpointError(f"invalid workspace id {workspace!r}: letters, digits and inner hyphens only")
    return f"wss://{label}.{host_region}.maas.aliyuncs.com/api-ws/v1/realtime"


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


def resolve_endpoint(model: str | None, *, url: str | None = None, region: str | None = None,
                     workspace: str | None = None) -> Endpoint:
    """The endpoint for ``model``: an explicit URL wins, else the workspace's endpoint in the region,
    else the region's shared URL (Beijing by default)."""
    if url:
        base = url
    elif workspace:
        base = workspace_url(workspace, region or DEFAULT_REGION)
    else:
        base = region_url(region or DEFAULT_REGION)
    return build_endpoint(base, model)
