"""Hot-plug on real PulseAudio: devices appear in the list, and unloading the active device's module
mid-stream is survived (the stream moves to the default device, with a notice, nothing hangs).

Each test loads its own null sink with pactl and unloads it again, leaving the shared set-up as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qwenvoice.audio.devices import list_devices
from qwenvoice.audio.engine import AudioEngine


def _pulse_ready() -> bool:
    if shutil.which("pactl") is None or shutil.which("parec") is None:
        return False
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "speaker" in out.stdout


pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


class HotSink:
    """A null sink that can be pulled out mid-test; always unloaded at the end."""

    def __init__(self, name: str, channels: int = 2) -> None:
        self.name = name
        out = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={name}", "rate=48000",
             f"channels={channels}", f"sink_properties=device.description={name}"],
            capture_output=True, text=True, check=True, timeout=10,
        )
        self.module: str | None = out.stdout.strip()
        self._reader = subprocess.Popen(  # keeps the null sink from rendering in 2 s blocks
            ["parec", "--latency-msec=10", "-d", f"{name}.monitor", "--raw"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def unplug(self) -> None:
        if self.module is not None:
            subprocess.run(["pactl", "unload-module", self.module], check=True, timeout=10)
            self.module = None
        self._reader.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._reader.wait(timeout=5)


@pytest.fixture
def hot_sink() -> Iterator[HotSink]:
    sink = HotSink(f"qvhot{os.getpid()}")
    try:
        time.sleep(2.1)
        yield sink
    finally:
        sink.unplug()
    remaining = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=10)
    assert sink.name not in remaining.stdout


def record_source(source: str, path: Path) -> subprocess.Popen[bytes]:
    with open(path, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", "--rate=48000",
                                 "--channels=1", "--latency-msec=10"], stdout=out, stderr=subprocess.DEVNULL)


def tone(freq: float, seconds: float, rate: int = 24000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 0.5 * 32767).astype("<i2").tobytes()


async def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def test_device_list_sees_a_sink_appear_and_vanish():
    name = f"qvlist{os.getpid()}"
    sink = HotSink(name)
    try:
        assert any(d.pulse_name == name and d.kind == "output" for d in list_devices())
        assert any(d.pulse_name == f"{name}.monitor" and d.kind == "input" for d in list_devices())
    finally:
        sink.unplug()
    assert not any(d.pulse_name == name for d in list_devices())


async def test_monitor_reports_hotplug_changes():
    engine = AudioEngine(monitor_interval=0.2)
    changes: list[list[str]] = []
    engine.on_devices_changed.append(lambda devices: changes.append([d.identity for d in devices]))
    name = f"qvmon{os.getpid()}"
    sink = None
    try:
        await engine.monitor.refresh()
        engine.start_monitoring()
        sink = HotSink(name)
        assert await wait_for(lambda: any(f"{name} [PulseAudio]" in c for c in changes), 5)
        assert engine.monitor.event_driven  # told by `pactl subscribe`, not by polling
        sink.unplug()
        assert await wait_for(lambda: f"{name} [PulseAudio]" not in changes[-1], 5)
    finally:
        if sink is not None:
            sink.unplug()
        await engine.aclose()


async def test_unloading_the_active_speaker_mid_stream_is_survived(hot_sink: HotSink, tmp_path: Path):
    engine = AudioEngine(output_device=hot_sink.name, monitor_interval=0.2)
    recording = tmp_path / "default.raw"
    try:
        assert await engine.start_playback(), engine.notices
        player = engine.player
        assert player.device is not None and player.device.pulse_name == hot_sink.name
        player.push(tone(523.0, 8.0), "resp_1", "item_1")
        assert await wait_for(lambda: player.metrics().played_ms_total > 300, 5)
        rec = record_source("speaker.monitor", recording)
        try:
            t0 = time.monotonic()
            hot_sink.unplug()
            assert await wait_for(lambda: player.recoveries >= 1 and player.running, 6), engine.notices
            recovered_in = time.monotonic() - t0
            played_then = player.metrics().played_ms_total
            await asyncio.sleep(1.0)
        finally:
            rec.terminate()
            rec.wait(timeout=5)
        metrics = player.metrics()
        assert player.device is not None and player.device.is_default
        assert player.device.identity == "VirtualSpeaker [PulseAudio]"
        assert metrics.played_ms_total - played_then > 700  # still playing, now on the default device
        assert metrics.device_errors == 1
        assert any("was removed" in n.message for n in engine.notices)
        assert any("now using VirtualSpeaker" in n.message for n in engine.notices)
        assert recovered_in < 3.0
    finally:
        t = time.monotonic()
        await engine.aclose()
        assert time.monotonic() - t < 3.0  # nothing hangs on the way out
    heard = np.frombuffer(recording.read_bytes(), dtype="<i2").astype(np.float32) / 32768
    spectrum = np.abs(np.fft.rfft(heard))
    hz = np.fft.rfftfreq(heard.size, 1 / 48000)
    ours = spectrum[(hz > 518) & (hz < 528)].max()
    assert ours > 20 * np.median(spectrum)  # our tone reached the default speaker after the switch


async def test_unloading_the_active_microphone_mid_stream_is_survived(hot_sink: HotSink):
    engine = AudioEngine(input_device=f"{hot_sink.name}.monitor", monitor_interval=0.2)
    blocks: list[int] = []
    try:
        assert await engine.start_capture(), engine.notices
        capture = engine.capture
        capture.subscribe(lambda b: blocks.append(b.size))
        assert capture.device is not None and capture.device.pulse_name == f"{hot_sink.name}.monitor"
        assert await wait_for(lambda: len(blocks) > 10, 5)
        hot_sink.unplug()
        assert await wait_for(lambda: capture.recoveries >= 1 and capture.running, 6), engine.notices
        before = len(blocks)
        await asyncio.sleep(0.6)
        assert len(blocks) - before > 10  # audio keeps flowing from the default microphone
        assert capture.device is not None and capture.device.identity == "VirtualMic [PulseAudio]"
        assert any("was removed" in n.message for n in engine.notices)
    finally:
        await engine.aclose()
