"""Typed realtime events: one dataclass per wire ``type``.

Both protocols (Qwen-Omni-Realtime and Qwen-TTS-Realtime) share one endpoint and one JSON envelope
(``{"event_id": ..., "type": ..., <fields>}``); the model decides which events are used. Every class
here carries its wire ``type`` in the class attribute ``TYPE`` and an optional keyword-only
``event_id`` as its last field. Audio and image payloads are ``bytes`` that were base64-decoded once,
by the codec; nothing above the codec ever sees base64.

Nested wire objects that the server is free to extend (``session``, ``response``, ``item``, ``part``)
stay plain dicts; the few values the rest of the application needs from them have typed accessors
(``ResponseDone.usage``, ``ResponseDone.status``, ...).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, TypeAlias


@dataclass(slots=True)
class Event:
    """Base of every event; ``TYPE`` is the wire ``type`` string."""

    TYPE: ClassVar[str] = ""
    _: KW_ONLY
    event_id: str | None = None


# --------------------------------------------------------------------------------------------------
# Client events (client -> server)
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SessionUpdate(Event):
    """``session.update`` — both protocols. ``session`` is the full wire session object."""

    TYPE: ClassVar[str] = "session.update"
    session: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SessionFinish(Event):
    """``session.finish`` — both protocols: no more input; the server drains and closes."""

    TYPE: ClassVar[str] = "session.finish"


@dataclass(slots=True)
class InputAudioBufferAppend(Event):
    """``input_audio_buffer.append``; ``audio`` is raw PCM in the session input format."""

    TYPE: ClassVar[str] = "input_audio_buffer.append"
    audio: bytes


@dataclass(slots=True)
class InputAudioBufferCommit(Event):
    TYPE: ClassVar[str] = "input_audio_buffer.commit"


@dataclass(slots=True)
class InputAudioBufferClear(Event):
    TYPE: ClassVar[str] = "input_audio_buffer.clear"


@dataclass(slots=True)
class InputImageBufferAppend(Event):
    """``input_image_buffer.append``; ``image`` is the raw JPEG bytes."""

    TYPE: ClassVar[str] = "input_image_buffer.append"
    image: bytes


@dataclass(slots=True)
class ResponseCreate(Event):
    TYPE: ClassVar[str] = "response.create"
    response: dict[str, Any] | None = None


@dataclass(slots=True)
class ResponseCancel(Event):
    TYPE: ClassVar[str] = "response.cancel"


@dataclass(slots=True)
class ConversationItemCreate(Event):
    TYPE: ClassVar[str] = "conversation.item.create"
    item: dict[str, Any]
    previous_item_id: str | None = None


@dataclass(slots=True)
class InputTextBufferAppend(Event):
    """TTS: ``input_text_buffer.append``."""

    TYPE: ClassVar[str] = "input_text_buffer.append"
    text: str


@dataclass(slots=True)
class InputTextBufferCommit(Event):
    TYPE: ClassVar[str] = "input_text_buffer.commit"


@dataclass(slots=True)
class InputTextBufferClear(Event):
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


@dataclass(slots=True)
class ErrorEvent(Event):
    TYPE: ClassVar[str] = "error"
    error: ErrorDetail


@dataclass(slots=True)
class SessionCreated(Event):
    TYPE: ClassVar[str] = "session.created"
    session: dict[str, Any]


@dataclass(slots=True)
class SessionUpdated(Event):
    TYPE: ClassVar[str] = "session.updated"
    session: dict[str, Any]


@dataclass(slots=True)
class SessionFinished(Event):
    TYPE: ClassVar[str] = "session.finished"


@dataclass(slots=True)
class SpeechStarted(Event):
    """``input_audio_buffer.speech_started`` (server VAD)."""

    TYPE: ClassVar[str] = "input_audio_buffer.speech_started"
    audio_start_ms: int
    item_id: str


@dataclass(slots=True)
class SpeechStopped(Event):
    """``input_audio_buffer.speech_stopped`` (server VAD)."""

    TYPE: ClassVar[str] = "input_audio_buffer.speech_stopped"
    audio_end_ms: int
    item_id: str


@dataclass(slots=True)
class InputAudioBufferCommitted(Event):
    TYPE: ClassVar[str] = "input_audio_buffer.committed"
    item_id: str
    previous_item_id: str | None = None


@dataclass(slots=True)
class InputAudioBufferCleared(Event):
    TYPE: ClassVar[str] = "input_audio_buffer.cleared"


@dataclass(slots=True)
class ConversationItemCreated(Event):
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


@dataclass(slots=True)
class InputAudioTranscriptionDelta(Event):
    """Live preview of the user's words: show ``text + stash``; the final text comes in ``.completed``."""

    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.delta"
    item_id: str
    content_index: int = 0
    text: str = ""
    stash: str = ""
    language: str | None = None
    emotion: str | None = None


