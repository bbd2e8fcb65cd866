"""Speaker and microphone for the terminal commands (`qwenvoice ask --play/--mic`, `speak --play`).

`open_player(rate, device)` returns a sink that plays reply audio as it streams, through the same
jitter buffer as the app, and after each turn prints the time from the first reply chunk received to
the first sample played. `open_microphone(rate, device)` returns a source of 16 kHz mono pcm16
blocks from the microphone; pressing Enter ends the turn (what push-to-talk is in a terminal), and
with server VAD the server ends it by itself.

Both must be called from a running asyncio loop. Errors are AudioUnavailable / AudioDeviceError
(RuntimeError) with a message for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import AsyncIterator

import numpy as np

from qwenvoice.audio.backend import AudioUnavailable
from qwenvoice.audio.capture import CAPTURE_RATE, Capture
from qwenvoice.audio.devices import DeviceMonitor
from qwenvoice.audio.jitter import PlaybackEvent
from qwenvoice.audio.playback import Player
from qwenvoice.audio.stream import AudioDeviceError, AudioNotice, SupervisedStream

__all__ = ["TerminalMicrophone", "TerminalPlayer", "open_microphone", "open_player"]


def _print_notice(notice: AudioNotice) -> None:
    print(f"qwenvoice: audio {notice.kind}: {notice.message}", file=sys.stderr, flush=True)


def _start_sync(stream: SupervisedStream) -> DeviceMonitor:
    """Open a stream from inside a running loop (the plug points are plain functions) and watch it."""
    stream.start_watching()
    try:
        stream.open()
    except (AudioUnavailable, AudioDeviceError):
        task = stream._watch_task
        stream._watch_task = None
        if task is not None:
            task.cancel()
        raise
    monitor = DeviceMonitor(stream.device_list_changed, interval=1.0)
    monitor.start()
    return monitor


def _stop_sync(stream: SupervisedStream, monitor: DeviceMonitor) -> None:
    for task in (stream._watch_task, monitor._task):
        if task is not None:
            task.cancel()
    stream._watch_task = None
    monitor._task = None
    stream.close()


class TerminalPlayer:
    """A PcmSink: `write()` pcm16 as it arrives, `await drain()` at the end of the reply, `close()`."""

    def __init__(self, rate: int, device: str | None, *, report: bool = True) -> None:
        self.player = Player(device, source_rate=rate, on_notice=_print_notice)
        self.report = report
        self._turn = 0
        self._open_response: str | None = None
        self.started: list[PlaybackEvent] = []
        self.player.on_item_started.append(self.started.append)
        self._monitor = _start_sync(self.player)

    def write(self, pcm: bytes) -> None:
        if self._open_response is None:
            self._turn += 1
            self._open_response = f"reply_{self._turn}"
        self.player.push(pcm, self._open_response, self._open_response)

    async def drain(self) -> None:
        """Play to the last sample, then print how long the first sample took to reach the device."""
        response, self._open_response = self._open_response, None
        if response is None:
            return
        self.player.end_of_response(response)
        buffered_s = self.player.metrics().buffered_ms / 1000
        await self.player.wait_idle(buffered_s + 10.0)
        metrics = self.player.metrics()
        if self.report:
            for event in self.started:
                if event.first_chunk_to_first_sample_ms is not None:
                    print(f"playback: first reply chunk to first sample played: "
                          f"{event.first_chunk_to_first_sample_ms:.0f} ms "
                          f"(+{metrics.device_delay_ms:.0f} ms in the device buffer; "
                          f"underruns {metrics.underruns}; {metrics.device})", flush=True)
        self.started.clear()

    def flush(self) -> None:
        self.player.flush()
        self._open_response = None

    def close(self) -> None:
        _stop_sync(self.player, self._monitor)


def _watch_enter(loop: asyncio.AbstractEventLoop, on_enter: asyncio.Event) -> None:
    """A daemon thread waiting for Enter on stdin (end of input is not a key press)."""
    stream = sys.stdin
    if stream is None:
        return

    def wait() -> None:
        with contextlib.suppress(Exception):
            while True:
                line = stream.readline()
                if line == "":
                    return
                if not loop.is_closed():
                    loop.call_soon_threadsafe(on_enter.set)
                return

    threading.Thread(target=wait, name="qwenvoice-enter-key", daemon=True).start()


class TerminalMicrophone:
    """A PcmSource: 16 kHz mono pcm16 blocks from the microphone until Enter or close()."""

    def __init__(self, rate: int, device: str | None, *, watch_enter: bool = True) -> None:
        if rate != CAPTURE_RATE:
            raise AudioDeviceError(f"the microphone delivers {CAPTURE_RATE} Hz, not {rate} Hz")
        self.capture = Capture(device, on_notice=_print_notice)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.capture.subscribe(self._on_audio)
        self.ended = asyncio.Event()
        self._monitor = _start_sync(self.capture)
        name = self.capture.device.identity if self.capture.device else "?"
        print(f"listening on {name}: speak; the turn ends when you pause (server VAD) or press Enter",
              file=sys.stderr, flush=True)
        if watch_enter:
            _watch_enter(asyncio.get_running_loop(), self.ended)

    def _on_audio(self, pcm: np.ndarray) -> None:
        if not self.ended.is_set():
            self._queue.put_nowait(pcm.astype("<i2").tobytes())

    def end_turn(self) -> None:
        self.ended.set()

    async def blocks(self) -> AsyncIterator[bytes]:
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            while True:
                if self.ended.is_set() and self._queue.empty():
                    return
                getter = asyncio.ensure_future(self._queue.get())
                done, _ = await asyncio.wait({getter, ended}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
        finally:
            ended.cancel()

    def close(self) -> None:
        self.ended.set()
        _stop_sync(self.capture, self._monitor)


def open_player(rate: int, device: str | None) -> TerminalPlayer:
    return TerminalPlayer(rate, device)


def open_microphone(rate: int, device: str | None) -> TerminalMicrophone:
    return TerminalMicrophone(rate, device)
