"""Typed realtime events: one dataclass per wire ``type``.

Both protocols (Qwen-Omni-Realtime and Qwen-TTS-Realtime) share one endpoint and one JSON envelope
(``{"event_id": ..., "type": ..., <fields>}``); the model decides which events are used. Every class
here carries its wire ``type`` in the class attribute ``TYPE`` and an optional keyword-only
``event_id`` as its last field. Audio and image payloads are ``bytes`` that were base64-decoded once,
by the codec; nothing above the codec ever sees base64.

Each wire event is declared once: a dataclass deriving from ``ClientEvent`` or ``ServerEvent``, marked
``@register``. The type tables (``CLIENT_EVENTS``, ``SERVER_EVENTS``) and the codec's decoders and
encoders are derived from these classes: the field annotations give the wire kinds, and field metadata
(``lenient(...)``, ``WIRE_KEY``) says what decoding may fill in and where the wire name differs.

Nested wire objects that the server is free to extend (``session``, ``response``, ``item``, ``part``)
stay plain dicts; the few values the rest of the application needs from them have typed accessors
(``ResponseDone.usage``, ``ResponseDone.status``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, TypeVar


@dataclass(slots=True)
class Event:
    """Base of every event; ``TYPE`` is the wire ``type`` string."""

    TYPE: ClassVar[str] = ""
    _: KW_ONLY
    event_id: str | None = None


@dataclass(slots=True)
class ClientEvent(Event):
    """What a client sends (the offline server decodes these)."""


@dataclass(slots=True)
class ServerEvent(Event):
    """What a server sends."""


# The registry: every wire event class is declared once, by ``@register``, and the type tables below and
# the codec's decoders and encoders are derived from it (and from each class's fields).
_CLIENT_REGISTRY: dict[str, type[ClientEvent]] = {}
_SERVER_REGISTRY: dict[str, type[ServerEvent]] = {}

_E = TypeVar("_E", bound=Event)


def register(cls: type[_E]) -> type[_E]:
    """Make ``cls`` a known event of its direction, keyed on its ``TYPE`` (outermost decorator, so the
    final dataclass is what gets registered)."""
    if issubclass(cls, ClientEvent):
        registry: dict[str, Any] = _CLIENT_REGISTRY
    elif issubclass(cls, ServerEvent):
        registry = _SERVER_REGISTRY
    else:
        raise TypeError(f"{cls.__name__} is neither a ClientEvent nor a ServerEvent")
    if not cls.TYPE or cls.TYPE in registry:
        raise TypeError(f"{cls.__name__}: wire type {cls.TYPE!r} is empty or already registered")
    registry[cls.TYPE] = cls
    return cls


#: Field metadata key: the wire name when it differs from the attribute (``ResponseAudioDelta.audio``).
WIRE_KEY = "wire_key"
#: Field metadata key: what the codec fills in when the server leaves out a field the constructor requires.
WIRE_DEFAULT = "wire_default"


def lenient(default: Any) -> dict[str, Any]:
    """Metadata for ``field(metadata=...)``: decoding tolerates the field missing and uses ``default``."""
    return {WIRE_DEFAULT: default}


# --------------------------------------------------------------------------------------------------
# Client events (client -> server)
# --------------------------------------------------------------------------------------------------


@register
@dataclass(slots=True)
class SessionUpdate(ClientEvent):
    """``session.update`` — both protocols. ``session`` is the full wire session object."""

    TYPE: ClassVar[str] = "session.update"
    session: dict[str, Any] = field(default_factory=dict)


@register
@dataclass(slots=True)
class SessionFinish(ClientEvent):
    """``session.finish`` — both protocols: no more input; the server drains and closes."""

    TYPE: ClassVar[str] = "session.finish"


@register
@dataclass(slots=True)
class InputAudioBufferAppend(ClientEvent):
    """``input_audio_buffer.append``; ``audio`` is raw PCM in the session input format."""

    TYPE: ClassVar[str] = "input_audio_buffer.append"
    audio: bytes


@register
@dataclass(slots=True)
class InputAudioBufferCommit(ClientEvent):
    TYPE: ClassVar[str] = "input_audio_buffer.commit"


@register
@dataclass(slots=True)
class InputAudioBufferClear(ClientEvent):
    TYPE: ClassVar[str] = "input_audio_buffer.clear"


@register
@dataclass(slots=True)
class InputImageBufferAppend(ClientEvent):
    """``input_image_buffer.append``; ``image`` is the raw JPEG bytes."""

    TYPE: ClassVar[str] = "input_image_buffer.append"
    image: bytes


@register
@dataclass(slots=True)
class ResponseCreate(ClientEvent):
    TYPE: ClassVar[str] = "response.create"
    response: dict[str, Any] | None = None


@register
@dataclass(slots=True)
class ResponseCancel(ClientEvent):
    TYPE: ClassVar[str] = "response.cancel"


@register
@dataclass(slots=True)
class ConversationItemCreate(ClientEvent):
    TYPE: ClassVar[str] = "conversation.item.create"
    item: dict[str, Any]
    previous_item_id: str | None = None


@register
@dataclass(slots=True)
class InputTextBufferAppend(ClientEvent):
    """TTS: ``input_text_buffer.append``."""

    TYPE: ClassVar[str] = "input_text_buffer.append"
    text: str


@register
@dataclass(slots=True)
class InputTextBufferCommit(ClientEvent):
    TYPE: ClassVar[str] = "input_text_buffer.commit"


@register
@dataclass(slots=True)
class InputTextBufferClear(ClientEvent):
    TYPE: ClassVar[str] = "input_text_buffer.clear"


# --------------------------------------------------------------------------------------------------
# Server events (server -> client)
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ErrorDetail:
    """The ``error`` object. TTS errors may carry only ``code`` and ``message``."""

    type: str = ""
    code: str | None = None
    message: str = ""
    param: str | None = None
    event_id: str | None = None  # id of the rejected client event, when the server says so

    def __str__(self) -> str:
        where = f" [{self.param}]" if self.param else ""
        code = f" ({self.code})" if self.code else ""
        return f"{self.type or 'error'}{code}: {self.message}{where}"


@register
@dataclass(slots=True)
class ErrorEvent(ServerEvent):
    TYPE: ClassVar[str] = "error"
    error: ErrorDetail


@register
@dataclass(slots=True)
class SessionCreated(ServerEvent):
    TYPE: ClassVar[str] = "session.created"
    session: dict[str, Any]


@register
@dataclass(slots=True)
class SessionUpdated(ServerEvent):
    TYPE: ClassVar[str] = "session.updated"
    session: dict[str, Any]


@register
@dataclass(slots=True)
class SessionFinished(ServerEvent):
    TYPE: ClassVar[str] = "session.finished"


@register
@dataclass(slots=True)
class SpeechStarted(ServerEvent):
    """``input_audio_buffer.speech_started`` (server VAD)."""

    TYPE: ClassVar[str] = "input_audio_buffer.speech_started"
    audio_start_ms: int = field(metadata=lenient(0))
    item_id: str = field(metadata=lenient(""))


@register
@dataclass(slots=True)
class SpeechStopped(ServerEvent):
    """``input_audio_buffer.speech_stopped`` (server VAD)."""

    TYPE: ClassVar[str] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int = field(metadata=lenient(0))
    item_id: str = field(metadata=lenient(""))


@register
@dataclass(slots=True)
class InputAudioBufferCommitted(ServerEvent):
    TYPE: ClassVar[str] = "input_audio_buffer.committed"
    item_id: str = field(metadata=lenient(""))
    previous_item_id: str | None = None


@register
@dataclass(slots=True)
class InputAudioBufferCleared(ServerEvent):
    TYPE: ClassVar[str] = "input_audio_buffer.cleared"


@register
@dataclass(slots=True)
class ConversationItemCreated(ServerEvent):
    TYPE: ClassVar[str] = "conversation.item.created"
    item: dict[str, Any]
    previous_item_id: str | None = None

    @property
    def item_id(self) -> str:
        value = self.item.get("id")
        return value if isinstance(value, str) else ""

    @property
    def role(self) -> str:
        value = self.item.get("role")
        return value if isinstance(value, str) else ""


@register
@dataclass(slots=True)
class InputAudioTranscriptionDelta(ServerEvent):
    """Live preview of the user's words: show ``text + stash``; the final text comes in ``.completed``."""

    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.delta"
    item_id: str
    content_index: int = 0
    text: str = ""
    stash: str = ""
    language: str | None = None
    emotion: str | None = None