@dataclass(slots=True)
class InputAudioTranscriptionCompleted(Event):
    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.completed"
    item_id: str
    content_index: int
    transcript: str


@dataclass(slots=True)
class InputAudioTranscriptionFailed(Event):
    TYPE: ClassVar[str] = "conversation.item.input_audio_transcription.failed"
    item_id: str
    content_index: int
    error: dict[str, Any]


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
        )


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


@dataclass(slots=True)
class ResponseCreated(Event):
    TYPE: ClassVar[str] = "response.created"
    response: dict[str, Any]

    @property
    def response_id(self) -> str:
        return _str_or_none(self.response.get("id")) or ""

    @property
    def status(self) -> str | None:
        return _str_or_none(self.response.get("status"))


@dataclass(slots=True)
class ResponseDone(Event):
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
    def usage(self) -> Usage | None:
        usage = self.response.get("usage")
        return Usage.from_wire(usage) if isinstance(usage, dict) else None


@dataclass(slots=True)
class ResponseTextDelta(Event):
    TYPE: ClassVar[str] = "response.text.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@dataclass(slots=True)
class ResponseTextDone(Event):
    TYPE: ClassVar[str] = "response.text.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    text: str


@dataclass(slots=True)
class ResponseAudioDelta(Event):
    """``response.audio.delta``; ``audio`` is raw PCM (the wire field ``delta``, base64-decoded)."""

    TYPE: ClassVar[str] = "response.audio.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    audio: bytes


@dataclass(slots=True)
class ResponseAudioDone(Event):
    TYPE: ClassVar[str] = "response.audio.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int


@dataclass(slots=True)
class ResponseAudioTranscriptDelta(Event):
    TYPE: ClassVar[str] = "response.audio_transcript.delta"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@dataclass(slots=True)
class ResponseAudioTranscriptDone(Event):
    TYPE: ClassVar[str] = "response.audio_transcript.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    transcript: str


@dataclass(slots=True)
class ResponseOutputItemAdded(Event):
    TYPE: ClassVar[str] = "response.output_item.added"
    response_id: str
    output_index: int
    item: dict[str, Any]


@dataclass(slots=True)
class ResponseOutputItemDone(Event):
    TYPE: ClassVar[str] = "response.output_item.done"
    response_id: str
    output_index: int
    item: dict[str, Any]


@dataclass(slots=True)
class ResponseContentPartAdded(Event):
    TYPE: ClassVar[str] = "response.content_part.added"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: dict[str, Any]


@dataclass(slots=True)
class ResponseContentPartDone(Event):
    TYPE: ClassVar[str] = "response.content_part.done"
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: dict[str, Any]


@dataclass(slots=True)
class ResponseFunctionCallArgumentsDelta(Event):
    TYPE: ClassVar[str] = "response.function_call_arguments.delta"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


@dataclass(slots=True)
class ResponseFunctionCallArgumentsDone(Event):
    TYPE: ClassVar[str] = "response.function_call_arguments.done"
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str


