"""JSON codec for the realtime events: wire text <-> typed events.

Decoding never raises. A frame that is not JSON, not an object, lacks a string ``type``, or has a
required field missing or of the wrong type (or undecodable base64) becomes a ``MalformedEvent``; a
well-formed frame of a type we do not know becomes an ``UnknownEvent`` (logged once per type).
Unknown extra fields on known events are tolerated and dropped.

Speed matters: ``response.audio.delta`` arrives every few tens of milliseconds, so each type has a
decoder built once at import time from a small field table, itself read once from the event classes'
fields (no per-event reflection), base64 is decoded exactly once with ``binascii``, and the audio delta
has a hand-written fast path.

Encoding produces compact JSON, base64-encodes ``bytes`` fields and omits ``None`` values (including
``event_id``: callers that need one — TTS requires it — set it with ``new_event_id()``; the state
machines in ``omni``/``tts`` always do).
"""

from __future__ import annotations

import binascii
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Final

from .events import (
    CLIENT_EVENTS,
    SERVER_EVENTS,
    WIRE_DEFAULT,
    WIRE_KEY,
    ClientEvent,
    ErrorDetail,
    ErrorEvent,
    Event,
    MalformedEvent,
    ResponseAudioDelta,
    ServerEvent,
    UnknownEvent,
)

__all__ = [
    "MALFORMED_RAW_LIMIT",
    "decode_client_event",
    "decode_server_event",
    "encode_event",
    "event_to_wire",
    "new_event_id",
]

logger = logging.getLogger(__name__)

#: How much of a malformed frame is kept in ``MalformedEvent.raw``.
MALFORMED_RAW_LIMIT: Final = 4096
# Unknown types already logged; capped so a peer inventing types cannot grow it without bound.
_logged_unknown_types: set[str] = set()
_LOGGED_UNKNOWN_LIMIT: Final = 512


def new_event_id() -> str:
    """A fresh client ``event_id``: unique per connection (in practice, globally)."""
    return "event_" + uuid.uuid4().hex


class _FieldError(Exception):
    """Internal: one field is missing or ill-typed; becomes a MalformedEvent."""


# ---- field kinds ---------------------------------------------------------------------------------
# A kind checks one wire value and returns the Python value (or raises _FieldError).

_Kind = Callable[[object], Any]


def _k_str(value: object) -> Any:
    if isinstance(value, str):
        return value
    raise _FieldError("expected a string")


def _k_opt_str(value: object) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise _FieldError("expected a string or null")


def _k_int(value: object) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _FieldError("expected an integer")


def _k_dict(value: object) -> Any:
    if isinstance(value, dict):
        return value
    raise _FieldError("expected an object")


def _k_opt_dict(value: object) -> Any:
    if value is None or isinstance(value, dict):
        return value
    raise _FieldError("expected an object or null")


def _b64decode(value: object) -> bytes:
    if not isinstance(value, str):
        raise _FieldError("expected a base64 string")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise _FieldError(f"invalid base64 ({exc})") from None


def _k_b64(value: object) -> Any:
    return _b64decode(value)


_REQUIRED: Final = object()

# (wire key, attribute name, kind, default-or-_REQUIRED). Defaults make decoding lenient for fields the
# server may leave out: a field's own default, else its ``lenient(...)`` metadata (the constructor may
# still require it).
_Spec = tuple[str, str, _Kind, Any]


# The kind of each field, by its annotation in events.py (a new annotation must be taught here).
_KINDS: Final[dict[str, _Kind]] = {
    "str": _k_str,
    "str | None": _k_opt_str,
    "int": _k_int,
    "dict[str, Any]": _k_dict,
    "dict[str, Any] | None": _k_opt_dict,
    "bytes": _k_b64,
}


def _field_specs(cls: type[Event]) -> tuple[_Spec, ...]:
    """The wire fields of an event class, read once from its dataclass fields."""
    specs: list[_Spec] = []
    for f in dataclasses.fields(cls):
        if f.name == "event_id":
            continue
        kind = _KINDS.get(str(f.type))
        if kind is None:
            raise TypeError(f"{cls.__name__}.{f.name}: the codec has no kind for {f.type!r}")
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = f.metadata.get(WIRE_DEFAULT, _REQUIRED)
        specs.append((f.metadata.get(WIRE_KEY, f.name), f.name, kind, default))
    return tuple(specs)


