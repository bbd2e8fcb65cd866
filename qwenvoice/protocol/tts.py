"""Qwen-TTS-Realtime session state machine (sans-I/O).

``configure`` / ``append_text`` / ``commit`` / ``clear`` / ``finish`` return the client events to send
(each with a fresh ``event_id``, which TTS requires); ``receive(event)`` turns server events into
notifications (``AudioChunk`` per audio delta, ``ResponseStarted`` / ``ResponseFinished`` per response).

Modes: in ``server_commit`` (default) the server decides when to synthesize and one session yields many
responses; ``commit()`` forces synthesis of what is buffered. In ``commit`` mode nothing is synthesized
until ``commit()``, and each commit makes one response. ``response.done`` ends a *response*; only
``session.finished`` (after ``finish()``) ends the session, which is terminal.

A commit with nothing appended is refused by the server with an ``error``; it arrives as a
``ProtocolErrorNotice`` whose ``request_type`` is ``input_text_buffer.commit``. ``has_uncommitted_text``
lets callers avoid sending it.
"""

from __future__ import annotations

from typing import ClassVar

from .config import TtsSessionConfig
from .events import (
    ClientEvent,
    InputTextBufferAppend,
    InputTextBufferClear,
    InputTextBufferCleared,
    InputTextBufferCommit,
    InputTextBufferCommitted,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseCreated,
    ResponseDone,
    SessionFinish,
    SessionFinished,
    Usage,
)
from .models import DEFAULT_TTS_MODEL, tts_capabilities
from .notifications import (
    AudioChunk,
    AudioDone,
    Notification,
    ResponseFinished,
    ResponseStarted,
    SessionClosed,
    SessionPhase,
    StateChanged,
    TextCommitted,
    TurnPhase,
)
from .session_base import EventHandler, RealtimeSessionMachine

__all__ = ["TtsSession"]


class TtsSession(RealtimeSessionMachine[TtsSessionConfig]):
    """One TTS realtime session. Not thread-safe; no I/O."""

    def __init__(self, model: str = DEFAULT_TTS_MODEL) -> None:
        super().__init__(model)
        self.capabilities = tts_capabilities(model)
        self._active_responses: set[str] = set()
        self.usage_total = Usage()
        self.responses_started = 0
        self.responses_finished = 0
        self.audio_bytes_received = 0
        #: Characters appended since the last commit/clear (what a commit would synthesize).
        self.uncommitted_chars = 0
        self.chars_sent = 0

    @property
    def mode(self) -> str:
        config = self.config or self._pending_config
        return config.mode if config is not None else "server_commit"

    @property
    def has_uncommitted_text(self) -> bool:
        return self.uncommitted_chars > 0

    @property
    def response_active(self) -> bool:
        return bool(self._active_responses)

    @property
    def turn_phase(self) -> TurnPhase:
        return TurnPhase.RESPONDING if self._active_responses else TurnPhase.IDLE

    def _current_turn(self) -> TurnPhase:
        return self.turn_phase

    # ---- client actions --------------------------------------------------------------------------

    def append_text(self, text: str) -> list[ClientEvent]:
        if not text or self.session_phase in (SessionPhase.FINISHING, SessionPhase.FINISHED, SessionPhase.CLOSED):
            return []
        self.uncommitted_chars += len(text)
        self.chars_sent += len(text)
        return [self._stamp(InputTextBufferAppend(text))]

    def commit(self) -> list[ClientEvent]:
        """``input_text_buffer.commit``: synthesize what is buffered now (one response in commit mode)."""
        if self.finished:
            return []
        self.uncommitted_chars = 0
        return [self._stamp(InputTextBufferCommit())]

    def clear(self) -> list[ClientEvent]:
        if self.finished:
            return []
        self.uncommitted_chars = 0
        return [self._stamp(InputTextBufferClear())]

    def finish(self) -> list[ClientEvent]:
        """``session.finish``: the server synthesizes what is left, then ``session.finished`` and close."""
        if self.session_phase in (SessionPhase.FINISHING, SessionPhase.FINISHED, SessionPhase.CLOSED):
            return []
        self.session_phase = SessionPhase.FINISHING
        self.uncommitted_chars = 0
        return [self._stamp(SessionFinish())]

    def connection_lost(self) -> list[Notification]:
        if self.session_phase is SessionPhase.CLOSED:
            return []
        notes: list[Notification] = [
            ResponseFinished(response_id, "incomplete", None, True) for response_id in sorted(self._active_responses)
        ]
        self._active_responses.clear()
        finished_cleanly = self.session_phase is SessionPhase.FINISHED
        self.session_phase = SessionPhase.CLOSED
        if not finished_cleanly:
            notes.append(SessionClosed("connection_lost"))
        notes.append(StateChanged(self.session_phase, self.turn_phase))
        return notes

    # ---- server events ---------------------------------------------------------------------------

    def _error_response_id(self) -> str | None:
        return min(self._active_responses) if self._active_responses else None

    def _on_committed(self, event: InputTextBufferCommitted) -> list[Notification]:
        return [TextCommitted(event.item_id)]

    def _on_cleared(self, event: InputTextBufferCleared) -> list[Notification]:
        return []

    def _on_response_created(self, event: ResponseCreated) -> list[Notification]:
        self._active_responses.add(event.response_id)
        self.responses_started += 1
        return [ResponseStarted(event.response_id)]

    def _on_audio_delta(self, event: ResponseAudioDelta) -> list[Notification]:
        self.audio_bytes_received += len(event.audio)
        return [AudioChunk(event.response_id, event.item_id, event.audio)]

    def _on_audio_done(self, event: ResponseAudioDone) -> list[Notification]:
        # per response, not the end of the session
        return [AudioDone(event.response_id, event.item_id)]

    def _on_response_done(self, event: ResponseDone) -> list[Notification]:
        usage = event.usage
        if usage is not None:
            self.usage_total = self.usage_total + usage
        self._active_responses.discard(event.response_id)
        self.responses_finished += 1
        return [ResponseFinished(event.response_id, event.status, usage, False)]

    def _on_session_finished(self, event: SessionFinished) -> list[Notification]:
        notes: list[Notification] = [
            ResponseFinished(response_id, "incomplete", None, True) for response_id in sorted(self._active_responses)
        ]
        self._active_responses.clear()
        self.session_phase = SessionPhase.FINISHED
        notes.append(SessionClosed("finished"))
        return notes

    _handlers: ClassVar[dict[type, EventHandler]] = {
        **RealtimeSessionMachine.SESSION_HANDLERS,
        InputTextBufferCommitted: _on_committed,
        InputTextBufferCleared: _on_cleared,
        ResponseCreated: _on_response_created,
        ResponseAudioDelta: _on_audio_delta,
        ResponseAudioDone: _on_audio_done,
        ResponseDone: _on_response_done,
        SessionFinished: _on_session_finished,
    }