@dataclass(slots=True)
class InputTextBufferCommitted(Event):
    """TTS: ``input_text_buffer.committed`` (``item_id`` is often empty)."""

    TYPE: ClassVar[str] = "input_text_buffer.committed"
    item_id: str = ""


@dataclass(slots=True)
class InputTextBufferCleared(Event):
    TYPE: ClassVar[str] = "input_text_buffer.cleared"


# --------------------------------------------------------------------------------------------------
# What the codec returns instead of raising
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class UnknownEvent(Event):
    """A well-formed event whose ``type`` this version does not know; ``raw`` is the whole object."""

    TYPE: ClassVar[str] = "<unknown>"
    type: str
    raw: dict[str, Any]


@dataclass(slots=True)
class MalformedEvent(Event):
    """Not JSON, not an object, no ``type``, or a required field missing / ill-typed / bad base64.

    ``raw`` holds the start of the received text (capped, so a bad audio frame is not kept whole).
    """

    TYPE: ClassVar[str] = "<malformed>"
    reason: str
    raw: str


OmniClientEvent: TypeAlias = (
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | InputImageBufferAppend
    | ResponseCreate
    | ResponseCancel
    | ConversationItemCreate
    | SessionFinish
)

TtsClientEvent: TypeAlias = (
    SessionUpdate | InputTextBufferAppend | InputTextBufferCommit | InputTextBufferClear | SessionFinish
)

ClientEvent: TypeAlias = (
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | InputImageBufferAppend
    | ResponseCreate
    | ResponseCancel
    | ConversationItemCreate
    | SessionFinish
    | InputTextBufferAppend
    | InputTextBufferCommit
    | InputTextBufferClear
    | UnknownEvent
    | MalformedEvent
)

ServerEvent: TypeAlias = (
    ErrorEvent
    | SessionCreated
    | SessionUpdated
    | SessionFinished
    | SpeechStarted
    | SpeechStopped
    | InputAudioBufferCommitted
    | InputAudioBufferCleared
    | ConversationItemCreated
    | InputAudioTranscriptionDelta
    | InputAudioTranscriptionCompleted
    | InputAudioTranscriptionFailed
    | ResponseCreated
    | ResponseDone
    | ResponseTextDelta
    | ResponseTextDone
    | ResponseAudioDelta
    | ResponseAudioDone
    | ResponseAudioTranscriptDelta
    | ResponseAudioTranscriptDone
    | ResponseOutputItemAdded
    | ResponseOutputItemDone
    | ResponseContentPartAdded
    | ResponseContentPartDone
    | ResponseFunctionCallArgumentsDelta
    | ResponseFunctionCallArgumentsDone
    | InputTextBufferCommitted
    | InputTextBufferCleared
    | UnknownEvent
    | MalformedEvent
)

CLIENT_EVENT_TYPES: tuple[type[Event], ...] = (
    SessionUpdate,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferClear,
    InputImageBufferAppend,
    ResponseCreate,
    ResponseCancel,
    ConversationItemCreate,
    SessionFinish,
    InputTextBufferAppend,
    InputTextBufferCommit,
    InputTextBufferClear,
)

SERVER_EVENT_TYPES: tuple[type[Event], ...] = (
    ErrorEvent,
    SessionCreated,
    SessionUpdated,
    SessionFinished,
    SpeechStarted,
    SpeechStopped,
    InputAudioBufferCommitted,
    InputAudioBufferCleared,
    ConversationItemCreated,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionFailed,
    ResponseCreated,
    ResponseDone,
    ResponseTextDelta,
    ResponseTextDone,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseAudioTranscriptDelta,
    ResponseAudioTranscriptDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    InputTextBufferCommitted,
    InputTextBufferCleared,
)

__all__ = [
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "ClientEvent",
    "OmniClientEvent",
    "ServerEvent",
    "TtsClientEvent",
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