# ErrorEvent has its own decoder and encoder (its nested ErrorDetail is lenient in its own way).
_FIELD_TABLE: Final[dict[type[Event], tuple[_Spec, ...]]] = {
    cls: _field_specs(cls) for cls in (*CLIENT_EVENTS.values(), *SERVER_EVENTS.values()) if cls is not ErrorEvent
}

_Decoder = Callable[[dict[str, Any]], Any]


def _event_id_of(obj: dict[str, Any]) -> str | None:
    event_id = obj.get("event_id")
    if event_id is None or isinstance(event_id, str):
        return event_id
    raise _FieldError("event_id: expected a string")


def _make_decoder(cls: type[Event], specs: tuple[_Spec, ...]) -> _Decoder:
    if not specs:

        def decode_bare(obj: dict[str, Any]) -> Any:
            return cls(event_id=_event_id_of(obj))

        return decode_bare

    def decode(obj: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for wire, attr, kind, default in specs:
            value = obj.get(wire, _REQUIRED)
            if value is _REQUIRED:
                if default is _REQUIRED:
                    raise _FieldError(f"{wire}: missing")
                # a fresh copy, so decoded events never share a mutable default
                kwargs[attr] = {} if isinstance(default, dict) else default
            else:
                try:
                    kwargs[attr] = kind(value)
                except _FieldError as exc:
                    raise _FieldError(f"{wire}: {exc}") from None
        return cls(**kwargs, event_id=_event_id_of(obj))

    return decode


def _decode_audio_delta(obj: dict[str, Any]) -> Any:
    # The hot path: spelled out so one audio chunk costs a handful of dict lookups and one a2b_base64.
    response_id = obj.get("response_id")
    if not isinstance(response_id, str):
        raise _FieldError("response_id: missing or not a string")
    item_id = obj.get("item_id", "")
    output_index = obj.get("output_index", 0)
    content_index = obj.get("content_index", 0)
    if not isinstance(item_id, str) or type(output_index) is not int or type(content_index) is not int:
        # rare: fall back to the general decoder for its precise messages and float tolerance
        return _GENERAL_AUDIO_DELTA(obj)
    if "delta" not in obj:
        raise _FieldError("delta: missing")
    try:
        audio = _b64decode(obj["delta"])
    except _FieldError as exc:
        raise _FieldError(f"delta: {exc}") from None
    return ResponseAudioDelta(response_id, item_id, output_index, content_index, audio, event_id=_event_id_of(obj))


def _decode_error(obj: dict[str, Any]) -> Any:
    error = obj.get("error")
    if not isinstance(error, dict):
        raise _FieldError("error: missing or not an object")
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)  # some gateways send numeric codes
    detail = ErrorDetail(
        type=_lenient_str(error.get("type"), "error.type") or "",
        code=_lenient_str(code, "error.code"),
        message=_lenient_str(error.get("message"), "error.message") or "",
        param=_lenient_str(error.get("param"), "error.param"),
        event_id=_lenient_str(error.get("event_id"), "error.event_id"),
    )
    return ErrorEvent(detail, event_id=_event_id_of(obj))


