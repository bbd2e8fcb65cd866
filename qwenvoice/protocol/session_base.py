"""The session lifecycle both realtime machines share (sans-I/O).

``session.created`` -> ``session.update`` (``configure``) -> ``session.updated`` or a refusal ``error``;
client events stamped with fresh ids (remembered so an ``error.event_id`` names the refused request);
``receive`` dispatching by event class and reporting phase changes as ``StateChanged``. What a refused
request means for turns and responses stays with each machine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

from .codec import new_event_id
from .events import (
    ClientEvent,
    ErrorDetail,
    ErrorEvent,
    MalformedEvent,
    ServerEvent,
    SessionCreated,
    SessionUpdate,
    SessionUpdated,
)
from .notifications import (
    Notification,
    ProtocolErrorNotice,
    SessionConfigured,
    SessionPhase,
    StateChanged,
    TurnPhase,
)

__all__ = ["EventHandler", "RealtimeSessionMachine", "SessionConfig"]

# How many sent (non-audio) client events to remember for matching error.event_id.
_SENT_MEMORY: Final = 128


class SessionConfig(Protocol):
    def to_session(self, model: str) -> dict[str, Any]: ...


ConfigT = TypeVar("ConfigT", bound=SessionConfig)
#: A handler is a plain function of (machine, event); ``Any`` because each machine narrows both.
EventHandler = Callable[[Any, Any], list[Notification]]


class RealtimeSessionMachine(Generic[ConfigT]):
    """Session phases, configuration hand-over and request bookkeeping. Subclasses add turns/responses."""

    #: The handlers of one machine, by server event class (subclasses extend ``SESSION_HANDLERS``).
    _handlers: ClassVar[dict[type, EventHandler]] = {}

    def __init__(self, model: str) -> None:
        self.model = model
        self.session_phase = SessionPhase.CONNECTING
        self.session_id: str | None = None
        #: The effective session the server last echoed (session.created / session.updated).
        self.session: dict[str, Any] = {}
        self.config: ConfigT | None = None
        self._pending_config: ConfigT | None = None
        self._sent_types: OrderedDict[str, str] = OrderedDict()
        self.malformed_events = 0

    def _current_turn(self) -> TurnPhase:
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        return self.session_phase in (SessionPhase.FINISHED, SessionPhase.CLOSED)

    # ---- client actions --------------------------------------------------------------------------

    def _stamp(self, event: ClientEvent, remember: bool = True) -> ClientEvent:
        event.event_id = new_event_id()
        if remember:
            self._sent_types[event.event_id] = event.TYPE
            while len(self._sent_types) > _SENT_MEMORY:
                self._sent_types.popitem(last=False)
        return event

    def configure(self, config: ConfigT) -> list[ClientEvent]:
        """``session.update`` with the whole session (it replaces what it is given). Raises ConfigError."""
        session = config.to_session(self.model)
        self._pending_config = config
        if self.session_phase in (SessionPhase.CONNECTING, SessionPhase.CREATED):
            self.session_phase = SessionPhase.CONFIGURING
        return [self._stamp(SessionUpdate(session))]

    # ---- server events ---------------------------------------------------------------------------

    def receive(self, event: ServerEvent) -> list[Notification]:
        """Consume one server event; returns notifications (possibly none) in the order to act on them."""
        if self.finished:
            return []  # session.finished and a lost connection are terminal
        before = (self.session_phase, self._current_turn())
        handler = self._handlers.get(type(event))
        notes: list[Notification] = handler(self, event) if handler is not None else []
        return self._with_state(notes, before)

    def _with_state(self, notes: list[Notification], before: tuple[SessionPhase, TurnPhase]) -> list[Notification]:
        turn = self._current_turn()
        if (self.session_phase, turn) != before:
            notes.append(StateChanged(self.session_phase, turn))
        return notes

    def _on_session_created(self, event: SessionCreated) -> list[Notification]:
        self.session = event.session
        session_id = event.session.get("id")
        self.session_id = session_id if isinstance(session_id, str) else None
        if self.session_phase is SessionPhase.CONNECTING:
            self.session_phase = SessionPhase.CREATED
        return []

    def _on_session_updated(self, event: SessionUpdated) -> list[Notification]:
        self.session = event.session
        if self._pending_config is not None:
            self.config, self._pending_config = self._pending_config, None
        if self.session_phase in (SessionPhase.CONNECTING, SessionPhase.CREATED, SessionPhase.CONFIGURING):
            self.session_phase = SessionPhase.READY
        return [SessionConfigured(event.session)]

    def _refuses_update(self, error: ErrorDetail, request_type: str | None) -> bool:
        """Whether an error while configuring is the server refusing our ``session.update``."""
        return request_type in (None, SessionUpdate.TYPE)

    def _on_error(self, event: ErrorEvent) -> list[Notification]:
        error = event.error
        request_type = self._sent_types.get(error.event_id) if error.event_id else None
        refused = self.session_phase is SessionPhase.CONFIGURING and self._refuses_update(error, request_type)
        if refused:
            # the update was refused: the server keeps its previous configuration
            self._pending_config = None
            self.session_phase = SessionPhase.READY if self.config is not None else SessionPhase.CREATED
        self._on_refused(error, request_type)
        return [
            ProtocolErrorNotice(
                error,
                request_type=request_type,
                response_id=self._error_response_id(),
                recoverable=error.type in ("", "invalid_request_error"),
                configuration_refused=refused,
            )
        ]

    def _on_refused(self, error: ErrorDetail, request_type: str | None) -> None:
        """What else an error undoes in this machine (nothing by default)."""

    def _error_response_id(self) -> str | None:
        """The response an error arriving now belongs to, if any."""
        return None

    def _on_malformed(self, event: MalformedEvent) -> list[Notification]:
        self.malformed_events += 1
        return [ProtocolErrorNotice(ErrorDetail(type="malformed_event", message=event.reason))]

    SESSION_HANDLERS: ClassVar[dict[type, EventHandler]] = {
        SessionCreated: _on_session_created,
        SessionUpdated: _on_session_updated,
        ErrorEvent: _on_error,
        MalformedEvent: _on_malformed,
    }
