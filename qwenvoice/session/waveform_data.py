"""Recent audio on a wall-clock timeline, and the min/max-per-pixel envelope the waveform draws.

Qt-free and allocation-light: one preallocated int16 ``SampleRing`` per signal. Writers (on the loop) place each
block at the current time position, padding gaps with silence, so the microphone and the assistant's
voice share one time axis even though replies arrive faster than they play. The view pulls a window
ending "now" at display rate and reduces it to one (min, max) pair per pixel column.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from qwenvoice.audio.pcm import int16_to_float32, rms_dbfs
from qwenvoice.audio.ring import SampleRing


class TimelineRing:
    """The last ``capacity_s`` seconds of one mono int16 signal, indexed by absolute sample number.

    Alongside the samples it keeps a min/max per ``bucket_ms`` bucket, updated as blocks are written,
    so a view can draw 10 s of audio from ~1000 buckets instead of 160 000 samples per frame.
    """

    def __init__(
        self,
        sample_rate: int,
        capacity_s: float = 40.0,
        clock: Callable[[], float] = time.monotonic,
        bucket_ms: float = 10.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.bucket = max(1, int(sample_rate * bucket_ms / 1000))
        self.capacity = int(capacity_s * sample_rate) // self.bucket * self.bucket
        self._ring = SampleRing(self.capacity, np.int16)  # absolute sample index = position on the timeline
        self._n_buckets = self.capacity // self.bucket
        self._bmin = np.zeros(self._n_buckets, dtype=np.int16)
        self._bmax = np.zeros(self._n_buckets, dtype=np.int16)
        self._clock = clock
        self._origin = clock()
        self.version = 0  # bumps on every write; views skip repaints when unchanged

    @property
    def head(self) -> int:
        """Absolute index of the next sample to write."""
        return self._ring.total_written

    def position_now(self) -> int:
        return round((self._clock() - self._origin) * self.sample_rate)

    def _silence_until(self, start: int) -> None:
        """Silence from head up to ``start`` (a gap in what arrived)."""
        gap = start - self.head
        if gap <= 0:
            return
        self._ring.write_zeros(gap)
        if gap >= self.capacity:
            self._bmin[:] = 0
            self._bmax[:] = 0
        else:
            self._update_buckets(start - gap, start)

    def _update_buckets(self, start: int, stop: int) -> None:
        """Recompute the min/max of every bucket that [start, stop) touches."""
        first = start // self.bucket
        last = -(-stop // self.bucket)  # ceil
        if last - first >= self._n_buckets:
            first = last - self._n_buckets
        b0 = first % self._n_buckets
        for view in self._ring.slots(first * self.bucket, last * self.bucket):  # bucket-aligned, as is the wrap
            nb = view.shape[0] // self.bucket
            block = view.reshape(nb, self.bucket)
            self._bmin[b0 : b0 + nb] = block.min(axis=1)
            self._bmax[b0 : b0 + nb] = block.max(axis=1)
            b0 = (b0 + nb) % self._n_buckets

    def write(self, samples: np.ndarray | bytes) -> None:
        block = np.frombuffer(samples, dtype=np.int16) if isinstance(samples, bytes | bytearray) else samples
        n = len(block)
        if n == 0:
            return
        # A block that arrives now ends now: anything between head and its start is silence.
        self._silence_until(self.position_now() - n)
        self._ring.write(block)
        self._update_buckets(max(self.head - n, self.head - self.capacity), self.head)
        self.version += 1

    def envelope(self, seconds: float, columns: int, end: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) per pixel column for the ``seconds`` ending at ``end`` (default now), from the
        buckets; nothing is written ahead of ``head``, so later buckets read as silence."""
        end = self.position_now() if end is None else end
        n_b = min(max(1, int(seconds * self.sample_rate) // self.bucket), self._n_buckets)
        end_b = end // self.bucket
        idx = np.arange(end_b - n_b, end_b)
        valid = (idx >= 0) & (idx * self.bucket < self.head) & (idx * self.bucket >= self.head - self.capacity)
        ring_idx = idx % self._n_buckets
        lo = np.where(valid, self._bmin[ring_idx], 0).astype(np.int16)
        hi = np.where(valid, self._bmax[ring_idx], 0).astype(np.int16)
        if columns <= 0:
            empty = np.zeros(0, dtype=np.int16)
            return empty, empty
        if columns >= n_b:
            pick = (np.arange(columns) * n_b) // columns
            return lo[pick], hi[pick]
        bounds = (np.arange(columns) * n_b) // columns
        return np.minimum.reduceat(lo, bounds), np.maximum.reduceat(hi, bounds)

    def clear_ahead(self) -> None:
        """Drop samples placed after "now" (audio that will no longer be played, e.g. barge-in)."""
        now = self.position_now()
        head = self.head
        if head > now:
            self._ring.truncate(now)
            self._update_buckets(max(now, head - self.capacity), head)
            self.version += 1

    def window(self, seconds: float, end: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """The ``seconds`` of samples ending at ``end`` (default: now); unwritten parts are zeros."""
        n = min(int(seconds * self.sample_rate), self.capacity)
        end = self.position_now() if end is None else end
        if out is None or len(out) != n:
            out = np.zeros(n, dtype=np.int16)
        window: np.ndarray = self._ring.read(end - n, n, out)
        return window

    def level_dbfs(self, seconds: float = 0.05) -> float:
        """RMS level of the most recent ``seconds`` that were actually written, in dBFS."""
        n = int(seconds * self.sample_rate)
        tail = self.window(n / self.sample_rate, end=min(self.head, self.position_now()))
        return rms_dbfs(int16_to_float32(tail))


def min_max_envelope(samples: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``samples`` to ``columns`` (min, max) pairs, so that no peak is lost between pixels.

    Returns two int16 arrays of length ``columns``. Samples that do not divide evenly are trimmed
    from the oldest end (the newest sample always lands in the last column).
    """
    if columns <= 0:
        empty = np.zeros(0, dtype=np.int16)
        return empty, empty
    n = len(samples)
    per_column = n // columns
    if per_column == 0:
        # Fewer samples than pixels: stretch (nearest neighbour), min == max.
        if n == 0:
            zeros = np.zeros(columns, dtype=np.int16)
            return zeros, zeros.copy()
        idx = (np.arange(columns) * n) // columns
        picked = samples[idx]
        return picked.copy(), picked.copy()
    used = samples[n - per_column * columns :].reshape(columns, per_column)
    return used.min(axis=1), used.max(axis=1)
