"""Turn-taking: hands-free (the server's voice activity detection ends a turn) or push-to-talk (the
user holds a key or button while speaking). The turn mode is a setting; this class applies it to the
capture gate and the server session, and runs the push-to-talk key."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from qwenvoice.session import status as st
from qwenvoice.session.conversation import USER_RATE

if TYPE_CHECKING:
    from qwenvoice.session.voice import VoiceSession

# Push-to-talk keeps sending this long after the key comes up (capture block + device latency + loop).
PTT_RELEASE_TAIL_S = 0.08
TURN_MODES = ("vad", "ptt")


class TurnTaking:
    def __init__(self, session: VoiceSession) -> None:
        self._session = session
        self.talking = False
        self._tail: asyncio.TimerHandle | None = None  # push-to-talk: the release tail still sending
        self._samples = 0  # sent during this push-to-talk turn

    @property
    def mode(self) -> str:
        """The turn mode: the settings' ``ui.turn_mode`` (this run's ``--mode`` is put there, unsaved)."""
        return self._session.settings.ui.turn_mode

    def sending(self) -> bool:
        """Whether captured audio goes to the server now (the release tail still sends)."""
        return self.mode != "ptt" or self.talking or self._tail is not None

    def count_sent(self, samples: int) -> None:
        if self.talking or self._tail is not None:
            self._samples += samples

    def set_mode(self, mode: str) -> None:
        """Switch the turn mode (toolbar, key): the settings take it and save it."""
        s = self._session
        if mode not in TURN_MODES:
            return
        changed = mode != self.mode
        s.settings.ui.turn_mode = mode
        if changed:
            s.save_settings()
        self.follow_settings(changed)

    def follow_settings(self, changed: bool) -> None:
        """Apply the settings' turn mode to the microphone gate and, when it changed, the server session."""
        s = self._session
        if (self.talking or self._tail is not None) and self.mode == "vad":
            self.cancel_tail()
            s.audio.release()
            self._set_talking(False)
        s.audio.set_gate(self.mode == "vad")
        if changed:
            s.send_session_update()  # live: turn detection on or off
        s.listener.mode_changed(self.mode)

    def _set_talking(self, talking: bool) -> None:
        if talking != self.talking:
            self.talking = talking
            self._session.listener.talking_changed(talking)

    def press(self) -> None:
        """Talk button / key pressed: cut any reply; in push-to-talk, start sending the microphone."""
        s = self._session
        if s.replies.response_active or s.audio.playing():
            s.replies.barge_in()
        if self.mode != "ptt":
            return
        if not s.ready:
            s.say(st.WARNING, "Not connected yet: wait for “ready” in the status bar.")
            return
        if self.cancel_tail():
            # Down again within the release tail: the same turn goes on (a bounce, or a pause to think).
            self._set_talking(True)
            return
        self._samples = 0
        if s.machine is not None:
            s.link.send_all(s.machine.clear_audio())
        self._set_talking(True)
        s.audio.press()  # sends the pre-roll (the first syllable) right away

    def release(self) -> None:
        """Talk released: commit the turn and ask for a reply (push-to-talk).

        The microphone stays open for a short tail: people let go as the last word ends, and that
        word is still on its way from the device (block, device latency, the loop) when the key rises.
        """
        s = self._session
        if not self.talking:
            return
        self._set_talking(False)
        s.metrics.speech_ended(time.monotonic())
        if s.audio.engine is None or s.machine is None:
            self._finish()
            return
        self.cancel_tail()
        self._tail = asyncio.get_running_loop().call_later(PTT_RELEASE_TAIL_S, self._finish)

    def cancel_tail(self) -> bool:
        """Drop a pending release tail (its turn is not committed); True when there was one."""
        if self._tail is None:
            return False
        self._tail.cancel()
        self._tail = None
        return True

    def _finish(self) -> None:
        s = self._session
        self._tail = None
        s.audio.release()
        machine = s.machine
        if machine is None:
            return
        if self._samples < USER_RATE // 10:
            s.say(st.INFO, "That was too short to send: hold the button (or Space) while you speak.")
            s.link.send_all(machine.clear_audio())
            return
        # The machine sends response.create once the server has the committed item (see protocol.omni).
        s.link.send_all(machine.commit_turn())

    def abandon(self) -> None:
        """Stop / Esc while talking: the turn is dropped, not sent."""
        s = self._session
        if self.talking or self.cancel_tail():
            s.audio.release()
            self._set_talking(False)
            if s.machine is not None:
                s.link.send_all(s.machine.clear_audio())

