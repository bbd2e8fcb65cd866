"""The one sample ring: absolute positions, silence where nothing is held, and what the real-time
callers (the output callback, the jitter buffer) rely on."""

from __future__ import annotations

import numpy as np
import pytest

from qwenvoice.audio.capture import PushToTalkGate
from qwenvoice.audio.ring import SampleRing


def test_keeps_its_dtype_and_reads_by_absolute_position() -> None:
    ring = SampleRing(8, np.int16)
    ring.write(np.arange(1, 12, dtype=np.int16))  # 1..3 are gone
    assert ring.total_written == 11 and ring.oldest == 3
    assert ring.read(2, 4).dtype == np.int16
    assert ring.read(2, 4).tolist() == [0, 4, 5, 6]
    assert ring.read(9, 4).tolist() == [10, 11, 0, 0]
    assert ring.latest(3).tolist() == [9, 10, 11]


def test_reading_into_a_buffer_allocates_nothing_and_clears_what_is_not_held() -> None:
    ring = SampleRing(6, np.float32)
    ring.write(np.array([1, 2, 3], dtype=np.float32))
    out = np.full(5, 9.0, dtype=np.float32)
    assert ring.read(1, 5, out) is out
    assert out.tolist() == [2, 3, 0, 0, 0]


def test_since_reports_samples_lost_to_a_late_reader() -> None:
    ring = SampleRing(4, np.float32)
    ring.write(np.arange(10, dtype=np.float32))
    samples, position = ring.since(3)
    assert samples.tolist() == [6, 7, 8, 9] and position == 10
    assert position - 3 - samples.shape[0] == 3  # 3, 4, 5 were overwritten before they were read
    assert ring.since(10)[0].shape == (0,)


def test_truncate_forgets_audio_placed_ahead_and_writes_resume_there() -> None:
    ring = SampleRing(10, np.int16)
    ring.write(np.full(8, 5, dtype=np.int16))
    ring.truncate(6)
    assert ring.total_written == 6 and ring.read(4, 4).tolist() == [5, 5, 0, 0]
    ring.write_zeros(1)
    ring.write(np.array([7], dtype=np.int16))
    assert ring.read(4, 4).tolist() == [5, 5, 0, 7]
    ring.truncate(-100)  # further back than it holds: all of it goes
    assert ring.total_written == 0 and not ring.read(0, 10).any()


def test_slots_are_read_only_views_split_at_the_wrap() -> None:
    ring = SampleRing(6, np.int16)
    ring.write(np.arange(1, 9, dtype=np.int16))
    first, second = ring.slots(4, 8)
    assert first.tolist() == [5, 6] and second.tolist() == [7, 8]
    with pytest.raises(ValueError):
        first[0] = 0
    with pytest.raises(ValueError):
        ring.slots(0, 7)  # longer than the ring


def test_push_to_talk_pre_roll_is_the_audio_since_the_last_press() -> None:
    gate = PushToTalkGate(rate=1000, preroll_ms=5, continuous=False)
    assert gate.feed(np.arange(3, dtype=np.int16)) is None
    assert gate.feed(np.arange(3, 7, dtype=np.int16)) is None
    assert gate.press().tolist() == [2, 3, 4, 5, 6]  # the last 5 ms
    assert gate.feed(np.array([9], dtype=np.int16)).tolist() == [9]  # held: sent, not kept
    gate.release()
    assert gate.press().tolist() == []  # nothing was kept since
    assert PushToTalkGate(preroll_ms=0, continuous=False).press().tolist() == []
