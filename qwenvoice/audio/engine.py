"""`AudioEngine`: the Qt-free facade the GUI controller and the terminal commands use.

It owns the capture stream, the playback stream and the device monitor, and keeps working without
audio: when there is no PortAudio or no device, `start_*` return False after a notice that says so,
and the caller carries on with text only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from qwenvoice.audio.backend import AudioUnavailable
from qwenvoice.audio.capture import Capture
from qwenvoice.audio.devices import DeviceInfo, DeviceMonitor, safe_list_devices
from qwenvoice.audio.playback import Player
from qwenvoice.audio.stream import AudioDeviceError, AudioNotice, NoticeHandler

log = logging.getLogger(__name__)

DevicesHandler = Callable[[list[DeviceInfo]], None]


class CapturePathFilter(Protocol):
    """What an echo canceller offers the engine (see `echo.CapturePathProcessor`)."""

    def feed_playback(self, pcm: npt.NDArray[np.int16]) -> None: ...

    def process_capture(self, block: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]: ...

    def output_glitched(self) -> None:
        """The output underran: what it plays from now on reaches the speaker later than counted."""
        ...

    def restart(self) -> None:
        """A stream reopened (device lost and recovered): the sample counters no longer line up."""
        ...


class AudioEngine:
    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        *,
        on_notice: NoticeHandler | None = None,
        target_ms: float = 80.0,
        output_latency: float | str = 0.04,
        input_latency: float | str = 0.02,
        monitor_interval: float = 1.0,
    ) -> None:
        self.notices: list[AudioNotice] = []
        self._on_notice = on_notice
        self.capture = Capture(input_device, latency=input_latency, on_notice=self._notice)
        self.player = Player(output_device, target_ms=target_ms, latency=output_latency, on_notice=self._notice)
        self.monitor = DeviceMonitor(self._devices_changed, interval=monitor_interval)
        self.on_devices_changed: list[DevicesHandler] = []
        self._waiting_for_device: set[str] = set()  # kinds that found no device at start
        self._closed = False

    def _notice(self, notice: AudioNotice) -> None:
        self.notices.append(notice)
        del self.notices[:-100]
        if self._on_notice is not None:
            self._on_notice(notice)

    def _devices_changed(self, devices: list[DeviceInfo], appeared: list[DeviceInfo],
                         vanished: list[DeviceInfo]) -> None:
        for d in appeared:
            log.info("audio device appeared: %s (%s)", d.identity, d.kind)
        for d in vanished:
            log.info("audio device vanished: %s (%s)", d.identity, d.kind)
        self.capture.device_list_changed(devices, appeared, vanished)
        self.player.device_list_changed(devices, appeared, vanished)
        for stream in (self.capture, self.player):
            if stream.kind in self._waiting_for_device and any(d.kind == stream.kind for d in appeared):
                asyncio.get_running_loop().create_task(self._start(stream))
        for handler in list(self.on_devices_changed):
            handler(devices)

    def attach_echo_canceller(self, processor: CapturePathFilter) -> Callable[[], None]:
        """Feed it what the speaker played and clean every captured block with it; returns a detach.

        Before each captured block it gets the played audio up to that moment (after a stall of the loop
        the queued mic blocks run before the player's tick would have fed it), then is told of output
        underruns (each may move the echo) and of streams that reopened (the counters restart).
        """
        unsubscribe = self.player.subscribe_played(processor.feed_playback)
        player, capture = self.player, self.capture
        seen = {"underflows": player.device_underflows, "recoveries": capture.recoveries + player.recoveries}

        def cancel_echo(block: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
            player.pump_played()
            recoveries = capture.recoveries + player.recoveries
            if recoveries != seen["recoveries"]:
                seen["recoveries"] = recoveries
                processor.restart()
            underflows = player.device_underflows
            if underflows != seen["underflows"]:
                seen["underflows"] = underflows
                processor.output_glitched()
            return processor.process_capture(block)

        capture.filter = cancel_echo

        def detach() -> None:
            unsubscribe()
            if capture.filter is cancel_echo:
                capture.filter = None

        return detach

    @staticmethod
    def devices() -> tuple[list[DeviceInfo], str | None]:
        return safe_list_devices()

    def start_monitoring(self) -> None:
        self.monitor.start()

    async def start_playback(self) -> bool:
        return await self._start(self.player)

    async def start_capture(self) -> bool:
        return await self._start(self.capture)

    async def _start(self, stream: Capture | Player) -> bool:
        """Open a stream; without a device, keep watching the list and open it when one appears."""
        if stream.running or self._closed:
            return stream.running
        try:
            await stream.start()
        except (AudioUnavailable, AudioDeviceError) as exc:
            self._notice(AudioNotice(stream.kind, str(exc), error=True))
            await stream.stop_watching()
            if not isinstance(exc, AudioUnavailable):  # no PortAudio at all: nothing will ever appear
                self._waiting_for_device.add(stream.kind)
                await self._ensure_monitor()
            return False
        self._waiting_for_device.discard(stream.kind)
        await self._ensure_monitor()
        return True

    async def _ensure_monitor(self) -> None:
        if self.monitor._task is None and not self._closed:
            with contextlib.suppress(RuntimeError):
                await self.monitor.refresh()  # the baseline against which changes are seen
                self.monitor.start()

    async def aclose(self) -> None:
        self._closed = True
        await self.monitor.stop()
        await asyncio.gather(self.capture.aclose(), self.player.aclose())
