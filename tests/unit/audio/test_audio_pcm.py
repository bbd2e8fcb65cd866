"""Resampling, downmixing, format conversion, levels and rings, called directly with arrays."""

from __future__ import annotations

import numpy as np
import pytest

from qwenvoice.audio.pcm import (
    StreamResampler,
    as_float32_mono,
    downmix,
    float32_to_int16,
    int16_to_float32,
    pcm16_bytes_to_float32,
    peak_dbfs,
    rms_dbfs,
)
from qwenvoice.audio.ring import LevelMeter, SampleRing


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def run_blocks(resampler: StreamResampler, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, pos, k = [], 0, 0
    while pos < x.size:
        n = sizes[k % len(sizes)]
        out.append(resampler.process(x[pos : pos + n]))
        pos += n
        k += 1
    out.append(resampler.finish())
    return np.concatenate(out)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(48000, 16000), (44100, 16000), (24000, 48000), (24000, 44100)])
def test_streaming_in_odd_blocks_equals_resampling_in_one_go(in_rate, out_rate):
    x = np.random.default_rng(1).standard_normal(in_rate).astype(np.float32) * 0.3
    whole = run_blocks(StreamResampler(in_rate, out_rate), x, [x.size])
    rng = np.random.default_rng(2)
    chunked = run_blocks(StreamResampler(in_rate, out_rate), x, [int(v) for v in rng.integers(1, 900, 50)])
    assert chunked.shape == whole.shape
    assert np.max(np.abs(chunked - whole)) < 1e-5  # block edges leave no trace


@pytest.mark.parametrize("quality", ["LQ", "HQ"])
def test_no_clicks_at_block_edges_and_frequency_kept(quality):
    x = sine(1000, 48000, 1.0)
    y = run_blocks(StreamResampler(48000, 16000, quality), x, [960])  # 20 ms device blocks
    assert abs(y.size - 16000) <= 2
    steady = y[200:-200]
    # the largest step a 1 kHz sine of amplitude 0.5 can take at 16 kHz, plus a little filter ripple
    assert np.max(np.abs(np.diff(steady))) <= 2 * np.pi * 1000 / 16000 * 0.5 * 1.03
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
    assert np.argmax(spectrum) * 16000 / steady.size == pytest.approx(1000, abs=2)


def test_reply_rate_to_device_rate_keeps_length_after_finish():
    x = sine(300, 24000, 0.73)
    y = run_blocks(StreamResampler(24000, 48000), x, [1920, 480, 77])
    assert abs(y.size - 2 * x.size) <= 2


def test_equal_rates_pass_through_unchanged():
    r = StreamResampler(16000, 16000)
    x = sine(440, 16000, 0.1)
    assert r.passthrough and np.array_equal(r.process(x), x) and r.finish().size == 0


def test_reset_forgets_the_previous_stream():
    r = StreamResampler(24000, 48000)
    r.process(np.ones(2400, dtype=np.float32))
    r.reset()
    out = np.concatenate([r.process(np.zeros(2400, dtype=np.float32)), r.finish()])
    assert np.max(np.abs(out)) < 1e-6  # nothing of the old audio leaks into the new


def test_downmix_and_format_conversion():
    stereo = np.stack([np.full(4, 0.5, np.float32), np.full(4, -0.1, np.float32)], axis=1)
    assert np.allclose(downmix(stereo), 0.2)
    assert downmix(stereo[:, :1]).shape == (4,)
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    assert np.array_equal(float32_to_int16(int16_to_float32(pcm)), pcm)
    assert np.array_equal(float32_to_int16(np.array([2.0, -2.0], np.float32)), [32767, -32768])
    data = pcm.astype("<i2").tobytes()
    assert np.allclose(pcm16_bytes_to_float32(data), pcm / 32768.0)
    assert pcm16_bytes_to_float32(data + b"\x01").size == 5  # a stray odd byte is ignored
    assert np.allclose(as_float32_mono(data), pcm / 32768.0)
    assert np.allclose(as_float32_mono(pcm), pcm / 32768.0)
    assert np.allclose(as_float32_mono(stereo), 0.2)


def test_levels_in_dbfs():
    full = sine(1000, 16000, 0.1, amplitude=1.0)
    assert rms_dbfs(full) == pytest.approx(-3.01, abs=0.05)
    assert peak_dbfs(full) == pytest.approx(0.0, abs=0.01)
    assert rms_dbfs(np.zeros(100, np.float32)) == -120.0 == peak_dbfs(np.zeros(0, np.float32))
    meter = LevelMeter(16000, seconds=1.0)
    meter.feed(sine(1000, 16000, 0.02, amplitude=0.1))
    assert meter.levels.peak_dbfs == pytest.approx(-20, abs=0.1)
    assert meter.recent(0.5).shape == (8000,)


def test_sample_ring_keeps_the_latest_samples_across_wraps():
    ring = SampleRing(10)
    assert np.array_equal(ring.latest(3), np.zeros(3))
    ring.write(np.arange(1, 8, dtype=np.float32))
    assert np.array_equal(ring.latest(4), [4, 5, 6, 7])
    assert np.array_equal(ring.latest(9), [0, 0, 1, 2, 3, 4, 5, 6, 7])
    ring.write(np.arange(8, 14, dtype=np.float32))  # wraps
    assert np.array_equal(ring.latest(10), np.arange(4, 14))
    assert np.array_equal(ring.latest(3), [11, 12, 13])
    ring.write(np.arange(100, 125, dtype=np.float32))  # longer than the ring
    assert np.array_equal(ring.latest(10), np.arange(115, 125))
    data, pos = ring.since(ring.total_written - 2)
    assert np.array_equal(data, [123, 124]) and pos == ring.total_written