@register
@dataclass(slots=True)
class InputAudioTranscriptionCompleted(ServerEvent):
    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.completed"
    item_id: str
    content_index: int = field(metadata=lenient(0))
    transcript: str


@register
@dataclass(slots=True)
class InputAudioTranscriptionFailed(ServerEvent):
    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.failed"
    item_id: str
    content_index: int = field(metadata=lenient(0))
    error: dict[str, Any] = field(metadata=lenient({}))


@dataclass(slots=True)
class Usage:
    """Token (Omni, qwen-tts-realtime) or character (Qwen3-TTS) accounting of one or more responses."""

    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    characters: int = 0
    #: Input tokens served from the service's context cache (``input_tokens_details.cached_tokens``); a
    #: part of ``input_tokens``, billed at a discount.
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.total_tokens + other.total_tokens,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.input_text_tokens + other.input_text_tokens,
            self.input_audio_tokens + other.input_audio_tokens,
            self.output_text_tokens + other.output_text_tokens,
            self.output_audio_tokens + other.output_audio_tokens,
            self.characters + other.characters,
            self.cached_tokens + other.cached_tokens,
        )

    @classmethod
    def from_wire(cls, usage: dict[str, Any]) -> Usage:
        """Reads the wire ``usage`` object; ill-typed counts are read as 0, never an error."""
        input_details = usage.get("input_tokens_details")
        output_details = usage.get("output_tokens_details")
        if not isinstance(input_details, dict):
            input_details = {}
        if not isinstance(output_details, dict):
            output_details = {}
        return cls(
            total_tokens=_count(usage.get("total_tokens")),
            input_tokens=_count(usage.get("input_tokens")),
            output_tokens=_count(usage.get("output_tokens")),
            input_text_tokens=_count(input_details.get("text_tokens")),
            input_audio_tokens=_count(input_details.get("audio_tokens")),
            output_text_tokens=_count(output_details.get("text_tokens")),
            output_audio_tokens=_count(output_details.get("audio_tokens")),
            characters=_count(usage.get("characters")),
            cached_tokens=_count(input_details.get("cached_tokens")),
        )


