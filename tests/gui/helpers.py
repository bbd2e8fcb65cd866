"""Small shared helpers for the GUI tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

TOKEN = "test-token-123456"


async def wait_for(
    predicate: Callable[[], object], within: float = 20.0, what: Callable[[], object] | None = None
) -> None:
    """Poll ``predicate`` on the running (qasync) loop until it is true; fail after ``within`` s
    (the message includes ``what()``, e.g. the transcript, to show what was there instead)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s" + (f"; state: {what()!r}" if what else ""))
        await asyncio.sleep(0.02)


def feed(controller, pcm: bytes, block: int = 320) -> None:
    """Hand PCM to the controller block by block, the way the capture stream does."""
    samples = np.frombuffer(pcm, dtype=np.int16)
    for i in range(0, len(samples), block):
        controller.feed_mic(samples[i : i + block].copy())


def pulse_available() -> bool:
    """True when the virtual PulseAudio devices of .ci/devices.sh are up."""
    import shutil
    import subprocess

    if shutil.which("pactl") is None:
        return False
    try:
        out = subprocess.run(["pactl", "list", "short", "sinks"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "micfeed" in out.stdout and "speaker" in out.stdout


def speech_wav(path, text: str, pad_s: float = 1.5) -> str:
    """espeak-ng speech as a 16 kHz mono WAV with trailing silence (so server VAD sees the end)."""
    import subprocess

    raw = str(path) + ".22k.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, text], check=True, timeout=30)
    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", str(path), "pad", "0.2", str(pad_s)], check=True,
                   timeout=30)
    return str(path)


class SpeakerRecorder:
    """Records what the app plays (``speaker.monitor``) as 16 kHz mono int16, with arrival times."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, np.ndarray]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> SpeakerRecorder:
        self._proc = await asyncio.create_subprocess_exec(
            "parec", "-d", "speaker.monitor", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
            "--latency-msec=10", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        loop = asyncio.get_running_loop()
        pending = b""
        while True:
            data = await self._proc.stdout.read(3200)
            if not data:
                return
            pending += data
            usable = len(pending) // 2 * 2
            self.chunks.append((loop.time(), np.frombuffer(pending[:usable], dtype=np.int16).copy()))
            pending = pending[usable:]

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
        if self._task is not None:
            await self._task

    def loud_times(self, threshold: float = 0.01) -> list[float]:
        """Arrival times of chunks whose RMS (full scale 1.0) exceeds ``threshold``."""
        out = []
        for t, x in self.chunks:
            if len(x) and float(np.sqrt(np.mean((x.astype(np.float64) / 32768.0) ** 2))) > threshold:
                out.append(t)
        return out

    def loud_seconds(self, threshold: float = 0.01, since: float = 0.0) -> float:
        total = 0
        for t, x in self.chunks:
            if t >= since and len(x) and float(np.sqrt(np.mean((x.astype(np.float64) / 32768.0) ** 2))) > threshold:
                total += len(x)
        return total / 16000


async def play_into_mic(wav: str) -> None:
    """Speak into the virtual microphone (``paplay -d micfeed``) and wait until it has played."""
    proc = await asyncio.create_subprocess_exec("paplay", "-d", "micfeed", wav)
    await proc.wait()
