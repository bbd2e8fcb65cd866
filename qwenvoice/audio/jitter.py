"""The playback jitter buffer: a preallocated ring the output callback copies from.

Reply audio arrives in bursts (the server generates faster than real time, the network adds jitter);
the device wants a steady block every few ms. The buffer sits between them:

* The event loop `push()`es audio already at the device rate, tagged with `response_id`/`item_id`.
* The output callback calls `render(out, now)`; it only copies from the ring, counts, and flips a
  small state machine (idle -> prebuffering -> playing). No allocation beyond numpy views, no
  logging, no raising.
* Playback starts once `target_ms` has been received, or at once when the response's audio is complete.
  Audio the caller has received but still holds (a resampler's filter delay, `held` in `push()`)
  counts toward that depth: it arrives with the next chunk, so waiting for it only adds latency.
  An underrun plays silence, is counted, grows the target and rebuffers; a long stable stretch
  shrinks the target again, slowly.
* `flush()` (barge-in) moves the read position to the write position in O(1), fades the next few ms
  out so there is no click, and reports how much of which item was actually played. Late chunks
  of a flushed response are dropped.
* Positions are absolute sample counters, so "what was played" per item is a subtraction, and the
  callback writes one (position, time) pair per block into a small log from which the loop learns
  when an item's first sample went to the device.

The lock is held by the callback for one block copy and by the loop only for index updates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from qwenvoice.audio.pcm import Float32Array
from qwenvoice.audio.ring import SampleRing

IDLE, PREBUFFERING, PLAYING = 0, 1, 2
STATE_NAMES = {IDLE: "idle", PREBUFFERING: "prebuffering", PLAYING: "playing"}
RENDER_LOG_SIZE = 1024
CANCELLED_MEMORY = 64
FINISHED_MEMORY = 64


@dataclass(slots=True, frozen=True)
class FlushReport:
    """What the user heard of the item that was playing when the buffer was flushed."""

    item_id: str | None
    response_id: str | None
    played_samples: int  # at the item's source rate (24 kHz for Omni replies)
    played_ms: float
    dropped_ms: float  # buffered audio that was thrown away


@dataclass(slots=True, frozen=True)
class PlaybackEvent:
    kind: Literal["item_started", "item_finished"]
    response_id: str
    item_id: str
    at: float  # monotonic time of the callback that played the first (or last) sample
    played_ms: float
    first_chunk_to_first_sample_ms: float | None = None
    flushed: bool = False


@dataclass(slots=True, frozen=True)
class PlaybackMetrics:
    state: str
    buffered_ms: float
    target_ms: float
    underruns: int
    underrun_ms: float
    late_starts: int
    flushes: int
    flushed_ms: float
    dropped_stale_chunks: int
    overflow_dropped_ms: float
    played_ms_total: float
    played_ms_by_item: dict[str, float]
    first_chunk_to_first_sample_ms: float | None
    callbacks: int
    device_underflows: int = 0
    device_errors: int = 0
    device_delay_ms: float = 0.0  # handed to the device -> at the DAC (PortAudio's estimate)
    device: str = ""
    sample_rate: int = 0
    volume: float = 1.0


@dataclass(slots=True)
class _ItemTrack:
    response_id: str
    item_id: str
    source_rate: int
    ranges: list[list[int]] = field(default_factory=list)  # [start, end) absolute device positions
    first_chunk_at: float = 0.0
    started: bool = False
    flushed: bool = False

    def played_frames(self, read_pos: int) -> int:
        return sum(max(0, min(read_pos, end) - start) for start, end in self.ranges)

    @property
    def start(self) -> int:
        return self.ranges[0][0]

    @property
    def end(self) -> int:
        return self.ranges[-1][1]


class JitterBuffer:
    def __init__(
        self,
        rate: int,
        *,
        capacity_seconds: float = 60.0,
        target_ms: float = 80.0,
        min_target_ms: float = 60.0,
        max_target_ms: float = 400.0,
        grow_ms: float = 40.0,
        shrink_ms: float = 10.0,
        stable_seconds: float = 30.0,
        fade_ms: float = 4.0,
        late_start_slack_ms: float = 40.0,
        stall_ms: float = 5000.0,
    ) -> None:
        self.rate = int(rate)
        self.capacity = max(1, int(rate * capacity_seconds))
        self._ring = SampleRing(self.capacity, np.float32)  # holds [_read, _write): pushes never overrun it
        self._lock = threading.Lock()
        self._ms = 1000.0 / self.rate
        # Shared between the callback and the loop (under the lock).
        self._write = 0
        self._read = 0
        self._complete_until = 0  # audio before this position belongs to finished responses
        self._held = 0  # frames received upstream but not yet pushed (resampler delay); count toward the start
        self._state = IDLE
        self._rebuffering = False
        self._rebuffer_frames = 0
        self._stall_frames = self._frames(stall_ms)
        self._target = self._frames(target_ms)
        self._min_target = self._frames(min_target_ms)
        self._max_target = self._frames(max_target_ms)
        self._grow = self._frames(grow_ms)
        self._shrink = self._frames(shrink_ms)
        self._stable_needed = self._frames(stable_seconds * 1000.0)
        self._stable = 0
        fade = self._frames(fade_ms)  # gains strictly between 1 and 0; none at all for fade_ms=0
        self._fade = np.linspace(1.0, 0.0, fade + 2, dtype=np.float32)[1:-1]
        self._fade_in = self._fade[::-1].copy()
        self._resume_fade_pending = False  # after an underrun, ramp the first samples back in
        self._fade_from = -1
        self._fade_until = -1
        self.volume = 1.0
        # Counters written by the callback.
        self.callbacks = 0
        self.underruns = 0
        self.underrun_frames = 0
        self.played_frames = 0
        self._log_pos = np.zeros(RENDER_LOG_SIZE, dtype=np.int64)
        self._log_time = np.zeros(RENDER_LOG_SIZE, dtype=np.float64)
        self._log_count = 0
        # Loop-side bookkeeping.
        self._late_start_slack = late_start_slack_ms
        self._items: list[_ItemTrack] = []
        self._finished_played_ms: OrderedDict[str, float] = OrderedDict()
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._first_chunk_at: dict[str, float] = {}
        self._completed_responses: set[str] = set()
        self._started_responses: set[str] = set()
        self.late_starts = 0
        self.flushes = 0
        self.flushed_frames = 0
        self.dropped_stale_chunks = 0
        self.overflow_frames = 0
        self.last_first_chunk_to_first_sample_ms: float | None = None
        self.first_chunk_to_first_sample_history: list[float] = []

    def _frames(self, ms: float) -> int:
        return int(round(ms * self.rate / 1000.0))

    # ---------------------------------------------------------------- loop side
    def push(
        self,
        samples: Float32Array,
        response_id: str,
        item_id: str,
        now: float,
        source_rate: int = 24000,
        *,
        held: int = 0,
    ) -> bool:
        """Queue mono float32 audio at the device rate. False if dropped (response already flushed).

        `held` is how many device-rate frames of this response the caller has received but still holds
        back (a streaming resampler's delay); they count toward the start depth.
        """
        if response_id in self._cancelled:
            self.dropped_stale_chunks += 1
            return False
        self._first_chunk_at.setdefault(response_id, now)
        n = int(samples.shape[0])
        if n == 0:
            with self._lock:
                self._held = max(0, held)
            return True
        free = self.capacity - (self._write - self._read)  # only grows while we copy
        if n > free:
            self.overflow_frames += n - free
            samples = samples[:free]
            n = free
            if n == 0:
                return True
        self._ring.write(samples)
        with self._lock:
            begin = self._write
            self._write = begin + n
            self._held = max(0, held)
            if self._state == IDLE:
                self._state = PREBUFFERING
                self._rebuffering = False
        self._track(response_id, item_id, source_rate, begin, begin + n, now)
        return True

    def _track(self, response_id: str, item_id: str, source_rate: int, begin: int, end: int, now: float) -> None:
        for item in reversed(self._items):
            if item.item_id == item_id and item.response_id == response_id:
                last = item.ranges[-1]
                if last[1] == begin:
                    last[1] = end
                else:
                    item.ranges.append([begin, end])
                return
        self._items.append(
            _ItemTrack(response_id, item_id, source_rate, [[begin, end]], first_chunk_at=now)
        )

    def end_of_response(self, response_id: str) -> None:
        """All audio of this response has been pushed: play it to the last sample, start now if waiting."""
        ends = [item.end for item in self._items if item.response_id == response_id]
        if not ends:
            return  # no audio (or all of it already played and forgotten): nothing to mark
        self._completed_responses.add(response_id)
        with self._lock:
            self._complete_until = max(self._complete_until, max(ends))
            self._held = 0

    def flush(self, cancel_response_id: str | None = None) -> FlushReport:
        """Barge-in: silence from the next callback block on, drop what is buffered, report what was heard.

        Every response with audio still to come is cancelled (its late chunks are dropped), and so is
        `cancel_response_id` even if none of its audio has arrived yet.
        """
        if cancel_response_id is not None:
            self._cancel(cancel_response_id)
        with self._lock:
            read, write = self._read, self._write
            if write > read and self._state == PLAYING and self._fade.shape[0]:
                self._fade_from = read
                self._fade_until = min(write, read + self._fade.shape[0])
            self._read = write
            self._complete_until = write
            self._held = 0
            self._state = IDLE
            self._rebuffering = False
            self._resume_fade_pending = False
        dropped = write - read
        self.flushes += 1
        self.flushed_frames += dropped
        current = self._item_at(read)
        for item in self._items:
            if item.end > read:
                item.flushed = True
                self._cancel(item.response_id)
                # keep only what was played, so its finish event reports the truth
                item.ranges = [[s, min(e, read)] for s, e in item.ranges if s < read] or [[read, read]]
        for response_id in list(self._first_chunk_at):
            if response_id not in self._completed_responses:
                self._cancel(response_id)
        if current is None:
            return FlushReport(None, None, 0, 0.0, dropped * self._ms)
        played = current.played_frames(read)
        played_ms = played * self._ms
        return FlushReport(
            current.item_id,
            current.response_id,
            int(round(played_ms * current.source_rate / 1000.0)),
            played_ms,
            dropped * self._ms,
        )

    def _cancel(self, response_id: str) -> None:
        self._cancelled[response_id] = None
        while len(self._cancelled) > CANCELLED_MEMORY:
            self._cancelled.popitem(last=False)

    def _item_at(self, position: int) -> _ItemTrack | None:
        """The item whose audio is at (or was last played before) `position`."""
        best: _ItemTrack | None = None
        for item in self._items:
            if item.start < position or (item.start == position and item.end > position):
                best = item
        return best

    def is_cancelled(self, response_id: str) -> bool:
        return response_id in self._cancelled

    def reset_target(self, target_ms: float) -> None:
        self._target = min(max(self._frames(target_ms), self._min_target), self._max_target)

    def _time_played(self, position: int, log_pos: np.ndarray, log_time: np.ndarray) -> float:
        """Monotonic time of the callback that played the sample at absolute `position`."""
        later = np.nonzero(log_pos > position)[0]
        if later.size == 0:
            return float(log_time.max()) if log_time.size else 0.0
        # the earliest such callback (logs are in ring order; pick the smallest position above)
        idx = later[np.argmin(log_pos[later])]
        return float(log_time[idx])

    def first_render_after(self, moment: float) -> float | None:
        """Monotonic time of the first callback after `moment` (e.g. how soon a flush was heard)."""
        with self._lock:
            count = min(self._log_count, RENDER_LOG_SIZE)
            times = self._log_time[:count].copy()
        later = times[times > moment]
        return float(later.min()) if later.size else None

    def poll(self) -> list[PlaybackEvent]:
        """Events for items whose first sample or last sample has been played since the last poll."""
        with self._lock:
            read = self._read
            count = min(self._log_count, RENDER_LOG_SIZE)
            log_pos = self._log_pos[:count].copy()
            log_time = self._log_time[:count].copy()
        events: list[PlaybackEvent] = []
        remaining: list[_ItemTrack] = []
        for item in self._items:
            if not item.started and read > item.start and item.end > item.start:
                item.started = True
                at = self._time_played(item.start, log_pos, log_time)
                latency: float | None = None
                if item.response_id not in self._started_responses:
                    first_chunk = self._first_chunk_at.get(item.response_id, item.first_chunk_at)
                    latency = max(0.0, (at - first_chunk) * 1000.0)
                    self.last_first_chunk_to_first_sample_ms = latency
                    self.first_chunk_to_first_sample_history.append(latency)
                    del self.first_chunk_to_first_sample_history[:-1000]
                    if latency > self._target * self._ms + self._late_start_slack:
                        self.late_starts += 1
                    self._started_responses.add(item.response_id)
                events.append(PlaybackEvent("item_started", item.response_id, item.item_id, at,
                                            item.played_frames(read) * self._ms, latency))
            done = (item.response_id in self._completed_responses or item.flushed) and read >= item.end
            if done:
                played_ms = item.played_frames(read) * self._ms
                at = self._time_played(max(item.end - 1, item.start), log_pos, log_time)
                events.append(PlaybackEvent("item_finished", item.response_id, item.item_id, at,
                                            played_ms, flushed=item.flushed))
                self._finished_played_ms[item.item_id] = played_ms
                while len(self._finished_played_ms) > FINISHED_MEMORY:
                    self._finished_played_ms.popitem(last=False)
            else:
                remaining.append(item)
        self._items = remaining
        live = {i.response_id for i in remaining}
        for response_id in list(self._first_chunk_at):
            if response_id not in live and (response_id in self._completed_responses
                                             or response_id in self._cancelled):
                del self._first_chunk_at[response_id]
                self._completed_responses.discard(response_id)
                self._started_responses.discard(response_id)
        return events

    def metrics(self) -> PlaybackMetrics:
        with self._lock:
            read, write = self._read, self._write
            state, target = self._state, self._target
        by_item = dict(self._finished_played_ms)
        for item in self._items:
            by_item[item.item_id] = item.played_frames(read) * self._ms
        return PlaybackMetrics(
            state=STATE_NAMES[state],
            buffered_ms=(write - read) * self._ms,
            target_ms=target * self._ms,
            underruns=self.underruns,
            underrun_ms=self.underrun_frames * self._ms,
            late_starts=self.late_starts,
            flushes=self.flushes,
            flushed_ms=self.flushed_frames * self._ms,
            dropped_stale_chunks=self.dropped_stale_chunks,
            overflow_dropped_ms=self.overflow_frames * self._ms,
            played_ms_total=self.played_frames * self._ms,
            played_ms_by_item=by_item,
            first_chunk_to_first_sample_ms=self.last_first_chunk_to_first_sample_ms,
            callbacks=self.callbacks,
            volume=self.volume,
            sample_rate=self.rate,
        )

    @property
    def buffered_frames(self) -> int:
        return self._write - self._read

    @property
    def target_frames(self) -> int:
        return self._target

    @property
    def state(self) -> str:
        return STATE_NAMES[self._state]

    def is_idle(self) -> bool:
        return self._state == IDLE and not self._items

    # ---------------------------------------------------------------- callback side
    def render(self, out: Float32Array, now: float) -> None:
        """Fill `out` (1-D float32, one block) from the ring. Real-time safe: copies and counts only."""
        frames = out.shape[0]
        with self._lock:
            self.callbacks += 1
            written = 0
            if self._fade_from >= 0:
                written = self._render_fade(out)
            elif self._state == PLAYING or (self._state == PREBUFFERING and self._ready()):
                written = self._render_playing(out, frames)
            elif self._rebuffering:
                self.underrun_frames += frames  # still refilling after an underrun
                self._rebuffer_frames += frames
                if self._rebuffer_frames >= self._stall_frames:
                    self._rebuffering = False  # the reply stalled or was abandoned: stop counting
            if written < frames:
                out[written:] = 0.0
            if self.volume != 1.0:
                out *= self.volume
            slot = self._log_count % RENDER_LOG_SIZE
            self._log_pos[slot] = self._read
            self._log_time[slot] = now
            self._log_count += 1

    def _ready(self) -> bool:
        available = self._write - self._read
        if available <= 0:
            return False
        return available + self._held >= self._target or self._complete_until >= self._write

    def _render_fade(self, out: Float32Array) -> int:
        count = min(int(out.shape[0]), self._fade_until - self._fade_from)
        self._ring.read(self._fade_from, count, out[:count])
        out[:count] *= self._fade[:count]
        self._fade_from = self._fade_until = -1
        return count

    def _render_playing(self, out: Float32Array, frames: int) -> int:
        self._state = PLAYING
        self._rebuffering = False
        n = min(self._write - self._read, frames)
        self._ring.read(self._read, n, out[:n])
        self._read += n
        self.played_frames += n
        fade = self._fade.shape[0]
        if self._resume_fade_pending:
            self._resume_fade_pending = False
            k = min(n, fade)
            out[:k] *= self._fade_in[:k]
        if n < frames:
            if self._complete_until >= self._write:
                self._state = IDLE  # the response played to its last sample
            else:
                # concealment is silence: ramp the last samples down (and back up on resume), no click
                k = min(n, fade)
                if k:
                    out[n - k : n] *= self._fade[fade - k :]
                self._resume_fade_pending = fade > 0
                self.underruns += 1
                self.underrun_frames += frames - n
                self._state = PREBUFFERING
                self._rebuffering = True
                self._rebuffer_frames = 0
                self._target = min(self._target + self._grow, self._max_target)
                self._stable = 0
        else:
            self._stable += n
            if self._stable >= self._stable_needed:
                self._stable = 0
                self._target = max(self._target - self._shrink, self._min_target)
        return n
