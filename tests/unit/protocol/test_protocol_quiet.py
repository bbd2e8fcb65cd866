"""QuietTracker: when a session may be handed over. ``quiet`` (nothing for ``quiet_for`` seconds) and the
weaker ``between_turns`` (a reply just finished and nothing has followed it yet)."""

from __future__ import annotations

import numpy as np

from qwenvoice.protocol.events import (
    ConversationItemCreate,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    ResponseCreate,
    ResponseCreated,
    ResponseDone,
    ResponseTextDelta,
    SessionUpdate,
    SpeechStarted,
    SpeechStopped,
)
from qwenvoice.protocol.quiet import QuietTracker

VOICED = (np.sin(np.arange(320) / 3.0) * 8000).astype(np.int16).tobytes()
SILENT = bytes(640)


def _turn(q: QuietTracker, t: float, rid: str = "r1") -> float:
    """A typed turn answered at once: request at t, reply events, done at t + 1. Returns the done time."""
    q.sent(ConversationItemCreate(item={"type": "message", "role": "user"}), t)
    q.sent(ResponseCreate(), t)
    q.received(ResponseCreated(response={"id": rid}), t + 0.1)
    q.received(ResponseTextDelta(response_id=rid, item_id="i", output_index=0, content_index=0, delta="hi"), t + 0.5)
    q.received(ResponseDone(response={"id": rid, "status": "completed"}), t + 1.0)
    return t + 1.0


def _vad_tracker() -> QuietTracker:
    q = QuietTracker()
    q.sent(SessionUpdate(session={"turn_detection": {"type": "server_vad"}}), 0.0)
    return q


def test_nothing_finished_yet_is_not_between_turns():
    q = _vad_tracker()
    assert not q.between_turns(10.0)
    assert q.quiet(10.0, 2.0)  # but a long silence is quiet


def test_right_after_a_reply_finished_it_is_between_turns_though_not_quiet():
    q = _vad_tracker()
    done = _turn(q, 5.0)
    assert not q.quiet(done + 0.05, 2.0)
    assert q.between_turns(done)
    assert q.between_turns(done + 0.05)


def test_a_running_reply_is_not_between_turns():
    q = _vad_tracker()
    _turn(q, 5.0)
    q.sent(ResponseCreate(), 7.0)
    assert not q.between_turns(7.0)  # asked for, not yet created
    q.received(ResponseCreated(response={"id": "r2"}), 7.1)
    assert not q.between_turns(7.2)
    q.received(ResponseDone(response={"id": "r2", "status": "completed"}), 8.0)
    assert q.between_turns(8.0)


def test_a_request_sent_after_the_reply_ended_is_the_next_turn_starting():
    q = _vad_tracker()
    done = _turn(q, 5.0)
    q.sent(ConversationItemCreate(item={"type": "message", "role": "user"}), done + 0.01)
    assert not q.between_turns(done + 0.02)


def test_the_user_speaking_or_voice_just_sent_is_not_between_turns():
    q = _vad_tracker()
    done = _turn(q, 5.0)
    q.sent(InputAudioBufferAppend(audio=SILENT), done + 0.1)
    assert q.between_turns(done + 0.1)  # silence from the microphone changes nothing
    q.sent(InputAudioBufferAppend(audio=VOICED), done + 0.2)
    assert not q.between_turns(done + 0.2)  # the server may not have said speech_started yet

    q = _vad_tracker()
    done = _turn(q, 5.0)
    q.received(SpeechStarted(audio_start_ms=0, item_id="u2"), done + 0.3)
    assert not q.between_turns(done + 0.3)
    q.received(SpeechStopped(audio_end_ms=900, item_id="u2"), done + 1.0)
    q.received(InputAudioBufferCommitted(item_id="u2"), done + 1.0)
    assert not q.between_turns(done + 1.1)  # its reply is expected next


def test_a_manual_turn_half_recorded_is_not_between_turns():
    q = QuietTracker()
    q.sent(SessionUpdate(session={"turn_detection": None}), 0.0)
    done = _turn(q, 5.0)
    assert q.between_turns(done)
    q.sent(InputAudioBufferAppend(audio=SILENT), done + 0.1)
    assert not q.between_turns(done + 0.2)
    q.sent(InputAudioBufferCommit(), done + 0.5)
    assert not q.between_turns(done + 0.6)  # committed: its reply comes next


def test_a_new_connection_starts_with_no_finished_reply():
    q = _vad_tracker()
    done = _turn(q, 5.0)
    assert q.between_turns(done)
    q.new_connection()
    assert not q.between_turns(done + 0.1)
