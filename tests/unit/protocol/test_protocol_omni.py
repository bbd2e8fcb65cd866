"""Omni conversation state machine: documented event orders in, notifications and client events out."""

from __future__ import annotations

import json

import pytest
from seed_examples import OMNI_SERVER_EXAMPLES

from qwenvoice.protocol.codec import decode_server_event, encode_event
from qwenvoice.protocol.config import OmniSessionConfig
from qwenvoice.protocol.events import (
    ConversationItemCreate,
    ConversationItemCreated,
    ErrorDetail,
    ErrorEvent,
    Event,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    InputAudioTranscriptionFailed,
    MalformedEvent,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseAudioTranscriptDelta,
    ResponseAudioTranscriptDone,
    ResponseCancel,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreate,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseTextDelta,
    ResponseTextDone,
    SessionCreated,
    SessionFinish,
    SessionFinished,
    SessionUpdate,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    UnknownEvent,
    Usage,
)
from qwenvoice.protocol.notifications import (
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
from qwenvoice.protocol.omni import CANCEL_GRACE_S, CREATE_FALLBACK_S, OmniConversation

FLASH = "qwen3-omni-flash-realtime"
Q35 = "qwen3.5-omni-flash-realtime"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(conv: OmniConversation, *events: Event) -> list[Notification]:
    notes: list[Notification] = []
    for event in events:
        notes.extend(conv.receive(event))  # type: ignore[arg-type]
    return notes


def kinds(notes: list[Notification]) -> list[str]:
    return [type(n).__name__ for n in notes if not isinstance(n, StateChanged)]


def sent(notes: list[Notification]) -> list[Event]:
    return [event for n in notes if isinstance(n, SendEvents) for event in n.events]


def ready(
    model: str = FLASH, config: OmniSessionConfig | None = None, clock: FakeClock | None = None
) -> OmniConversation:
    conv = OmniConversation(model, clock=clock or FakeClock())
    feed(conv, SessionCreated({"id": "sess_1", "model": model}))
    conv.configure(config or OmniSessionConfig.for_model(model))
    feed(conv, SessionUpdated({"id": "sess_1"}))
    assert conv.ready
    return conv


def assistant_stream(rid: str, iid: str = "item_a", chunks: int = 2) -> list[Event]:
    events: list[Event] = [
        ResponseCreated({"id": rid, "status": "in_progress"}),
        ResponseOutputItemAdded(rid, 0, {"id": iid, "role": "assistant", "content": []}),
        ConversationItemCreated({"id": iid, "role": "assistant", "type": "message"}),
        ResponseContentPartAdded(rid, iid, 0, 0, {"type": "audio", "text": ""}),
    ]
    for n in range(chunks):
        events.append(ResponseAudioTranscriptDelta(rid, iid, 0, 0, f"w{n} "))
        events.append(ResponseAudioDelta(rid, iid, 0, 0, bytes([n]) * 4))
    return events


def assistant_end(rid: str, iid: str = "item_a", usage: dict[str, object] | None = None) -> list[Event]:
    response: dict[str, object] = {"id": rid, "status": "completed"}
    if usage is not None:
        response["usage"] = usage
    return [
        ResponseAudioTranscriptDone(rid, iid, 0, 0, "w0 w1 "),
        ResponseAudioDone(rid, iid, 0, 0),
        ResponseContentPartDone(rid, iid, 0, 0, {"type": "audio", "text": "w0 w1 "}),
        ResponseOutputItemDone(rid, 0, {"id": iid, "status": "completed"}),
        ResponseDone(response),
    ]


USAGE = {
    "total_tokens": 10,
    "input_tokens": 6,
    "output_tokens": 4,
    "input_tokens_details": {"text_tokens": 2, "audio_tokens": 4},
    "output_tokens_details": {"text_tokens": 1, "audio_tokens": 3},
}


# ---- lifecycle -----------------------------------------------------------------------------------


def test_session_lifecycle_created_configuring_ready() -> None:
    conv = OmniConversation(FLASH, clock=FakeClock())
    assert conv.session_phase is SessionPhase.CONNECTING
    notes = feed(conv, SessionCreated({"id": "sess_9"}))
    assert notes == [StateChanged(SessionPhase.CREATED, TurnPhase.IDLE)]
    assert conv.session_id == "sess_9"
    events = conv.configure(OmniSessionConfig(turn_detection=None))
    assert len(events) == 1 and isinstance(events[0], SessionUpdate)
    assert events[0].session["turn_detection"] is None
    assert events[0].event_id and events[0].event_id.startswith("event_")
    assert conv.session_phase is SessionPhase.CONFIGURING
    assert conv.manual_turns
    notes = feed(conv, SessionUpdated({"voice": "Cherry"}))
    assert notes == [
        SessionConfigured({"voice": "Cherry"}),
        StateChanged(SessionPhase.READY, TurnPhase.IDLE),
    ]
    assert conv.config == OmniSessionConfig(turn_detection=None)


def test_refused_session_update_goes_back_to_created() -> None:
    conv = OmniConversation(FLASH, clock=FakeClock())
    feed(conv, SessionCreated({}))
    [update] = conv.configure(OmniSessionConfig())
    detail = ErrorDetail("invalid_request_error", "invalid_value", "Voice 'x' is not supported.", "session.voice")
    detail.event_id = update.event_id
    notes = feed(conv, ErrorEvent(detail))
    notice = notes[0]
    assert isinstance(notice, ProtocolErrorNotice)
    assert notice.request_type == "session.update"
    assert notice.recoverable
    assert conv.session_phase is SessionPhase.CREATED
    assert conv.config is None


def test_configure_refuses_invalid_config_before_sending() -> None:
    from qwenvoice.protocol.config import ConfigError

    conv = OmniConversation(FLASH)
    with pytest.raises(ConfigError):
        conv.configure(OmniSessionConfig(modalities=("audio",)))
    assert conv.session_phase is SessionPhase.CONNECTING


# ---- VAD turn ------------------------------------------------------------------------------------


def test_vad_turn_in_documented_order_with_late_input_transcription() -> None:
    conv = ready()
    user = "item_u1"
    notes = feed(
        conv,
        SpeechStarted(3647, user),
        SpeechStopped(4453, user),
        InputAudioBufferCommitted(user),
        ConversationItemCreated({"id": user, "role": "user", "type": "message"}),
        InputAudioTranscriptionDelta(user, 0, "Hel", "lo"),
        *assistant_stream("resp_1"),
    )
    assert kinds(notes) == [
        "UserSpeechStarted",
        "UserSpeechStopped",
        "TurnCommitted",
        "TranscriptDelta",
        "ResponseStarted",
        "TranscriptDelta",
        "AudioChunk",
        "TranscriptDelta",
        "AudioChunk",
    ]
    assert notes[0] == UserSpeechStarted(user, 3647, None)
    assert TranscriptDelta("user", user, "Hello", final=False, replace=True) in notes
    assert conv.turn_phase is TurnPhase.RESPONDING
    assert sent(notes) == []  # VAD: the server creates the response itself
    # the ASR result arrives while the assistant is already answering: still the user's item
    late = feed(conv, InputAudioTranscriptionCompleted(user, 0, "Hello."))
    assert late == [TranscriptDelta("user", user, "Hello.", final=True, replace=True)]
    assert conv.user_transcripts[user] == "Hello."
    assert conv.active_response_id == "resp_1"
    end = feed(conv, *assistant_end("resp_1", usage=USAGE))
    assert kinds(end) == ["TranscriptDelta", "AudioDone", "ResponseFinished"]
    assert end[0] == TranscriptDelta("assistant", "item_a", "w0 w1 ", final=True, replace=True, response_id="resp_1")
    finished = [n for n in end if isinstance(n, ResponseFinished)][0]
    assert finished.status == "completed" and not finished.interrupted
    assert finished.usage == Usage(10, 6, 4, 2, 4, 1, 3)
    assert end[-1] == StateChanged(SessionPhase.READY, TurnPhase.IDLE)
    assert conv.usage_total == Usage(10, 6, 4, 2, 4, 1, 3)


def test_state_changes_follow_the_turn() -> None:
    conv = ready()
    phases = [
        n.turn
        for n in feed(
            conv,
            SpeechStarted(0, "u"),
            SpeechStopped(1, "u"),
            InputAudioBufferCommitted("u"),
            *assistant_stream("r"),
            *assistant_end("r"),
        )
        if isinstance(n, StateChanged)
    ]
    assert phases == [TurnPhase.USER_SPEAKING, TurnPhase.THINKING, TurnPhase.RESPONDING, TurnPhase.IDLE]


def test_documented_seed_frames_drive_a_turn() -> None:
    by_type = {json.loads(frame)["type"]: decode_server_event(frame) for frame in OMNI_SERVER_EXAMPLES}
    conv = OmniConversation(FLASH, clock=FakeClock())
    order = [
        "session.created",
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.created",
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.audio_transcript.delta",
        "response.audio.delta",
        "response.audio_transcript.done",
        "response.audio.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.input_audio_transcription.completed",
        "response.done",
    ]
    notes = feed(conv, *[by_type[name] for name in order])
    chunks = [n for n in notes if isinstance(n, AudioChunk)]
    # the documented audio delta belongs to another response id than response.created's: still played
    assert len(chunks) == 1 and chunks[0].pcm == b"\x00\x00\x01\x00\xff\xff\x00\x80"
    assert TranscriptDelta("user", "item_YbAiGvK2H7YaS34o4R6Ba", "Hello.", final=True, replace=True) in notes
    done = [n for n in notes if isinstance(n, ResponseFinished)]
    assert done[0].response_id == "resp_HaVOPdbmX6vifiV5pAfJY"
    assert conv.usage_total.total_tokens == 377


# ---- manual turns --------------------------------------------------------------------------------


def test_manual_turn_commit_then_response_create_after_committed() -> None:
    conv = ready(config=OmniSessionConfig(turn_detection=None))
    appends = conv.append_audio(b"\x01\x00" * 1600)
    assert len(appends) == 1 and isinstance(appends[0], InputAudioBufferAppend)
    assert appends[0].audio == b"\x01\x00" * 1600
    assert conv.append_audio(b"") == []
    commit = conv.commit_turn()
    assert len(commit) == 1 and isinstance(commit[0], InputAudioBufferCommit)
    assert conv.turn_phase is TurnPhase.THINKING
    notes = feed(conv, InputAudioBufferCommitted("item_m1"))
    assert kinds(notes) == ["TurnCommitted", "SendEvents"]
    [create] = sent(notes)
    assert isinstance(create, ResponseCreate) and create.event_id
    # the create is sent once only
    assert sent(feed(conv, ConversationItemCreated({"id": "item_m1", "role": "user"}))) == []
    notes = feed(conv, *assistant_stream("resp_m"), *assistant_end("resp_m"))
    assert kinds(notes).count("AudioChunk") == 2
    assert conv.turn_phase is TurnPhase.IDLE


def test_manual_turn_on_qwen35_waits_for_the_transcription() -> None:
    clock = FakeClock()
    conv = ready(Q35, OmniSessionConfig.for_model(Q35, turn_detection=None), clock)
    conv.commit_turn()
    notes = feed(conv, InputAudioBufferCommitted("item_q"))
    assert sent(notes) == []
    assert conv.next_deadline() == pytest.approx(clock.now + CREATE_FALLBACK_S)
    notes = feed(conv, InputAudioTranscriptionCompleted("item_q", 0, "hi"))
    assert [type(e) for e in sent(notes)] == [ResponseCreate]
    assert conv.next_deadline() is None
    assert conv.on_timer(clock.now + 60) == []


def test_manual_turn_on_qwen35_falls_back_when_no_transcription_arrives() -> None:
    clock = FakeClock()
    conv = ready(Q35, OmniSessionConfig.for_model(Q35, turn_detection=None), clock)
    conv.commit_turn()
    feed(conv, InputAudioBufferCommitted("item_q"))
    assert conv.on_timer(clock.now + CREATE_FALLBACK_S - 0.1) == []
    clock.now += CREATE_FALLBACK_S
    assert [type(e) for e in sent(conv.on_timer())] == [ResponseCreate]


def test_manual_turn_transcription_failure_releases_the_create() -> None:
    conv = ready(Q35, OmniSessionConfig.for_model(Q35, turn_detection=None))
    conv.commit_turn()
    feed(conv, InputAudioBufferCommitted("item_q"))
    notes = feed(conv, InputAudioTranscriptionFailed("item_q", 0, {"code": "x"}))
    assert notes[0] == TranscriptionFailed("item_q", {"code": "x"})
    assert [type(e) for e in sent(notes)] == [ResponseCreate]


def test_commit_refused_by_the_server_returns_to_idle() -> None:
    conv = ready(config=OmniSessionConfig(turn_detection=None))
    [commit] = conv.commit_turn()
    detail = ErrorDetail("invalid_request_error", "invalid_value", "buffer is empty", None, commit.event_id)
    notes = feed(conv, ErrorEvent(detail))
    assert isinstance(notes[0], ProtocolErrorNotice)
    assert notes[0].request_type == "input_audio_buffer.commit"
    assert conv.turn_phase is TurnPhase.IDLE
    assert sent(feed(conv, InputAudioBufferCommitted("late"))) == []


def test_cancel_before_the_commit_is_confirmed_withdraws_the_create() -> None:
    conv = ready(config=OmniSessionConfig(turn_detection=None))
    conv.commit_turn()
    assert conv.cancel() == []
    assert sent(feed(conv, InputAudioBufferCommitted("item_x"))) == []


# ---- text turn -----------------------------------------------------------------------------------


def test_text_turn_sends_a_user_message_then_response_create() -> None:
    conv = ready()
    events = conv.send_text("What time is it?")
    assert [type(e) for e in events] == [ConversationItemCreate, ResponseCreate]
    item = events[0]
    assert isinstance(item, ConversationItemCreate)
    assert item.item == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "What time is it?"}],
    }
    assert json.loads(encode_event(item))["item"]["content"][0]["text"] == "What time is it?"
    assert len({e.event_id for e in events}) == 2
    notes = feed(
        conv,
        ResponseCreated({"id": "resp_t"}),
        ResponseTextDelta("resp_t", "item_t", 0, 0, "It is "),
        ResponseTextDelta("resp_t", "item_t", 0, 0, "noon."),
        ResponseTextDone("resp_t", "item_t", 0, 0, "It is noon."),
        ResponseDone({"id": "resp_t", "status": "completed"}),
    )
    texts = [n for n in notes if isinstance(n, TranscriptDelta)]
    assert [t.text for t in texts] == ["It is ", "noon.", "It is noon."]
    assert [t.final for t in texts] == [False, False, True]
    assert all(t.role == "assistant" and t.response_id == "resp_t" for t in texts)


