"""EchoControl: settings -> capture path (real CapturePathProcessor and HalfDuplexGate on synthetic audio),
the engine hooks, run-time switching, notices, status and the self-test report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from qwenvoice.audio.echo.capture_path import SAMPLE_RATE, CapturePathProcessor, PassThroughCanceller
from qwenvoice.audio.echo.selftest import SelfTestError, analyse_echo, make_probe, probe_programme
from qwenvoice.audio.engine import AudioEngine
from qwenvoice.session.echo_control import (
    EchoControl,
    EchoMode,
    echo_mode,
    recommended_settings,
    report_from_result,
    run_self_test,
)
from qwenvoice.settings.schema import AppSettings, AudioSettings, validate
from qwenvoice.settings.services import (
    ECHO_FULL_DUPLEX_AEC,
    ECHO_HALF_DUPLEX,
    ECHO_NO_ECHO,
    EchoTestReport,
    apply_echo_recommendation,
)
from qwenvoice.settings.store import SettingsStore
from tests.support import echo_sim

BLOCK = 320  # 20 ms at 16 kHz, the capture block size


class FakeCapture:
    def __init__(self) -> None:
        self.filter: Callable[[np.ndarray], np.ndarray] | None = None
        self.recoveries = 0

    def captured(self, block: np.ndarray) -> np.ndarray:
        return self.filter(block) if self.filter is not None else block


class FakePlayer:
    def __init__(self) -> None:
        self.subscribers: list[Callable[[np.ndarray], None]] = []
        self.recoveries = 0
        self.busy = False
        self.unread: list[np.ndarray] = []
        self.device_underflows = 0

    def subscribe_played(self, handler: Callable[[np.ndarray], None]) -> Callable[[], None]:
        self.subscribers.append(handler)
        return lambda: self.subscribers.remove(handler)

    def is_idle(self) -> bool:
        return not self.busy

    def played(self, block: np.ndarray) -> None:
        for handler in list(self.subscribers):
            handler(block)

    def device_played(self, block: np.ndarray) -> None:
        """Played by the device, not yet handed on: the player's tick (or a pump) delivers it."""
        self.unread.append(block)

    def pump_played(self) -> None:
        while self.unread:
            self.played(self.unread.pop(0))


class FakeEngine:
    """AudioEngine's echo wiring over fake streams (pure logic: no devices)."""

    attach_echo_canceller = AudioEngine.attach_echo_canceller

    def __init__(self) -> None:
        self.capture = FakeCapture()
        self.player = FakePlayer()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def speakers(**changes: object) -> AudioSettings:
    return dataclasses.replace(AudioSettings(listening_setup="speakers"), **changes)  # type: ignore[arg-type]


def speech_like(seconds: float, seed: int = 1) -> np.ndarray:
    """Band-limited noise in 4 Hz syllables: enough of speech's structure for an echo canceller."""
    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[(freqs < 200) | (freqs > 4000)] = 0
    carrier = np.fft.irfft(spectrum, n)
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.0 * np.arange(n) / SAMPLE_RATE))
    signal = carrier * envelope
    signal *= 3000.0 / np.sqrt(np.mean(signal**2))
    return np.clip(signal, -32768, 32767).astype(np.int16)


def run_blocks(engine: FakeEngine, played: np.ndarray, mic: np.ndarray, lag: int) -> np.ndarray:
    """The engine's order on the loop: each tick, the block just played, then the block just captured
    (which carries the echo of what was played `lag` samples earlier)."""
    mic = np.concatenate((np.zeros(lag, np.int16), mic))
    played = np.concatenate((played, np.zeros(lag, np.int16)))
    out = []
    for start in range(0, mic.size - BLOCK + 1, BLOCK):
        engine.player.played(played[start : start + BLOCK])
        out.append(engine.capture.captured(mic[start : start + BLOCK]))
    return np.concatenate(out)[lag : lag + mic.size - lag]


# ------------------------------------------------------------------------------------ settings


def test_modes_follow_the_settings() -> None:
    assert echo_mode(AudioSettings(listening_setup="headphones", echo_cancellation=True, half_duplex=True)) == (
        EchoMode(cancel=False, gate=False))
    assert echo_mode(speakers()) == EchoMode(cancel=True, gate=False)
    assert echo_mode(speakers(half_duplex=True)) == EchoMode(cancel=True, gate=True)
    assert echo_mode(speakers(echo_cancellation=False)) == EchoMode(cancel=False, gate=False)