def status_reason(details: dict[str, Any] | None) -> str:
    """The reason a ``status_details`` object gives: ``reason``, else its ``error``'s message or code."""
    if not details:
        return ""
    reason = details.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    error = details.get("error")
    if isinstance(error, dict):
        for key in ("message", "code", "type"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
    elif isinstance(error, str) and error:
        return error
    return ""


def _count(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@register
@dataclass(slots=True)
class ResponseCreated(ServerEvent):
    TYPE: ClassVar[str] = "response.created"
    response: dict[str, Any]

    @property
    def response_id(self) -> str:
        return _str_or_none(self.response.get("id")) or ""

    @property
    def status(self) -> str | None:
        return _str_or_none(self.response.get("status"))


@register
@dataclass(slots=True)
class ResponseDone(ServerEvent):
    TYPE: ClassVar[str] = "response.done"
    response: dict[str, Any]

    @property
    def response_id(self) -> str:
        return _str_or_none(self.response.get("id")) or ""

    @property
    def status(self) -> str | None:
        """``completed``, ``failed``, ``incomplete``, ``cancelled`` ... as the server says."""
        return _str_or_none(self.response.get("status"))

    @property
    def status_details(self) -> dict[str, Any] | None:
        details = self.response.get("status_details")
        return details if isinstance(details, dict) else None

    @property
    def status_reason(self) -> str:
        """Why the response is not ``completed``, in the server's words: ``status_details.reason``
        (``max_output_tokens``, ``turn_detected`` ...) or its ``error`` message or code; "" if none."""
        return status_reason(self.status_details)

    @property
    def usage(self) -> Usage | None:
        usage = self.response.get("usage")
        return Usage.from_wire(usage) if isinstance(usage, dict) else None


@register
@dataclass(slots=True)
class ResponseTextDelta(ServerEvent):
    TYPE: ClassVar[str] = "response.text.delta"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    delta: str


@register
@dataclass(slots=True)
class ResponseTextDone(ServerEvent):
    TYPE: ClassVar[str] = "response.text.done"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    text: str = field(metadata=lenient(""))


@register
@dataclass(slots=True)
class ResponseAudioDelta(ServerEvent):
    """``response.audio.delta``; ``audio`` is raw PCM (the wire field ``delta``, base64-decoded)."""

    TYPE: ClassVar[str] = "response.audio.delta"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    audio: bytes = field(metadata={WIRE_KEY: "delta"})


@register
@dataclass(slots=True)
class ResponseAudioDone(ServerEvent):
    TYPE: ClassVar[str] = "response.audio.done"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))


@register
@dataclass(slots=True)
class ResponseAudioTranscriptDelta(ServerEvent):
    TYPE: ClassVar[str] = "response.audio_transcript.delta"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    delta: str


@register
@dataclass(slots=True)
class ResponseAudioTranscriptDone(ServerEvent):
    TYPE: ClassVar[str] = "response.audio_transcript.done"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    transcript: str = field(metadata=lenient(""))


@register
@dataclass(slots=True)
class ResponseOutputItemAdded(ServerEvent):
    TYPE: ClassVar[str] = "response.output_item.added"
    response_id: str
    output_index: int = field(metadata=lenient(0))
    item: dict[str, Any]


@register
@dataclass(slots=True)
class ResponseOutputItemDone(ServerEvent):
    TYPE: ClassVar[str] = "response.output_item.done"
    response_id: str
    output_index: int = field(metadata=lenient(0))
    item: dict[str, Any]


