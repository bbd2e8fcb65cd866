"""Echo cancellation on a simulated room with real speech.

The assistant's reply (piper) plays for 12 s through a room (40 ms delay, 150 ms decay, -6 dB, noise);
from 8 s the user (espeak-ng) says "Stop. What time is it now?" over it. Measured: ERLE after
convergence, how often silero fires on the residual echo, whether whisper still hears the user, the
delay estimate, and CPU per 10 ms frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from qwenvoice.audio.echo.capture_path import SAMPLE_RATE, CapturePathProcessor
from tests.support import echo_sim

DEVICE_LATENCY_MS = 60.0
# Room 40 ms + devices 60 ms + the 20 ms block between playing and capturing in the replay loop.
TRUE_DELAY_MS = 40.0 + DEVICE_LATENCY_MS + 20.0


def _seconds(audio: np.ndarray, start: float, stop: float) -> np.ndarray:
    return audio[int(start * SAMPLE_RATE) : int(stop * SAMPLE_RATE)]


@dataclass
class Run:
    scene: echo_sim.RoomScene
    cleaned: np.ndarray
    processor: CapturePathProcessor


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, np.ndarray]:
    pytest.importorskip("piper")
    return echo_sim.synthesize_piper(echo_sim.REPLY_TEXT), echo_sim.synthesize_espeak(echo_sim.USER_TEXT)


_runs: dict[tuple[str, float], Run] = {}


@pytest.fixture(scope="module")
def room(speech: tuple[np.ndarray, np.ndarray]):  # type: ignore[no-untyped-def]
    reply, user = speech

    def run(backend: str, user_gain_db: float = 0.0) -> Run:
        key = (backend, user_gain_db)
        if key not in _runs:
            scene = echo_sim.build_scene(reply, user, user_gain_db=user_gain_db)
            processor = CapturePathProcessor(backend)
            assert processor.notice is None, processor.notice
            cleaned = echo_sim.run_capture_path(processor, scene, device_latency_ms=DEVICE_LATENCY_MS)
            _runs[key] = Run(scene, cleaned, processor)
        return _runs[key]

    return run


@pytest.mark.parametrize("backend", ["auto", "webrtc", "speex+preprocess"])
def test_erle_after_convergence_is_at_least_30_db(room, backend: str) -> None:  # type: ignore[no-untyped-def]
    run = room(backend)
    erle = echo_sim.erle_db(_seconds(run.scene.mic, 2.0, 8.0), _seconds(run.cleaned, 2.0, 8.0))
    assert erle >= 30.0, f"{backend}: ERLE {erle:.1f} dB"


def test_default_backend_is_already_strong_in_the_first_second(room) -> None:  # type: ignore[no-untyped-def]
    run = room("auto")
    assert run.processor.backend_name == "hybrid"
    erle = echo_sim.erle_db(_seconds(run.scene.mic, 0.3, 1.0), _seconds(run.cleaned, 0.3, 1.0))
    assert erle >= 20.0, f"ERLE {erle:.1f} dB while the slow filter converges"


@pytest.mark.parametrize("backend", ["auto", "webrtc"])
def test_residual_echo_triggers_vad_on_under_1_percent_of_reply_frames(room, backend: str) -> None:  # type: ignore[no-untyped-def]
    run = room(backend)
    raw_rate = echo_sim.vad_trigger_rate(_seconds(run.scene.mic, 0.0, 8.0))
    residual_rate = echo_sim.vad_trigger_rate(_seconds(run.cleaned, 0.0, 8.0))
    assert raw_rate > 0.5  # without cancellation the reply itself would barge in
    assert residual_rate < 0.01, f"{backend}: VAD fires on {residual_rate:.1%} of the residual"


@pytest.mark.parametrize("user_gain_db", [0.0, -6.0])
def test_user_words_survive_double_talk(room, user_gain_db: float) -> None:  # type: ignore[no-untyped-def]
    run = room("auto", user_gain_db)
    transcript = echo_sim.transcribe(_seconds(run.cleaned, 7.9, 12.0)).lower()
    for word in echo_sim.USER_KEYWORDS:
        assert word in transcript, f"{word!r} missing from {transcript!r}"
    # ...and the user comes through at nearly full level (AEC3 alone costs several dB here).
    start, end = run.scene.double_talk_start, run.scene.user_end
    lost_db = echo_sim.erle_db(run.scene.user[start:end], run.cleaned[start:end])
    assert lost_db < 1.5, f"the user lost {lost_db:.1f} dB"


def test_without_cancellation_the_echo_drowns_the_user(room) -> None:  # type: ignore[no-untyped-def]
    run = room("off")
    assert echo_sim.erle_db(_seconds(run.scene.mic, 2.0, 8.0), _seconds(run.cleaned, 2.0, 8.0)) < 1.0


def test_delay_estimate_on_speech_is_within_2_ms(room) -> None:  # type: ignore[no-untyped-def]
    estimate = room("auto").processor.aligner.last_estimate
    assert estimate is not None
    assert abs(estimate.delay_ms - TRUE_DELAY_MS) <= 2.0


def test_cpu_per_10_ms_frame_is_modest(room) -> None:  # type: ignore[no-untyped-def]
    p50, p95 = room("auto").processor.stats.cpu_percentiles()
    # A 10 ms frame must cost far less than 10 ms of one shared core. p95 mostly measures how busy the
    # shared machine is (preemption), so it only has to stay inside the frame's real-time budget.
    assert 0 < p50 < 1000.0, (p50, p95)
    assert p95 < 10000.0, (p50, p95)


def test_hybrid_stays_safe_when_the_device_clocks_drift(speech) -> None:  # type: ignore[no-untyped-def]
    """A USB mic beside built-in speakers drifts tens of ppm: speex loses its grip, so the hybrid must
    stay on AEC3 and keep the echo out."""
    reply, user = speech
    scene = echo_sim.build_scene(reply, user, drift_ppm=70.0)
    processor = CapturePathProcessor("auto")
    cleaned = echo_sim.run_capture_path(processor, scene, device_latency_ms=DEVICE_LATENCY_MS)
    assert processor.canceller.active_name == "webrtc"  # type: ignore[attr-defined]
    assert echo_sim.erle_db(_seconds(scene.mic, 2.0, 8.0), _seconds(cleaned, 2.0, 8.0)) >= 30.0
    assert echo_sim.vad_trigger_rate(_seconds(cleaned, 0.0, 8.0)) < 0.01


@pytest.mark.parametrize("device_latency_ms", [20.0, 400.0])
def test_other_device_latencies_are_found_and_cancelled(speech, device_latency_ms: float) -> None:  # type: ignore[no-untyped-def]
    """The start-up guess is 100 ms; a low-latency interface or Bluetooth is found and realigned to."""
    reply, user = speech
    scene = echo_sim.build_scene(reply, user)
    processor = CapturePathProcessor("auto")
    cleaned = echo_sim.run_capture_path(processor, scene, device_latency_ms=device_latency_ms)
    estimate = processor.aligner.last_estimate
    assert estimate is not None and abs(estimate.delay_ms - (40.0 + device_latency_ms + 20.0)) <= 2.0
    assert processor.stats.delay_changes == 1
    assert echo_sim.erle_db(_seconds(scene.mic, 2.0, 8.0), _seconds(cleaned, 2.0, 8.0)) >= 30.0
    assert echo_sim.vad_trigger_rate(_seconds(cleaned, 0.0, 8.0)) < 0.01


def test_onset_lost_counts_the_held_down_start_of_the_user() -> None:
    rng = np.random.default_rng(2)
    user_speech = (3000 * rng.standard_normal(SAMPLE_RATE)).astype(np.int16)
    scene = echo_sim.build_scene(np.zeros(SAMPLE_RATE, np.int16), user_speech, seconds=3.0, double_talk_at_s=1.0)
    intact = scene.user.astype(np.int16)
    assert echo_sim.onset_lost_ms(scene, intact) == 0.0
    clipped = intact.copy()
    clipped[scene.double_talk_start : scene.double_talk_start + 800] //= 10  # 50 ms at -20 dB
    assert echo_sim.onset_lost_ms(scene, clipped) == pytest.approx(50.0)
    assert echo_sim.onset_lost_ms(scene, np.zeros_like(intact)) == pytest.approx(1000.0)


def test_the_start_of_double_talk_is_kept(room) -> None:  # type: ignore[no-untyped-def]
    run = room("auto")
    lost = echo_sim.onset_lost_ms(run.scene, run.cleaned)
    assert lost <= 60.0, f"the first {lost:.0f} ms of the user's words were held down"
