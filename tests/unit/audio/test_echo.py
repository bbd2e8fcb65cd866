"""Echo cancellation building blocks: delay estimation, alignment, framing, fallback, gate, self-test."""

from __future__ import annotations

import numpy as np
import pytest

from qwenvoice.audio.echo import capture_path as echo
from qwenvoice.audio.echo.capture_path import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    CapturePathProcessor,
    HalfDuplexGate,
    PassThroughCanceller,
    ReferenceAligner,
    create_canceller,
    estimate_delay,
)
from qwenvoice.audio.echo.selftest import Recommendation, analyse_echo, make_probe, probe_programme
from qwenvoice.audio.ring import SampleRing
from tests.support.echo_sim import RoomScene, room_impulse_response, run_capture_path

MS = SAMPLE_RATE // 1000


def _noise(seconds: float, seed: int = 0, level: float = 3000.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * level).astype(np.int16)


def _through_room(reference: np.ndarray, rir: np.ndarray, noise_level: float = 10.0, seed: int = 1) -> np.ndarray:
    echo_part = np.convolve(reference.astype(np.float64), rir)[: reference.size]
    echo_part += np.random.default_rng(seed).standard_normal(reference.size) * noise_level
    return np.clip(np.round(echo_part), -32768, 32767).astype(np.int16)


def _noise_scene(seconds: float = 4.0, rir_delay_ms: float = 40.0) -> RoomScene:
    reference = _noise(seconds)
    rir = room_impulse_response(delay_ms=rir_delay_ms)
    mic = _through_room(reference, rir)
    zeros = np.zeros(reference.size)
    return RoomScene(reference=reference, mic=mic, echo=mic.astype(np.float64), user=zeros,
                     double_talk_start=reference.size, user_end=reference.size)


class CountingCanceller(PassThroughCanceller):
    name = "counting"

    def __init__(self) -> None:
        self.resets = 0
        self.frames = 0
        self.last_reference = np.zeros(FRAME_SAMPLES, np.int16)

    def process(self, mic_frame: np.ndarray, reference_frame: np.ndarray) -> np.ndarray:
        self.frames += 1
        assert mic_frame.shape == (FRAME_SAMPLES,) and reference_frame.shape == (FRAME_SAMPLES,)
        self.last_reference = reference_frame
        return (mic_frame // 2).astype(np.int16)

    def reset(self) -> None:
        self.resets += 1


# ------------------------------------------------------------------------------------ delay


@pytest.mark.parametrize("delay_ms", [0.0, 12.5, 40.0, 163.0, 480.0])
def test_gcc_phat_finds_a_pure_delay_exactly(delay_ms: float) -> None:
    max_delay = 500 * MS
    delay = int(delay_ms * MS)
    played = _noise(1.5 + 0.5)
    window = SAMPLE_RATE
    end = played.size
    mic = played[end - window - delay : end - delay]
    reference = played[end - window - max_delay : end]
    estimate = estimate_delay(mic, reference, max_delay)
    assert estimate.delay_samples == delay
    assert estimate.confidence > 8.0


def test_gcc_phat_finds_the_direct_path_through_a_room_within_2_ms() -> None:
    rir = room_impulse_response(delay_ms=40.0, decay_ms=150.0, gain_db=-6.0)
    played = _noise(2.0)
    mic = _through_room(played, rir, noise_level=30.0)
    max_delay = 300 * MS
    estimate = estimate_delay(mic[-SAMPLE_RATE:], played[-SAMPLE_RATE - max_delay :], max_delay)
    assert abs(estimate.delay_ms - 40.0) <= 2.0


def test_gcc_phat_has_low_confidence_without_echo() -> None:
    max_delay = 300 * MS
    estimate = estimate_delay(_noise(1.0, seed=5), _noise(1.0 + 0.3, seed=6)[: SAMPLE_RATE + max_delay], max_delay)
    assert estimate.confidence < 8.0


def test_estimate_delay_on_digital_silence_has_no_confidence() -> None:
    estimate = estimate_delay(np.zeros(1000, np.int16), _noise(0.1)[:1100], 100)
    assert estimate.confidence == 0.0


def test_estimate_delay_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        estimate_delay(np.zeros(100), np.zeros(120), 10)


# ------------------------------------------------------------------------------------ alignment


def test_sample_ring_reads_across_the_wrap_and_zero_fills_outside() -> None:
    ring = SampleRing(10, np.int16)
    ring.write(np.arange(1, 8, dtype=np.int16))
    ring.write(np.arange(8, 15, dtype=np.int16))  # wraps; 1..4 are gone
    assert ring.total_written == 14
    assert ring.read(4, 10).tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert ring.read(2, 4).tolist() == [0, 0, 5, 6]  # 2 and 3 were overwritten
    assert ring.read(12, 4).tolist() == [13, 14, 0, 0]
    ring.write_zeros(3)
    assert ring.read(12, 5).tolist() == [13, 14, 0, 0, 0] and ring.total_written == 17
    ring.write_zeros(25)  # longer than the ring
    assert ring.total_written == 42 and not ring.read(32, 10).any()


def test_aligner_finds_room_plus_device_delay_and_realigns_with_a_reset() -> None:
    scene = _noise_scene(rir_delay_ms=40.0)
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None), initial_delay_ms=0.0)
    run_capture_path(processor, scene, device_latency_ms=200.0, block_ms=20.0)
    # 40 ms room + 200 ms devices + one 20 ms block between playing and capturing in the replay loop.
    estimate = processor.aligner.last_estimate
    assert estimate is not None
    assert abs(estimate.delay_ms - 260.0) <= 2.0
    # realigned so the echo trails its reference by 30 ms: the middle of the 0-60 ms the filters absorb
    assert abs(processor.aligner.delay_ms - (260.0 + 5.0 - 30.0)) <= 2.0
    assert processor.stats.delay_changes == 1
    assert canceller.resets == 1


