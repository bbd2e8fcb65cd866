"""Timeline rings and the min/max envelope behind the live waveform."""

from __future__ import annotations

import numpy as np

from qwenvoice.audio.pcm import int16_to_float32, rms_dbfs
from qwenvoice.session.waveform_data import TimelineRing, min_max_envelope


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_blocks_land_at_wall_clock_and_gaps_are_silent():
    clock = FakeClock()
    ring = TimelineRing(1000, capacity_s=5, clock=clock)
    clock.t += 1.0
    ring.write(np.full(100, 7, dtype=np.int16))  # arrives at t=1s: occupies samples 900..999
    assert ring.head == 1000
    w = ring.window(1.0)
    assert (w[:900] == 0).all() and (w[900:] == 7).all()
    clock.t += 0.5
    w = ring.window(1.0)  # 0.5 s later, the block has moved left
    assert (w[400:500] == 7).all() and (w[500:] == 0).all()


def test_bursts_ahead_of_real_time_play_out_later_and_can_be_dropped():
    clock = FakeClock()
    ring = TimelineRing(1000, capacity_s=5, clock=clock)
    clock.t += 1.0
    ring.write(np.full(500, 3, dtype=np.int16))
    ring.write(np.full(500, 4, dtype=np.int16))  # burst: placed after the first, in the future
    assert ring.head == 1500
    assert (ring.window(0.1) == 3).all()
    clock.t += 0.2
    assert (ring.window(0.1)[-50:] == 4).all()
    ring.clear_ahead()
    assert ring.head == ring.position_now()
    clock.t += 0.3
    assert (ring.window(0.3) == 0).all()


def test_wraparound_keeps_the_newest_samples():
    clock = FakeClock()
    ring = TimelineRing(100, capacity_s=1, clock=clock)
    for i in range(25):
        clock.t += 0.1
        ring.write(np.full(10, i, dtype=np.int16))
    w = ring.window(1.0)
    assert list(w[::10]) == list(range(15, 25))


def test_envelope_keeps_peaks():
    x = np.zeros(1000, dtype=np.int16)
    x[123] = 30000
    x[877] = -30000
    lo, hi = min_max_envelope(x, 10)
    assert hi[1] == 30000 and lo[8] == -30000 and hi.max() == 30000 and len(lo) == 10
    lo2, hi2 = min_max_envelope(np.arange(5, dtype=np.int16), 10)  # fewer samples than pixels
    assert len(lo2) == 10 and hi2[-1] == 4
    lo3, _ = min_max_envelope(np.zeros(0, dtype=np.int16), 4)
    assert len(lo3) == 4


def test_levels():
    assert rms_dbfs(int16_to_float32(np.zeros(100, dtype=np.int16))) == -120.0
    full = np.full(100, 32767, dtype=np.int16)
    assert abs(rms_dbfs(int16_to_float32(full))) < 0.01
    clock = FakeClock()
    ring = TimelineRing(1000, capacity_s=2, clock=clock)
    clock.t += 0.2
    ring.write(np.full(100, 3276, dtype=np.int16))
    assert -21 < ring.level_dbfs(0.05) < -19


def test_bucket_envelope_matches_the_samples():
    clock = FakeClock()
    ring = TimelineRing(1000, capacity_s=4, clock=clock, bucket_ms=10)  # 10-sample buckets
    rng = np.random.default_rng(1)
    for _ in range(30):  # odd block sizes, so blocks straddle bucket edges; wraps the ring too
        clock.t += 0.137
        ring.write(rng.integers(-3000, 3000, 137).astype(np.int16))
    end = ring.head // 10 * 10
    lo, hi = ring.envelope(2.0, 50, end=end)
    exact_lo, exact_hi = min_max_envelope(ring.window(2.0, end=end), 50)
    assert (lo == exact_lo).all() and (hi == exact_hi).all()
    wide_lo, wide_hi = ring.envelope(2.0, 400, end=end)  # more columns than buckets: stretched
    assert len(wide_lo) == 400 and wide_hi.max() == hi.max()
    ring.clear_ahead()
    clock.t += 10.0
    lo, hi = ring.envelope(2.0, 50)
    assert not lo.any() and not hi.any()
