"""Latency at the speaker, usage totals and the cost estimate."""

from __future__ import annotations

from qwenvoice.session.metrics import CaptureClock, SessionMetrics, UsageTotals


def test_latency_from_speech_end_to_first_played_sample():
    m = SessionMetrics(model="qwen3-omni-flash-realtime")
    assert m.first_sample_played(5.0) is None  # no speech end seen: no number
    m.speech_ended(10.0)
    assert m.first_sample_played(11.25) == 1.25
    assert m.first_sample_played(12.0) is None  # only the first sample counts
    assert m.last_latency == 1.25


def test_capture_clock_maps_server_ms_to_local_time():
    clock = CaptureClock(sample_rate=16000)
    for i in range(10):  # ten 20 ms blocks captured at t = 0.02, 0.04, ...
        clock.sent(320, captured_at=(i + 1) * 0.02)
    assert abs(clock.time_of_ms(100) - 0.10) < 1e-9
    assert abs(clock.time_of_ms(90) - 0.09) < 1e-9
    assert clock.time_of_ms(10_000) == 0.2  # beyond what was sent: the last capture time


def test_usage_and_cost():
    u = UsageTotals()
    u.add({"total_tokens": 150, "input_audio_tokens": 100, "output_text_tokens": 20, "output_audio_tokens": 30})
    u.add({"input_tokens": 10, "output_tokens": 5})  # totals only
    u.add(None)
    assert u.total_tokens == 165 and u.responses == 2
    assert u.input_text_tokens == 10 and u.output_text_tokens == 25
    cost = u.estimated_cost_usd("qwen3-omni-flash-realtime")
    assert 0 < cost < 0.01
