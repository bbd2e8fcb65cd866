"""URL rules: regions, ?model= handling, and plain ws:// only on loopback."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from qwenvoice.net.endpoints import (
    REGION_ENDPOINTS,
    EndpointError,
    Resolver,
    build_endpoint,
    is_loopback_host,
    plain_ws_addresses,
    region_url,
    resolve_endpoint,
)


def test_regions_match_the_documented_hosts() -> None:
    assert region_url("beijing") == "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"
    assert region_url("Singapore") == "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime"
    with pytest.raises(EndpointError, match="unknown region 'mars'"):
        region_url("mars")


def test_default_endpoint_is_beijing_with_model_query() -> None:
    endpoint = resolve_endpoint("qwen3-omni-flash-realtime")
    assert endpoint.url == REGION_ENDPOINTS["beijing"] + "?model=qwen3-omni-flash-realtime"
    assert endpoint.secure and not endpoint.loopback
    assert resolve_endpoint("m", region="singapore").host == "dashscope-intl.aliyuncs.com"


def test_custom_url_keeps_its_query_and_replaces_model() -> None:
    endpoint = build_endpoint(
        "wss://gw.example.com/api-ws/v1/realtime?workspace=ws1&model=old", "qwen3-tts-flash-realtime"
    )
    query = parse_qs(urlsplit(endpoint.url).query)
    assert query == {"workspace": ["ws1"], "model": ["qwen3-tts-flash-realtime"]}
    # Without a model the URL's own model stays.
    kept = build_endpoint("wss://gw.example.com/x?model=keep", None)
    assert parse_qs(urlsplit(kept.url).query) == {"model": ["keep"]}


def test_model_names_are_url_encoded() -> None:
    endpoint = build_endpoint("wss://gw.example.com/rt", "a b&c")
    assert parse_qs(urlsplit(endpoint.url).query) == {"model": ["a b&c"]}


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:8765/api-ws/v1/realtime",
        "ws://127.1.2.3:1/x",
        "ws://[::1]:9000/x",
        "ws://localhost:9000/x",
        "ws://LOCALHOST/x",
    ],
)
def test_plain_ws_allowed_on_loopback(url: str) -> None:
    endpoint = build_endpoint(url, "m")
    assert endpoint.loopback and not endpoint.secure
    assert endpoint.url.endswith("model=m")


@pytest.mark.parametrize(
    "url", ["ws://dashscope.aliyuncs.com/api-ws/v1/realtime", "ws://192.168.1.5:8000/x", "ws://[2001:db8::1]/x",
            "ws://localhost.example.com/x", "ws://128.0.0.1/x"]
)
def test_plain_ws_refused_elsewhere(url: str) -> None:
    with pytest.raises(EndpointError, match="refusing plain ws://"):
        build_endpoint(url, "m")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://dashscope.aliyuncs.com/api-ws/v1/realtime", "unsupported URL scheme"),
        ("dashscope.aliyuncs.com/realtime", "unsupported URL scheme"),
        ("wss:///no-host", "no host"),
        ("wss://host:notaport/x", "invalid port"),
        ("wss://user:pw@host/x", "credentials"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(EndpointError, match=message):
        build_endpoint(url, "m")


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("[::1]")
    assert is_loopback_host("app.localhost")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("example.com")


# ----- plain ws:// to a host name: the resolved addresses decide, at connect time

def _addr(ip: str, port: int = 80) -> tuple[int, int, int, str, tuple[Any, ...]]:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sockaddr: tuple[Any, ...] = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


def _fake_resolver(*ips: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[tuple[int, int, int, str, tuple[Any, ...]]]:
        return [_addr(ip, port) for ip in ips]

    return resolve


async def test_localhost_resolved_by_the_system_is_loopback() -> None:
    infos = await plain_ws_addresses(build_endpoint("ws://localhost:9000/x", "m"))
    assert infos, "localhost must resolve to at least one address"
    assert all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)
    assert all(info[4][1] == 9000 for info in infos)


async def test_a_localhost_name_that_resolves_elsewhere_is_refused() -> None:
    endpoint = build_endpoint("ws://evil.localhost:9000/x", "m")
    with pytest.raises(EndpointError, match=r"refusing plain ws:// to evil\.localhost: .*203\.0\.113\.7"):
        await plain_ws_addresses(endpoint, _fake_resolver("127.0.0.1", "203.0.113.7"))
    with pytest.raises(EndpointError, match="not a loopback address"):
        await plain_ws_addresses(endpoint, _fake_resolver("10.0.0.5"))


async def test_a_localhost_name_on_loopback_addresses_is_allowed() -> None:
    endpoint = build_endpoint("ws://app.localhost:9000/x", "m")
    infos = await plain_ws_addresses(endpoint, _fake_resolver("::1", "127.0.0.2"))
    assert [info[4][0] for info in infos] == ["::1", "127.0.0.2"]


async def test_ip_literals_and_wss_need_no_lookup() -> None:
    async def must_not_resolve(host: str, port: int) -> list[tuple[int, int, int, str, tuple[Any, ...]]]:
        raise AssertionError(f"resolved {host}")

    assert await plain_ws_addresses(build_endpoint("ws://127.0.0.1:1/x", "m"), must_not_resolve) is None
    assert await plain_ws_addresses(build_endpoint("ws://[::1]:1/x", "m"), must_not_resolve) is None
    assert await plain_ws_addresses(build_endpoint("wss://example.com/x", "m"), must_not_resolve) is None
