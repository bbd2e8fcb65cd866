"""TTS session state machine: server_commit with many responses, commit mode, errors, termination."""

from __future__ import annotations

import json

from seed_examples import TTS_SERVER_EXAMPLES

from qwenvoice.protocol.codec import decode_server_event, encode_event
from qwenvoice.protocol.config import TtsSessionConfig
from qwenvoice.protocol.events import (
    ErrorDetail,
    ErrorEvent,
    Event,
    InputTextBufferAppend,
    InputTextBufferClear,
    InputTextBufferCommit,
    InputTextBufferCommitted,
    MalformedEvent,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreated,
    ResponseDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    SessionCreated,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SessionUpdated,
    Usage,
)
from qwenvoice.protocol.notifications import (
    AudioChunk,
    AudioDone,
    Notification,
    ProtocolErrorNotice,
    ResponseFinished,
    ResponseStarted,
    SessionClosed,
    SessionConfigured,
    SessionPhase,
    StateChanged,
    TextCommitted,
)
from qwenvoice.protocol.tts import TtsSession

MODEL = "qwen3-tts-flash-realtime"


def feed(session: TtsSession, *events: Event) -> list[Notification]:
    notes: list[Notification] = []
    for event in events:
        notes.extend(session.receive(event))  # type: ignore[arg-type]
    return notes


def response(rid: str, chunks: int, characters: int) -> list[Event]:
    iid = "item_" + rid
    events: list[Event] = [
        ResponseCreated({"id": rid, "status": "in_progress"}),
        ResponseOutputItemAdded(rid, 0, {"id": iid}),
        ResponseContentPartAdded(rid, iid, 0, 0, {"type": "audio", "text": ""}),
    ]
    events += [ResponseAudioDelta(rid, iid, 0, 0, bytes([n]) * 2) for n in range(chunks)]
    events += [
        ResponseAudioDone(rid, iid, 0, 0),
        ResponseContentPartDone(rid, iid, 0, 0, {"type": "audio", "text": ""}),
        ResponseOutputItemDone(rid, 0, {"id": iid}),
        ResponseDone({"id": rid, "status": "completed", "usage": {"characters": characters}}),
    ]
    return events


def ready(config: TtsSessionConfig | None = None) -> TtsSession:
    session = TtsSession(MODEL)
    feed(session, SessionCreated({"id": "sess_t", "mode": "server_commit"}))
    [update] = session.configure(config or TtsSessionConfig())
    assert isinstance(update, SessionUpdate)
    notes = feed(session, SessionUpdated(update.session))
    assert notes == [SessionConfigured(update.session), StateChanged(SessionPhase.READY, session.turn_phase)]
    return session


def test_server_commit_session_with_several_responses() -> None:
    session = ready()
    assert session.mode == "server_commit"
    appends = [*session.append_text("Hello there. "), *session.append_text("Second sentence. ")]
    assert [type(e) for e in appends] == [InputTextBufferAppend, InputTextBufferAppend]
    assert session.uncommitted_chars == len("Hello there. Second sentence. ")
    notes = feed(session, *response("resp_1", 3, 13))
    assert notes[0] == ResponseStarted("resp_1")
    assert [n.pcm for n in notes if isinstance(n, AudioChunk)] == [b"\x00\x00", b"\x01\x01", b"\x02\x02"]
    assert AudioDone("resp_1", "item_resp_1") in notes
    assert ResponseFinished("resp_1", "completed", Usage(characters=13), False) in notes
    # a finished response does not end the session
    assert session.session_phase is SessionPhase.READY
    notes = feed(session, *response("resp_2", 2, 17))
    assert session.responses_started == session.responses_finished == 2
    assert session.usage_total == Usage(characters=30)
    assert session.audio_bytes_received == 10
    assert not session.response_active
    [finish] = session.finish()
    assert isinstance(finish, SessionFinish)
    assert session.session_phase is SessionPhase.FINISHING
    assert session.append_text("too late") == []
    # the server flushes the rest, then says finished
    notes = feed(session, *response("resp_3", 1, 4), SessionFinished())
    assert SessionClosed("finished") in notes
    assert notes[-1] == StateChanged(SessionPhase.FINISHED, session.turn_phase)
    assert session.finished
    assert feed(session, *response("resp_4", 1, 1)) == []  # terminal
    assert session.finish() == [] and session.commit() == []


