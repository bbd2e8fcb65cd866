"""What the conversation state machines tell the application.

``OmniConversation.receive`` and ``TtsSession.receive`` turn server events into these small typed
records. Two of them ask for action rather than report: ``SendEvents`` carries client events the machine
wants sent now (for example the ``response.create`` that follows a manual commit), and
``UserSpeechStarted.interrupted_response_id`` tells the player to flush.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias

from .events import ClientEvent, ErrorDetail, Usage


class SessionPhase(Enum):
    CONNECTING = "connecting"  # socket open, no session.created yet
    CREATED = "created"  # session.created seen; server defaults in force
    CONFIGURING = "configuring"  # session.update sent, waiting for session.updated
    READY = "ready"  # session.updated seen: audio/text may flow
    FINISHING = "finishing"  # session.finish sent
    FINISHED = "finished"  # session.finished seen (terminal)
    CLOSED = "closed"  # connection gone (terminal)


class TurnPhase(Enum):
    IDLE = "idle"
    USER_SPEAKING = "user_speaking"  # server VAD heard speech start
    THINKING = "thinking"  # the user's turn is over; no response yet
    RESPONDING = "responding"  # a response is streaming


@dataclass(frozen=True, slots=True)
class StateChanged:
    session: SessionPhase
    turn: TurnPhase


@dataclass(frozen=True, slots=True)
class SessionConfigured:
    """``session.updated``: ``session`` is the effective configuration the server echoed."""

    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionClosed:
    reason: str  # "finished" (session.finished) or "connection_lost"


@dataclass(frozen=True, slots=True)
class SendEvents:
    """Client events the machine wants sent now, in order (already carrying event ids)."""

    events: list[ClientEvent]


@dataclass(frozen=True, slots=True)
class UserSpeechStarted:
    item_id: str
    audio_start_ms: int
    #: The response this speech interrupted (barge-in): flush its audio; later deltas are dropped.
    interrupted_response_id: str | None = None


@dataclass(frozen=True, slots=True)
class UserSpeechStopped:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class TurnCommitted:
    """The user's audio turn became conversation item ``item_id``."""

    item_id: str


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """Text of a user or assistant item.

    ``replace=False``: ``text`` is appended to what is shown for ``item_id``.
    ``replace=True``: ``text`` is the item's whole current text (user previews are ``text + stash``).
    ``final=True``: this is the complete text of the item (always with ``replace=True``).
    """

    role: str  # "user" | "assistant"
    item_id: str
    text: str
    final: bool
    replace: bool = False
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptionFailed:
    item_id: str
    error: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Raw PCM of a response (Omni: 24 kHz mono int16; TTS: the session format)."""

    response_id: str
    item_id: str
    pcm: bytes


@dataclass(frozen=True, slots=True)
class AudioDone:
    """No more audio will come for this item of this response."""

    response_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class ResponseFinished:
    response_id: str
    status: str | None  # as the server said; "cancelled" when we ended it ourselves after a cancel
    usage: Usage | None
    interrupted: bool
    #: Why it did not complete, from ``status_details`` (e.g. ``max_output_tokens``, an error message).
    status_reason: str = ""


@dataclass(frozen=True, slots=True)
class FunctionCallRequested:
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str  # JSON text, may carry leading whitespace


@dataclass(frozen=True, slots=True)
class TextCommitted:
    """TTS: ``input_text_buffer.committed``."""

    item_id: str


@dataclass(frozen=True, slots=True)
class ProtocolErrorNotice:
    """An ``error`` event, or a malformed frame (``error.type == "malformed_event"``).

    ``request_type`` names the client event the server rejected when it said which (``error.event_id``).
    ``recoverable`` follows the official SDK: only ``invalid_request_error`` keeps the session usable.
    ``configuration_refused``: the error is the server's answer to our ``session.update``: it did not
    take the settings (the machine's ``config`` still holds the last accepted ones, or None).
    """

    error: ErrorDetail
    request_type: str | None = None
    response_id: str | None = None
    recoverable: bool = True
    configuration_refused: bool = False


Notification: TypeAlias = (
    StateChanged
    | SessionConfigured
    | SessionClosed
    | SendEvents
    | UserSpeechStarted
    | UserSpeechStopped
    | TurnCommitted
    | TranscriptDelta
    | TranscriptionFailed
    | ResponseStarted
    | AudioChunk
    | AudioDone
    | ResponseFinished
    | FunctionCallRequested
    | TextCommitted
    | ProtocolErrorNotice
)
