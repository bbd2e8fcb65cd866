"""The output stream pauses between replies (so a reply does not queue behind a device buffer of
silence) and starts again for the next one: on the real PulseAudio devices of .ci/devices.sh."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from qwenvoice.audio.engine import AudioEngine
from tests.integration.test_audio_engine import (
    MONITOR_RATE,
    MonitorRecorder,
    _pulse_ready,
    audible_ms,
    push_paced,
    sinks,  # noqa: F401 - the private null sinks fixture
    tone_pcm16,
)

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _pulse_ready(), reason="needs the virtual PulseAudio devices (.ci/devices.sh)"),
]


def onsets(signal: np.ndarray, rate: int, threshold: float = 0.05, min_gap_s: float = 0.3) -> list[float]:
    """Seconds at which sound starts after at least `min_gap_s` of quiet."""
    loud = np.nonzero(np.abs(signal) > threshold)[0]
    starts: list[float] = []
    last = -(10**9)
    for index in loud:
        if index - last > min_gap_s * rate:
            starts.append(index / rate)
        last = index
    return starts


async def test_idle_stream_pauses_and_the_next_reply_resumes_it_without_a_device_recovery(tmp_path, sinks):  # noqa: F811
    speaker, _ = sinks
    engine = AudioEngine(output_device=speaker)
    player = engine.player
    played: list[np.ndarray] = []
    player.subscribe_played(lambda pcm: played.append(pcm.copy()))
    recorder = MonitorRecorder(f"{speaker}.monitor", tmp_path / "rec.raw")
    try:
        began = time.monotonic()
        assert await engine.start_playback(), engine.notices
        await asyncio.sleep(0.3)  # the recorder is running; the stream pauses before the first reply
        await push_paced(player, tone_pcm16(500.0, 0.5), "resp_1", "item_1", chunk_ms=80, speed=4.0)
        player.end_of_response("resp_1")
        assert await player.wait_idle(5)
        await asyncio.sleep(0.4)
        assert player.paused and player.pauses >= 1 and player.running
        callbacks = player._callbacks
        await asyncio.sleep(player.stall_seconds + 0.5)  # longer than the watchdog's stall limit
        assert player._callbacks == callbacks  # really stopped
        assert player.paused and player.device_errors == 0 and player.recoveries == 0
        started = []
        player.on_item_started.append(started.append)
        await push_paced(player, tone_pcm16(500.0, 0.5), "resp_2", "item_2", chunk_ms=80, speed=4.0)
        player.end_of_response("resp_2")
        assert await player.wait_idle(5)
        await asyncio.sleep(0.3)
        ended = time.monotonic()
        metrics = player.metrics()
    finally:
        recording = recorder.stop()
        await asyncio.wait_for(engine.aclose(), 5)
    assert not [n for n in engine.notices if n.error], engine.notices
    assert player.device_errors == 0 and player.recoveries == 0 and player.resumes >= 1
    assert metrics.underruns == 0 and metrics.device_errors == 0
    assert metrics.played_ms_by_item["item_2"] == pytest.approx(500, abs=2)
    assert audible_ms(recording) == pytest.approx(1000, abs=5)  # both replies, complete
    # at 4x real time the second delta (20 ms later) completes the start depth; no device buffer of
    # silence to queue behind
    assert started and started[0].first_chunk_to_first_sample_ms is not None
    assert started[0].first_chunk_to_first_sample_ms < 60
    # The played signal (the echo canceller's reference) keeps wall-clock time through the pauses:
    # its length is the time the stream existed (plus what was handed to the device ahead of the DAC)
    # (at most a device buffer), and the replies sit as far apart in it as they did at the speaker.
    reference = np.concatenate(played).astype(np.float32) / 32768.0
    assert player.pauses >= 2
    assert -0.05 <= reference.size / 16000 - (ended - began) <= 0.12  # -: up to a watch tick not yet fed
    heard, fed = onsets(recording, MONITOR_RATE), onsets(reference, 16000)
    assert len(heard) == 2 and len(fed) == 2, (heard, fed)
    assert fed[1] - fed[0] == pytest.approx(heard[1] - heard[0], abs=0.02)


async def test_pause_resume_flush_and_close_do_not_hang(sinks):  # noqa: F811
    speaker, _ = sinks
    engine = AudioEngine(output_device=speaker)
    player = engine.player
    try:
        assert await engine.start_playback(), engine.notices
        await asyncio.sleep(0.4)
        assert player.paused  # nothing played yet: paused after the idle time
        player.flush()  # a barge-in while paused is harmless
        player.push(tone_pcm16(300.0, 0.05), "resp_1", "item_1")  # shorter than the start depth
        assert player.paused  # waiting for more audio
        player.end_of_response("resp_1")  # the whole reply is here: start now
        assert not player.paused
        assert await player.wait_idle(3)
        assert player.metrics().played_ms_by_item["item_1"] == pytest.approx(50, abs=2)
        await asyncio.sleep(0.4)
        assert player.paused
    finally:
        await asyncio.wait_for(engine.aclose(), 5)  # closing a paused stream returns promptly
    assert player.device_errors == 0 and player.recoveries == 0


async def test_a_paused_stream_starts_once_the_start_depth_and_the_device_buffer_are_there(sinks):  # noqa: F811
    speaker, _ = sinks
    engine = AudioEngine(output_device=speaker)
    player = engine.player
    try:
        assert await engine.start_playback(), engine.notices
        await asyncio.sleep(0.4)
        assert player.paused
        pcm = tone_pcm16(400.0, 0.4)
        step = 24000 * 2 * 80 // 1000
        player.push(pcm[:step], "resp_1", "item_1")  # 80 ms: the start depth, but not the device buffer
        assert player.paused and player.buffer is not None and player.buffer.state == "prebuffering"
        player.push(pcm[step : 2 * step], "resp_1", "item_1")  # 160 ms: both
        assert not player.paused
        player.push(pcm[2 * step :], "resp_1", "item_1")
        player.end_of_response("resp_1")
        assert await player.wait_idle(3)
        metrics = player.metrics()
        assert metrics.underruns == 0 and metrics.played_ms_by_item["item_1"] == pytest.approx(400, abs=2)
    finally:
        await asyncio.wait_for(engine.aclose(), 5)