# ---- cancel / barge-in ---------------------------------------------------------------------------


def test_cancel_mid_response_drops_late_deltas_and_ends_on_output_item_done() -> None:
    conv = ready()
    feed(conv, *assistant_stream("resp_c", chunks=1))
    events = conv.cancel()
    assert [type(e) for e in events] == [ResponseCancel]
    assert conv.turn_phase is TurnPhase.IDLE
    assert conv.cancel() == []  # nothing active any more
    late = feed(
        conv,
        ResponseAudioTranscriptDelta("resp_c", "item_a", 0, 0, "late"),
        ResponseAudioDelta("resp_c", "item_a", 0, 0, b"\x01\x02"),
        ResponseAudioTranscriptDone("resp_c", "item_a", 0, 0, "late transcript"),
    )
    assert late == []
    assert conv.dropped_deltas == 3
    # no response.done comes after a cancel on some models: the item end closes the response
    end = feed(conv, ResponseAudioDone("resp_c", "item_a", 0, 0), ResponseOutputItemDone("resp_c", 0, {}))
    assert [n for n in end if isinstance(n, ResponseFinished)] == [ResponseFinished("resp_c", "cancelled", None, True)]
    # a late response.done adds its usage but does not finish twice
    again = feed(conv, ResponseDone({"id": "resp_c", "status": "cancelled", "usage": {"total_tokens": 3}}))
    assert again == []
    assert conv.usage_total.total_tokens == 3


