"""Microphone capture: device rate and channels in, 16 kHz mono int16 blocks out, on the event loop.

The PortAudio input callback copies the block and posts it to the loop with `call_soon_threadsafe`;
nothing else happens on that thread (overflows and dropped blocks are integers it increments).
On the loop each block is downmixed, resampled with a streaming resampler (state kept across blocks,
so no clicks at block edges), written to the level meter's ring, optionally filtered (echo
cancellation), gated (push-to-talk with pre-roll, or continuous for server VAD) and handed to the
subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qwenvoice.audio import backend
from qwenvoice.audio.backend import CallbackStatus, CallbackTime, PortAudioStream
from qwenvoice.audio.devices import DeviceInfo, Kind
from qwenvoice.audio.pcm import Float32Array, Int16Array, StreamResampler, downmix, float32_to_int16
from qwenvoice.audio.ring import LevelMeter, SampleRing
from qwenvoice.audio.stream import NoticeHandler, SupervisedStream

CAPTURE_RATE = 16000
LATENCY_HISTORY = 4096

BlockHandler = Callable[[Int16Array], None]
CaptureFilter = Callable[[Int16Array], Int16Array]


class PushToTalkGate:
    """Decides which captured audio is sent.

    `continuous` (server VAD): everything. Push-to-talk: only while held, and pressing first releases
    the last `preroll_ms` so the first syllable (often spoken a moment before the key goes down) is
    not lost.
    """

    def __init__(self, rate: int = CAPTURE_RATE, preroll_ms: float = 300.0, continuous: bool = True) -> None:
        self.rate = rate
        self.continuous = continuous
        self.held = False
        size = max(0, int(rate * preroll_ms / 1000))
        self._preroll = SampleRing(size, np.int16) if size else None
        self._preroll_from = 0  # what was kept since the last press

    @property
    def open(self) -> bool:
        return self.continuous or self.held

    def press(self) -> Int16Array:
        """Start sending; returns the pre-roll to send first."""
        if self.held:
            return np.zeros(0, dtype=np.int16)
        self.held = True
        if self._preroll is None:
            return np.zeros(0, dtype=np.int16)
        out: Int16Array
        out, self._preroll_from = self._preroll.since(self._preroll_from)
        return out

    def release(self) -> None:
        self.held = False

    def feed(self, block: Int16Array) -> Int16Array | None:
        """The block to send now, or None (then it is kept as pre-roll)."""
        if self.open:
            return block
        if self._preroll is not None:
            self._preroll.write(block)
        return None


@dataclass(slots=True, frozen=True)
class CaptureMetrics:
    device: str
    device_rate: int
    channels: int
    blocks: int
    overflows: int
    dropped_blocks: int
    capture_to_loop_ms_p50: float
    capture_to_loop_ms_p99: float
    rms_dbfs: float
    peak_dbfs: float
    sending: bool
    device_errors: int


class Capture(SupervisedStream):
    kind: Kind = "input"

    def __init__(
        self,
        wanted_device: str | None = None,
        *,
        block_ms: float = 20.0,
        latency: float | str = 0.02,
        quality: str = "LQ",
        max_pending_blocks: int = 50,
        on_notice: NoticeHandler | None = None,
        gate: PushToTalkGate | None = None,
    ) -> None:
        super().__init__(wanted_device, on_notice)
        self.block_ms = block_ms
        self.latency = latency
        self.quality = quality
        self.gate = gate or PushToTalkGate()
        self.meter = LevelMeter(CAPTURE_RATE, seconds=5.0)
        self.filter: CaptureFilter | None = None
        self._subscribers: list[BlockHandler] = []
        self._all_subscribers: list[BlockHandler] = []
        self._resampler: StreamResampler | None = None
        self._max_pending = max_pending_blocks
        # Written only by the PortAudio thread:
        self._posted = 0
        self.overflows = 0
        self.dropped_blocks = 0
        # Written only by the loop:
        self._handled = 0
        self._dropped_filled = 0  # dropped blocks already replaced by silence
        self._latencies = np.zeros(LATENCY_HISTORY, dtype=np.float64)
        self._latency_count = 0
        self._device_rate = 0
        self._channels = 0
        self.measure_callback_cost = False  # benchmarks only
        self.callback_seconds = np.zeros(LATENCY_HISTORY, dtype=np.float64)
        self.callback_cost_count = 0

    # ---------------------------------------------------------------- subscription
    def subscribe(self, handler: BlockHandler) -> Callable[[], None]:
        """Receive the audio to send (gated), 16 kHz mono int16, on the loop."""
        self._subscribers.append(handler)
        return lambda: self._subscribers.remove(handler) if handler in self._subscribers else None

    def subscribe_all(self, handler: BlockHandler) -> Callable[[], None]:
        """Receive every captured block (after the filter, before the gate)."""
        self._all_subscribers.append(handler)
        return lambda: self._all_subscribers.remove(handler) if handler in self._all_subscribers else None

    def press(self) -> None:
        """Push-to-talk key down: send the pre-roll now and everything until release()."""
        self._dispatch(self.gate.press())

    def release(self) -> None:
        self.gate.release()

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> DeviceInfo:
        self._loop = asyncio.get_running_loop()
        # Captured blocks reach the loop on their own; the watch only looks for a stalled device
        # (2.5 s), so it need not wake the loop every 20 ms like the player's.
        self.start_watching(interval=0.1)
        return await asyncio.to_thread(self.open)

    async def aclose(self) -> None:
        await self.stop_watching()
        await asyncio.to_thread(self.close)

    def _open_stream(self, device: DeviceInfo, samplerate: int) -> PortAudioStream:
        sd = backend.sounddevice()
        self._device_rate = samplerate
        self._channels = max(1, device.channels)
        self._resampler = StreamResampler(samplerate, CAPTURE_RATE, quality=self.quality)
        stream: PortAudioStream = sd.InputStream(
            device=device.portaudio_index,
            samplerate=samplerate,
            channels=self._channels,
            dtype="float32",
            blocksize=int(round(samplerate * self.block_ms / 1000)),
            latency=self.latency,
            callback=self._callback,
            finished_callback=self._finished_callback,
        )
        return stream

    # ---------------------------------------------------------------- PortAudio thread
    def _callback(self, indata: Float32Array, frames: int, time_info: CallbackTime, status: CallbackStatus) -> None:
        started = time.perf_counter() if self.measure_callback_cost else 0.0
        self._callbacks += 1
        if status and status.input_overflow:
            self.overflows += 1
        loop = self._loop
        # A closed loop's Qt objects may already be gone (qasync posts through a signal): never post.
        if loop is None or loop.is_closed() or self._posted - self._handled >= self._max_pending:
            self.dropped_blocks += 1  # the loop is stalled: drop rather than queue without bound
            return
        try:
            loop.call_soon_threadsafe(self._on_block, indata.copy(), time.monotonic())
        except RuntimeError:  # loop closed
            self.dropped_blocks += 1
            return
        self._posted += 1
        if started:
            self.callback_seconds[self.callback_cost_count % LATENCY_HISTORY] = time.perf_counter() - started
            self.callback_cost_count += 1

    # ---------------------------------------------------------------- loop
    def _on_block(self, block: Float32Array, posted_at: float) -> None:
        self._handled += 1
        self._latencies[self._latency_count % LATENCY_HISTORY] = (time.monotonic() - posted_at) * 1000.0
        self._latency_count += 1
        if self._resampler is None:
            return
        dropped = self.dropped_blocks - self._dropped_filled
        if dropped > 0:
            # Blocks dropped while the loop was stalled become silence of the same length, so the
            # stream keeps its clock: the echo canceller's reference stays aligned with it, and the
            # server's audio positions (audio_start_ms) stay true.
            self._dropped_filled += dropped
            self.process_block(np.zeros((dropped * block.shape[0],) + block.shape[1:], dtype=block.dtype))
        self.process_block(block)

    def process_block(self, block: Float32Array) -> None:
        """Device-rate float32 frames (x channels) -> 16 kHz mono int16 to the subscribers."""
        assert self._resampler is not None
        mono = self._resampler.process(downmix(block))
        if mono.shape[0] == 0:
            return
        self.meter.feed(mono)
        pcm = float32_to_int16(mono)
        if self.filter is not None:
            pcm = self.filter(pcm)
            if pcm.shape[0] == 0:
                return
        for handler in list(self._all_subscribers):
            handler(pcm)
        send = self.gate.feed(pcm)
        if send is not None:
            self._dispatch(send)

    def _dispatch(self, pcm: Int16Array) -> None:
        if pcm.shape[0] == 0:
            return
        for handler in list(self._subscribers):
            handler(pcm)

    def metrics(self) -> CaptureMetrics:
        count = min(self._latency_count, LATENCY_HISTORY)
        lat = self._latencies[:count]
        p50 = float(np.percentile(lat, 50)) if count else 0.0
        p99 = float(np.percentile(lat, 99)) if count else 0.0
        return CaptureMetrics(
            device=self.device.identity if self.device else "",
            device_rate=self._device_rate,
            channels=self._channels,
            blocks=self._handled,
            overflows=self.overflows,
            dropped_blocks=self.dropped_blocks,
            capture_to_loop_ms_p50=p50,
            capture_to_loop_ms_p99=p99,
            rms_dbfs=self.meter.levels.rms_dbfs,
            peak_dbfs=self.meter.levels.peak_dbfs,
            sending=self.gate.open,
            device_errors=self.device_errors,
        )

    def callback_costs_ms(self) -> list[float]:
        count = min(self.callback_cost_count, LATENCY_HISTORY)
        return [float(x) * 1000.0 for x in self.callback_seconds[:count]]

    def latency_samples_ms(self) -> list[float]:
        count = min(self._latency_count, LATENCY_HISTORY)
        return [float(x) for x in self._latencies[:count]]

    def close(self) -> None:
        super().close()
        with contextlib.suppress(Exception):
            if self._resampler is not None:
                self._resampler.reset()