def test_commit_mode_one_response_per_commit() -> None:
    session = ready(TtsSessionConfig(mode="commit"))
    assert session.mode == "commit"
    session.append_text("First.")
    assert session.has_uncommitted_text
    [commit] = session.commit()
    assert isinstance(commit, InputTextBufferCommit)
    assert not session.has_uncommitted_text
    notes = feed(session, InputTextBufferCommitted(""), *response("resp_a", 2, 6))
    assert notes[0] == TextCommitted("")
    assert [type(n).__name__ for n in notes].count("ResponseFinished") == 1
    session.append_text("Second.")
    session.commit()
    feed(session, InputTextBufferCommitted("item_2"), *response("resp_b", 1, 7))
    assert session.responses_finished == 2


def test_empty_commit_error_is_surfaced_with_its_request() -> None:
    session = ready(TtsSessionConfig(mode="commit"))
    assert not session.has_uncommitted_text
    [commit] = session.commit()
    error = ErrorDetail(
        code="invalid_value", message="Error committing input text buffer: buffer is empty.", event_id=commit.event_id
    )
    notes = feed(session, ErrorEvent(error, event_id="event_srv"))
    assert notes == [ProtocolErrorNotice(error, request_type="input_text_buffer.commit", recoverable=True)]
    assert session.session_phase is SessionPhase.READY


def test_clear_resets_the_uncommitted_count() -> None:
    session = ready()
    session.append_text("abc")
    [clear] = session.clear()
    assert isinstance(clear, InputTextBufferClear)
    assert session.uncommitted_chars == 0
    assert session.append_text("") == []


def test_refused_update_returns_to_created() -> None:
    session = TtsSession(MODEL)
    feed(session, SessionCreated({}))
    session.configure(TtsSessionConfig(voice="Ethan"))
    notes = feed(
        session,
        ErrorEvent(ErrorDetail(code="invalid_value", message="Session update error: session already started")),
    )
    assert isinstance(notes[0], ProtocolErrorNotice)
    assert session.session_phase is SessionPhase.CREATED
    assert session.config is None


def test_event_ids_are_present_and_unique() -> None:
    session = ready()
    events = [
        *session.configure(TtsSessionConfig(voice="Ethan")),
        *session.append_text("a"),
        *session.commit(),
        *session.clear(),
        *session.finish(),
    ]
    ids = [e.event_id for e in events]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(json.loads(encode_event(e))["event_id"] == e.event_id for e in events)


def test_documented_tts_frames_drive_a_session() -> None:
    session = TtsSession(MODEL)
    frames = [decode_server_event(f) for f in TTS_SERVER_EXAMPLES]
    notes = feed(session, *frames)
    assert any(isinstance(n, AudioChunk) and n.pcm == b"\x00\x00\x01\x00\xff\xff\x00\x80" for n in notes)
    assert any(isinstance(n, ProtocolErrorNotice) for n in notes)
    assert session.usage_total.characters == 17
    assert session.finished


def test_malformed_frame_and_connection_loss() -> None:
    session = ready()
    notes = feed(session, MalformedEvent("bad", "{"), ResponseCreated({"id": "r"}))
    assert isinstance(notes[0], ProtocolErrorNotice) and session.malformed_events == 1
    assert session.response_active
    notes = session.connection_lost()
    assert notes[0] == ResponseFinished("r", "incomplete", None, True)
    assert SessionClosed("connection_lost") in notes
    assert session.session_phase is SessionPhase.CLOSED
    assert session.connection_lost() == []
