"""The assistant's side of a voice session: reply audio to the speaker, barge-in, and what the user
heard of a reply that was cut off. Which responses are active or cancelled is the protocol machine's
to say (``OmniConversation``); this only acts on it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from qwenvoice.protocol import notifications as nt
from qwenvoice.session import status as st

if TYPE_CHECKING:
    from qwenvoice.session.voice import VoiceSession

log = logging.getLogger(__name__)

# Statuses of response.done that mean the reply did not come out whole (the server's own words).
UNFINISHED_STATUSES = ("incomplete", "failed")


class Replies:
    def __init__(self, session: VoiceSession) -> None:
        self._session = session
        self.response_active = False
        self.retry_create = False  # a response.create raced a cancel: ask again when that reply ends
        self._active_response: str | None = None
        self._received_ms: dict[str, float] = {}  # per response: ms of audio received (this conversation)
        self._dropped_here = 0  # late audio of a cut reply that reached the session

    @property
    def audio_produced(self) -> bool:
        """The live conversation has already spoken (a voice change then needs a new session)."""
        return bool(self._received_ms)

    @property
    def dropped_late_deltas(self) -> int:
        """Audio deltas of cut replies that were thrown away (by the state machine or here)."""
        machine = self._session.link.responses
        return self._dropped_here + (machine.dropped_deltas if machine is not None else 0)

    def cancelled(self, response_id: str) -> bool:
        machine = self._session.link.responses
        return machine is not None and machine.is_cancelled(response_id)

    def forget(self) -> None:
        self._received_ms.clear()

    def on_note(self, n: nt.ResponseStarted | nt.AudioChunk | nt.AudioDone | nt.ResponseFinished) -> None:
        s = self._session
        if isinstance(n, nt.ResponseStarted):
            self._active_response = n.response_id
            self._received_ms[n.response_id] = 0.0
            self._set_active(True)
            s.turn_changed(s.conversation.assistant_started(n.response_id))
        elif isinstance(n, nt.AudioChunk):
            if self.cancelled(n.response_id):
                self._dropped_here += 1
                return
            pcm = n.pcm[: len(n.pcm) // 2 * 2]  # a torn sample (odd byte count) is not playable
            if not pcm:
                return
            self._received_ms[n.response_id] = self._received_ms.get(n.response_id, 0.0) + len(pcm) / 48.0
            s.conversation.append_assistant_audio(pcm)
            s.audio.play(n.response_id, n.item_id, pcm)
            for tap in s.reply_taps:
                tap(n.response_id, pcm)
        elif isinstance(n, nt.AudioDone):
            if not self.cancelled(n.response_id):
                s.audio.end_of_response(n.response_id)
        else:
            self._finished(n)

    def _finished(self, n: nt.ResponseFinished) -> None:
        s = self._session
        rid = n.response_id
        s.metrics.usage.add(n.usage)
        if n.interrupted and not self.cancelled(rid):
            self.cut(rid)  # ended under us (connection lost, or the server cut it)
        elif not n.interrupted and n.status in UNFINISHED_STATUSES:
            self._server_ended(rid, n.status, n.status_reason)
        s.turn_changed(s.conversation.assistant_done(rid))
        if rid == self._active_response:
            self.end_response_state()
        machine = s.machine
        if self.retry_create and machine is not None and machine.active_response_id is None:
            self.retry_create = False
            s.link.send_all(machine.create_response())
        s.listener.metrics_updated()

    def _server_ended(self, rid: str, status: str, reason: str) -> None:
        """The server says the reply did not complete: the bubble and the saved turn say so too."""
        s = self._session
        s.turn_changed(s.conversation.assistant_status(rid, status, reason))
        why = f": {reason}" if reason else " (no reason given)"
        if status == "failed":
            s.say(st.ERROR, f"The reply failed{why}.")
        else:
            s.say(st.WARNING, f"The reply is incomplete{why}.")

    def _set_active(self, active: bool) -> None:
        if active != self.response_active:
            self.response_active = active
            self._session.listener.response_active_changed(active)

    def end_response_state(self) -> None:
        self._active_response = None
        self._set_active(False)

    def flush(self, cancel_response_id: str | None) -> float | None:
        return self._session.audio.flush(cancel_response_id)

    def user_started_speaking(self, interrupted_response_id: str | None) -> None:
        if interrupted_response_id is not None:
            self.cut(interrupted_response_id)  # the machine has sent (or will send) the cancel
        elif self._session.audio.playing():
            self.cut_playing_tail()

    def barge_in(self) -> None:
        """Stop playback at once, cancel the active response, mark where the user cut in."""
        s = self._session
        machine = s.machine
        rid = machine.active_response_id if machine is not None else None
        was_playing = s.audio.playing()
        events = machine.cancel() if machine is not None else []
        if rid is not None:
            self.cut(rid)
        elif was_playing:
            self.cut_playing_tail()
        else:
            self.flush(None)
        s.link.send_all(events)
        s.audio.barge_in()

    def cut(self, rid: str) -> None:
        """Response ``rid`` was interrupted: silence it, drop its late audio, keep what was heard."""
        s = self._session
        played_ms = self.flush(rid)
        machine = s.link.responses
        if machine is not None:
            machine.drop_response(rid)
        index = s.conversation.index_of_response(rid)
        if index is not None:
            s.conversation.mark_interrupted(rid)
            turn = s.conversation.turns[index]
            received = self._received_ms.get(rid, 0.0)
            if played_ms is not None and received > 0:
                # The text streams ahead of the audio: keep roughly the share that was heard.
                share = max(0.0, min(1.0, played_ms / received))
                turn.heard_chars = int(len(turn.text) * share)
            s.turn_changed(index)
        if rid == self._active_response:
            self.end_response_state()

    def cut_playing_tail(self) -> None:
        """The server had finished the reply but its audio was still playing: that reply was cut."""
        s = self._session
        self.flush(None)
        for index in range(len(s.conversation.turns) - 1, -1, -1):
            turn = s.conversation.turns[index]
            if turn.role == "assistant" and turn.response_id in self._received_ms:
                s.conversation.mark_interrupted(turn.response_id)
                s.turn_changed(index)
                break