def test_cancelled_response_without_any_end_event_expires() -> None:
    clock = FakeClock()
    conv = ready(clock=clock)
    feed(conv, *assistant_stream("resp_e"))
    conv.cancel()
    assert conv.next_deadline() == pytest.approx(clock.now + CANCEL_GRACE_S)
    assert conv.expire_cancelled(clock.now + CANCEL_GRACE_S - 0.01) == []
    notes = conv.on_timer(clock.now + CANCEL_GRACE_S)
    assert notes == [ResponseFinished("resp_e", "cancelled", None, True)]
    assert conv.next_deadline() is None
    assert feed(conv, ResponseAudioDelta("resp_e", "item_a", 0, 0, b"\x00\x00")) == []


def test_response_done_after_cancel_reports_interrupted() -> None:
    conv = ready()
    feed(conv, *assistant_stream("resp_d"))
    conv.cancel()
    notes = feed(conv, ResponseDone({"id": "resp_d", "status": "cancelled"}))
    assert notes[0] == ResponseFinished("resp_d", "cancelled", None, True)


def test_barge_in_by_speech_interrupts_and_cancels() -> None:
    conv = ready()
    feed(conv, *assistant_stream("resp_b"))
    notes = feed(conv, SpeechStarted(9000, "item_u2"))
    assert notes[0] == UserSpeechStarted("item_u2", 9000, "resp_b")
    assert [type(e) for e in sent(notes)] == [ResponseCancel]
    assert conv.turn_phase is TurnPhase.USER_SPEAKING
    assert feed(conv, ResponseAudioDelta("resp_b", "item_a", 0, 0, b"\x00\x00")) == []
    # a new response after the user's new turn plays normally
    notes = feed(conv, SpeechStopped(9500, "item_u2"), InputAudioBufferCommitted("item_u2"), *assistant_stream("r2"))
    assert kinds(notes).count("AudioChunk") == 2


