"""Echo cancellation on real PortAudio devices (PulseAudio null sinks from .ci/devices.sh).

Speakers are simulated by a loopback from a speaker sink's monitor into the sink the microphone records
(at reduced volume); headphones by no loopback. Loopbacks and private sinks are removed afterwards.
- the self-test, and the audio engine's real capture and playback with `CapturePathProcessor` wired in,
  on a private speaker sink and mic-feed sink of the same shape as `speaker`/`micfeed` (the shared ones
  carry other tests' audio on a busy machine).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest
import soxr

from qwenvoice.audio.echo.capture_path import SAMPLE_RATE, CapturePathProcessor
from qwenvoice.audio.echo.selftest import Recommendation, record_probe, run_echo_self_test
from tests.support import echo_sim
from tests.support.pulse import pactl, speaker_leak


def _virtual_devices_present() -> bool:
    if shutil.which("pactl") is None:
        return False
    try:
        sinks = pactl("list", "short", "sinks")
        sources = pactl("list", "short", "sources")
    except (subprocess.SubprocessError, OSError):
        return False
    return "speaker" in sinks and "micfeed" in sinks and re.search(r"\bmic\b", sources) is not None


pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(not _virtual_devices_present(), reason="needs the PulseAudio devices of .ci/devices.sh"),
]


def _loopbacks() -> list[str]:
    return [line for line in pactl("list", "short", "modules").splitlines() if "module-loopback" in line]


def test_self_test_hears_no_echo_without_a_leak(private_sinks) -> None:  # type: ignore[no-untyped-def]
    speaker, feed = private_sinks
    before = _loopbacks()
    result = run_echo_self_test(input_device=f"{feed}.monitor", output_device=speaker)
    assert speaker in result.speaker and feed in result.microphone and result.notice is None
    assert not result.echo_detected, result
    assert result.recommendation is Recommendation.NO_ECHO
    assert _loopbacks() == before


def test_self_test_detects_the_leak_measures_it_and_recommends_full_duplex(private_sinks) -> None:  # type: ignore[no-untyped-def]
    speaker, feed = private_sinks
    before = _loopbacks()
    with speaker_leak(volume_percent=30, latency_ms=60, speaker=speaker, feed=feed):
        result = run_echo_self_test(input_device=f"{feed}.monitor", output_device=speaker)
    assert _loopbacks() == before  # state restored
    assert result.echo_detected, result
    # 30 % PulseAudio volume is about -31 dB (cubic volume curve).
    assert 24.0 <= result.echo_return_loss_db <= 38.0, result
    # The recording starts 200 ms before playback; the loopback and buffers add tens of ms.
    assert 200.0 < result.delay_ms < 1500.0, result
    assert result.erle_db >= 10.0, result
    assert result.total_attenuation_db >= 40.0, result
    assert result.recommendation is Recommendation.FULL_DUPLEX_AEC, result


def test_self_test_names_the_devices_it_measured_and_any_fallback(private_sinks) -> None:  # type: ignore[no-untyped-def]
    speaker, feed = private_sinks
    recording = record_probe(np.zeros(1600, np.int16), output_device=speaker, input_device="no such microphone")
    assert speaker in recording.speaker
    assert recording.microphone and feed not in recording.microphone  # fell back to the default
    assert any("no such microphone" in notice for notice in recording.notices), recording.notices
    assert recording.samples.dtype == np.int16 and recording.samples.size >= SAMPLE_RATE // 2


# ------------------------------------------------------------------------------------ engine


@pytest.fixture(scope="module")
def private_sinks() -> Iterator[tuple[str, str]]:
    """A speaker and a mic feed of our own, so other audio on the shared sound server stays out."""
    tag = f"qvecho{os.getpid()}"
    speaker, feed = f"{tag}_speaker", f"{tag}_feed"
    modules: list[str] = []
    readers: list[subprocess.Popen[bytes]] = []
    try:
        for name, channels in ((speaker, 2), (feed, 1)):
            modules.append(pactl("load-module", "module-null-sink", f"sink_name={name}", "rate=48000",
                                  f"channels={channels}", f"sink_properties=device.description={name}").strip())
            # a low-latency reader on each monitor keeps the null sink from rendering in 2 s blocks
            readers.append(subprocess.Popen(["parec", "--latency-msec=10", "-d", f"{name}.monitor", "--raw"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(2.1)
        yield speaker, feed
    finally:
        for reader in readers:
            reader.terminate()
            reader.wait(timeout=5)
        for module in modules:
            subprocess.run(["pactl", "unload-module", module], timeout=10, check=False)


async def test_engine_with_capture_path_processor_cancels_a_real_speaker_leak(private_sinks) -> None:  # type: ignore[no-untyped-def]
    from qwenvoice.audio.engine import AudioEngine

    speaker, feed = private_sinks
    reply16 = echo_sim.synthesize_espeak(
        "Here is the weather for the rest of the week. Tomorrow will be sunny with a light breeze, and on "
        "Thursday clouds move in from the coast with a chance of rain in the evening."
    )
    reply24 = np.clip(soxr.resample(reply16.astype(np.float32), SAMPLE_RATE, 24000), -32768, 32767).astype("<i2")

    processor = CapturePathProcessor()
    raw: list[np.ndarray] = []
    cleaned: list[np.ndarray] = []

    class Recording:
        """The processor as the engine sees it, keeping each raw block for the measurement."""

        def feed_playback(self, pcm: np.ndarray) -> None:
            processor.feed_playback(pcm)

        def process_capture(self, pcm: np.ndarray) -> np.ndarray:
            raw.append(pcm.copy())
            return processor.process_capture(pcm)

        def output_glitched(self) -> None:
            processor.output_glitched()

        def restart(self) -> None:
            processor.restart()

    with speaker_leak(volume_percent=40, latency_ms=60, speaker=speaker, feed=feed):
        engine = AudioEngine(input_device=f"{feed}.monitor", output_device=speaker)
        engine.attach_echo_canceller(Recording())  # the engine's own wiring (reference read before each block)
        engine.capture.subscribe_all(cleaned.append)
        try:
            assert await engine.start_playback(), engine.notices
            assert await engine.start_capture(), engine.notices
            await asyncio.sleep(0.5)
            pcm = reply24.tobytes()
            step = 24000 * 2 * 40 // 1000
            for start in range(0, len(pcm), step):  # 40 ms chunks at 2x real time, like a server
                engine.player.push(pcm[start : start + step], "resp_1", "item_1")
                await asyncio.sleep(0.02)
            engine.player.end_of_response("resp_1")
            assert await engine.player.wait_idle(30)
            await asyncio.sleep(0.5)
        finally:
            await engine.aclose()

    mic = np.concatenate(raw)
    out = np.concatenate(cleaned)
    n = min(mic.size, out.size)
    mic, out = mic[:n], out[:n]
    loud = np.nonzero(np.abs(mic) > 300)[0]
    assert loud.size, "the leak did not reach the microphone"
    first, last = int(loud[0]), int(loud[-1])
    assert (last - first) / SAMPLE_RATE > 4.0
    # after the first 1.5 s of echo (estimate + convergence), measure the cancellation
    settled = slice(first + int(1.5 * SAMPLE_RATE), last)
    erle = echo_sim.erle_db(mic[settled], out[settled])
    raw_vad = echo_sim.vad_trigger_rate(mic[first:last])
    residual_vad = echo_sim.vad_trigger_rate(out[first:last])
    report = (f"ERLE {erle:.1f} dB, VAD raw {raw_vad:.1%} residual {residual_vad:.1%}, "
              f"delay {processor.aligner.delay_ms:.0f} ms, estimate {processor.aligner.last_estimate}, "
              f"backend {processor.backend_name}, stats {processor.aligner.stats}, "
              f"output underruns {processor.stats.output_glitches}, guard muted {processor.guard.muted_frames}")
    assert processor.active, report
    assert raw_vad > 0.3, report
    assert erle >= 20.0, report
    assert residual_vad < 0.02, report