def test_aligner_keeps_an_alignment_the_filter_can_absorb() -> None:
    scene = _noise_scene(rir_delay_ms=40.0)
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None), initial_delay_ms=90.0)
    run_capture_path(processor, scene, device_latency_ms=60.0)  # true delay 120 ms: echo trails by 35 ms
    assert processor.aligner.last_estimate is not None
    assert abs(processor.aligner.last_estimate.delay_ms - 120.0) <= 2.0
    assert processor.aligner.delay_ms == 90.0
    assert canceller.resets == 0


def test_aligner_reanchors_after_a_burst_of_reference() -> None:
    aligner = ReferenceAligner(initial_delay_ms=15.0)  # minus the 5 ms margin: the newest 10 ms played
    aligner.push_reference(np.ones(FRAME_SAMPLES, np.int16))
    for _ in range(4):
        aligner.push_reference(np.ones(FRAME_SAMPLES, np.int16))
        aligner.reference_for_next_mic_frame()
        aligner.push_mic(np.zeros(FRAME_SAMPLES, np.int16))
    aligner.push_reference(np.full(2 * SAMPLE_RATE, 7, np.int16))  # a 2 s burst at once
    frame = aligner.reference_for_next_mic_frame()
    assert aligner.stats.resyncs == 1
    assert frame.tolist() == [7] * FRAME_SAMPLES


def test_mic_frames_wait_for_a_late_reference_instead_of_losing_alignment() -> None:
    """After a loop stall the captured blocks run ahead of the played ones for a moment."""
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None), initial_delay_ms=15.0)
    processor.feed_playback(np.zeros(FRAME_SAMPLES, np.int16))
    assert processor.process_capture(np.zeros(FRAME_SAMPLES, np.int16)).size == FRAME_SAMPLES
    # 200 ms of mic arrive before the matching 200 ms of played audio
    held = processor.process_capture(np.zeros(20 * FRAME_SAMPLES, np.int16))
    assert held.size == 0 and processor.stats.waits >= 1
    played = np.repeat(np.arange(1, 21, dtype=np.int16), FRAME_SAMPLES)
    processor.feed_playback(played)
    released = processor.process_capture(np.zeros(0, np.int16))
    assert released.size == 20 * FRAME_SAMPLES
    # the last frame was handed the reference played 10 ms before it (15 ms delay - 5 ms margin)
    assert canceller.last_reference.tolist() == [20] * FRAME_SAMPLES
    assert processor.aligner.stats.reference_gaps == 0


def test_without_playback_frames_wait_at_most_max_wait_then_flow() -> None:
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None), max_wait_ms=100.0)
    out = [processor.process_capture(np.ones(FRAME_SAMPLES, np.int16)) for _ in range(30)]
    sizes = [o.size for o in out]
    assert sum(sizes) == 30 * FRAME_SAMPLES  # once idle, nothing is held back
    # (the first ~85 ms flow: their reference would predate the anchor) then held, then released at once
    assert 0 in sizes and max(sizes) > FRAME_SAMPLES
    assert processor.aligner.output_idle and processor.aligner.stats.reference_gaps == 1
    assert sizes[-1] == FRAME_SAMPLES
    processor.feed_playback(np.zeros(FRAME_SAMPLES, np.int16))
    assert not processor.aligner.output_idle