@register
@dataclass(slots=True)
class ResponseContentPartAdded(ServerEvent):
    TYPE: ClassVar[str] = "response.content_part.added"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    part: dict[str, Any] = field(metadata=lenient({}))


@register
@dataclass(slots=True)
class ResponseContentPartDone(ServerEvent):
    TYPE: ClassVar[str] = "response.content_part.done"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    content_index: int = field(metadata=lenient(0))
    part: dict[str, Any] = field(metadata=lenient({}))


@register
@dataclass(slots=True)
class ResponseFunctionCallArgumentsDelta(ServerEvent):
    TYPE: ClassVar[str] = "response.function_call_arguments.delta"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    call_id: str
    delta: str


@register
@dataclass(slots=True)
class ResponseFunctionCallArgumentsDone(ServerEvent):
    TYPE: ClassVar[str] = "response.function_call_arguments.done"
    response_id: str
    item_id: str = field(metadata=lenient(""))
    output_index: int = field(metadata=lenient(0))
    call_id: str
    name: str = field(metadata=lenient(""))
    arguments: str = field(metadata=lenient(""))


@register
@dataclass(slots=True)
class InputTextBufferCommitted(ServerEvent):
    """TTS: ``input_text_buffer.committed`` (``item_id`` is often empty)."""

    TYPE: ClassVar[str] = "input_text_buffer.committed"
    item_id: str = ""


@register
@dataclass(slots=True)
class InputTextBufferCleared(ServerEvent):
    TYPE: ClassVar[str] = "input_text_buffer.cleared"


# --------------------------------------------------------------------------------------------------
# What the codec returns instead of raising
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class UnknownEvent(ClientEvent, ServerEvent):
    """A well-formed event whose ``type`` this version does not know; ``raw`` is the whole object."""

    TYPE: ClassVar[str] = "<unknown>"
    type: str
    raw: dict[str, Any]


@dataclass(slots=True)
class MalformedEvent(ClientEvent, ServerEvent):
    """Not JSON, not an object, no ``type``, or a required field missing / ill-typed / bad base64.

    ``raw`` holds the start of the received text (capped, so a bad audio frame is not kept whole).
    """

    TYPE: ClassVar[str] = "<malformed>"
    reason: str
    raw: str


#: Wire ``type`` -> event class, per direction, in declaration order.
CLIENT_EVENTS: Mapping[str, type[ClientEvent]] = _CLIENT_REGISTRY
SERVER_EVENTS: Mapping[str, type[ServerEvent]] = _SERVER_REGISTRY
CLIENT_EVENT_TYPES: tuple[type[ClientEvent], ...] = tuple(_CLIENT_REGISTRY.values())
SERVER_EVENT_TYPES: tuple[type[ServerEvent], ...] = tuple(_SERVER_REGISTRY.values())

__all__ = [
    "CLIENT_EVENTS",
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENTS",
    "SERVER_EVENT_TYPES",
    "WIRE_DEFAULT",
    "WIRE_KEY",
    "ClientEvent",
    "ServerEvent",
    "lenient",
    "register",
    "Event",
    "ErrorDetail",
    "Usage",
    "UnknownEvent",
    "MalformedEvent",
    "SessionUpdate",
    "InputAudioBufferAppend",
    "InputAudioBufferCommit",
    "InputAudioBufferClear",
    "InputImageBufferAppend",
    "ResponseCreate",
    "ResponseCancel",
    "ConversationItemCreate",
    "SessionFinish",
    "InputTextBufferAppend",
    "InputTextBufferCommit",
    "InputTextBufferClear",
    "ErrorEvent",
    "SessionCreated",
    "SessionUpdated",
    "SessionFinished",
    "SpeechStarted",
    "SpeechStopped",
    "InputAudioBufferCommitted",
    "InputAudioBufferCleared",
    "ConversationItemCreated",
    "InputAudioTranscriptionDelta",
    "InputAudioTranscriptionCompleted",
    "InputAudioTranscriptionFailed",
    "ResponseCreated",
    "ResponseDone",
    "ResponseTextDelta",
    "ResponseTextDone",
    "ResponseAudioDelta",
    "ResponseAudioDone",
    "ResponseAudioTranscriptDelta",
    "ResponseAudioTranscriptDone",
    "ResponseOutputItemAdded",
    "ResponseOutputItemDone",
    "ResponseContentPartAdded",
    "ResponseContentPartDone",
    "ResponseFunctionCallArgumentsDelta",
    "ResponseFunctionCallArgumentsDone",
    "InputTextBufferCommitted",
    "InputTextBufferCleared",
]