def test_barge_in_without_auto_cancel_only_interrupts() -> None:
    conv = OmniConversation(FLASH, clock=FakeClock(), cancel_on_speech=False)
    feed(conv, *assistant_stream("resp_b"))
    notes = feed(conv, SpeechStarted(1, "u"))
    assert sent(notes) == []
    assert isinstance(notes[0], UserSpeechStarted) and notes[0].interrupted_response_id == "resp_b"


def test_cancel_while_waiting_for_a_vad_response_cancels_it_on_arrival() -> None:
    conv = ready()
    feed(conv, SpeechStarted(0, "u"), SpeechStopped(1, "u"), InputAudioBufferCommitted("u"))
    assert conv.cancel() == []
    notes = feed(conv, *assistant_stream("resp_w", chunks=1))
    assert [type(e) for e in sent(notes)] == [ResponseCancel]
    assert not [n for n in notes if isinstance(n, AudioChunk)]


# ---- errors and odd input ------------------------------------------------------------------------


def test_error_mid_stream_keeps_the_response_tracked() -> None:
    conv = ready()
    feed(conv, *assistant_stream("resp_x", chunks=1))
    notes = feed(conv, ErrorEvent(ErrorDetail("server_error", "internal", "Response timeout.")))
    assert notes == [
        ProtocolErrorNotice(
            ErrorDetail("server_error", "internal", "Response timeout."),
            request_type=None,
            response_id="resp_x",
            recoverable=False,
        )
    ]
    assert conv.active_response_id == "resp_x"
    more = feed(conv, ResponseAudioDelta("resp_x", "item_a", 0, 0, b"\x05\x00"), *assistant_end("resp_x"))
    assert AudioChunk("resp_x", "item_a", b"\x05\x00") in more
    assert any(isinstance(n, ResponseFinished) and not n.interrupted for n in more)