# ------------------------------------------------------------------------------------ capture path


@pytest.mark.parametrize("block", [1, 37, 160, 320, 441, 1000])
def test_capture_path_frames_any_block_size_in_order(block: int) -> None:
    processor = CapturePathProcessor("off")
    audio = np.arange(5000, dtype=np.int16)
    out = [processor.process_capture(audio[i : i + block]) for i in range(0, audio.size, block)]
    joined = np.concatenate(out)
    assert joined.size == (audio.size // FRAME_SAMPLES) * FRAME_SAMPLES
    assert np.array_equal(joined, audio[: joined.size])
    assert processor.stats.frames == audio.size // FRAME_SAMPLES


def test_capture_path_switches_cancellation_at_run_time() -> None:
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None))
    frame = np.full(FRAME_SAMPLES, 1000, np.int16)
    assert processor.process_capture(frame)[0] == 500
    processor.enabled = False
    assert not processor.active
    assert processor.process_capture(frame)[0] == 1000
    processor.enabled = True
    assert processor.process_capture(frame)[0] == 500
    assert canceller.frames == 2
    assert processor.stats.cancelled_frames == 2
    p50, p95 = processor.stats.cpu_percentiles()
    assert 0 < p50 <= p95


def test_status_and_restart() -> None:
    processor = CapturePathProcessor("webrtc", initial_delay_ms=80.0)
    scene = _noise_scene(seconds=2.0)
    run_capture_path(processor, scene, device_latency_ms=60.0)
    status = processor.status()
    assert status.active and status.enabled and status.backend == "webrtc" and status.playing_from == "webrtc"
    assert status.notice is None
    assert status.estimated_delay_ms is not None and abs(status.estimated_delay_ms - 120.0) <= 2.0
    assert status.frames == processor.stats.frames > 0 and status.cpu_us_p50 > 0
    old_aligner = processor.aligner
    processor.restart()
    assert processor.aligner is not old_aligner and not processor.aligner.anchored
    assert processor.aligner.delay_ms == status.delay_ms


def test_capture_path_hands_the_canceller_the_played_reference() -> None:
    canceller = CountingCanceller()
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None), initial_delay_ms=15.0)
    processor.feed_playback(np.full(FRAME_SAMPLES, 321, np.int16))
    processor.process_capture(np.zeros(FRAME_SAMPLES, np.int16))
    # delay 15 ms minus the 5 ms causality margin: the 10 ms played just before this capture.
    assert canceller.last_reference.tolist() == [321] * FRAME_SAMPLES


@pytest.mark.parametrize("backend", ["webrtc", "speex", "speex+preprocess", "hybrid"])
def test_each_backend_removes_most_of_a_noise_echo(backend: str) -> None:
    canceller, notice = create_canceller(backend)
    assert notice is None, notice
    assert canceller.name == backend
    processor = CapturePathProcessor(canceller_factory=lambda _b: (canceller, None))
    scene = _noise_scene(seconds=4.0)
    out = run_capture_path(processor, scene, device_latency_ms=60.0)
    tail = slice(3 * SAMPLE_RATE, 4 * SAMPLE_RATE)
    erle = 10 * np.log10(np.mean(scene.mic[tail].astype(float) ** 2) / (np.mean(out[tail].astype(float) ** 2) + 1e-9))
    assert erle > 15.0, f"{backend}: {erle:.1f} dB"


# ------------------------------------------------------------------------------------ fallback


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="one of"):
        create_canceller("magic")


def test_failing_backend_falls_back_with_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    real = echo._make_backend

    def broken_webrtc(name: str) -> echo.EchoCanceller:
        if name == "webrtc":
            raise ImportError("no module named pywebrtc_audio")
        return real(name)

    monkeypatch.setattr(echo, "_make_backend", broken_webrtc)
    canceller, notice = create_canceller("webrtc")
    assert canceller.name == "hybrid"
    assert notice is not None and "pywebrtc_audio" in notice and "hybrid" in notice


