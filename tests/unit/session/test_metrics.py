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


def test_cached_tokens_are_counted_and_priced_at_the_cache_discount():
    from qwenvoice.protocol.events import Usage
    from qwenvoice.session.metrics import CACHED_INPUT_PRICE_SHARE, price_for

    wire = {"total_tokens": 1300, "input_tokens": 1200, "output_tokens": 100,
            "input_tokens_details": {"text_tokens": 1000, "audio_tokens": 200, "cached_tokens": 800},
            "output_tokens_details": {"text_tokens": 40, "audio_tokens": 60}}
    usage = Usage.from_wire(wire)
    assert usage.cached_tokens == 800
    plain, cached = UsageTotals(), UsageTotals()
    plain.add(Usage.from_wire({**wire, "input_tokens_details": {"text_tokens": 1000, "audio_tokens": 200}}))
    cached.add(usage)
    assert cached.cached_input_tokens == 800 and plain.cached_input_tokens == 0
    model = "qwen3.5-omni-plus-realtime"
    saved = plain.estimated_cost_usd(model) - cached.estimated_cost_usd(model)
    expected = 800 * price_for(model)[0] * (1 - CACHED_INPUT_PRICE_SHARE) / 1_000_000
    assert abs(saved - expected) < 1e-12 and saved > 0
    assert "800 cached" in cached.summary()


def test_tts_characters_are_counted_and_priced_per_ten_thousand():
    from qwenvoice.protocol.events import Usage
    from qwenvoice.session.metrics import TTS_PRICE_PER_10K_CHARS

    u = UsageTotals()
    u.add(Usage.from_wire({"characters": 5000}))
    u.add(Usage.from_wire({"characters": 5000}))
    assert u.tts_characters == 10_000 and u.total_tokens == 0
    assert abs(u.estimated_cost_usd("qwen3-omni-flash-realtime") - TTS_PRICE_PER_10K_CHARS) < 1e-12
    assert "10000 TTS characters" in u.summary()
