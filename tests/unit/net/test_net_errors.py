"""Which failures are fatal, which are retried, and recovering an over-long close reason."""

from __future__ import annotations

import struct

import pytest

from qwenvoice.net.client import find_oversized_close_frame
from qwenvoice.net.errors import (
    FailureKind,
    FatalConnectionError,
    Retry,
    ServerClosed,
    classify_close,
    classify_http_status,
)

LONG_REASON = "The free tier of the model has been exhausted. " * 4


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refusals_are_fatal_and_explain_region(status: int) -> None:
    outcome = classify_http_status(status, b"Invalid API-key provided.")
    assert isinstance(outcome, FatalConnectionError)
    assert outcome.kind is FailureKind.AUTH and outcome.status == status
    assert f"authentication failed (HTTP {status})" in outcome.message
    assert "belongs to this region" in outcome.message
    assert "Invalid API-key provided." in outcome.message


def test_retryable_statuses_honour_retry_after() -> None:
    outcome = classify_http_status(429, b"slow down", "3")
    assert isinstance(outcome, Retry) and outcome.min_delay == 3.0
    assert isinstance(classify_http_status(503), Retry)
    assert classify_http_status(503, None, "garbage") == Retry("server answered HTTP 503", 0.0)


def test_bad_model_or_url_is_a_config_error() -> None:
    outcome = classify_http_status(400, b"model not found")
    assert isinstance(outcome, FatalConnectionError) and outcome.kind is FailureKind.CONFIG
    other = classify_http_status(418)
    assert isinstance(other, FatalConnectionError) and other.kind is FailureKind.HTTP


def test_body_is_trimmed_and_secret_patterns_scrubbed() -> None:
    outcome = classify_http_status(401, b"bad header Authorization: Bearer sk-abcdefghijklmnop " + b"x" * 2000)
    assert isinstance(outcome, FatalConnectionError)
    assert "sk-abcdefghijklmnop" not in outcome.message
    assert len(outcome.message) < 500


@pytest.mark.parametrize("code", [1001, 1011, 1012, 1013, 1014, 1006])
def test_transient_close_codes_are_retried(code: int) -> None:
    outcome = classify_close((code, "x"), (code, "x"))
    assert isinstance(outcome, Retry) and outcome.code == code


def test_no_close_frame_at_all_is_a_drop() -> None:
    outcome = classify_close(None, None)
    assert isinstance(outcome, Retry) and outcome.code == 1006


def test_clean_server_close_is_not_an_error() -> None:
    outcome = classify_close((1000, "session finished"), (1000, "session finished"))
    assert isinstance(outcome, ServerClosed) and "session finished" in outcome.reason


@pytest.mark.parametrize(("code", "kind"), [(1007, FailureKind.CLOSED), (1008, FailureKind.AUTH),
                                            (1003, FailureKind.CLOSED), (4001, FailureKind.CLOSED)])
def test_stop_codes_are_fatal_with_their_reason(code: int, kind: FailureKind) -> None:
    outcome = classify_close((code, "why not"), None)
    assert isinstance(outcome, FatalConnectionError)
    assert outcome.kind is kind and outcome.code == code and "why not" in outcome.message


def test_oversized_close_wins_over_our_protocol_error() -> None:
    outcome = classify_close(None, (1002, "control frame too long"), (1007, LONG_REASON))
    assert isinstance(outcome, FatalConnectionError) and outcome.code == 1007
    assert LONG_REASON.strip() in outcome.message


def test_our_own_size_limit_is_retried() -> None:
    assert isinstance(classify_close(None, (1009, "frame exceeds limit")), Retry)


def _frame(code: int, reason: str) -> bytes:
    payload = struct.pack("!H", code) + reason.encode()
    return b"\x88\x7e" + struct.pack("!H", len(payload)) + payload


def test_oversized_close_frame_is_found_after_other_frames() -> None:
    text_frame = b"\x81\x05hello"
    tail = text_frame + _frame(1007, LONG_REASON)
    assert find_oversized_close_frame(tail) == (1007, LONG_REASON)
    # Trailing bytes (e.g. an echoed close) do not hide it.
    assert find_oversized_close_frame(tail + b"\x88\x18\x03\xeacontrol frame too long") == (1007, LONG_REASON)


def test_oversized_close_frame_absent_or_truncated() -> None:
    assert find_oversized_close_frame(b"\x81\x05hello") is None
    assert find_oversized_close_frame(_frame(1007, LONG_REASON)[:-10]) is None
    assert find_oversized_close_frame(b"") is None
    # A bogus code is not taken for a close frame.
    assert find_oversized_close_frame(_frame(77, LONG_REASON)) is None


def test_a_redirect_is_fatal_and_names_where_it_pointed_without_secrets() -> None:
    outcome = classify_http_status(
        301, b"", None, "wss://user:pw@other.example.com:8443/api-ws/v1/realtime?model=m&api_key=abc#frag"
    )
    assert isinstance(outcome, FatalConnectionError) and outcome.status == 301
    assert "wss://other.example.com:8443/api-ws/v1/realtime" in outcome.message
    for secret in ("api_key", "abc", "pw", "frag", "?"):
        assert secret not in outcome.message
    bare = classify_http_status(307)
    assert isinstance(bare, FatalConnectionError) and "redirected the connection (HTTP 307)" in bare.message
