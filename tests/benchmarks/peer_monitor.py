"""Listening at the speaker: a timestamped recording of a PulseAudio monitor and what it shows.

`MonitorRecorder` runs `parec` on a monitor source (`speaker.monitor`: what the apps play;
`micfeed.monitor`: what the benchmark says into the microphone) and keeps every chunk with the
`time.monotonic()` it arrived. Sample k of the recording is mapped to time by a local fit: over the
chunks near the moment asked about, offset = min(arrival - samples_so_far / rate), the least-delayed
chunk (so a late wake-up of the reader never makes audio look late, and a drift or a dropped chunk
elsewhere does not matter).

The analysis works on 5 ms frames: a frame is silent below `SILENT_RMS` (about -50 dBFS). The reply
the server sends has no silent frames of its own (`speech_without_pauses` cuts them out), so every
silent run inside a played reply is a gap the player made.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

import numpy as np

FRAME_MS = 5
SILENT_RMS = 0.003  # float full scale; ~ -50 dBFS
GAP_MS = 20


class MonitorRecorder:
    def __init__(self, source: str, rate: int = 24000) -> None:
        self.source, self.rate = source, rate
        self._chunks: list[tuple[float, int, bytes]] = []  # (arrival, samples before this chunk, data)
        self._total = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            ["parec", "-d", self.source, "--raw", "--format=s16le", f"--rate={self.rate}", "--channels=1",
             "--latency-msec=5"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, 4096)
            now = time.monotonic()
            if not data:
                return
            data = pending + data
            usable = len(data) - len(data) % 2
            pending = data[usable:]
            if usable:
                with self._lock:
                    self._chunks.append((now, self._total, data[:usable]))
                    self._total += usable // 2

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(2)
        if self._thread is not None:
            self._thread.join(2)

    def dump(self, path: str) -> tuple[float, int]:
        """Write the whole recording as raw s16le; returns (time of sample 0, rate) for reading it back."""
        with self._lock:
            chunks = list(self._chunks)
        with open(path, "wb") as f:
            for _, _, data in chunks:
                f.write(data)
        offset = min((a - (b + len(d) // 2) / self.rate for a, b, d in chunks), default=0.0)
        return offset, self.rate

    def segment(self, start: float, end: float) -> tuple[np.ndarray, float]:
        """Float samples covering [start, end] (monotonic seconds) and the time of the first one."""
        with self._lock:
            chunks = list(self._chunks)
        near = [c for c in chunks if start - 3.0 <= c[0] <= end + 3.0]
        if not near:
            return np.zeros(0, np.float32), start
        offset = min(arrival - (before + len(data) // 2) / self.rate for arrival, before, data in near)
        first = int(max(0, (start - offset) * self.rate))
        last = int((end - offset) * self.rate)
        parts = [(before, data) for _, before, data in near if before + len(data) // 2 > first and before < last]
        if not parts:
            return np.zeros(0, np.float32), start
        base = parts[0][0]
        pcm = np.frombuffer(b"".join(d for _, d in parts), dtype="<i2").astype(np.float32) / 32768.0
        lo, hi = first - base, last - base
        lo = max(lo, 0)
        return pcm[lo:hi], offset + (base + lo) / self.rate


def frame_rms(x: np.ndarray, rate: int) -> np.ndarray:
    n = rate * FRAME_MS // 1000
    usable = x.shape[0] - x.shape[0] % n
    if usable <= 0:
        return np.zeros(0)
    frames = x[:usable].reshape(-1, n)
    rms: np.ndarray = np.sqrt(np.mean(frames * frames, axis=1))
    return rms


def speech_without_pauses(pcm: np.ndarray, rate: int, margin: float = 2.0) -> np.ndarray:
    """Drop every 5 ms frame quieter than margin x the silence threshold (int16 in and out)."""
    x = pcm.astype(np.float32) / 32768.0
    rms = frame_rms(x, rate)
    n = rate * FRAME_MS // 1000
    keep = np.repeat(rms >= SILENT_RMS * margin, n)
    kept: np.ndarray = pcm[: keep.shape[0]][keep]
    return kept


@dataclass(slots=True)
class Playout:
    onset: float | None  # time of the first audible frame
    end: float | None  # end of the last audible frame
    gaps: int  # silent runs >= GAP_MS between onset and end
    gap_ms: float  # their total length
    longest_gap_ms: float


def analyse(x: np.ndarray, t0: float, rate: int) -> Playout:
    rms = frame_rms(x, rate)
    loud = np.nonzero(rms >= SILENT_RMS)[0]
    if loud.size == 0:
        return Playout(None, None, 0, 0.0, 0.0)
    frame_s = FRAME_MS / 1000
    first, last = int(loud[0]), int(loud[-1])
    silent = rms[first : last + 1] < SILENT_RMS
    gaps, total, longest, run = 0, 0.0, 0.0, 0
    for s in np.append(silent, False):
        if s:
            run += 1
            continue
        if run and run * FRAME_MS >= GAP_MS:
            gaps += 1
            total += run * FRAME_MS
            longest = max(longest, run * FRAME_MS)
        run = 0
    return Playout(t0 + first * frame_s, t0 + (last + 1) * frame_s, gaps, total, longest)


def first_onset_after(x: np.ndarray, t0: float, rate: int) -> float | None:
    return analyse(x, t0, rate).onset


def silence_from(x: np.ndarray, t0: float, rate: int, hold_ms: float = 100.0) -> float | None:
    """Start of the first silent run that lasts at least `hold_ms` (the cut after a barge-in)."""
    rms = frame_rms(x, rate)
    need = int(hold_ms / FRAME_MS)
    run = 0
    for i, v in enumerate(rms):
        run = run + 1 if v < SILENT_RMS else 0
        if run >= need:
            return t0 + (i - need + 1) * FRAME_MS / 1000
    return None