def test_malformed_and_unknown_events() -> None:
    conv = ready()
    notes = feed(conv, MalformedEvent("not JSON", "{"), UnknownEvent("x.new", {"type": "x.new"}))
    assert len(notes) == 1 and isinstance(notes[0], ProtocolErrorNotice)
    assert notes[0].error.type == "malformed_event"
    assert conv.malformed_events == 1


def test_function_call_result_waits_for_the_response_to_end() -> None:
    conv = ready(Q35)
    feed(conv, ResponseCreated({"id": "resp_f"}))
    notes = feed(
        conv,
        ResponseFunctionCallArgumentsDone("resp_f", "item_fc", 0, "call_1", "get_weather", ' {"city":"x"}'),
    )
    assert notes == [FunctionCallRequested("resp_f", "item_fc", "call_1", "get_weather", ' {"city":"x"}')]
    events = conv.send_function_result("call_1", '{"temp": 20}')
    assert [type(e) for e in events] == [ConversationItemCreate]
    assert isinstance(events[0], ConversationItemCreate)
    assert events[0].item == {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 20}'}
    notes = feed(conv, ResponseDone({"id": "resp_f", "status": "completed"}))
    assert [type(e) for e in sent(notes)] == [ResponseCreate]
    # with nothing running, the create goes out at once
    assert [type(e) for e in conv.send_function_result("call_2", "ok")] == [ConversationItemCreate, ResponseCreate]


