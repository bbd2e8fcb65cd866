"""What capture and playback share: opening a PortAudio stream on a chosen device, falling back to the
default with a notice, noticing a dead or vanished device, and recovering without crashing or hanging.

A stream can die three ways: PortAudio finishes it (an error inside the host API), its callbacks stop
coming (a wedged driver), or the device disappears from the list (hot-unplug; PulseAudio may quietly
move the stream elsewhere). All three end in the same place: close the old stream from a helper
thread with a time limit (closing a broken ALSA stream can block), report what happened, and open
the default device, retrying with backoff while there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from qwenvoice.audio import backend
from qwenvoice.audio.backend import AudioUnavailable, PortAudioStream
from qwenvoice.audio.devices import DeviceInfo, Kind, choose_device, safe_list_devices

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(slots=True, frozen=True)
class AudioNotice:
    """Something the user should know about the audio devices (shown in a status bar or printed)."""

    kind: Kind
    message: str
    error: bool = False


NoticeHandler = Callable[[AudioNotice], None]


class AudioDeviceError(RuntimeError):
    pass


def close_quietly(stream: PortAudioStream, timeout: float = CLOSE_TIMEOUT_S) -> bool:
    """abort() + close() a stream from a helper thread; False if that did not finish in time."""

    def work() -> None:
        with contextlib.suppress(Exception):
            stream.abort()
        with contextlib.suppress(Exception):
            stream.close()

    worker = threading.Thread(target=work, name="audio-stream-close", daemon=True)
    worker.start()
    worker.join(timeout)
    backend.note_stream_closed()
    return not worker.is_alive()


class SupervisedStream:
    """Base of Capture and Player: device choice, open/close, watchdog, recovery."""

    kind: Kind = "output"
    stall_seconds = 2.5  # no callback for this long while running = the device is gone

    def __init__(self, wanted_device: str | None = None, on_notice: NoticeHandler | None = None) -> None:
        self.wanted_device = wanted_device
        self.device: DeviceInfo | None = None
        self.on_notice = on_notice
        self.notices: list[AudioNotice] = []
        self.device_errors = 0
        self.recoveries = 0
        self.running = False
        self._stream: PortAudioStream | None = None
        self._callbacks = 0  # written by the PortAudio thread
        self._finished_flag = False  # set from PortAudio's finished callback
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._watch_task: asyncio.Task[None] | None = None
        self._closing = False
        self._recovering = False

    # -- to implement
    def _open_stream(self, device: DeviceInfo, samplerate: int) -> PortAudioStream:
        raise NotImplementedError

    def _preferred_rate(self, device: DeviceInfo) -> int:
        return device.samplerate

    def _on_tick(self) -> None:
        """Loop-side periodic work (every watch interval)."""

    # -- notices
    def notice(self, message: str, error: bool = False) -> None:
        note = AudioNotice(self.kind, message, error)
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, note)  # handlers run on the loop only
            return
        self._deliver(note)

    def _deliver(self, note: AudioNotice) -> None:
        message, error = note.message, note.error
        self.notices.append(note)
        del self.notices[:-50]
        log.info("audio %s: %s%s", self.kind, "error: " if error else "", message)  # shown by the handler
        if self.on_notice is not None:
            try:
                self.on_notice(note)
            except Exception:
                log.exception("audio notice handler failed")

    # -- opening
    def _try_open(self, device: DeviceInfo) -> PortAudioStream:
        env = device.open_environment()
        with backend.environment(env):
            stream = self._open_stream(device, self._preferred_rate(device))
        backend.note_stream_opened()
        return stream

    def open(self) -> DeviceInfo:
        """Open on the wanted device, else the default (with a notice). Raises AudioUnavailable /
        AudioDeviceError when there is no usable device at all."""
        devices, error = safe_list_devices()
        if error is not None:
            raise AudioUnavailable(error)
        device, message = choose_device(devices, self.kind, self.wanted_device)
        if device is None:
            raise AudioDeviceError(message or f"no {self.kind} device")  # the caller reports it
        if message:
            self.notice(message)
        errors = backend.portaudio_error_types()
        try:
            stream = self._try_open(device)
        except errors as exc:
            fallback, _ = choose_device(devices, self.kind, None)
            if fallback is None or fallback == device:
                raise AudioDeviceError(f"could not open {device.identity}: {exc}") from exc
            self.notice(f"Could not open {device.identity} ({exc}); using the default, {fallback.identity}.")
            try:
                stream = self._try_open(fallback)
            except errors as exc2:
                raise AudioDeviceError(f"could not open {fallback.identity}: {exc2}") from exc2
            device = fallback
        self._finished_flag = False
        try:
            stream.start()
        except errors as exc:
            close_quietly(stream)
            raise AudioDeviceError(f"could not start {device.identity}: {exc}") from exc
        self._stream = stream
        self.device = device
        self.running = True
        return device

    def _finished_callback(self) -> None:
        # PortAudio thread: a flag the watchdog reads; nothing else.
        self._finished_flag = True

    def close(self) -> None:
        self._closing = True
        self.running = False
        stream, self._stream = self._stream, None
        if stream is not None and not close_quietly(stream):
            self.notice("the audio device did not close in time; left it behind", error=True)

    # -- supervision (on the asyncio loop)
    def start_watching(self, interval: float = 0.02) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._closing = False
        if self._watch_task is None:
            self._watch_task = self._loop.create_task(self._watch(interval), name=f"audio-{self.kind}-watch")

    async def stop_watching(self) -> None:
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, interval: float) -> None:
        last_count = -1
        last_change = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                self._on_tick()
            except Exception:
                log.exception("audio %s tick failed", self.kind)
            if not self.running or self._recovering:
                last_change = time.monotonic()
                continue
            now = time.monotonic()
            if self._callbacks != last_count:
                last_count, last_change = self._callbacks, now
            reason = None
            if self._finished_flag and not self._closing:
                reason = "the audio stream stopped with an error"
            elif now - last_change > self.stall_seconds:
                reason = f"the device stopped delivering audio for {now - last_change:.1f} s"
            if reason is not None:
                await self.recover(reason)
                last_change = time.monotonic()

    def device_list_changed(self, devices: list[DeviceInfo], appeared: list[DeviceInfo],
                            vanished: list[DeviceInfo]) -> None:
        """From DeviceMonitor: our device vanished -> move to the default; our wanted one is back -> move back."""
        if self._loop is None or self._recovering:
            return
        current = self.device
        if current is not None and any(d.identity == current.identity and d.kind == self.kind for d in vanished):
            self._loop.create_task(self.recover(f"{current.identity} was removed"))
            return
        if (self.wanted_device and current is not None and self.running
                and any(d.kind == self.kind for d in appeared)):
            from qwenvoice.audio.devices import find_device

            wanted = find_device(devices, self.kind, self.wanted_device)
            if wanted is not None and wanted.identity != current.identity:
                self._loop.create_task(self.recover(f"{wanted.identity} is back", announce_error=False))

    async def recover(self, reason: str, announce_error: bool = True) -> None:
        """Close the stream and reopen (wanted device if present, else the default), with backoff."""
        if self._recovering or self._closing:
            return
        self._recovering = True
        self.device_errors += int(announce_error)
        try:
            self.notice(f"{reason}; switching device", error=announce_error)
            stream, self._stream = self._stream, None
            self.running = False
            if stream is not None:
                await asyncio.to_thread(close_quietly, stream)
            for attempt, delay in enumerate((0.0, *RETRY_DELAYS_S, *([RETRY_DELAYS_S[-1]] * 1000))):
                if self._closing:
                    return
                if delay:
                    await asyncio.sleep(delay)
                try:
                    device = await asyncio.to_thread(self.open)
                except (AudioUnavailable, AudioDeviceError) as exc:
                    if attempt == 0:
                        self.notice(f"no device to recover on yet ({exc}); retrying", error=True)
                    continue
                if self._closing:  # closed while we were reopening: do not leave a stream behind
                    await asyncio.to_thread(self.close)
                    return
                self.recoveries += 1
                self.notice(f"now using {device.identity}")
                return
        finally:
            self._recovering = False
