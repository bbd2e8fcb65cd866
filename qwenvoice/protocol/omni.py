"""Qwen-Omni-Realtime conversation state machine (sans-I/O).

Feed every decoded server event to ``receive(event)``; it returns notifications. Methods that act
(``configure``, ``append_audio``, ``commit_turn``, ``send_text``, ``cancel`` ...) return the client events
to send. When the machine itself decides to send something in reaction to a server event, that comes
back from ``receive`` (or ``on_timer``) as a ``SendEvents`` notification; send its events in order.
Every client event the machine creates carries a fresh ``event_id``.

Turns:

- **Server VAD** (``turn_detection`` set): ``speech_started`` -> ``speech_stopped`` ->
  ``input_audio_buffer.committed`` -> ``conversation.item.created`` -> the server starts the response.
- **Manual** (``turn_detection=None``, push-to-talk): ``commit_turn()`` returns
  ``[input_audio_buffer.commit]``. When the server confirms with ``input_audio_buffer.committed``, the
  machine emits ``SendEvents([response.create])``. On models where a too-early ``response.create`` is
  dropped silently (qwen3.5-omni), it waits for that item's input transcription instead, with a fallback
  deadline (``on_timer``), because some models never deliver that transcription after a manual commit.
- **Text**: ``send_text(text)`` returns ``[conversation.item.create (user input_text), response.create]``.

Cancel / barge-in: ``cancel()`` returns ``[response.cancel]`` only while a response is active, marks it
interrupted and drops its later deltas. Speech starting during a response does the same (and, with
``cancel_on_speech``, emits the ``response.cancel``). Some models send no ``response.done`` after a
cancel, so a cancelled response also ends on its ``response.output_item.done`` / ``response.audio.done``,
or at the latest ``CANCEL_GRACE_S`` after the cancel via ``on_timer``; a late ``response.done`` still
adds its usage. Errors mid-stream become ``ProtocolErrorNotice``; the response stays tracked.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from .config import OmniSessionConfig
from .events import (
    ClientEvent,
    ConversationItemCreate,
    ConversationItemCreated,
    ErrorDetail,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionFailed,
    InputImageBufferAppend,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseAudioTranscriptDelta,
    ResponseAudioTranscriptDone,
    ResponseCancel,
    ResponseCreate,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseTextDelta,
    ResponseTextDone,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SpeechStarted,
    SpeechStopped,
    Usage,
)
from .models import DEFAULT_OMNI_MODEL, omni_capabilities
from .notifications import (
    AudioChunk,
    AudioDone,
    FunctionCallRequested,
    Notification,
    ProtocolErrorNotice,
    ResponseFinished,
    ResponseStarted,
    SendEvents,
    SessionClosed,
    SessionConfigured,
    SessionPhase,
    StateChanged,
    TranscriptDelta,
    TranscriptionFailed,
    TurnCommitted,
    TurnPhase,
    UserSpeechStarted,
    UserSpeechStopped,
)
from .session_base import EventHandler, RealtimeSessionMachine

__all__ = [
    "CANCEL_GRACE_S",
    "CREATE_FALLBACK_S",
    "OmniConversation",
    "ResponseRecord",
    # notifications, re-exported for callers that import them from here
    "AudioChunk",
    "AudioDone",
    "FunctionCallRequested",
    "Notification",
    "ProtocolErrorNotice",
    "ResponseFinished",
    "ResponseStarted",
    "SendEvents",
    "SessionClosed",
    "SessionConfigured",
    "SessionPhase",
    "SpeechStartedNotice",
    "SpeechStoppedNotice",
    "StateChanged",
    "TranscriptDelta",
    "TranscriptionFailed",
    "TurnCommitted",
    "TurnPhase",
    "UserSpeechStarted",
    "UserSpeechStopped",
]

#: After ``response.cancel``, how long to wait for any end-of-response event before ending it ourselves.
CANCEL_GRACE_S: Final = 5.0
#: Manual turns on models that need the transcription first: send ``response.create`` anyway after this.
CREATE_FALLBACK_S: Final = 3.0
# How many cancelled response ids to remember so their stragglers keep being dropped.
_DROPPED_MEMORY: Final = 64

# The contract names; the events module has classes with the same names for the wire events.
SpeechStartedNotice = UserSpeechStarted
SpeechStoppedNotice = UserSpeechStopped


@dataclass(slots=True)
class ResponseRecord:
    response_id: str
    started_at: float
    interrupted: bool = False
    cancel_sent_at: float | None = None
    finished: bool = False
    item_ids: list[str] = field(default_factory=list)


class OmniConversation(RealtimeSessionMachine[OmniSessionConfig]):
    """One Omni realtime session, from ``session.created`` to close. Not thread-safe; no I/O."""

    def __init__(
        self,
        model: str = DEFAULT_OMNI_MODEL,
        *,
        clock: Callable[[], float] = time.monotonic,
        cancel_on_speech: bool = True,
    ) -> None:
        super().__init__(model)
        self.capabilities = omni_capabilities(model)
        self._clock = clock
        self.cancel_on_speech = cancel_on_speech
        self.turn_phase = TurnPhase.IDLE
        self.responses: OrderedDict[str, ResponseRecord] = OrderedDict()
        self._dropped_response_ids: OrderedDict[str, None] = OrderedDict()
        self.usage_total = Usage()
        # manual-turn bookkeeping
        self._commits_in_flight = 0
        self._create_waiting_for_item: str | None = None
        self._create_deadline: float | None = None
        self._cancel_next_response = False
        self._create_after_response: bool = False
        # user item id -> latest transcript (final when .completed arrived)
        self.user_transcripts: dict[str, str] = {}
        # counters the app shows in its metrics view
        self.dropped_deltas = 0
        self.audio_bytes_received = 0
        self.audio_dropped_before_ready = 0

    # ---- properties ------------------------------------------------------------------------------

    @property
    def manual_turns(self) -> bool:
        config = self.config or self._pending_config
        return config is not None and config.turn_detection is None

    @property
    def ready(self) -> bool:
        return self.session_phase is SessionPhase.READY

    @property
    def active_response_id(self) -> str | None:
        """The newest response that is neither finished nor interrupted."""
        for record in reversed(self.responses.values()):
            if not record.finished and not record.interrupted:
                return record.response_id
        return None

    def _unfinished(self) -> list[ResponseRecord]:
        return [record for record in self.responses.values() if not record.finished]

    def _current_turn(self) -> TurnPhase:
        return self.turn_phase

    # ---- client actions --------------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> list[ClientEvent]:
        """``input_audio_buffer.append`` of 16 kHz mono int16 PCM (about 100 ms per call is typical).

        Returns ``[]`` (and counts the bytes) between the first ``configure`` and its ``session.updated``.
        """
        if not pcm or self.session_phase in (SessionPhase.FINISHED, SessionPhase.CLOSED):
            return []
        if self.session_phase is SessionPhase.CONFIGURING and self.config is None:
            # audio before the first session.updated would run under the server's defaults (VAD on)
            self.audio_dropped_before_ready += len(pcm)
            return []
        return [self._stamp(InputAudioBufferAppend(pcm), remember=False)]

    def append_image(self, jpeg: bytes) -> list[ClientEvent]:
        """``input_image_buffer.append``; the server wants some audio appended before any image."""
        if not jpeg:
            return []
        return [self._stamp(InputImageBufferAppend(jpeg), remember=False)]

    def clear_audio(self) -> list[ClientEvent]:
        return [self._stamp(InputAudioBufferClear())]

    def commit_turn(self) -> list[ClientEvent]:
        """End the user's (push-to-talk) turn: ``[input_audio_buffer.commit]``.

        In manual mode the ``response.create`` follows as ``SendEvents`` once the server confirms the
        commit (see the module docstring).
        """
        self._commits_in_flight += 1
        self._cancel_next_response = False
        self._set_turn(TurnPhase.THINKING)
        return [self._stamp(InputAudioBufferCommit())]

    def create_response(self, response: dict[str, Any] | None = None) -> list[ClientEvent]:
        """An explicit ``response.create`` (e.g. after tool results)."""
        self._cancel_next_response = False
        return [self._stamp(ResponseCreate(response))]

    def send_text(self, text: str) -> list[ClientEvent]:
        """A typed user turn: ``[conversation.item.create (input_text), response.create]``."""
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        self._cancel_next_response = False
        self._set_turn(TurnPhase.THINKING)
        return [self._stamp(ConversationItemCreate(item)), self._stamp(ResponseCreate())]

    def send_function_result(self, call_id: str, output: str) -> list[ClientEvent]:
        """Answer a ``FunctionCallRequested``; the follow-up ``response.create`` waits for the current
        response to end (then arrives as ``SendEvents``) so it is not refused as overlapping."""
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        events = [self._stamp(ConversationItemCreate(item))]
        if self._unfinished():
            self._create_after_response = True
        else:
            events.append(self._stamp(ResponseCreate()))
        return events

    def cancel(self) -> list[ClientEvent]:
        """Barge-in / Stop: ``[response.cancel]`` if a response is active, else ``[]``.

        Later deltas of the cancelled response are dropped. If the user's turn is committed but the
        response has not started yet, the pending ``response.create`` is withdrawn, or, when it is already
        on its way, the response is cancelled as soon as it starts.
        """
        active = self.active_response_id
        if active is not None:
            self._interrupt(self.responses[active])
            self._set_turn(TurnPhase.IDLE)
            return [self._cancel_event(self.responses[active])]
        if self._create_waiting_for_item is not None or self._commits_in_flight:
            self._create_waiting_for_item = None
            self._create_deadline = None
            self._commits_in_flight = 0
        elif self.turn_phase is TurnPhase.THINKING:
            self._cancel_next_response = True
        self._set_turn(TurnPhase.IDLE)
        return []

    def is_cancelled(self, response_id: str) -> bool:
        """Whether ``response_id`` was cut off here (its late events are dropped)."""
        return response_id in self._dropped_response_ids

    def drop_response(self, response_id: str) -> None:
        """The app cut ``response_id`` off (its audio was flushed): drop whatever of it still comes."""
        record = self.responses.get(response_id)
        if record is not None:
            record.interrupted = True
        self._dropped_response_ids[response_id] = None
        while len(self._dropped_response_ids) > _DROPPED_MEMORY:
            self._dropped_response_ids.popitem(last=False)

    def finish(self) -> list[ClientEvent]:
        """``session.finish`` where the model accepts it (qwen3.5 refuses it); else ``[]`` — just close."""
        if self.session_phase in (SessionPhase.FINISHED, SessionPhase.CLOSED):
            return []
        self.session_phase = SessionPhase.FINISHING
        if not self.capabilities.supports_session_finish:
            return []
        return [self._stamp(SessionFinish())]

    def connection_lost(self) -> list[Notification]:
        """The socket is gone: unfinished responses end as interrupted; the session is closed."""
        notes: list[Notification] = []
        for record in self._unfinished():
            notes.append(self._finish(record, "cancelled" if record.interrupted else "incomplete", None, True))
        before = (self.session_phase, self.turn_phase)
        self.session_phase = SessionPhase.CLOSED
        self.turn_phase = TurnPhase.IDLE
        notes.append(SessionClosed("connection_lost"))
        if before != (self.session_phase, self.turn_phase):
            notes.append(StateChanged(self.session_phase, self.turn_phase))
        return notes

    # ---- timers ----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``on_timer`` has work to do next (clock units), or None."""
        deadlines = [
            record.cancel_sent_at + CANCEL_GRACE_S for record in self._unfinished() if record.cancel_sent_at is not None
        ]
        if self._create_deadline is not None:
            deadlines.append(self._create_deadline)
        return min(deadlines) if deadlines else None

    def on_timer(self, now: float | None = None) -> list[Notification]:
        """Ends cancelled responses the server never closed; sends overdue manual ``response.create``."""
        now = self._clock() if now is None else now
        before = (self.session_phase, self.turn_phase)
        notes: list[Notification] = []
        for record in self._unfinished():
            if record.cancel_sent_at is not None and now >= record.cancel_sent_at + CANCEL_GRACE_S:
                notes.append(self._finish(record, "cancelled", None, True))
        if self._create_deadline is not None and now >= self._create_deadline:
            notes.append(self._release_create())
        return self._with_state(notes, before)

    expire_cancelled = on_timer

    # ---- server events ---------------------------------------------------------------------------

    def _refuses_update(self, error: ErrorDetail, request_type: str | None) -> bool:
        # An unattributed error refuses the update when it names a session parameter, or when it answers
        # the first configuration: nothing else is sent before that is answered (the client holds it).
        return request_type == SessionUpdate.TYPE or (
            request_type is None and ((error.param or "").startswith("session") or self.config is None)
        )

    def _on_refused(self, error: ErrorDetail, request_type: str | None) -> None:
        if request_type == InputAudioBufferCommit.TYPE or (
            request_type is None and self._commits_in_flight and "input_audio_buffer" in (error.param or "")
        ):
            self._commits_in_flight = max(0, self._commits_in_flight - 1)
            if self.turn_phase is TurnPhase.THINKING and not self._unfinished():
                self._set_turn(TurnPhase.IDLE)

    def _error_response_id(self) -> str | None:
        return self.active_response_id

    def _on_speech_started(self, event: SpeechStarted) -> list[Notification]:
        notes: list[Notification] = []
        interrupted: str | None = None
        active = self.active_response_id
        if active is not None:
            interrupted = active
            record = self.responses[active]
            self._interrupt(record)
            if self.cancel_on_speech:
                notes.append(SendEvents([self._cancel_event(record)]))
        self._set_turn(TurnPhase.USER_SPEAKING)
        notes.insert(0, UserSpeechStarted(event.item_id, event.audio_start_ms, interrupted))
        return notes

    def _on_speech_stopped(self, event: SpeechStopped) -> list[Notification]:
        self._set_turn(TurnPhase.THINKING)
        return [UserSpeechStopped(event.item_id, event.audio_end_ms)]

    def _on_committed(self, event: InputAudioBufferCommitted) -> list[Notification]:
        notes: list[Notification] = [TurnCommitted(event.item_id)]
        self.user_transcripts.setdefault(event.item_id, "")
        if self.active_response_id is None:
            self._set_turn(TurnPhase.THINKING)
        if self._commits_in_flight and self.manual_turns:
            self._commits_in_flight -= 1
            if self._create_needs_transcript():
                self._create_waiting_for_item = event.item_id
                self._create_deadline = self._clock() + CREATE_FALLBACK_S
            else:
                notes.append(SendEvents([self._stamp(ResponseCreate())]))
        elif self._commits_in_flight:
            self._commits_in_flight -= 1  # VAD mode: the server creates the response itself
        return notes

    def _create_needs_transcript(self) -> bool:
        config = self.config or self._pending_config
        transcription_on = config is None or config.input_audio_transcription is not None
        return transcription_on and self.capabilities.create_waits_for_transcript

    def _release_create(self) -> Notification:
        self._create_waiting_for_item = None
        self._create_deadline = None
        return SendEvents([self._stamp(ResponseCreate())])

    def _on_item_created(self, event: ConversationItemCreated) -> list[Notification]:
        if event.role == "user" and event.item_id:
            self.user_transcripts.setdefault(event.item_id, "")
        return []

    def _on_transcription_delta(self, event: InputAudioTranscriptionDelta) -> list[Notification]:
        preview = event.text + event.stash
        self.user_transcripts[event.item_id] = preview
        return [TranscriptDelta("user", event.item_id, preview, final=False, replace=True)]

    def _on_transcription_completed(self, event: InputAudioTranscriptionCompleted) -> list[Notification]:
        # May arrive long after the response started (a separate ASR model); item_id keeps it in place.
        self.user_transcripts[event.item_id] = event.transcript
        notes: list[Notification] = [TranscriptDelta("user", event.item_id, event.transcript, final=True, replace=True)]
        if self._create_waiting_for_item == event.item_id:
            notes.append(self._release_create())
        return notes

    def _on_transcription_failed(self, event: InputAudioTranscriptionFailed) -> list[Notification]:
        notes: list[Notification] = [TranscriptionFailed(event.item_id, event.error)]
        if self._create_waiting_for_item == event.item_id:
            notes.append(self._release_create())
        return notes

    def _on_response_created(self, event: ResponseCreated) -> list[Notification]:
        response_id = event.response_id
        if response_id in self.responses and self.responses[response_id].finished:
            del self.responses[response_id]  # ids are not reused by the server; start afresh if one is
        record = self._record(response_id)
        notes: list[Notification] = [ResponseStarted(response_id)]
        if self._cancel_next_response:
            self._cancel_next_response = False
            self._interrupt(record)
            notes.append(SendEvents([self._cancel_event(record)]))
        else:
            self._set_turn(TurnPhase.RESPONDING)
        return notes

    def _record(self, response_id: str) -> ResponseRecord:
        record = self.responses.get(response_id)
        if record is None:
            record = ResponseRecord(response_id, self._clock())
            self.responses[response_id] = record
            while len(self.responses) > _DROPPED_MEMORY:
                oldest_id, oldest = next(iter(self.responses.items()))
                if not oldest.finished:
                    break
                del self.responses[oldest_id]
        return record

    def _dropped(self, response_id: str) -> bool:
        if response_id in self._dropped_response_ids:
            self.dropped_deltas += 1
            return True
        return False

    def _on_output_item_added(self, event: ResponseOutputItemAdded) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        item_id = event.item.get("id")
        if isinstance(item_id, str):
            self._record(event.response_id).item_ids.append(item_id)
        return []

    def _on_audio_delta(self, event: ResponseAudioDelta) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        self.audio_bytes_received += len(event.audio)
        return [AudioChunk(event.response_id, event.item_id, event.audio)]

    def _on_text_delta(self, event: ResponseAudioTranscriptDelta | ResponseTextDelta) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        return [TranscriptDelta("assistant", event.item_id, event.delta, final=False, response_id=event.response_id)]

    def _on_transcript_done(self, event: ResponseAudioTranscriptDone) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        return [
            TranscriptDelta(
                "assistant", event.item_id, event.transcript, final=True, replace=True, response_id=event.response_id
            )
        ]

    def _on_text_done(self, event: ResponseTextDone) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        return [
            TranscriptDelta(
                "assistant", event.item_id, event.text, final=True, replace=True, response_id=event.response_id
            )
        ]

    def _on_audio_done(self, event: ResponseAudioDone) -> list[Notification]:
        record = self.responses.get(event.response_id)
        if record is not None and record.interrupted:
            return self._end_cancelled(record)
        if self._dropped(event.response_id):
            return []
        return [AudioDone(event.response_id, event.item_id)]

    def _on_output_item_done(self, event: ResponseOutputItemDone) -> list[Notification]:
        record = self.responses.get(event.response_id)
        if record is not None and record.interrupted:
            return self._end_cancelled(record)
        return []

    def _end_cancelled(self, record: ResponseRecord) -> list[Notification]:
        if record.finished:
            return []
        return [self._finish(record, "cancelled", None, True)]

    def _on_function_call_done(self, event: ResponseFunctionCallArgumentsDone) -> list[Notification]:
        if self._dropped(event.response_id):
            return []
        return [FunctionCallRequested(event.response_id, event.item_id, event.call_id, event.name, event.arguments)]

    def _on_response_done(self, event: ResponseDone) -> list[Notification]:
        usage = event.usage
        if usage is not None:
            self.usage_total = self.usage_total + usage
        record = self._record(event.response_id)
        notes: list[Notification] = []
        if not record.finished:
            notes.append(self._finish(record, event.status, usage, record.interrupted, event.status_reason))
        if self._create_after_response and not self._unfinished():
            self._create_after_response = False
            notes.append(SendEvents([self._stamp(ResponseCreate())]))
        return notes

    def _on_session_finished(self, event: SessionFinished) -> list[Notification]:
        notes: list[Notification] = [self._finish(record, "incomplete", None, True) for record in self._unfinished()]
        self.session_phase = SessionPhase.FINISHED
        self.turn_phase = TurnPhase.IDLE
        notes.append(SessionClosed("finished"))
        return notes

    # ---- helpers ---------------------------------------------------------------------------------

    def _interrupt(self, record: ResponseRecord) -> None:
        self.drop_response(record.response_id)

    def _cancel_event(self, record: ResponseRecord) -> ClientEvent:
        record.cancel_sent_at = self._clock()
        return self._stamp(ResponseCancel())

    def _finish(
        self, record: ResponseRecord, status: str | None, usage: Usage | None, interrupted: bool, reason: str = ""
    ) -> Notification:
        record.finished = True
        if not self._unfinished() and self.turn_phase is TurnPhase.RESPONDING:
            self.turn_phase = TurnPhase.IDLE
        return ResponseFinished(record.response_id, status, usage, interrupted, reason)

    def _set_turn(self, phase: TurnPhase) -> None:
        self.turn_phase = phase

    _handlers: ClassVar[dict[type, EventHandler]] = {
        **RealtimeSessionMachine.SESSION_HANDLERS,
        SpeechStarted: _on_speech_started,
        SpeechStopped: _on_speech_stopped,
        InputAudioBufferCommitted: _on_committed,
        ConversationItemCreated: _on_item_created,
        InputAudioTranscriptionDelta: _on_transcription_delta,
        InputAudioTranscriptionCompleted: _on_transcription_completed,
        InputAudioTranscriptionFailed: _on_transcription_failed,
        ResponseCreated: _on_response_created,
        ResponseOutputItemAdded: _on_output_item_added,
        ResponseAudioDelta: _on_audio_delta,
        ResponseAudioTranscriptDelta: _on_text_delta,
        ResponseTextDelta: _on_text_delta,
        ResponseAudioTranscriptDone: _on_transcript_done,
        ResponseTextDone: _on_text_done,
        ResponseAudioDone: _on_audio_done,
        ResponseOutputItemDone: _on_output_item_done,
        ResponseFunctionCallArgumentsDone: _on_function_call_done,
        ResponseDone: _on_response_done,
        SessionFinished: _on_session_finished,
    }
