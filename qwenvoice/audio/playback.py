"""Reply playback: 24 kHz pcm16 chunks in, the device's rate out, through the jitter buffer.

The output callback renders one block from the jitter buffer, writes it to every channel and into a
small ring of what was played; it counts device underflows and touches nothing else. The loop side
resamples pushed chunks (one streaming resampler per response, flushed at its end so the last words
are not cut), polls the buffer for "first sample played" / "item finished" events, and turns the
played ring into a 16 kHz mono signal for the waveform and echo cancellation.

The start depth counts the audio the resampler still holds back (received, coming with the next chunk),
so a reply can start on its first 80 ms delta - but only after a reply that arrived well ahead of real
time: at real time the next 80 ms delta comes 80 ms later, and a buffer started on one delta would run
dry just before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from qwenvoice.audio import backend
from qwenvoice.audio.backend import CallbackStatus, CallbackTime, PortAudioStream
from qwenvoice.audio.devices import DeviceInfo, Kind
from qwenvoice.audio.jitter import FlushReport, JitterBuffer, PlaybackEvent, PlaybackMetrics
from qwenvoice.audio.pcm import Float32Array, Int16Array, StreamResampler, as_float32_mono, float32_to_int16
from qwenvoice.audio.ring import LevelMeter, SampleRing
from qwenvoice.audio.stream import NoticeHandler, SupervisedStream

REPLY_RATE = 24000
PLAYED_RATE = 16000
PLAYED_HISTORY_S = 5  # what the loop may fall behind before played audio is lost (then replaced by silence)
DEFAULT_OUTPUT_LATENCY = 0.04  # measured safe on PulseAudio; 'low' underruns badly
FAST_DELIVERY_RTF = 1.5  # a reply delivered this much faster than real time lets the next start early

EventHandler = Callable[[PlaybackEvent], None]
PlayedHandler = Callable[[Int16Array], None]
AudioInput = bytes | bytearray | memoryview | npt.NDArray[np.generic]


class Player(SupervisedStream):
    kind: Kind = "output"

    def __init__(
        self,
        wanted_device: str | None = None,
        *,
        source_rate: int = REPLY_RATE,
        latency: float | str = DEFAULT_OUTPUT_LATENCY,
        block_ms: float = 10.0,
        target_ms: float = 80.0,
        quality: str = "HQ",
        on_notice: NoticeHandler | None = None,
    ) -> None:
        super().__init__(wanted_device, on_notice)
        self.source_rate = source_rate
        self.latency = latency
        self.block_ms = block_ms
        self.target_ms = target_ms
        self.quality = quality
        self.buffer: JitterBuffer | None = None
        self.played_meter = LevelMeter(PLAYED_RATE, seconds=5.0)
        self.on_item_started: list[EventHandler] = []
        self.on_item_finished: list[EventHandler] = []
        self._played_subscribers: list[PlayedHandler] = []
        self._resampler: StreamResampler | None = None
        self._resampling_for: str | None = None
        self._resampling_item = ""
        self._resampler_in = 0  # source frames fed to the current response's resampler
        self._resampler_out = 0  # device frames it has given back
        self._reply_started_at = 0.0  # first push of the response being resampled
        self.fast_delivery = False  # the last reply came well ahead of real time
        # device-rate copy of every block sent to the device; the callback writes, the loop reads
        self._played_ring: SampleRing[np.float32] | None = None
        self._played_pos = 0
        self.played_lost_samples = 0  # device-rate samples the loop read too late (replaced by silence)
        self._played_resampler: StreamResampler | None = None
        self._scratch = np.zeros(0, dtype=np.float32)
        self._volume = 1.0
        self.device_underflows = 0  # PortAudio thread
        self._dac_delay = 0.0  # PortAudio thread: seconds from this block's callback to the DAC
        self.callback_seconds = np.zeros(8192, dtype=np.float64)  # callback cost history, for benchmarks
        self.callback_cost_count = 0
        self.measure_callback_cost = False
        self.stream_latency_s = 0.0
        self._idle_waiters: list[asyncio.Future[None]] = []

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> DeviceInfo:
        self._loop = asyncio.get_running_loop()
        # 20 ms, though each tick wakes the Qt loop (about 1 % of a core per 25 wakeups a second under
        # qasync): with a 40 ms tick the speakers end-to-end test heard its own echo under CPU load
        # (2 of 2 runs; 2 of 2 passed at 20 ms).
        self.start_watching(interval=0.02)
        return await asyncio.to_thread(self.open)

    async def aclose(self) -> None:
        await self.stop_watching()
        await asyncio.to_thread(self.close)

    def _preferred_rate(self, device: DeviceInfo) -> int:
        # keep the jitter buffer's rate across device changes; PulseAudio converts if needed
        return self.buffer.rate if self.buffer is not None else device.samplerate

    def _open_stream(self, device: DeviceInfo, samplerate: int) -> PortAudioStream:
        sd = backend.sounddevice()
        if self.buffer is None or self.buffer.rate != samplerate:
            self.buffer = JitterBuffer(samplerate, target_ms=self.target_ms)
            self.buffer.volume = self._volume
            self._played_ring = SampleRing(samplerate * PLAYED_HISTORY_S, np.float32)
            self._played_pos = 0
            self._played_resampler = StreamResampler(samplerate, PLAYED_RATE, quality="LQ")
            self._resampler = None
            self._resampling_for = None
        block = int(round(samplerate * self.block_ms / 1000))
        self._scratch = np.zeros(block * 4, dtype=np.float32)
        stream: PortAudioStream = sd.OutputStream(
            device=device.portaudio_index,
            samplerate=samplerate,
            channels=max(1, device.channels),
            dtype="float32",
            blocksize=block,
            latency=self.latency,
            callback=self._callback,
            finished_callback=self._finished_callback,
        )
        self.stream_latency_s = float(stream.latency)
        return stream

    # ---------------------------------------------------------------- PortAudio thread
    def _callback(
        self, outdata: Float32Array, frames: int, time_info: CallbackTime, status: CallbackStatus
    ) -> None:
        started = time.perf_counter() if self.measure_callback_cost else 0.0
        self._callbacks += 1
        if status and status.output_underflow:
            self.device_underflows += 1
        buffer = self.buffer
        if buffer is None or frames > self._scratch.shape[0]:
            outdata.fill(0)
            return
        self._dac_delay = time_info.outputBufferDacTime - time_info.currentTime
        mono = self._scratch[:frames]
        buffer.render(mono, time.monotonic())
        outdata[:] = mono[:, None]
        ring = self._played_ring
        if ring is not None:
            ring.write(mono)
        if started:
            slot = self.callback_cost_count % self.callback_seconds.shape[0]
            self.callback_seconds[slot] = time.perf_counter() - started
            self.callback_cost_count += 1

    # ---------------------------------------------------------------- loop API
    def push(self, audio: AudioInput, response_id: str, item_id: str) -> bool:
        """Queue reply audio (pcm16 bytes at `source_rate`, or an array). False if it was dropped
        (its response was flushed, or there is no output device)."""
        buffer = self.buffer
        if buffer is None:
            return False
        if buffer.is_cancelled(response_id):
            buffer.dropped_stale_chunks += 1
            return False
        now = time.monotonic()
        if self._resampling_for != response_id:
            self._finish_resampler()
            self._resampler = StreamResampler(self.source_rate, buffer.rate, quality=self.quality)
            self._resampling_for = response_id
            self._resampling_item = item_id
            self._resampler_in = self._resampler_out = 0
            self._reply_started_at = now
        assert self._resampler is not None
        self._resampling_item = item_id
        source = as_float32_mono(audio)
        samples = self._resampler.process(source)
        self._resampler_in += int(source.shape[0])
        self._resampler_out += int(samples.shape[0])
        # the filter delay still inside the resampler has been received: it counts toward the start depth
        held = self._resampler_in * buffer.rate // self.source_rate - self._resampler_out
        return buffer.push(samples, response_id, item_id, now, self.source_rate,
                           held=held if self.fast_delivery else 0)

    def _finish_resampler(self) -> None:
        if self._resampler is not None and self._resampling_for is not None and self.buffer is not None:
            tail = self._resampler.finish()
            if tail.shape[0]:
                self.buffer.push(tail, self._resampling_for, self._resampling_item, time.monotonic(),
                                 self.source_rate)
        self._resampler = None
        self._resampling_for = None

    def end_of_response(self, response_id: str) -> None:
        """All of this response's audio has been pushed: play to its last sample, start now if waiting."""
        if self.buffer is None:
            return
        if self._resampling_for == response_id:
            audio_s = self._resampler_in / self.source_rate
            wall_s = max(time.monotonic() - self._reply_started_at, 1e-3)
            self.fast_delivery = audio_s / wall_s >= FAST_DELIVERY_RTF
            self._finish_resampler()
        self.buffer.end_of_response(response_id)

    def flush(self, cancel_response_id: str | None = None) -> FlushReport:
        """Barge-in: silent from the next block; report how much of which item the user heard."""
        if self.buffer is None:
            return FlushReport(None, None, 0, 0.0, 0.0)
        if self._resampler is not None:
            self._resampler.reset()
        self._resampler = None
        self._resampling_for = None
        return self.buffer.flush(cancel_response_id)

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = min(max(float(value), 0.0), 2.0)
        if self.buffer is not None:
            self.buffer.volume = self._volume

    def metrics(self) -> PlaybackMetrics:
        if self.buffer is None:
            return PlaybackMetrics("idle", 0.0, self.target_ms, 0, 0.0, 0, 0, 0.0, 0, 0.0, 0.0, {}, None, 0,
                                   device_errors=self.device_errors, volume=self._volume)
        return replace(
            self.buffer.metrics(),
            device_underflows=self.device_underflows,
            device_errors=self.device_errors,
            device_delay_ms=max(0.0, float(self._dac_delay) * 1000.0),
            device=self.device.identity if self.device else "",
        )

    def subscribe_played(self, handler: PlayedHandler) -> Callable[[], None]:
        """Receive what actually went to the device (16 kHz mono int16, silence included), in order."""
        self._played_subscribers.append(handler)
        return lambda: self._played_subscribers.remove(handler) if handler in self._played_subscribers else None

    def is_idle(self) -> bool:
        return self.buffer is None or self.buffer.is_idle()

    async def wait_idle(self, limit_s: float | None = None) -> bool:
        """Wait until everything pushed has been played (plus the device's own buffer). False past the limit."""
        loop = asyncio.get_running_loop()
        deadline = None if limit_s is None else loop.time() + limit_s
        while not self.is_idle() or (self.buffer is not None and self.buffer.buffered_frames > 0):
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
            if self._watch_task is None:
                self._on_tick()
        await asyncio.sleep(self.stream_latency_s + self.block_ms / 1000)
        return True

    def _on_tick(self) -> None:
        buffer = self.buffer
        if buffer is None:
            return
        for event in buffer.poll():
            handlers = self.on_item_started if event.kind == "item_started" else self.on_item_finished
            for handler in list(handlers):
                handler(event)
        self.pump_played()

    def pump_played(self) -> None:
        """Hand what the device played since the last call to the played subscribers (on the loop).

        Runs every tick, and the echo canceller calls it before each captured block so the reference
        is never behind the microphone just because the tick has not come round yet (after a stall
        of the loop, the queued mic blocks are handled before any timer). A loop so late that the
        ring was overwritten gets silence of the same length: the count of samples stays exact, and
        with it the alignment of the reference.
        """
        ring, resampler = self._played_ring, self._played_resampler
        if ring is None or resampler is None:
            return
        before = self._played_pos
        played, self._played_pos = ring.since(before)
        lost = self._played_pos - before - played.shape[0]  # overwritten before the loop came round
        if lost:
            self.played_lost_samples += lost
            played = np.concatenate((np.zeros(lost, dtype=np.float32), played))
        if played.shape[0]:
            mono16 = resampler.process(played)
            if mono16.shape[0]:
                self.played_meter.feed(mono16)
                if self._played_subscribers:
                    pcm = float32_to_int16(mono16)
                    for subscriber in list(self._played_subscribers):
                        subscriber(pcm)

    def callback_costs_ms(self) -> list[float]:
        count = min(self.callback_cost_count, self.callback_seconds.shape[0])
        return [float(x) * 1000.0 for x in self.callback_seconds[:count]]
