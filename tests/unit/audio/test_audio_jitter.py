"""The jitter buffer driven directly with arrays and a simulated clock (no PortAudio)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenvoice.audio.jitter import JitterBuffer

RATE = 24000
BLOCK = 240  # 10 ms callbacks


def ramp(n: int, start: int = 0) -> np.ndarray:
    """Distinct, non-zero samples so order and completeness can be checked exactly."""
    return ((np.arange(start, start + n) % 20000) + 1).astype(np.float32) / 32768.0


class Device:
    """A paced output device: one render() per block, on a simulated clock."""

    def __init__(self, jb: JitterBuffer, block: int = BLOCK) -> None:
        self.jb, self.block, self.ticks = jb, block, 0
        self.out: list[np.ndarray] = []

    @property
    def now(self) -> float:
        return self.ticks * self.block / self.jb.rate

    def tick(self, count: int = 1) -> np.ndarray:
        blocks = []
        for _ in range(count):
            buf = np.full(self.block, 7.0, dtype=np.float32)  # garbage the render must overwrite
            self.jb.render(buf, self.now)
            self.ticks += 1
            self.out.append(buf)
            blocks.append(buf)
        return np.concatenate(blocks)

    def audible(self) -> np.ndarray:
        whole = np.concatenate(self.out)
        return whole[whole != 0]


def test_waits_for_target_depth_then_plays():
    jb = JitterBuffer(RATE, target_ms=80)
    dev = Device(jb)
    jb.push(ramp(960), "r1", "i1", dev.now)  # 40 ms: below target
    assert not dev.tick(3).any()
    assert jb.state == "prebuffering"
    jb.push(ramp(960, 960), "r1", "i1", dev.now)  # 80 ms in total
    block = dev.tick()
    assert np.array_equal(block, ramp(BLOCK))
    assert jb.state == "playing"


def test_short_complete_response_starts_at_once_and_drains_to_the_last_sample():
    jb = JitterBuffer(RATE, target_ms=80)
    dev = Device(jb)
    audio = ramp(725)  # 30.2 ms: below target, not a multiple of the block
    jb.push(audio, "r1", "i1", dev.now)
    jb.end_of_response("r1")
    dev.tick(6)
    assert np.array_equal(dev.audible(), audio)
    m = jb.metrics()
    assert m.underruns == 0 and m.state == "idle" and m.buffered_ms == 0
    events = jb.poll()
    assert [e.kind for e in events] == ["item_started", "item_finished"]
    assert events[1].played_ms == pytest.approx(725 / RATE * 1000)


def test_drain_plays_every_sample_of_a_long_response_in_order():
    jb = JitterBuffer(RATE)
    dev = Device(jb)
    sent = 0
    for _ in range(50):  # 50 chunks of 80 ms delivered at 2x real time
        jb.push(ramp(1920, sent), "r1", "i1", dev.now)
        sent += 1920
        dev.tick(4)
    jb.end_of_response("r1")
    dev.tick(400)
    assert np.array_equal(dev.audible(), ramp(sent))
    assert jb.metrics().underruns == 0
    assert jb.metrics().played_ms_by_item["i1"] == pytest.approx(sent / RATE * 1000)


@pytest.mark.parametrize("max_jitter_ms", [0, 50, 150])
def test_arrival_jitter_up_to_150ms_loses_nothing_and_stays_ordered(max_jitter_ms):
    rng = np.random.default_rng(max_jitter_ms)
    jb = JitterBuffer(RATE, target_ms=80, fade_ms=0)  # no concealment ramps: compare samples exactly
    dev = Device(jb)
    chunk = 1920  # 80 ms per delta, generated at real time (RTF 1, the hard case)
    arrivals, last = [], 0.0
    for k in range(60):  # TCP delays but never reorders: arrival times are monotone
        last = max(last, k * 0.08 + rng.uniform(0, max_jitter_ms / 1000))
        arrivals.append((last, k))
    pending = list(arrivals)
    sent = 0
    while pending or jb.buffered_frames:
        while pending and pending[0][0] <= dev.now + 1e-9:
            _, k = pending.pop(0)
            jb.push(ramp(chunk, k * chunk), "r1", "i1", dev.now)
            sent += chunk
            if not pending:
                jb.end_of_response("r1")
        dev.tick()
        assert dev.now < 30
    audible = dev.audible()
    assert audible.shape[0] == sent == 60 * chunk
    assert np.array_equal(audible, ramp(sent))
    m = jb.metrics()
    if max_jitter_ms == 0:
        assert m.underruns == 0
    else:
        # each underrun grows the target by 40 ms, so 150 ms of jitter is absorbed after a few
        assert m.underruns <= 3
        assert m.target_ms >= 80


def test_burst_after_silence_plays_continuously():
    jb = JitterBuffer(RATE)
    dev = Device(jb)
    dev.tick(10)
    jb.push(ramp(RATE * 2), "r1", "i1", dev.now)  # 2 s at once
    jb.end_of_response("r1")
    dev.tick(210)
    audible = dev.audible()
    assert np.array_equal(audible, ramp(RATE * 2))
    whole = np.concatenate(dev.out)
    first = int(np.nonzero(whole)[0][0])
    assert np.count_nonzero(whole[first : first + RATE * 2]) == RATE * 2  # no gap inside
    assert jb.metrics().underruns == 0


def test_underrun_plays_silence_counts_and_rebuffers_with_a_bigger_target():
    jb = JitterBuffer(RATE, target_ms=80, grow_ms=40)
    dev = Device(jb)
    jb.push(ramp(1920), "r1", "i1", dev.now)
    dev.tick(8)  # 80 ms: drained, response still open
    block = dev.tick()
    assert not block.any()
    m = jb.metrics()
    assert m.underruns == 1 and m.target_ms == pytest.approx(120) and m.state == "prebuffering"
    jb.push(ramp(1920, 1920), "r1", "i1", dev.now)  # 80 ms < new 120 ms target: keep waiting
    assert not dev.tick().any()
    jb.push(ramp(960, 3840), "r1", "i1", dev.now)
    assert dev.tick().any()
    assert jb.metrics().underrun_ms >= 20


def test_target_shrinks_slowly_when_stable():
    jb = JitterBuffer(RATE, target_ms=200, min_target_ms=60, shrink_ms=10, stable_seconds=1.0)
    dev = Device(jb)
    jb.push(ramp(RATE * 5), "r1", "i1", dev.now)
    dev.tick(350)  # 3.5 s of stable playing
    assert jb.metrics().target_ms == pytest.approx(170)


def test_flush_mid_chunk_silences_within_one_block_and_reports_what_was_heard():
    jb = JitterBuffer(RATE, fade_ms=4)
    dev = Device(jb)
    jb.push(ramp(RATE), "r1", "item_a", dev.now)  # one 1 s chunk
    dev.tick(25)  # 250 ms played: the flush lands inside the chunk
    report = jb.flush()
    assert report.item_id == "item_a" and report.response_id == "r1"
    assert report.played_ms == pytest.approx(250)
    assert report.played_samples == 6000  # at 24 kHz: what the user heard
    assert report.dropped_ms == pytest.approx(750)
    block = dev.tick()
    fade = int(RATE * 0.004)
    assert not block[fade:].any()  # silent after the 4 ms fade, inside the first block
    assert np.all(np.abs(block[:fade]) <= np.abs(ramp(fade, 6000)) + 1e-7)
    assert not dev.tick(5).any()
    # late chunks of the flushed response are dropped
    assert jb.push(ramp(480), "r1", "item_a", dev.now) is False
    assert not dev.tick(20).any()
    m = jb.metrics()
    assert m.dropped_stale_chunks == 1 and m.flushes == 1 and m.flushed_ms == pytest.approx(750)
    assert m.played_ms_by_item["item_a"] == pytest.approx(250)
    finished = [e for e in jb.poll() if e.kind == "item_finished"]
    assert finished and finished[0].flushed and finished[0].played_ms == pytest.approx(250)
    # the next response plays normally
    jb.push(ramp(2400), "r2", "item_b", dev.now)
    jb.end_of_response("r2")
    dev.tick(15)
    assert np.array_equal(dev.audible()[-2400:], ramp(2400))


def test_flush_cancels_a_named_response_before_its_audio_arrives():
    jb = JitterBuffer(RATE)
    report = jb.flush(cancel_response_id="r9")
    assert report.item_id is None and report.played_samples == 0
    assert jb.push(ramp(480), "r9", "i9", 0.0) is False
    assert jb.is_cancelled("r9")


def test_first_chunk_to_first_sample_is_measured_at_render_time():
    jb = JitterBuffer(RATE, target_ms=80)
    dev = Device(jb)
    dev.tick(3)
    t0 = dev.now
    jb.push(ramp(960), "r1", "i1", dev.now)  # 40 ms
    dev.tick(4)
    jb.push(ramp(960, 960), "r1", "i1", dev.now)  # target reached 40 ms later
    dev.tick(2)
    started = [e for e in jb.poll() if e.kind == "item_started"]
    assert len(started) == 1
    assert started[0].first_chunk_to_first_sample_ms == pytest.approx((dev.now - 0.02 - t0) * 1000, abs=0.5)
    assert jb.metrics().first_chunk_to_first_sample_ms == started[0].first_chunk_to_first_sample_ms


def test_two_items_report_their_own_played_time():
    jb = JitterBuffer(RATE)
    dev = Device(jb)
    jb.push(ramp(2400), "r1", "a", dev.now)
    jb.push(ramp(1200, 2400), "r1", "b", dev.now)
    jb.end_of_response("r1")
    dev.tick(20)
    m = jb.metrics()
    assert m.played_ms_by_item == {"a": pytest.approx(100), "b": pytest.approx(50)}
    kinds = [(e.kind, e.item_id) for e in jb.poll()]
    assert kinds == [("item_started", "a"), ("item_finished", "a"), ("item_started", "b"),
                     ("item_finished", "b")]


def test_volume_scales_output():
    jb = JitterBuffer(RATE)
    dev = Device(jb)
    jb.volume = 0.5
    jb.push(ramp(RATE // 10), "r1", "i1", dev.now)
    jb.end_of_response("r1")
    dev.tick(12)
    assert np.allclose(dev.audible(), ramp(RATE // 10) * 0.5)


def test_capacity_caps_memory_and_counts_overflow():
    jb = JitterBuffer(RATE, capacity_seconds=1.0)
    assert jb.push(ramp(RATE + 2400), "r1", "i1", 0.0)
    m = jb.metrics()
    assert m.buffered_ms == pytest.approx(1000) and m.overflow_dropped_ms == pytest.approx(100)


def test_ring_wraps_without_corrupting_audio():
    jb = JitterBuffer(RATE, capacity_seconds=0.5)
    dev = Device(jb)
    sent = 0
    for _ in range(40):
        jb.push(ramp(2400, sent), "r1", "i1", dev.now)
        sent += 2400
        dev.tick(10)
    jb.end_of_response("r1")
    dev.tick(30)
    assert np.array_equal(dev.audible(), ramp(sent))


def test_an_abandoned_reply_stops_counting_underrun_time_but_resumes_if_audio_comes():
    jb = JitterBuffer(RATE, stall_ms=500, fade_ms=0)
    dev = Device(jb)
    jb.push(ramp(2400), "r1", "i1", dev.now)
    dev.tick(300)  # 100 ms played, then 2.9 s of nothing (the connection died mid-reply)
    m = jb.metrics()
    assert m.underruns == 1 and m.underrun_ms == pytest.approx(500, abs=10)
    jb.push(ramp(4800, 2400), "r1", "i1", dev.now)  # it came back after all
    jb.end_of_response("r1")
    dev.tick(30)
    assert np.array_equal(dev.audible(), ramp(7200))


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("push"), st.integers(1, 5000)), st.tuples(st.just("tick"), st.integers(1, 30))),
        min_size=1, max_size=40,
    ),
    block=st.sampled_from([240, 480, 441]),
    target_ms=st.sampled_from([0.0, 40.0, 80.0, 200.0]),
)
def test_any_arrival_pattern_plays_every_sample_once_in_order(steps, block, target_ms):
    jb = JitterBuffer(RATE, target_ms=target_ms, min_target_ms=0.0, capacity_seconds=2.0, fade_ms=0)
    dev = Device(jb, block=block)
    sent = 0
    for kind, amount in steps:
        if kind == "push":
            accepted = min(amount, jb.capacity - jb.buffered_frames)
            jb.push(ramp(amount, sent), "r1", "i1", dev.now)
            sent += accepted
            if accepted < amount:
                break  # the cap dropped the rest (counted); the stream is no longer contiguous
        else:
            dev.tick(amount)
        assert 0 <= jb.buffered_frames <= jb.capacity
    jb.end_of_response("r1")
    dev.tick(sent // block + 2)
    assert np.array_equal(dev.audible(), ramp(sent))
    m = jb.metrics()
    assert m.buffered_ms == 0 and m.played_ms_total == pytest.approx(sent / RATE * 1000)
    assert m.played_ms_by_item.get("i1", 0.0) == pytest.approx(sent / RATE * 1000)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("push"), st.integers(1, 4000)),
            st.tuples(st.just("tick"), st.integers(1, 20)),
            st.tuples(st.just("flush"), st.just(0)),
            st.tuples(st.just("end"), st.just(0)),
        ),
        min_size=1, max_size=50,
    ),
)
def test_flushes_at_any_moment_report_exactly_what_was_heard(steps):
    """Several responses; flushes and ends anywhere. What came out of the device is, response by
    response, exactly the prefix each flush report (or the finish event) says was played."""
    jb = JitterBuffer(RATE, fade_ms=0, target_ms=40)
    dev = Device(jb)
    response, sent = 1, 0
    heard_by_report: dict[str, int] = {}
    pushed: dict[str, int] = {}
    for kind, amount in steps:
        rid = f"r{response}"
        if kind == "push":
            if jb.push(ramp(amount, sent), rid, rid, dev.now):
                pushed[rid] = pushed.get(rid, 0) + amount
                sent += amount
        elif kind == "tick":
            dev.tick(amount)
        elif kind == "flush":
            report = jb.flush()
            if report.item_id is not None:
                heard_by_report[report.item_id] = round(report.played_ms * RATE / 1000)
                assert report.played_samples == round(report.played_ms * 24)
            if rid in pushed:
                assert jb.push(ramp(10), rid, rid, dev.now) is False  # a late chunk of the cut reply
            response += 1
        else:
            jb.end_of_response(rid)
            response += 1
    jb.end_of_response(f"r{response}")
    dev.tick(sum(pushed.values()) // BLOCK + 2)
    for event in jb.poll():
        if event.kind == "item_finished" and event.item_id not in heard_by_report:
            heard_by_report[event.item_id] = round(event.played_ms * RATE / 1000)
    # rebuild the expected output: each response's samples, cut to what was reported as heard
    expected, offset = [], 0
    for rid, count in pushed.items():
        heard = heard_by_report.get(rid, count)
        assert 0 <= heard <= count
        expected.append(ramp(heard, offset))
        offset += count
    want = np.concatenate(expected) if expected else np.zeros(0, np.float32)
    assert np.array_equal(dev.audible(), want)


def test_a_response_whose_start_waits_beyond_target_is_a_late_start():
    jb = JitterBuffer(RATE, target_ms=80, late_start_slack_ms=40)
    dev = Device(jb)
    jb.push(ramp(1920), "on_time", "a", dev.now)  # the whole target at once: starts at the next block
    jb.end_of_response("on_time")
    dev.tick(10)
    jb.poll()
    assert jb.metrics().late_starts == 0
    jb.push(ramp(960), "slow", "b", dev.now)  # half the target, then the server stalls for 200 ms
    dev.tick(20)
    jb.push(ramp(960, 960), "slow", "b", dev.now)
    dev.tick(2)
    started = [e for e in jb.poll() if e.kind == "item_started"]
    assert started[0].first_chunk_to_first_sample_ms == pytest.approx(200, abs=1)
    assert jb.metrics().late_starts == 1


def test_underrun_edges_are_ramped_not_cut():
    jb = JitterBuffer(RATE, target_ms=40, fade_ms=4)
    dev = Device(jb)
    level = np.full(1000, 0.5, np.float32)  # 41.7 ms: the underrun lands mid-block
    jb.push(level, "r1", "i1", dev.now)
    dev.tick(5)
    jb.push(np.full(2400, 0.5, np.float32), "r1", "i1", dev.now)
    jb.end_of_response("r1")
    dev.tick(20)
    whole = np.concatenate(dev.out)
    fade = int(RATE * 0.004)
    audible = np.nonzero(whole)[0]
    first_run_end = 1000
    assert jb.metrics().underruns == 1
    # the ramp can only shape the samples still in the block that runs dry (the last 40 here)
    assert np.all(np.diff(whole[first_run_end - 40 : first_run_end]) < 0)  # ramps down to the gap
    assert whole[first_run_end - 1] < 0.1 and np.all(whole[first_run_end : first_run_end + 10] == 0)
    resume = int(audible[audible > first_run_end][0])
    assert np.all(np.diff(whole[resume : resume + fade]) > 0) and whole[resume] < 0.1  # and back up
    assert np.allclose(whole[resume + fade : resume + 2400], 0.5)
    assert audible.size == 3400  # nothing dropped: only scaled


def test_audio_held_upstream_counts_toward_the_start_depth():
    jb = JitterBuffer(RATE, target_ms=80)
    dev = Device(jb)
    jb.push(ramp(1660), "r1", "i1", dev.now, held=260)  # 69 ms here + 11 ms inside a resampler
    assert np.array_equal(dev.tick(), ramp(BLOCK))
    assert jb.state == "playing"


def test_held_audio_alone_or_too_little_does_not_start():
    jb = JitterBuffer(RATE, target_ms=80)
    dev = Device(jb)
    jb.push(np.zeros(0, dtype=np.float32), "r1", "i1", dev.now, held=1920)  # nothing playable yet
    jb.push(ramp(960), "r1", "i1", dev.now, held=260)  # 40 + 11 ms < 80 ms
    assert not dev.tick(3).any()
    assert jb.state == "prebuffering"


def test_player_starts_on_the_first_target_sized_chunk_despite_the_resampler_delay():
    """24 kHz replies on a 48 kHz device: the first 80 ms delta is enough to start at an 80 ms target."""
    from qwenvoice.audio.playback import Player

    player = Player(target_ms=80)
    player.fast_delivery = True  # the last reply came faster than real time
    player.buffer = JitterBuffer(48000, target_ms=80)
    t = np.arange(1920) / 24000.0
    delta = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16).tobytes()  # 80 ms at 24 kHz
    assert player.push(delta, "r1", "i1")
    assert player.buffer.buffered_frames < 3840  # the resampler keeps its filter delay back
    out = np.full(480, 7.0, dtype=np.float32)
    player.buffer.render(out, 0.0)
    assert player.buffer.state == "playing"
    assert np.abs(out).max() > 0.01


def test_after_a_real_time_reply_the_player_waits_for_more_than_one_delta():
    """At real time the next 80 ms delta is 80 ms away: one delta minus the resampler's share is too little."""
    import time

    from qwenvoice.audio.playback import Player

    player = Player(target_ms=80)
    player.buffer = JitterBuffer(48000, target_ms=80)
    delta = (np.ones(1920) * 3000).astype(np.int16).tobytes()  # 80 ms at 24 kHz
    player.push(delta, "r1", "i1")
    player._reply_started_at = time.monotonic() - 0.16  # two deltas over 160 ms: real time
    player.push(delta, "r1", "i1")
    player.end_of_response("r1")
    assert not player.fast_delivery
    player.buffer.render(np.zeros(4800 * 2, dtype=np.float32), 0.0)  # play r1 out
    assert player.buffer.state == "idle"
    player.push(delta, "r2", "i2")
    out = np.full(480, 7.0, dtype=np.float32)
    player.buffer.render(out, 1.0)
    assert player.buffer.state == "prebuffering" and not out.any()
    player.push(delta, "r2", "i2")  # the second delta: now it starts
    player.buffer.render(out, 1.01)
    assert player.buffer.state == "playing" and out.any()
    # a reply delivered at once counts as fast: the next one starts on its first delta
    player.end_of_response("r2")
    assert player.fast_delivery
