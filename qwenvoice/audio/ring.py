"""Fixed-size rings of recent samples (for the waveform, level meters and echo cancellation).

One writer (the event loop) and any number of readers on the same thread; the UI pulls at display
rate instead of receiving a signal per block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qwenvoice.audio.pcm import SILENCE_DBFS, Float32Array, peak_dbfs, rms_dbfs


class SampleRing:
    """The last `capacity` mono samples, with an absolute write counter."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = int(capacity)
        self._data = np.zeros(self.capacity, dtype=np.float32)
        self.total_written = 0

    def write(self, samples: Float32Array) -> None:
        n = int(samples.shape[0])
        if n == 0:
            return
        if n > self.capacity:  # only the newest `capacity` samples can be kept
            self.total_written += n - self.capacity
            samples = samples[-self.capacity :]
            n = self.capacity
        start = self.total_written % self.capacity
        first = min(n, self.capacity - start)
        self._data[start : start + first] = samples[:first]
        if first < n:
            self._data[: n - first] = samples[first:]
        self.total_written += n

    def latest(self, count: int) -> Float32Array:
        """The most recent `count` samples, oldest first (zeros before anything was written)."""
        count = max(0, min(int(count), self.capacity))
        out = np.zeros(count, dtype=np.float32)
        available = min(count, self.total_written)
        if available == 0:
            return out
        end = self.total_written % self.capacity
        start = end - available
        if start >= 0:
            out[count - available :] = self._data[start:end]
        else:
            head = self._data[start:]  # wraps: tail of the array, then its beginning
            out[count - available : count - available + head.shape[0]] = head
            out[count - end :] = self._data[:end]
        return out

    def since(self, position: int) -> tuple[Float32Array, int]:
        """Samples written after absolute `position` (as many as are still held), and the new position."""
        missing = self.total_written - int(position)
        return self.latest(min(max(missing, 0), self.capacity)), self.total_written


@dataclass(slots=True)
class Levels:
    rms_dbfs: float = SILENCE_DBFS
    peak_dbfs: float = SILENCE_DBFS


class LevelMeter:
    """A ring of recent samples plus RMS and peak (dBFS) of the latest block."""

    def __init__(self, rate: int, seconds: float = 5.0) -> None:
        self.rate = int(rate)
        self.ring = SampleRing(max(1, int(rate * seconds)))
        self.levels = Levels()

    def feed(self, block: Float32Array) -> None:
        self.ring.write(block)
        self.levels = Levels(rms_dbfs=rms_dbfs(block), peak_dbfs=peak_dbfs(block))

    def recent(self, seconds: float) -> Float32Array:
        return self.ring.latest(int(self.rate * seconds))