def test_recommendations_map_to_settings() -> None:
    headphones = AudioSettings(listening_setup="headphones", echo_cancellation=False, half_duplex=True)
    full = apply_echo_recommendation(headphones, ECHO_FULL_DUPLEX_AEC)
    assert (full.listening_setup, full.echo_cancellation, full.half_duplex) == ("speakers", True, False)
    half = apply_echo_recommendation(headphones, ECHO_HALF_DUPLEX)
    assert (half.listening_setup, half.echo_cancellation, half.half_duplex) == ("speakers", True, True)
    none = apply_echo_recommendation(speakers(half_duplex=True), ECHO_NO_ECHO)
    assert (none.listening_setup, none.echo_cancellation, none.half_duplex) == ("speakers", True, False)
    assert apply_echo_recommendation(headphones, "something new") == headphones
    failed = EchoTestReport(ok=False, summary="no microphone", recommendation=ECHO_HALF_DUPLEX)
    assert recommended_settings(headphones, failed) == headphones


def test_half_duplex_setting_is_validated_and_old_files_read_the_default(tmp_path) -> None:
    settings = AppSettings()
    assert settings.audio.half_duplex is False
    settings.audio.half_duplex = "yes"  # type: ignore[assignment]
    assert [e.field for e in validate(settings)] == ["audio.half_duplex"]
    config = tmp_path / "config"
    config.mkdir()
    # a file written before the field existed
    (config / "settings.json").write_text('{"schema_version": 1, "audio": {"listening_setup": "speakers", '
                                          '"echo_cancellation": false}}')
    loaded = SettingsStore(config).load()
    assert loaded.settings.audio.half_duplex is False and loaded.settings.audio.echo_cancellation is False
    assert not loaded.notices
    store = SettingsStore(config)
    saved = loaded.settings.copy()
    saved.audio.half_duplex = True
    store.save(saved)
    assert SettingsStore(config).load().settings.audio.half_duplex is True


# ------------------------------------------------------------------------------------ capture path


def test_speakers_cancel_the_echo_of_what_was_played() -> None:
    engine = FakeEngine()
    echo = EchoControl(speakers())
    echo.attach(engine)
    assert engine.capture.filter is not None and len(engine.player.subscribers) == 1
    reply = speech_like(8.0)
    scene = echo_sim.build_scene(reply, None, seconds=8.0)
    cleaned = run_blocks(engine, scene.reference, scene.mic, lag=int(0.06 * SAMPLE_RATE))
    settled = slice(3 * SAMPLE_RATE, 8 * SAMPLE_RATE - 2 * BLOCK)
    erle = echo_sim.erle_db(scene.mic[settled], cleaned[settled])
    state = echo.state()
    assert erle >= 20.0, (erle, state)
    assert state.mode == "cancelling" and state.backend and state.delay_ms is not None
    assert 0.0 < state.cpu_ms_p50 <= state.cpu_ms_p95
    echo.close()
    assert engine.capture.filter is None and not engine.player.subscribers
    assert echo.processor is None