def test_finish_and_session_finished_are_terminal() -> None:
    conv = ready()
    assert [type(e) for e in conv.finish()] == [SessionFinish]
    assert conv.session_phase is SessionPhase.FINISHING
    notes = feed(conv, SessionFinished())
    assert SessionClosed("finished") in notes
    assert conv.session_phase is SessionPhase.FINISHED
    assert feed(conv, ResponseCreated({"id": "after"})) == []
    assert conv.finish() == []


def test_finish_is_not_sent_to_models_that_refuse_it() -> None:
    conv = ready(Q35)
    assert conv.finish() == []
    assert conv.session_phase is SessionPhase.FINISHING


def test_connection_lost_ends_open_responses() -> None:
    conv = ready()
    feed(conv, *assistant_stream("resp_l"))
    notes = conv.connection_lost()
    assert notes[0] == ResponseFinished("resp_l", "incomplete", None, True)
    assert SessionClosed("connection_lost") in notes
    assert conv.session_phase is SessionPhase.CLOSED
    assert conv.append_audio(b"\x00\x00") == []


def test_every_client_event_has_a_unique_event_id() -> None:
    conv = ready(config=OmniSessionConfig(turn_detection=None))
    events = [
        *conv.append_audio(b"\x00\x00"),
        *conv.append_image(b"\xff\xd8"),
        *conv.clear_audio(),
        *conv.commit_turn(),
        *conv.send_text("x"),
        *conv.create_response({"instructions": "short"}),
        *conv.configure(OmniSessionConfig()),
        *conv.finish(),
    ]
    ids = [e.event_id for e in events]
    assert all(ids) and len(set(ids)) == len(ids)


def test_speech_stopped_notification() -> None:
    conv = ready()
    assert feed(conv, SpeechStopped(10, "u"))[0] == UserSpeechStopped("u", 10)
    assert feed(conv, InputAudioBufferCommitted("u"))[0] == TurnCommitted("u")


def test_audio_done_and_started_notifications() -> None:
    conv = ready()
    notes = feed(conv, ResponseCreated({"id": "r"}), ResponseAudioDone("r", "i", 0, 0))
    assert ResponseStarted("r") in notes and AudioDone("r", "i") in notes


def test_audio_waits_for_the_first_session_updated() -> None:
    conv = OmniConversation(FLASH, clock=FakeClock())
    assert len(conv.append_audio(b"\x00\x00")) == 1  # server defaults, nothing configured: pass through
    feed(conv, SessionCreated({}))
    conv.configure(OmniSessionConfig(turn_detection=None))
    assert conv.append_audio(b"\x00\x00" * 10) == []
    assert conv.audio_dropped_before_ready == 20
    feed(conv, SessionUpdated({}))
    assert len(conv.append_audio(b"\x00\x00")) == 1
    conv.configure(OmniSessionConfig())  # a later update does not stop the stream
    assert len(conv.append_audio(b"\x00\x00")) == 1
