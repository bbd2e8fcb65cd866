"""Random server event orders and client actions: the state machines never raise and keep their promises."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qwenvoice.protocol.config import OmniSessionConfig, TtsSessionConfig
from qwenvoice.protocol.events import (
    ConversationItemCreated,
    ErrorDetail,
    ErrorEvent,
    Event,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionDelta,
    InputTextBufferCommitted,
    MalformedEvent,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseAudioTranscriptDelta,
    ResponseCancel,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    SessionCreated,
    SessionFinished,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    UnknownEvent,
)
from qwenvoice.protocol.notifications import AudioChunk, SendEvents, TurnPhase, UserSpeechStarted
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.protocol.tts import TtsSession

rids = st.sampled_from(["r1", "r2", "r3"])
iids = st.sampled_from(["i1", "i2", "u1", "u2"])

server_events = st.one_of(
    st.builds(SessionCreated, st.just({"id": "s"})),
    st.builds(SessionUpdated, st.just({})),
    st.builds(SessionFinished),
    st.builds(lambda: ErrorEvent(ErrorDetail("invalid_request_error", "x", "boom"))),
    st.builds(lambda: ErrorEvent(ErrorDetail("server_error", None, "boom", None, "event_unknown"))),
    st.builds(MalformedEvent, st.just("bad"), st.just("{")),
    st.builds(UnknownEvent, st.just("x.y"), st.just({})),
    st.builds(SpeechStarted, st.integers(0, 10_000), iids),
    st.builds(SpeechStopped, st.integers(0, 10_000), iids),
    st.builds(InputAudioBufferCommitted, iids),
    st.builds(lambda i, role: ConversationItemCreated({"id": i, "role": role}), iids, st.sampled_from(["user", "x"])),
    st.builds(InputAudioTranscriptionDelta, iids, st.just(0), st.text(max_size=5), st.text(max_size=5)),
    st.builds(InputAudioTranscriptionCompleted, iids, st.just(0), st.text(max_size=5)),
    st.builds(lambda r: ResponseCreated({"id": r}), rids),
    st.builds(lambda r, i: ResponseOutputItemAdded(r, 0, {"id": i}), rids, iids),
    st.builds(lambda r, i: ResponseAudioDelta(r, i, 0, 0, b"\x01\x00"), rids, iids),
    st.builds(lambda r, i: ResponseAudioTranscriptDelta(r, i, 0, 0, "w"), rids, iids),
    st.builds(lambda r, i: ResponseAudioDone(r, i, 0, 0), rids, iids),
    st.builds(lambda r: ResponseOutputItemDone(r, 0, {}), rids),
    st.builds(lambda r, i: ResponseFunctionCallArgumentsDone(r, i, 0, "c", "f", "{}"), rids, iids),
    st.builds(
        lambda r, status: ResponseDone({"id": r, "status": status, "usage": {"total_tokens": 1}}),
        rids,
        st.sampled_from(["completed", "cancelled", "failed"]),
    ),
    st.builds(InputTextBufferCommitted, iids),
)
omni_actions = st.sampled_from(
    ["cancel", "commit", "text", "append", "timer", "finish", "result", "configure_manual", "configure_vad"]
)
steps = st.lists(st.one_of(server_events, omni_actions), max_size=60)


def _act(conv: OmniConversation, action: str, now: float) -> list[Any]:
    if action == "cancel":
        return conv.cancel()
    if action == "commit":
        return conv.commit_turn()
    if action == "text":
        return conv.send_text("hi")
    if action == "append":
        return conv.append_audio(b"\x00\x00")
    if action == "timer":
        return conv.on_timer(now)
    if action == "finish":
        return conv.finish()
    if action == "result":
        return conv.send_function_result("c", "ok")
    if action == "configure_manual":
        return conv.configure(OmniSessionConfig.for_model(conv.model, turn_detection=None))
    return conv.configure(OmniSessionConfig.for_model(conv.model))


@given(st.sampled_from(["qwen3-omni-flash-realtime", "qwen3.5-omni-plus-realtime"]), steps)
@settings(max_examples=400, deadline=None)
def test_omni_machine_survives_any_order(model: str, sequence: list[Event | str]) -> None:
    now = [0.0]
    conv = OmniConversation(model, clock=lambda: now[0])
    cancelled: set[str] = set()
    for step in sequence:
        now[0] += 1.0
        if isinstance(step, str):
            active = conv.active_response_id
            out = _act(conv, step, now[0])
            if step == "cancel" and any(isinstance(e, ResponseCancel) for e in out):
                assert active is not None
                cancelled.add(active)
            notes = out if step == "timer" else []
        else:
            notes = conv.receive(step)  # type: ignore[arg-type]
        for note in notes:
            if isinstance(note, UserSpeechStarted) and note.interrupted_response_id:
                cancelled.add(note.interrupted_response_id)
            if isinstance(note, AudioChunk):
                assert note.response_id not in cancelled, "audio of a cancelled response was passed on"
            if isinstance(note, SendEvents):
                assert note.events and all(event.event_id for event in note.events)
        assert isinstance(conv.turn_phase, TurnPhase)
        assert conv.usage_total.total_tokens >= 0


tts_actions = st.sampled_from(["append", "commit", "clear", "finish", "lost"])


@given(st.lists(st.one_of(server_events, tts_actions), max_size=60))
@settings(max_examples=300, deadline=None)
def test_tts_machine_survives_any_order(sequence: list[Event | str]) -> None:
    session = TtsSession("qwen3-tts-flash-realtime")
    session.configure(TtsSessionConfig())
    finished = False
    for step in sequence:
        if step == "append":
            session.append_text("text")
        elif step == "commit":
            session.commit()
        elif step == "clear":
            session.clear()
        elif step == "finish":
            session.finish()
        elif step == "lost":
            session.connection_lost()
        else:
            notes = session.receive(step)  # type: ignore[arg-type]
            if finished:
                assert notes == []  # session.finished is terminal
        finished = finished or session.finished
    assert session.responses_finished >= 0