def test_when_nothing_starts_the_path_bypasses_with_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    real = echo._make_backend

    def nothing_works(name: str) -> echo.EchoCanceller:
        if name != "off":
            raise OSError(f"{name} library missing")
        return real(name)

    monkeypatch.setattr(echo, "_make_backend", nothing_works)
    processor = CapturePathProcessor("auto")
    assert processor.backend_name == "off"
    assert not processor.active
    assert processor.notice is not None and processor.notice.startswith("Echo cancellation is off")
    frame = np.arange(FRAME_SAMPLES, dtype=np.int16)
    assert np.array_equal(processor.process_capture(frame), frame)


def _drifting_noise_scene(ppm: float, seconds: float = 6.0) -> RoomScene:
    """The capture clock runs `ppm` faster than the playback clock (separate devices)."""
    reference = _noise(seconds)
    n = reference.size
    stretched = np.interp(np.arange(n) * (1 + ppm * 1e-6), np.arange(n), reference.astype(np.float64))
    mic = _through_room(stretched, room_impulse_response(delay_ms=40.0))
    zeros = np.zeros(n)
    return RoomScene(reference=reference, mic=mic, echo=mic.astype(np.float64), user=zeros,
                     double_talk_start=n, user_end=n)


@pytest.mark.parametrize(("ppm", "expect_keeper"), [(0.0, True), (100.0, False)])
def test_hybrid_uses_speex_on_a_steady_clock_and_aec3_under_drift(ppm: float, expect_keeper: bool) -> None:
    processor = CapturePathProcessor("hybrid")
    hybrid = processor.canceller
    assert isinstance(hybrid, echo.HybridCanceller)
    scene = _drifting_noise_scene(ppm)
    out = run_capture_path(processor, scene, device_latency_ms=60.0)
    assert hybrid.using_keeper is expect_keeper, (hybrid.keeper_erle_db, hybrid.robust_erle_db)
    assert hybrid.active_name == ("speex+preprocess" if expect_keeper else "webrtc")
    tail = slice(4 * SAMPLE_RATE, 6 * SAMPLE_RATE)
    erle = 10 * np.log10(np.mean(scene.mic[tail].astype(float) ** 2) / (np.mean(out[tail].astype(float) ** 2) + 1e-9))
    assert erle > 15.0  # whichever it picked, it cancels (AEC3 does less on stationary noise than on speech)
    hybrid.reset()
    assert not hybrid.using_keeper and hybrid.audible_frames == 0
    processor.close()


# ------------------------------------------------------------------------------------ half duplex


def test_half_duplex_gate_mutes_while_playing_and_for_the_hang_time() -> None:
    gate = HalfDuplexGate(hang_ms=300.0)
    block = np.full(320, 1000, np.int16)
    assert gate.apply(block, now=0.0) is block
    gate.set_playing(True, now=1.0)
    assert not gate.is_open(1.5)
    assert not gate.apply(block, now=1.5).any()
    gate.set_playing(False, now=2.0)
    assert not gate.is_open(2.29)
    assert gate.is_open(2.31)
    assert gate.muted_samples == 320
    gate.set_playing(True, now=3.0)
    gate.force_open()  # barge-in by key
    assert gate.is_open(3.0)
    gate.enabled = False
    gate.set_playing(True, now=4.0)
    assert gate.is_open(4.0)


# ------------------------------------------------------------------------------------ self-test


def _recording(programme: np.ndarray, *, gain_db: float, delay_ms: float, start_gap_ms: float = 200.0,
               saturate: bool = False, noise_dbfs: float = -60.0) -> np.ndarray:
    gap = int(start_gap_ms * MS)
    played = programme.astype(np.float64)
    if saturate:  # an overdriven speaker: no linear filter can model this
        played = np.tanh(played / 4096.0) * 4096.0
    echo_part = np.convolve(played, room_impulse_response(delay_ms=delay_ms, gain_db=gain_db))
    n = gap + programme.size + SAMPLE_RATE
    recording = np.zeros(n)
    recording[gap : gap + echo_part.size] = echo_part[: n - gap]
    recording += np.random.default_rng(4).standard_normal(n) * 32768.0 * 10 ** (noise_dbfs / 20)
    return np.clip(np.round(recording), -32768, 32767).astype(np.int16)


