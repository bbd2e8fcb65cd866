"""When a realtime session may be replaced without losing anything ("quiet"), decided from the events
that went each way. Sans-I/O: the transport reports what it sent and received with the loop time, and
asks ``quiet(now)`` before it hands a renewal over; no clock, socket or task in here.

Quiet means: no reply running (a reply silent for 15 s counts as ended, cancelled replies may never
report their end), the user not speaking (the server says so, or the microphone was loud a moment ago
in server-VAD mode, before the server's ``speech_started`` arrives), no manual turn half recorded,
no reply expected for a turn the server just committed, and no request in the last ``quiet_for`` s.

A busy conversation may never be quiet that long, so there is a weaker moment too, ``between_turns``:
a reply has just finished (``response.done``) and nothing has followed it yet: no reply running or
asked for, no request and no voice sent since, the user not speaking, no manual turn half recorded.
Nothing is in flight then either; it only comes without a pause to confirm it.
"""

from __future__ import annotations

import numpy as np

from qwenvoice.protocol.events import (
    ClientEvent,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCleared,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    InputImageBufferAppend,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    SessionUpdate,
    SpeechStarted,
    SpeechStopped,
)

# pcm16 louder than this (RMS, about -40 dBFS) counts as the user possibly speaking (renewal waits).
VOICED_RMS = 320.0
# After server VAD commits a turn, its reply is awaited this long before a renewal may go ahead.
REPLY_EXPECTED_S = 5.0
# A reply with no event for this long is taken as ended.
REPLY_SILENT_S = 15.0


def sounds_voiced(pcm16: bytes) -> bool:
    """Whether a chunk of mono pcm16 is loud enough to be speech (a cheap level check)."""
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype=np.int16)
    if samples.size == 0:
        return False
    return float(np.mean(np.square(samples, dtype=np.float64))) > VOICED_RMS**2


class QuietTracker:
    def __init__(self) -> None:
        self.active_responses: set[str] = set()
        self.user_speaking = False
        self.manual_turns = False
        self.replies_done = 0  # replies finished on the current connection
        self._last_done: float | None = None  # when the last reply finished (this connection)
        self._last_reply_event = 0.0
        self._last_request_sent = 0.0
        self.last_sent = 0.0  # when anything at all was last sent (the service's idle timer counts from it)
        self._last_voice_sent = float("-inf")
        self._reply_expected_since: float | None = None  # server VAD committed a turn; no reply yet
        self._uncommitted_audio = False

    def new_connection(self) -> None:
        """A new server session: nothing of the old one is running there."""
        self.active_responses.clear()
        self.user_speaking = False
        self._uncommitted_audio = False
        self._reply_expected_since = None
        self.replies_done = 0
        self._last_done = None

    def sent(self, event: ClientEvent, now: float) -> None:
        """Track what makes a moment unsafe: a request just sent, audio of a manual turn not committed."""
        self.last_sent = now
        if isinstance(event, InputAudioBufferAppend | InputImageBufferAppend):
            if self.manual_turns:
                self._uncommitted_audio = True
            elif isinstance(event, InputAudioBufferAppend) and sounds_voiced(event.audio):
                # Server VAD: the user may be speaking though the server has not said so yet (its
                # speech_started comes a few hundred ms in); a renewal now would lose those words.
                self._last_voice_sent = now
            return
        self._last_request_sent = now
        if isinstance(event, SessionUpdate):
            session = event.session
            self.manual_turns = "turn_detection" in session and session["turn_detection"] is None
        elif isinstance(event, InputAudioBufferCommit | InputAudioBufferClear):
            self._uncommitted_audio = False

    def received(self, event: ServerEvent, now: float) -> None:
        if isinstance(event, SpeechStarted):
            self.user_speaking = True
        elif isinstance(event, SpeechStopped | InputAudioBufferCommitted | InputAudioBufferCleared):
            self.user_speaking = False
            if isinstance(event, InputAudioBufferCommitted) and not self.manual_turns:
                self._reply_expected_since = now  # the server creates the reply by itself, a moment later
        elif event.TYPE.startswith("response."):
            self._last_reply_event = now
            if isinstance(event, ResponseCreated):
                self.active_responses.add(event.response_id)
                self._reply_expected_since = None
            elif isinstance(event, ResponseDone):
                self.active_responses.discard(event.response_id)
                self.replies_done += 1
                self._last_done = now

    def quiet(self, now: float, quiet_for: float) -> bool:
        if now - self._last_request_sent < quiet_for or now - self._last_reply_event < quiet_for:
            return False
        if now - self._last_voice_sent < quiet_for:
            return False
        if self._reply_expected_since is not None and now - self._reply_expected_since < REPLY_EXPECTED_S:
            return False
        if self.active_responses and now - self._last_reply_event < REPLY_SILENT_S:
            return False
        return not (self.user_speaking or self._uncommitted_audio)

    def between_turns(self, now: float) -> bool:
        """The moment between two turns: the last reply just finished and nothing has followed it (see
        the module docstring). Weaker than ``quiet``: it confirms no pause, so a renewal takes it only
        when no quiet moment came in time."""
        done = self._last_done
        if done is None or now < done:
            return False
        if self.active_responses or self._last_reply_event > done:
            return False  # another reply started (or still streams) after that one finished
        if self._last_request_sent >= done or self._last_voice_sent >= done:
            return False  # the next turn has begun: a request, or the user's voice
        if self._reply_expected_since is not None:
            return False
        return not (self.user_speaking or self._uncommitted_audio)
