"""The one ring of recent samples (waveform, level meters, echo reference, pre-roll, playback), and the
level meter built on it.

A ``SampleRing`` holds the last ``capacity`` samples of one mono signal, addressed by absolute sample
index (``total_written`` counts every sample ever written). One writer. ``write``/``write_zeros`` and
``read(..., out=...)`` allocate nothing beyond numpy views, so a PortAudio callback may call them; the
count moves only after the samples are in place, so a reader on another thread never sees a position
whose samples are not there yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from qwenvoice.audio.pcm import SILENCE_DBFS, Float32Array, peak_dbfs, rms_dbfs

SampleT = TypeVar("SampleT", bound=np.generic)


class SampleRing(Generic[SampleT]):
    """The last `capacity` mono samples of dtype `dtype`, with an absolute write counter."""

    @overload
    def __init__(self: SampleRing[np.float32], capacity: int) -> None: ...

    @overload
    def __init__(self, capacity: int, dtype: type[SampleT]) -> None: ...

    def __init__(self, capacity: int, dtype: npt.DTypeLike = np.float32) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = int(capacity)
        self._data: npt.NDArray[SampleT] = np.zeros(self.capacity, dtype=dtype)
        self.total_written = 0

    @property
    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self.total_written - self.capacity)

    def write(self, samples: npt.NDArray[SampleT]) -> None:
        n = int(samples.shape[0])
        if n == 0:
            return
        skipped = max(0, n - self.capacity)  # only the newest `capacity` samples can be kept
        if skipped:
            samples = samples[skipped:]
            n = self.capacity
        start = (self.total_written + skipped) % self.capacity
        first = min(n, self.capacity - start)
        self._data[start : start + first] = samples[:first]
        if first < n:
            self._data[: n - first] = samples[first:]
        self.total_written += skipped + n

    def _clear(self, start: int, n: int) -> None:
        """Zero the slots of absolute indices [start, start + n)."""
        if n >= self.capacity:
            self._data[:] = 0
            return
        begin = start % self.capacity
        first = min(n, self.capacity - begin)
        self._data[begin : begin + first] = 0
        if first < n:
            self._data[: n - first] = 0

    def write_zeros(self, n: int) -> None:
        """Append `n` samples of silence."""
        if n > 0:
            self._clear(self.total_written, n)
            self.total_written += n

    def truncate(self, position: int) -> None:
        """Forget the samples from absolute `position` on (audio placed ahead that will not be heard);
        their slots are cleared, and the next write lands at `position`."""
        position = max(int(position), 0)
        if position < self.total_written:
            self._clear(position, self.total_written - position)  # all of it when position < oldest
            self.total_written = position

    def read(self, start: int, n: int, out: npt.NDArray[SampleT] | None = None) -> npt.NDArray[SampleT]:
        """Samples [start, start + n) by absolute index; zeros where nothing is held (not yet written,
        or already overwritten). With `out` (length n) nothing is allocated."""
        result = np.zeros(n, dtype=self._data.dtype) if out is None else out
        if out is not None:
            result[:] = 0
        lo = max(start, self.total_written - self.capacity, 0)
        hi = min(start + n, self.total_written)
        pos = lo
        while pos < hi:
            ring_pos = pos % self.capacity
            run = min(hi - pos, self.capacity - ring_pos)
            result[pos - start : pos - start + run] = self._data[ring_pos : ring_pos + run]
            pos += run
        return result

    def slots(self, start: int, stop: int) -> list[npt.NDArray[SampleT]]:
        """Read-only views of the storage where absolute indices [start, stop) live: one, or two across
        the wrap. Outside [oldest, total_written) a slot holds silence or an older lap; callers that
        summarise whole buckets (the waveform) accept that. At most `capacity` long."""
        if start < 0 or not 0 <= stop - start <= self.capacity:
            raise ValueError(f"[{start}, {stop}) does not fit in a ring of {self.capacity}")
        out: list[npt.NDArray[SampleT]] = []
        pos = start
        while pos < stop:
            ring_pos = pos % self.capacity
            run = min(stop - pos, self.capacity - ring_pos)
            view = self._data[ring_pos : ring_pos + run]
            view.flags.writeable = False
            out.append(view)
            pos += run
        return out

    def latest(self, count: int) -> npt.NDArray[SampleT]:
        """The most recent `count` samples, oldest first (zeros before anything was written)."""
        count = max(0, min(int(count), self.capacity))
        return self.read(self.total_written - count, count)

    def since(self, position: int) -> tuple[npt.NDArray[SampleT], int]:
        """Samples written after absolute `position` (as many as are still held), and the new position.
        Fewer samples than the positions advanced means the rest was overwritten before it was read."""
        end = self.total_written  # one look: a callback on another thread may be writing meanwhile
        start = max(int(position), end - self.capacity)
        return self.read(start, max(0, end - start)), end


@dataclass(slots=True)
class Levels:
    rms_dbfs: float = SILENCE_DBFS
    peak_dbfs: float = SILENCE_DBFS


class LevelMeter:
    """A ring of recent samples plus RMS and peak (dBFS) of the latest block."""

    def __init__(self, rate: int, seconds: float = 5.0) -> None:
        self.rate = int(rate)
        self.ring = SampleRing(max(1, int(rate * seconds)), np.float32)
        self.levels = Levels()

    def feed(self, block: Float32Array) -> None:
        self.ring.write(block)
        self.levels = Levels(rms_dbfs=rms_dbfs(block), peak_dbfs=peak_dbfs(block))

    def recent(self, seconds: float) -> Float32Array:
        recent: Float32Array = self.ring.latest(int(self.rate * seconds))
        return recent