def _lenient_str(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _FieldError(f"{name}: expected a string")


_GENERAL_AUDIO_DELTA: Final = _make_decoder(ResponseAudioDelta, _FIELD_TABLE[ResponseAudioDelta])

_CLIENT_DECODERS: dict[str, _Decoder] = {
    type_: _make_decoder(cls, _FIELD_TABLE[cls]) for type_, cls in CLIENT_EVENTS.items()
}
_SERVER_DECODERS: dict[str, _Decoder] = {
    type_: _make_decoder(cls, _FIELD_TABLE[cls]) for type_, cls in SERVER_EVENTS.items() if cls is not ErrorEvent
}
_SERVER_DECODERS[ErrorEvent.TYPE] = _decode_error
_SERVER_DECODERS[ResponseAudioDelta.TYPE] = _decode_audio_delta


def _raw_text(data: str | bytes | bytearray | memoryview) -> str:
    if isinstance(data, str):
        return data[:MALFORMED_RAW_LIMIT]
    return bytes(data[:MALFORMED_RAW_LIMIT]).decode("utf-8", errors="replace")


def _decode(data: str | bytes, decoders: dict[str, _Decoder]) -> Any:
    try:
        obj = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:
        return MalformedEvent(f"not JSON: {exc}", _safe_raw(data))
    if type(obj) is not dict:
        return MalformedEvent(f"not a JSON object: {type(obj).__name__}", _safe_raw(data))
    event_type = obj.get("type")
    if not isinstance(event_type, str):
        return MalformedEvent("missing or non-string 'type'", _safe_raw(data))
    decoder = decoders.get(event_type)
    try:
        if decoder is None:
            return _unknown(event_type, obj)
        return decoder(obj)
    except _FieldError as exc:
        return MalformedEvent(f"{event_type}: {exc}", _safe_raw(data))
    except Exception as exc:  # last line of defence: decoding must never raise
        return MalformedEvent(f"{event_type}: {type(exc).__name__}: {exc}", _safe_raw(data))


def _safe_raw(data: object) -> str:
    try:
        if isinstance(data, str | bytes | bytearray | memoryview):
            return _raw_text(data)
        return repr(data)[:MALFORMED_RAW_LIMIT]
    except Exception:
        return "<unprintable>"


def _unknown(event_type: str, obj: dict[str, Any]) -> UnknownEvent:
    if event_type not in _logged_unknown_types and len(_logged_unknown_types) < _LOGGED_UNKNOWN_LIMIT:
        _logged_unknown_types.add(event_type)
        logger.info("unknown event type %r (ignored; logged once)", event_type[:200])
    event_id = obj.get("event_id")
    return UnknownEvent(event_type, obj, event_id=event_id if isinstance(event_id, str) else None)


def decode_server_event(data: str | bytes) -> ServerEvent:
    """One server frame -> a typed event. Never raises (see the module docstring)."""
    result: ServerEvent = _decode(data, _SERVER_DECODERS)
    return result


def decode_client_event(data: str | bytes) -> ClientEvent:
    """One client frame -> a typed event (the offline server's side). Never raises."""
    result: ClientEvent = _decode(data, _CLIENT_DECODERS)
    return result


# ---- encoding ------------------------------------------------------------------------------------


def _error_to_wire(detail: ErrorDetail) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    if detail.type:  # TTS errors carry no type
        wire["type"] = detail.type
    if detail.code is not None:
        wire["code"] = detail.code
    wire["message"] = detail.message
    if detail.param is not None:
        wire["param"] = detail.param
    if detail.event_id is not None:
        wire["event_id"] = detail.event_id
    return wire


def event_to_wire(event: Event) -> dict[str, Any]:
    """The wire object of an event (what ``encode_event`` serializes)."""
    if isinstance(event, UnknownEvent):
        return event.raw
    if isinstance(event, MalformedEvent):
        raise ValueError("a MalformedEvent has no wire form; send its raw text instead")
    wire: dict[str, Any] = {}
    if event.event_id is not None:
        wire["event_id"] = event.event_id
    wire["type"] = event.TYPE
    if isinstance(event, ErrorEvent):
        wire["error"] = _error_to_wire(event.error)
        return wire
    specs = _FIELD_TABLE.get(type(event))
    if specs is None:
        raise TypeError(f"not an encodable event: {type(event).__name__}")
    for wire_key, attr, kind, _default in specs:
        value = getattr(event, attr)
        if value is None:
            continue
        if kind is _k_b64:
            value = binascii.b2a_base64(value, newline=False).decode("ascii")
        wire[wire_key] = value
    return wire


_dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def encode_event(event: Event) -> str:
    """Compact JSON text of an event. ``bytes`` fields become base64; ``None`` fields are omitted.

    Raises ``ValueError``/``TypeError`` only for values JSON cannot carry (NaN, non-JSON objects
    inside a ``session`` dict, ...) — a local programming error, never a peer's fault.
    """
    if isinstance(event, MalformedEvent):
        return event.raw
    return str(_dumps(event_to_wire(event)))
