"""The sound side of a voice session: the audio engine, echo handling, and the two waveform lanes.

Captured blocks come in (``on_captured`` gets every block for the session to gate and send); reply
audio goes out through the jitter-buffered player, and what the speaker actually played feeds the
assistant lane. Without sound devices everything still works: reply audio is drawn on the assistant
lane and the session is driven through ``VoiceSession.feed_mic``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from qwenvoice.session import status as st
from qwenvoice.session.conversation import ASSISTANT_RATE, USER_RATE
from qwenvoice.session.waveform_data import TimelineRing
from qwenvoice.settings.schema import AudioSettings
from qwenvoice.settings.services import DeviceInfo, EchoState, EchoTestReport

if TYPE_CHECKING:
    from qwenvoice.audio.engine import AudioEngine
    from qwenvoice.audio.jitter import PlaybackEvent as ItemStarted
    from qwenvoice.audio.stream import AudioNotice
    from qwenvoice.session.echo_control import EchoControl

log = logging.getLogger(__name__)

Say = Callable[[str, str, str], None]
Block = npt.NDArray[np.int16]


class AudioLink:
    def __init__(self, say: Say, on_captured: Callable[[Block], None],
                 on_first_sample: Callable[[float], None]) -> None:
        self._say = say
        self._on_captured = on_captured
        self._on_first_sample = on_first_sample
        self.engine: AudioEngine | None = None
        self.echo: EchoControl | None = None
        # Both lanes at 16 kHz: the assistant lane is fed what the speaker actually played.
        self.mic_ring = TimelineRing(USER_RATE, capacity_s=40)
        self.assistant_ring = TimelineRing(USER_RATE, capacity_s=40)
        self.mic_blocks = 0
        self.volume = 1.0
        self.untimed_responses: set[str] = set()  # played, but not a conversation turn (studio, test tone)
        self.continuous = True  # the capture gate: always open (hands-free) or held (push-to-talk)
        self._flushed_at = 0.0
        self._echo_testing = False
        self.closing = False

    # ----- streams

    async def start(self, audio: AudioSettings) -> None:
        try:
            from qwenvoice.audio.engine import AudioEngine
        except Exception as exc:  # no PortAudio at all: text still works
            self._say(st.ERROR, f"Audio is not available: {exc}. Typing still works.", st.ACTION_AUDIO_SETTINGS)
            return
        from qwenvoice.session.echo_control import EchoControl

        engine = AudioEngine(audio.input_device, audio.output_device, on_notice=self._on_audio_notice)
        engine.capture.gate.continuous = self.continuous
        engine.capture.subscribe_all(self._mic_block)
        engine.capture.subscribe(self._on_captured)
        engine.player.subscribe_played(self.assistant_ring.write)
        engine.player.on_item_started.append(self._on_item_started)
        engine.player.volume = self.volume
        self.engine = engine
        self.echo = EchoControl(audio, on_notice=lambda text: self._say(st.WARNING, text, st.ACTION_AUDIO_SETTINGS))
        self.echo.attach(engine)
        playing = await engine.start_playback()
        capturing = await engine.start_capture()
        if not (playing or capturing):
            self._say(st.ERROR, "No sound devices could be opened. Check them in Settings → Audio; typing "
                      "still works.", st.ACTION_AUDIO_SETTINGS)

    async def stop(self) -> None:
        engine, self.engine = self.engine, None
        echo, self.echo = self.echo, None
        if echo is not None:
            echo.close()
        if engine is not None:
            try:
                await engine.aclose()
            except Exception:
                log.exception("stopping audio failed")

    async def restart(self, audio: AudioSettings) -> None:
        await self.stop()
        await self.start(audio)

    def configure(self, old: AudioSettings, new: AudioSettings) -> bool:
        """Live settings: echo handling now; True when the devices changed (the caller restarts)."""
        if self.echo is not None:
            self.echo.configure(new)  # live: the streams keep running
        self.set_volume(new.output_volume / 100.0)
        return self.engine is not None and (
            old.input_device != new.input_device or old.output_device != new.output_device)

    def set_gate(self, continuous: bool) -> None:
        self.continuous = continuous
        if self.engine is not None:
            self.engine.capture.gate.continuous = continuous

    def press(self) -> None:
        if self.engine is not None:
            self.engine.capture.press()  # sends the pre-roll (the first syllable) right away

    def release(self) -> None:
        if self.engine is not None:
            self.engine.capture.release()

    def _on_audio_notice(self, notice: AudioNotice) -> None:
        level = st.ERROR if notice.error else st.INFO
        where = "Microphone" if notice.kind == "input" else "Speaker"
        action = st.ACTION_AUDIO_SETTINGS if notice.error else st.ACTION_NONE
        self._say(level, f"{where}: {notice.message}", action)

    def _mic_block(self, pcm: Block) -> None:
        """Every captured block (int16, 16 kHz mono): the waveform and the level meter."""
        self.mic_blocks += 1
        self.mic_ring.write(pcm)

    def feed(self, pcm: Block) -> None:
        """A captured block from elsewhere than the engine (runs without sound devices)."""
        self._mic_block(pcm)

    def _on_item_started(self, event: ItemStarted) -> None:
        if event.response_id not in self.untimed_responses:
            self._on_first_sample(event.at)

    # ----- output

    def set_volume(self, volume: float) -> None:
        self.volume = max(0.0, min(1.0, volume))
        if self.engine is not None:
            self.engine.player.volume = self.volume

    def mic_level_dbfs(self) -> float:
        return self.mic_ring.level_dbfs(0.05)

    def playback_status(self, dropped_elsewhere: int) -> st.PlaybackStatus:
        if self.engine is None:
            return st.PlaybackStatus(volume=self.volume, dropped_deltas=dropped_elsewhere)
        m = self.engine.player.metrics()
        state = m.state
        if state == "idle" and self._flushed_at > time.monotonic() - 1.5:
            state = st.FLUSHED
        return st.PlaybackStatus(
            state=state, depth_ms=m.buffered_ms, target_ms=m.target_ms, underruns=m.underruns,
            volume=self.volume, played_ms=m.played_ms_total,
            dropped_deltas=dropped_elsewhere + m.dropped_stale_chunks,
        )

    def play(self, response_id: str, item_id: str, pcm: bytes, rate: int = ASSISTANT_RATE) -> None:
        if self.engine is None or self.engine.player.buffer is None:
            # No speaker: still show the reply on the assistant lane (16 kHz, nearest sample).
            samples = np.frombuffer(pcm, dtype=np.int16)
            step = rate / USER_RATE
            self.assistant_ring.write(samples[(np.arange(int(len(samples) / step)) * step).astype(np.int64)])
            return
        player = self.engine.player
        if player.source_rate != rate:
            player.source_rate = rate
        player.push(pcm, response_id, item_id or response_id)

    def end_of_response(self, response_id: str) -> None:
        if self.engine is not None:
            self.engine.player.end_of_response(response_id)

    def flush(self, cancel_response_id: str | None) -> float | None:
        """Silence the speaker now; returns ms of the cut response that were played (if known)."""
        self.assistant_ring.clear_ahead()
        self._flushed_at = time.monotonic()
        if self.engine is None:
            return None
        report = self.engine.player.flush(cancel_response_id)
        return float(report.played_ms) if report.response_id == cancel_response_id else None

    def playing(self) -> bool:
        if self.engine is None or self.engine.player.buffer is None:
            return self.assistant_ring.head > self.assistant_ring.position_now()
        return not self.engine.player.is_idle()

    def barge_in(self) -> None:
        if self.echo is not None:
            self.echo.barge_in()  # half duplex: the user's button/key opens the mic at once

    def play_test_tone(self, volume_percent: int) -> None:
        """Half a second of 440 Hz at the chosen volume through the player (the current output)."""
        t = np.arange(int(0.5 * ASSISTANT_RATE)) / ASSISTANT_RATE
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        tone = (np.sin(2 * np.pi * 440.0 * t) * fade * 0.4 * max(0, min(100, volume_percent)) / 100 * 32767)
        rid = f"test-tone-{time.monotonic_ns()}"
        self.untimed_responses.add(rid)  # not a conversation turn: no latency sample
        self.play(rid, rid, tone.astype(np.int16).tobytes())
        self.end_of_response(rid)

    # ----- devices and echo

    def echo_state(self) -> EchoState | None:
        """The capture path's echo handling now (None while no audio runs)."""
        return self.echo.state() if self.echo is not None else None

    async def run_echo_self_test(self, audio: AudioSettings, input_device: str | None,
                                 output_device: str | None) -> EchoTestReport:
        """Pause the streams, play a probe and measure the echo, reopen them."""
        from qwenvoice.session.echo_control import run_self_test

        if self._echo_testing:
            return EchoTestReport(ok=False, summary="The echo self-test is already running.")
        backend = self.echo.backend if self.echo is not None else "auto"
        self._echo_testing = True
        engine = self.engine
        try:
            if engine is not None:  # pause the streams: the probe must not reach the conversation
                self.flush(None)
                await asyncio.gather(engine.capture.aclose(), engine.player.aclose())
            return await run_self_test(input_device, output_device, backend=backend)
        finally:
            self._echo_testing = False
            if engine is not None and engine is self.engine and not self.closing:
                await engine.start_playback()
                await engine.start_capture()
                if self.echo is not None:
                    self.echo.restart()  # new streams: the played and captured counters start again

    @staticmethod
    def device_lists() -> tuple[list[DeviceInfo], list[DeviceInfo]]:
        from qwenvoice.audio.devices import safe_list_devices

        devices, _error = safe_list_devices()
        inputs = [DeviceInfo(d.identity, d.is_default) for d in devices if d.kind == "input"]
        outputs = [DeviceInfo(d.identity, d.is_default) for d in devices if d.kind == "output"]
        return inputs, outputs