def test_a_stalled_loop_does_not_put_the_reference_out_of_step() -> None:
    """After a stall the queued mic blocks are handled before the player's next tick: the capture path
    fetches what was played itself, so it neither waits nor pads the reference with silence (which
    would shift it against the echo and let the echo through until the delay is found again)."""
    engine = FakeEngine()
    echo = EchoControl(speakers())
    echo.attach(engine)
    reply = speech_like(10.0, seed=7)
    scene = echo_sim.build_scene(reply, None, seconds=10.0)
    lag = int(0.06 * SAMPLE_RATE)
    mic = np.concatenate((np.zeros(lag, np.int16), scene.mic))
    played = np.concatenate((scene.reference, np.zeros(lag, np.int16)))
    out = []
    stall = 30  # blocks (600 ms) played and captured while the loop did nothing
    for start in range(0, mic.size - BLOCK + 1, BLOCK):
        engine.player.device_played(played[start : start + BLOCK])
        if (start // BLOCK) % 100 < 100 - stall:
            engine.player.pump_played()  # the tick, when the loop is running
        out.append(engine.capture.captured(mic[start : start + BLOCK]))
    cleaned = np.concatenate(out)[lag : lag + scene.mic.size - lag]
    processor = echo.processor
    assert processor is not None
    assert processor.aligner.stats.reference_gaps == 0 and processor.aligner.stats.resyncs == 0
    settled = slice(3 * SAMPLE_RATE, 10 * SAMPLE_RATE - lag - 2 * BLOCK)
    assert echo_sim.erle_db(scene.mic[settled], cleaned[settled]) >= 20.0


def test_headphones_pass_audio_through_untouched_and_build_no_canceller() -> None:
    engine = FakeEngine()
    echo = EchoControl(AudioSettings(listening_setup="headphones"))
    echo.attach(engine)
    block = speech_like(0.02)
    assert engine.capture.captured(block) is block
    assert echo.processor is None and echo.state().mode == "off"


def test_switching_at_run_time_without_restarting_the_streams() -> None:
    engine = FakeEngine()
    echo = EchoControl(AudioSettings(listening_setup="headphones"))
    echo.attach(engine)
    reply = speech_like(10.0, seed=4)
    scene = echo_sim.build_scene(reply, None, seconds=10.0)
    lag = int(0.06 * SAMPLE_RATE)
    half = 5 * SAMPLE_RATE
    first = run_blocks(engine, scene.reference[:half], scene.mic[:half], lag)
    assert echo_sim.erle_db(scene.mic[: half - lag], first[: half - lag]) == pytest.approx(0.0, abs=0.01)
    echo.configure(speakers())  # the user chose "speakers"
    assert echo.processor is not None and echo.processor.enabled
    second = run_blocks(engine, scene.reference[half:], scene.mic[half:], lag)
    settled = slice(2 * SAMPLE_RATE, half - 2 * BLOCK)
    assert echo_sim.erle_db(scene.mic[half:][settled], second[settled]) >= 20.0
    echo.configure(speakers(echo_cancellation=False))
    block = speech_like(0.02)
    assert engine.capture.captured(block) is block
    assert echo.state().mode == "off"


def test_a_reopened_stream_restarts_the_alignment() -> None:
    engine = FakeEngine()
    echo = EchoControl(speakers())
    echo.attach(engine)
    processor = echo.processor
    assert processor is not None
    aligner = processor.aligner
    engine.player.played(np.zeros(BLOCK, np.int16))
    engine.capture.captured(np.zeros(BLOCK, np.int16))
    assert processor.aligner is aligner
    engine.capture.recoveries += 1  # the microphone moved to another device
    engine.player.played(np.zeros(BLOCK, np.int16))
    engine.capture.captured(np.zeros(BLOCK, np.int16))
    assert processor.aligner is not aligner


def test_an_output_underrun_holds_the_mic_back_until_cancelling_again() -> None:
    """An underrun delays everything played after it, so the echo moves: the next captured block
    learns of it, and the guard mutes the echo until the canceller has caught up."""
    engine = FakeEngine()
    echo = EchoControl(speakers())
    echo.attach(engine)
    processor = echo.processor
    assert processor is not None
    scene = echo_sim.build_scene(speech_like(6.0, seed=5), None, seconds=6.0)
    lag = int(0.06 * SAMPLE_RATE)
    run_blocks(engine, scene.reference[: 4 * SAMPLE_RATE], scene.mic[: 4 * SAMPLE_RATE], lag)
    assert not processor.guard.engaged and processor.stats.output_glitches == 0
    engine.player.device_underflows += 1
    engine.player.played(scene.reference[4 * SAMPLE_RATE : 4 * SAMPLE_RATE + BLOCK])
    engine.capture.captured(scene.mic[4 * SAMPLE_RATE : 4 * SAMPLE_RATE + BLOCK])
    assert processor.stats.output_glitches == 1 and processor.guard.engaged
    engine.capture.captured(scene.mic[4 * SAMPLE_RATE + BLOCK : 4 * SAMPLE_RATE + 2 * BLOCK])
    assert processor.stats.output_glitches == 1  # told once per underrun
    echo.configure(AudioSettings(listening_setup="headphones"))
    engine.player.device_underflows += 1
    engine.capture.captured(np.zeros(BLOCK, np.int16))
    assert processor.stats.output_glitches == 1  # not cancelling: nothing to hold back


def test_a_canceller_that_cannot_start_is_bypassed_with_one_notice() -> None:
    notices: list[str] = []
    text = "Echo cancellation is off: it could not start (hybrid: ImportError). Use headphones."

    def broken(backend: str, enabled: bool = True) -> CapturePathProcessor:
        return CapturePathProcessor(backend, enabled=enabled, canceller_factory=lambda _b: (PassThroughCanceller(),
                                                                                            text))

    engine = FakeEngine()
    echo = EchoControl(speakers(), on_notice=notices.append, processor_factory=broken)
    echo.attach(engine)
    block = speech_like(0.04)
    out = engine.capture.captured(block)
    assert np.array_equal(out, block)  # the microphone keeps working
    assert echo.notice == text and notices == [text]
    assert echo.state().mode == "bypassed" and echo.state().notice == text
    echo.configure(speakers(half_duplex=True))
    assert notices == [text]  # said once


# ------------------------------------------------------------------------------------ half duplex


def test_half_duplex_mutes_the_mic_while_the_assistant_plays_and_a_barge_in_opens_it() -> None:
    clock = Clock()
    engine = FakeEngine()
    echo = EchoControl(speakers(echo_cancellation=False, half_duplex=True), hang_ms=300, clock=clock)
    echo.attach(engine)
    voice = speech_like(0.02)
    assert np.array_equal(engine.capture.captured(voice), voice)
    engine.player.busy = True  # a reply is playing
    muted = engine.capture.captured(voice)
    assert muted.size == voice.size and not muted.any()
    engine.player.busy = False
    clock.now += 0.1
    assert not engine.capture.captured(voice).any()  # the hang time covers the device's tail
    clock.now += 0.25
    assert not engine.capture.captured(voice).any()  # 300 ms from the first block that saw the end
    clock.now += 0.1
    assert np.array_equal(engine.capture.captured(voice), voice)
    # barge-in by button: the controller flushes the player, then opens the gate without the hang
    engine.player.busy = True
    assert not engine.capture.captured(voice).any()
    echo.barge_in()  # the flushed player still looks busy until its next tick
    assert echo.mic_open() and np.array_equal(engine.capture.captured(voice), voice)
    engine.player.busy = False
    clock.now += 0.02
    assert np.array_equal(engine.capture.captured(voice), voice)
    engine.player.busy = True  # the next reply
    clock.now += 0.02
    assert not engine.capture.captured(voice).any()
    echo.barge_in()
    clock.now += 0.6  # a player that never goes idle does not keep the gate open for ever
    assert not engine.capture.captured(voice).any()
    engine.player.busy = False
    echo.barge_in()
    # switching half duplex off opens the mic even mid-reply
    engine.player.busy = True
    echo.configure(speakers(echo_cancellation=False))
    assert np.array_equal(engine.capture.captured(voice), voice)


def test_half_duplex_with_cancellation_gates_the_cleaned_audio() -> None:
    clock = Clock()
    engine = FakeEngine()
    echo = EchoControl(speakers(half_duplex=True), clock=clock)
    echo.attach(engine)
    assert echo.state().half_duplex and echo.state().mode == "cancelling"
    engine.player.busy = True
    reply = speech_like(1.0)
    out = run_blocks(engine, reply, reply // 4, lag=960)
    assert out.size > 0 and not out.any()


# ------------------------------------------------------------------------------------ self-test


def _synthetic_result(leak_gain: float):  # type: ignore[no-untyped-def]
    probe = make_probe()
    programme, start = probe_programme(probe)
    rng = np.random.default_rng(7)
    delay = int(0.32 * SAMPLE_RATE)
    recorded = rng.standard_normal(programme.size + SAMPLE_RATE) * 10.0
    recorded[delay : delay + programme.size] += programme * leak_gain
    return analyse_echo(programme, np.clip(recorded, -32768, 32767).astype(np.int16), start, probe.size)


async def test_self_test_report_for_no_echo_and_a_leak() -> None:
    quiet = await run_self_test("mic", "speaker", test=lambda **_kw: _synthetic_result(0.0))
    assert quiet.ok and quiet.recommendation == ECHO_NO_ECHO and quiet.delay_ms is None
    assert "No echo" in quiet.summary
    calls: list[dict[str, object]] = []

    def leaking(**kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return _synthetic_result(0.05)

    loud = await run_self_test("mic", "speaker", backend="webrtc", test=leaking)
    assert calls == [{"input_device": "mic", "output_device": "speaker", "backend": "webrtc"}]
    assert loud.ok and loud.recommendation in (ECHO_FULL_DUPLEX_AEC, ECHO_HALF_DUPLEX)
    assert loud.delay_ms == pytest.approx(320.0, abs=2.0)
    assert loud.echo_return_loss_db == pytest.approx(26.0, abs=1.5)  # 20*log10(0.05)
    assert loud.erle_db is not None and loud.erle_db > 0 and loud.backend == "hybrid"  # what analysed it


async def test_self_test_failures_become_reports() -> None:
    def no_device(**_kw: object):  # type: ignore[no-untyped-def]
        raise SelfTestError("no input device")

    report = await run_self_test(None, None, test=no_device)
    assert not report.ok and "no input device" in report.summary and report.recommendation == ""

    def crash(**_kw: object):  # type: ignore[no-untyped-def]
        raise OSError("PortAudio error -9996")

    report = await run_self_test(None, None, test=crash)
    assert not report.ok and "-9996" in report.summary


def test_report_names_the_devices_measured() -> None:
    result = dataclasses.replace(_synthetic_result(0.0), speaker="spk (PulseAudio)", microphone="mic (PulseAudio)")
    report = report_from_result(result)
    assert report.summary.endswith("(spk (PulseAudio) → mic (PulseAudio))")