def test_probe_is_band_limited_noise_at_the_set_level() -> None:
    probe = make_probe()
    assert probe.size == int(1.5 * SAMPLE_RATE)
    level = 20 * np.log10(np.sqrt(np.mean(probe.astype(float) ** 2)) / 32768)
    assert abs(level + 12.0) < 0.2
    spectrum = np.abs(np.fft.rfft(probe.astype(float)))
    freqs = np.fft.rfftfreq(probe.size, 1 / SAMPLE_RATE)
    assert spectrum[freqs > 6500].max() < 0.01 * spectrum.max()


def test_self_test_with_headphones_finds_no_echo() -> None:
    probe = make_probe()
    programme, start = probe_programme(probe)
    silent_room = _recording(programme, gain_db=-200.0, delay_ms=40.0)
    result = analyse_echo(programme, silent_room, start, probe.size)
    assert not result.echo_detected
    assert result.recommendation is Recommendation.NO_ECHO
    assert "No echo" in result.summary()


def test_self_test_on_speakers_measures_delay_and_recommends_full_duplex() -> None:
    probe = make_probe()
    programme, start = probe_programme(probe)
    result = analyse_echo(programme, _recording(programme, gain_db=-6.0, delay_ms=40.0), start, probe.size)
    assert result.echo_detected
    assert abs(result.delay_ms - 240.0) <= 2.0  # 200 ms recording head start + 40 ms room
    assert abs(result.echo_return_loss_db - 6.0) < 1.5
    assert result.erle_db > 25.0
    assert result.total_attenuation_db >= 40.0
    assert result.recommendation is Recommendation.FULL_DUPLEX_AEC
    assert "full duplex" in result.summary()


def test_self_test_recommends_half_duplex_when_echo_cannot_be_cancelled() -> None:
    probe = make_probe()
    programme, start = probe_programme(probe)
    loud = _recording(programme, gain_db=6.0, delay_ms=40.0, saturate=True)
    result = analyse_echo(programme, loud, start, probe.size)
    assert result.echo_detected
    assert result.recommendation is Recommendation.HALF_DUPLEX
    assert "half duplex" in result.summary()


def test_self_test_without_a_canceller_cannot_recommend_full_duplex() -> None:
    probe = make_probe()
    programme, start = probe_programme(probe)
    result = analyse_echo(programme, _recording(programme, gain_db=-6.0, delay_ms=40.0), start, probe.size,
                          backend="off")
    assert result.recommendation is Recommendation.HALF_DUPLEX


# ------------------------------------------------------------------------------------ convergence guard


def _frames(level: float, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(FRAME_SAMPLES) * level).astype(np.int16) for _ in range(n)]


def test_guard_mutes_uncancelled_echo_and_lets_go_once_the_canceller_cancels() -> None:
    guard = echo.ConvergenceGuard(settle_ms=200, max_hold_ms=1500)
    reference, mic = _frames(3000, 100), _frames(1000, 100, seed=1)
    # Not cancelling yet: the output is the echo itself (0 dB removed) -> muted.
    for ref, m in zip(reference[:50], mic[:50], strict=True):
        assert not guard.apply(m, ref, m).any()
    assert guard.engaged and guard.muted_frames == 50
    # Cancelling 30 dB: after 200 ms of it the guard lets go and passes the canceller's output.
    cleaned = [(m / 31.6).astype(np.int16) for m in mic[50:]]
    passed = [guard.apply(m, ref, c).any() for ref, m, c in zip(reference[50:], mic[50:], cleaned, strict=True)]
    assert not any(passed[:19]) and all(passed[20:])
    assert not guard.engaged


def test_guard_never_holds_the_user_back_for_longer_than_its_limit() -> None:
    guard = echo.ConvergenceGuard(max_hold_ms=1500)
    reference, user = _frames(3000, 300), _frames(3000, 300, seed=2)  # double talk: never "converged"
    passed = [guard.apply(u, ref, u).any() for ref, u in zip(reference, user, strict=True)]
    assert not any(passed[:149]) and all(passed[150:])


def test_guard_passes_everything_when_no_reply_is_playing_or_after_the_echo_tail() -> None:
    guard = echo.ConvergenceGuard(echo_tail_ms=500)
    silence, user = np.zeros(FRAME_SAMPLES, np.int16), _frames(3000, 60, seed=3)
    assert all(guard.apply(u, silence, u).any() for u in user)  # engaged, but nothing to echo
    assert guard.engaged and guard.muted_frames == 0


