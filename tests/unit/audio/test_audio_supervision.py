"""Stream supervision with a fake PortAudio stream: stalls, errors, vanished devices and hanging
closes end in a recovery on the default device; nothing raises and nothing hangs."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from qwenvoice.audio import backend, stream
from qwenvoice.audio.devices import DeviceInfo
from qwenvoice.audio.engine import AudioEngine
from qwenvoice.audio.stream import AudioNotice, SupervisedStream

DEFAULT = DeviceInfo("Speakers", "PulseAudio", "output", 2, 48000, True, 0, "speakers")
USB = DeviceInfo("USB", "PulseAudio", "output", 2, 48000, False, 0, "usb")


class FakeStream:
    def __init__(self, device: DeviceInfo, hang_on_abort: float = 0.0) -> None:
        self.device = device
        self.started = self.aborted = self.closed = False
        self.hang_on_abort = hang_on_abort

    def start(self) -> None:
        self.started = True

    def abort(self) -> None:
        if self.hang_on_abort:
            time.sleep(self.hang_on_abort)
        self.aborted = True

    def close(self) -> None:
        self.closed = True


class FakeSupervised(SupervisedStream):
    kind = "output"
    stall_seconds = 0.3

    def __init__(self, wanted: str | None, devices: list[DeviceInfo]) -> None:
        self.notes: list[AudioNotice] = []
        super().__init__(wanted, self.notes.append)
        self.devices = devices
        self.opened: list[FakeStream] = []
        self.fail_on: set[str] = set()
        self.hang_on_abort = 0.0

    def _open_stream(self, device: DeviceInfo, samplerate: int) -> Any:
        if device.name in self.fail_on:
            raise OSError(f"cannot open {device.name}")
        fake = FakeStream(device, self.hang_on_abort)
        self.opened.append(fake)
        return fake

    def beat(self) -> None:  # what a running callback does
        self._callbacks += 1


@pytest.fixture
def devices(monkeypatch):
    current: list[DeviceInfo] = [DEFAULT, USB]
    monkeypatch.setattr(stream, "safe_list_devices", lambda: (list(current), None))
    monkeypatch.setattr(backend, "portaudio_error_types", lambda: (OSError,))
    return current


async def keep_beating(s: FakeSupervised, stop: asyncio.Event) -> None:
    while not stop.is_set():
        s.beat()
        await asyncio.sleep(0.01)


async def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_opens_the_wanted_device(devices):
    s = FakeSupervised("usb", devices)
    assert s.open() is USB and s.opened[0].started and s.running
    s.close()
    assert s.opened[0].aborted and s.opened[0].closed


async def test_a_device_that_fails_to_open_falls_back_to_the_default(devices):
    s = FakeSupervised("usb", devices)
    s.fail_on.add("USB")
    assert s.open() is DEFAULT
    assert "Could not open USB [PulseAudio]" in s.notes[-1].message
    s.close()


async def test_a_stalled_stream_is_replaced(devices):
    s = FakeSupervised(None, devices)
    s.open()
    s.start_watching(interval=0.02)
    stop = asyncio.Event()
    beating = asyncio.create_task(keep_beating(s, stop))
    await asyncio.sleep(0.4)
    assert s.recoveries == 0  # callbacks coming: healthy
    stop.set()
    await beating
    assert await wait_for(lambda: s.recoveries == 1, 3)
    assert len(s.opened) == 2 and s.opened[0].closed and s.running
    assert any("stopped delivering audio" in n.message for n in s.notes)
    await s.stop_watching()
    s.close()


async def test_an_error_finish_is_recovered(devices):
    s = FakeSupervised(None, devices)
    s.open()
    s.start_watching(interval=0.02)
    stop = asyncio.Event()
    beating = asyncio.create_task(keep_beating(s, stop))
    s._finished_callback()  # what PortAudio calls when the stream dies
    assert await wait_for(lambda: s.recoveries == 1, 3)
    assert s.device_errors == 1 and any("stopped with an error" in n.message for n in s.notes)
    stop.set()
    await beating
    await s.stop_watching()
    s.close()


async def test_a_vanished_device_moves_to_the_default_and_back_when_it_returns(devices):
    s = FakeSupervised("usb", devices)
    s.open()
    s.start_watching(interval=0.02)
    stop = asyncio.Event()
    beating = asyncio.create_task(keep_beating(s, stop))
    devices.remove(USB)
    s.device_list_changed(list(devices), [], [USB])
    assert await wait_for(lambda: s.recoveries == 1 and s.device is DEFAULT, 3)
    assert any("USB [PulseAudio] was removed" in n.message for n in s.notes)
    assert any("not available; using the default" in n.message for n in s.notes)
    devices.append(USB)
    s.device_list_changed(list(devices), [USB], [])
    assert await wait_for(lambda: s.recoveries == 2 and s.device is USB, 3)
    stop.set()
    await beating
    await s.stop_watching()
    s.close()


async def test_a_hanging_close_does_not_hang_the_app(devices, monkeypatch):
    monkeypatch.setattr(stream, "CLOSE_TIMEOUT_S", 0.2)
    s = FakeSupervised(None, devices)
    s.hang_on_abort = 3.0
    s.open()
    started = time.monotonic()
    assert stream.close_quietly(s._stream, timeout=0.2) is False
    assert time.monotonic() - started < 1.0


async def test_no_device_anywhere_retries_with_backoff_until_one_appears(devices, monkeypatch):
    monkeypatch.setattr(stream, "RETRY_DELAYS_S", (0.05, 0.05))
    s = FakeSupervised(None, devices)
    s.open()
    s.start_watching(interval=0.02)
    devices.clear()
    recovering = asyncio.create_task(s.recover("device gone"))
    await asyncio.sleep(0.3)
    assert not s.running and any("no device to recover on yet" in n.message for n in s.notes)
    devices.append(DEFAULT)
    await asyncio.wait_for(recovering, 3)
    assert s.running and s.device is DEFAULT
    await s.stop_watching()
    s.close()


async def test_notices_from_worker_threads_arrive_on_the_loop(devices):
    s = FakeSupervised(None, devices)
    s.start_watching()
    threads: list[int] = []
    s.on_notice = lambda note: threads.append(threading.get_ident())
    await asyncio.to_thread(s.notice, "from a worker")
    await asyncio.sleep(0.05)
    assert threads == [threading.get_ident()]
    await s.stop_watching()


async def test_engine_opens_the_speaker_when_one_appears_later(monkeypatch):
    current: list[DeviceInfo] = []
    monkeypatch.setattr(stream, "safe_list_devices", lambda: (list(current), None))
    monkeypatch.setattr(backend, "portaudio_error_types", lambda: (OSError,))
    engine = AudioEngine()
    opened: list[DeviceInfo] = []
    monkeypatch.setattr(engine.player, "_open_stream", lambda d, rate: opened.append(d) or FakeStream(d))

    async def no_refresh() -> list[DeviceInfo]:
        return []

    monkeypatch.setattr(engine.monitor, "refresh", no_refresh)
    monkeypatch.setattr(engine.monitor, "start", lambda: None)
    assert await engine.start_playback() is False
    assert engine.notices[-1].message == "No speaker found." and engine.notices[-1].error
    current.append(DEFAULT)
    engine._devices_changed(list(current), [DEFAULT], [])
    assert await wait_for(lambda: engine.player.running, 3)
    assert opened == [DEFAULT]
    await engine.aclose()