def test_guard_lets_go_at_once_in_a_room_without_echo() -> None:
    guard = echo.ConvergenceGuard(settle_ms=200)
    reference, room_noise = _frames(3000, 40), _frames(5, 40, seed=4)  # the mic hears nothing of it
    outputs = [guard.apply(n, ref, n) for ref, n in zip(reference, room_noise, strict=True)]
    assert not guard.engaged and guard.muted_frames == 19 and outputs[-1].any()


def test_guard_engages_again_when_a_reply_starts_after_a_quiet_spell() -> None:
    """The echo path can move while nothing plays: each new reply must prove the cancellation again.
    Short pauses inside a reply (under `reengage_after_ms`) do not count."""
    guard = echo.ConvergenceGuard(settle_ms=200, reengage_after_ms=1500)
    reference, mic = _frames(3000, 80), _frames(1000, 80, seed=5)
    cancelled = [(m / 31.6).astype(np.int16) for m in mic]
    for ref, m, c in zip(reference[:30], mic[:30], cancelled[:30], strict=True):
        guard.apply(m, ref, c)
    assert not guard.engaged and guard.engagements == 1
    silence = np.zeros(FRAME_SAMPLES, np.int16)
    for _ in range(100):  # a 1 s pause between sentences
        guard.apply(silence, silence, silence)
    guard.apply(mic[30], reference[30], mic[30])
    assert not guard.engaged  # same reply: the uncancelled frame passes
    for _ in range(160):  # 1.6 s of quiet: the reply is over
        guard.apply(silence, silence, silence)
    # The next reply's echo is not cancelled (the path moved): held back...
    assert not any(guard.apply(m, ref, m).any() for ref, m in zip(reference[31:41], mic[31:41], strict=True))
    assert guard.engaged and guard.engagements == 2
    # ...until the canceller has caught up.
    passed = [guard.apply(m, ref, c).any() for ref, m, c in zip(reference[41:], mic[41:], cancelled[41:], strict=True)]
    assert not any(passed[:19]) and passed[-1]


def _delay_jump_scene(jump_s: float, shift_ms: float, seconds: float = 10.0) -> RoomScene:
    """Noise played through a room whose echo comes `shift_ms` later from `jump_s` on (the output
    underran once: everything played after it reaches the speaker late)."""
    scene = _noise_scene(seconds)
    shift, jump = int(shift_ms * MS), int(jump_s * SAMPLE_RATE)
    later = np.concatenate((np.zeros(shift, np.int16), scene.mic))[: scene.mic.size]
    mic = np.concatenate((scene.mic[:jump], later[jump:]))
    return RoomScene(reference=scene.reference, mic=mic, echo=mic.astype(np.float64), user=scene.user,
                     double_talk_start=scene.double_talk_start, user_end=scene.user_end)


def _leak_after_jump(report_glitch: bool) -> float:
    """Loudest 100 ms of cleaned output in the 3 s after the jump, in dBFS."""
    scene = _delay_jump_scene(jump_s=4.0, shift_ms=300.0)
    processor = CapturePathProcessor(echo.BACKEND_WEBRTC)
    block, lag = 320, 60 * MS
    mic = np.concatenate((np.zeros(lag, np.int16), scene.mic))
    reference = np.concatenate((scene.reference, np.zeros(lag, np.int16)))
    out = []
    for start in range(0, mic.size - block + 1, block):
        if report_glitch and start <= 4 * SAMPLE_RATE + lag < start + block:
            processor.output_glitched()
        processor.feed_playback(reference[start : start + block])
        out.append(processor.process_capture(mic[start : start + block]))
    cleaned = np.concatenate(out)[lag : lag + scene.mic.size].astype(np.float64)
    after = cleaned[4 * SAMPLE_RATE : 7 * SAMPLE_RATE]
    tenths = after[: after.size // 1600 * 1600].reshape(-1, 1600)
    loudest = float(np.sqrt(np.mean(tenths**2, axis=1)).max())
    return 20 * np.log10(max(loudest, 1.0) / 32768.0)


def test_an_output_glitch_that_moves_the_echo_does_not_let_the_echo_through() -> None:
    unguarded = _leak_after_jump(report_glitch=False)  # the echo itself is about -30 dBFS
    guarded = _leak_after_jump(report_glitch=True)
    # Unreported, the moved echo leaks until the canceller has caught up; reported, the mic is held
    # back until it has, and nothing of the echo gets out.
    assert unguarded - guarded >= 10.0, (guarded, unguarded)
    assert guarded < -48.0, (guarded, unguarded)
