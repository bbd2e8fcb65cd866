"""The echo self-test: play a probe, record the mic, measure echo before and after cancellation, and
recommend how to run the conversation on this speaker/mic pair.

`analyse_echo()` is pure (arrays in, result out); `run_echo_self_test()` plays and records with
sounddevice on real devices. It blocks for about three seconds: call it from a worker thread
(`loop.run_in_executor`) while the conversation's own streams are paused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from qwenvoice.audio import backend as portaudio
from qwenvoice.audio.backend import CallbackStatus, CallbackTime, PortAudioStream
from qwenvoice.audio.devices import DeviceInfo, Kind, choose_device, safe_list_devices
from qwenvoice.audio.echo.capture_path import (
    BACKEND_AUTO,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    EchoCanceller,
    create_canceller,
    estimate_delay,
)
from qwenvoice.audio.pcm import Int16Array

PROBE_SECONDS: Final = 1.5
PROBE_LEVEL_DBFS: Final = -12.0  # RMS; loud enough to rise above room noise, quieter than a reply's peaks
LEAD_SECONDS: Final = 0.5  # silence before the probe: the noise floor is measured here
TAIL_SECONDS: Final = 1.0  # silence after it: room for the device and acoustic delay
MAX_DELAY_MS: Final = 1500.0  # recording start gap + device buffers (Bluetooth: several hundred ms)
START_GAP_SECONDS: Final = 0.2  # the recording starts this long before playback

# Thresholds (see EchoTestResult.recommendation):
# - echo is "present" when the probe correlates clearly with the recording (GCC-PHAT peak >= 8x the RMS
#   of the other lags: noise alone gives 3-5) AND it raises the recorded level >= 3 dB above the noise
#   floor; quieter echo is buried in the room noise and cannot trigger a voice detector.
# - full duplex is safe when the echo left after cancellation is >= 40 dB below what was played
#   (speaker-to-mic loss + cancellation), or within 3 dB of the noise floor. Replies peak around -10 dBFS,
#   so 40 dB puts residual peaks near -50 dBFS, where silero (threshold 0.5) stays silent; the simulated
#   room reaches 41-50 dB with 0 % false triggers.
MIN_CONFIDENCE: Final = 8.0
MIN_ECHO_OVER_NOISE_DB: Final = 3.0
MIN_TOTAL_ATTENUATION_DB: Final = 40.0
RESIDUAL_NEAR_NOISE_DB: Final = 3.0


class Recommendation(StrEnum):
    NO_ECHO = "no-echo"  # headphones, or the speaker does not reach the mic: no cancellation needed
    FULL_DUPLEX_AEC = "full-duplex-aec"  # talk over the speakers; echo cancellation on
    HALF_DUPLEX = "half-duplex"  # mic muted while the assistant speaks; barge-in by key/button


@dataclass(slots=True, frozen=True)
class EchoTestResult:
    echo_detected: bool
    delay_ms: float  # speaker-to-mic delay including device buffers
    confidence: float  # GCC-PHAT peak sharpness
    played_dbfs: float  # probe level as played
    noise_floor_dbfs: float  # mic level in the silence before the probe
    echo_dbfs: float  # echo level at the mic (noise removed); -inf-like when none
    residual_dbfs: float  # echo left after cancellation (noise removed; floored 10 dB under the noise)
    echo_return_loss_db: float  # played minus echo: how much the room/volume attenuates
    erle_db: float  # echo minus residual: what the canceller removed
    backend: str  # canceller the measurement used
    recommendation: Recommendation
    notice: str | None = None  # canceller or device fallback notices, if any
    speaker: str = ""  # devices measured (filled by run_echo_self_test)
    microphone: str = ""

    @property
    def total_attenuation_db(self) -> float:
        return self.played_dbfs - self.residual_dbfs

    def summary(self) -> str:
        if not self.echo_detected:
            return f"No echo: the speaker does not reach the mic (noise floor {self.noise_floor_dbfs:.0f} dBFS)."
        text = (
            f"Echo {self.echo_return_loss_db:.0f} dB below the speaker after {self.delay_ms:.0f} ms; "
            f"cancellation ({self.backend}) removes {self.erle_db:.0f} dB more."
        )
        if self.recommendation is Recommendation.FULL_DUPLEX_AEC:
            return text + " Talking over the speakers works (full duplex, echo cancellation on)."
        return text + " Echo stays too strong: half duplex (mic muted while the assistant speaks) or headphones."


def _dbfs(power: float) -> float:
    return 10.0 * float(np.log10(max(power, 1e-12) / 32768.0**2))


def _power(samples: npt.NDArray[np.generic]) -> float:
    return float(np.mean(np.square(np.asarray(samples, dtype=np.float64)))) if samples.size else 0.0


def make_probe(seconds: float = PROBE_SECONDS, level_dbfs: float = PROBE_LEVEL_DBFS, seed: int = 20) -> Int16Array:
    """Band-limited (150 Hz - 6 kHz) noise burst with 20 ms fades: a flat spectrum over the speech band
    lets the canceller converge quickly and gives a sharp correlation peak."""
    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spectrum[(freqs < 150.0) | (freqs > 6000.0)] = 0
    noise = np.fft.irfft(spectrum, n)
    fade = int(0.02 * SAMPLE_RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    noise[:fade] *= ramp
    noise[-fade:] *= ramp[::-1]
    noise *= 32768.0 * 10 ** (level_dbfs / 20) / (np.sqrt(np.mean(noise**2)) + 1e-12)
    return np.clip(np.round(noise), -32768, 32767).astype(np.int16)


def probe_programme(probe: Int16Array | None = None) -> tuple[Int16Array, int]:
    """What the speaker plays: lead silence, the probe, tail silence; and the probe's start index."""
    burst = make_probe() if probe is None else probe
    lead = int(LEAD_SECONDS * SAMPLE_RATE)
    tail = int(TAIL_SECONDS * SAMPLE_RATE)
    return np.concatenate((np.zeros(lead, np.int16), burst, np.zeros(tail, np.int16))), lead


def analyse_echo(
    played: Int16Array,
    recorded: Int16Array,
    probe_start: int,
    probe_length: int,
    *,
    backend: str = BACKEND_AUTO,
    canceller_factory: Callable[[str], tuple[EchoCanceller, str | None]] = create_canceller,
    passes: int = 1,
) -> EchoTestResult:
    """Measure the echo of `played` in `recorded` (16 kHz mono int16). The recording may start before
    playback and run longer; any start offset is part of the estimated delay.

    The canceller runs over the aligned probe section (`passes` times; more than one loops the recording,
    which suits speex but makes AEC3 re-detect the jump, so 1 is the default) and the residual is measured
    on the last two thirds of the last pass. On this stationary-noise probe AEC3 removes ~20 dB where it
    removes 35-45 dB of speech, so the measurement errs on the side of half duplex.
    """
    max_delay = int(MAX_DELAY_MS * SAMPLE_RATE / 1000)
    n = recorded.size
    mic = recorded.astype(np.float64)
    reference = np.zeros(max_delay + n)
    reference[max_delay : max_delay + min(n, played.size)] = played[: min(n, played.size)]
    estimate = estimate_delay(mic, reference, max_delay)
    delay = estimate.delay_samples

    skip = int(0.1 * SAMPLE_RATE)  # device start-up clicks
    noise_power = _power(recorded[skip : max(probe_start - FRAME_SAMPLES, skip + FRAME_SAMPLES)])
    # The probe's echo occupies [probe_start + delay, probe_start + delay + probe_length) of the recording.
    echo_start = probe_start + delay
    echo_stop = min(echo_start + probe_length, recorded.size)
    mic_probe = recorded[echo_start:echo_stop]
    played_power = _power(played[probe_start : probe_start + probe_length])
    echo_power = max(_power(mic_probe) - noise_power, 0.0)
    echo_over_noise = 10 * np.log10((echo_power + noise_power + 1e-12) / (noise_power + 1e-12))
    detected = bool(estimate.confidence >= MIN_CONFIDENCE and echo_over_noise >= MIN_ECHO_OVER_NOISE_DB)

    canceller, notice = canceller_factory(backend)
    # The mic section starts a few ms before the echo, so the reference leads and the filter is causal.
    margin = int(0.005 * SAMPLE_RATE)
    aligned_mic = recorded[max(echo_start - margin, 0) : echo_stop]
    try:
        residual_power = _residual_power(canceller, aligned_mic,
                                         played[probe_start : probe_start + aligned_mic.size], passes)
    finally:
        canceller.close()
    # Echo under the noise floor is not measurable: floor the residual 10 dB below the noise.
    residual_echo_power = max(residual_power - noise_power, noise_power / 10.0, 1e-12)
    echo_dbfs = _dbfs(echo_power)
    residual_dbfs = _dbfs(residual_echo_power) if echo_power > 0 else echo_dbfs
    played_dbfs = _dbfs(played_power)
    erle = max(echo_dbfs - residual_dbfs, 0.0)
    residual_over_noise = 10 * np.log10((residual_power + 1e-12) / (noise_power + 1e-12))

    if not detected:
        recommendation = Recommendation.NO_ECHO
    elif canceller.name != "off" and (
        played_dbfs - residual_dbfs >= MIN_TOTAL_ATTENUATION_DB or residual_over_noise <= RESIDUAL_NEAR_NOISE_DB
    ):
        recommendation = Recommendation.FULL_DUPLEX_AEC
    else:
        recommendation = Recommendation.HALF_DUPLEX
    return EchoTestResult(
        echo_detected=detected,
        delay_ms=1000.0 * delay / SAMPLE_RATE,
        confidence=estimate.confidence,
        played_dbfs=played_dbfs,
        noise_floor_dbfs=_dbfs(noise_power),
        echo_dbfs=echo_dbfs,
        residual_dbfs=residual_dbfs,
        echo_return_loss_db=played_dbfs - echo_dbfs,
        erle_db=erle,
        backend=canceller.name,
        recommendation=recommendation,
        notice=notice,
    )


def _residual_power(canceller: EchoCanceller, mic: Int16Array, reference: Int16Array, passes: int) -> float:
    """Residual power of the last of `passes` runs over the same aligned mic/reference section."""
    frames = min(mic.size, reference.size) // FRAME_SAMPLES
    if frames <= 0:
        return _power(mic)
    last: list[Int16Array] = []
    for _ in range(passes):
        last = [
            canceller.process(mic[lo : lo + FRAME_SAMPLES].astype(np.int16),
                              reference[lo : lo + FRAME_SAMPLES].astype(np.int16))
            for lo in range(0, frames * FRAME_SAMPLES, FRAME_SAMPLES)
        ]
    residual = np.concatenate(last)
    return _power(residual[residual.size // 3 :])  # skip the start of the pass: the filter's tail refills


# ------------------------------------------------------------------------------------ real devices


class _Recorder:
    """Preallocated buffers and counters the PortAudio callbacks copy into (no allocation there)."""

    def __init__(self, playback: npt.NDArray[np.float32], capture_frames: int) -> None:
        self.playback = playback
        self.played = 0
        self.capture = np.zeros(capture_frames, dtype=np.float32)
        self.captured = 0
        self.xruns = 0
        self.done = threading.Event()

    def output_callback(
        self, outdata: npt.NDArray[np.float32], frames: int, _time: CallbackTime, status: CallbackStatus
    ) -> None:
        if status:
            self.xruns += 1
        n = max(0, min(frames, self.playback.size - self.played))
        outdata[:n, 0] = self.playback[self.played : self.played + n]
        outdata[n:, :] = 0.0
        if outdata.shape[1] > 1:
            outdata[:n, 1:] = outdata[:n, :1]
        self.played += n

    def input_callback(
        self, indata: npt.NDArray[np.float32], frames: int, _time: CallbackTime, status: CallbackStatus
    ) -> None:
        if status:
            self.xruns += 1
        n = max(0, min(frames, self.capture.size - self.captured))
        self.capture[self.captured : self.captured + n] = indata[:n, 0]
        self.captured += n
        if self.captured >= self.capture.size:
            self.done.set()


class SelfTestError(RuntimeError):
    """The probe could not be played or recorded (no device, or it would not open); the message says why."""


def _resolve(kind: Kind, wanted: str | None, notices: list[str]) -> DeviceInfo:
    """The wanted device, else the default (as the engine does), noting the fallback."""
    devices, error = safe_list_devices()
    if error is not None:
        raise SelfTestError(error)
    device, message = choose_device(devices, kind, wanted)
    if device is None:
        raise SelfTestError(message or f"no {kind} device")
    if message:
        notices.append(message)
    return device


@dataclass(slots=True, frozen=True)
class ProbeRecording:
    samples: Int16Array  # 16 kHz mono int16, from shortly before playback started
    speaker: str  # identities of the devices really used
    microphone: str
    notices: tuple[str, ...]  # e.g. "the wanted device is missing; using the default"


def _open(device: DeviceInfo, factory: Callable[..., PortAudioStream], **kwargs: object) -> PortAudioStream:
    """Open like the engine does: PulseAudio devices through their PULSE_SINK / PULSE_SOURCE routing."""
    errors = portaudio.portaudio_error_types()
    try:
        with portaudio.environment(device.open_environment()):
            stream = factory(device=device.portaudio_index, samplerate=device.samplerate, dtype="float32", **kwargs)
    except errors as exc:
        raise SelfTestError(f"could not open {device.identity}: {exc}") from exc
    portaudio.note_stream_opened()
    return stream


def record_probe(
    programme: Int16Array, *, input_device: str | None = None, output_device: str | None = None
) -> ProbeRecording:
    """Play `programme` (16 kHz int16) on the output and record the input from shortly before until the
    maximum delay after. Devices are named as for `AudioEngine` (None: the defaults; a missing one falls
    back to the default with a notice)."""
    import soxr

    sd = portaudio.sounddevice()
    notices: list[str] = []
    speaker = _resolve("output", output_device, notices)
    microphone = _resolve("input", input_device, notices)
    playback = np.asarray(soxr.resample(programme.astype(np.float32) / 32768.0, SAMPLE_RATE, speaker.samplerate),
                          dtype=np.float32)
    seconds = programme.size / SAMPLE_RATE + MAX_DELAY_MS / 1000.0
    recorder = _Recorder(playback, int(seconds * microphone.samplerate))
    # Recording runs from before playback starts; the unknown start offset simply adds to the delay
    # the analysis estimates, so no device clock alignment is needed. Generous buffers: the self-test
    # wants no gaps, not low latency.
    in_stream = _open(microphone, sd.InputStream, channels=1, callback=recorder.input_callback, latency=0.1)
    try:
        in_stream.start()
        time.sleep(START_GAP_SECONDS)
        out_stream = _open(speaker, sd.OutputStream, channels=max(1, min(2, speaker.channels)),
                           callback=recorder.output_callback, latency=0.2, blocksize=speaker.samplerate // 50)
        try:
            out_stream.start()
            recorder.done.wait(timeout=seconds + 5.0)
        finally:
            _close(out_stream)
    finally:
        _close(in_stream)
    captured = recorder.capture[: recorder.captured]
    if captured.size < SAMPLE_RATE // 2:
        raise SelfTestError(f"{microphone.identity} delivered no audio")
    resampled = np.asarray(soxr.resample(captured, microphone.samplerate, SAMPLE_RATE), dtype=np.float64)
    samples = np.clip(np.round(resampled * 32768.0), -32768, 32767).astype(np.int16)
    return ProbeRecording(samples, speaker.identity, microphone.identity, tuple(notices))


def _close(stream: PortAudioStream) -> None:
    with portaudio.PORTAUDIO_LOCK:
        try:
            stream.stop()
            stream.close()
        except Exception:
            pass
    portaudio.note_stream_closed()


def run_echo_self_test(
    *,
    input_device: str | None = None,
    output_device: str | None = None,
    backend: str = BACKEND_AUTO,
) -> EchoTestResult:
    """Play the probe through `output_device`, record `input_device` (names as for `AudioEngine`; None:
    the defaults) and analyse with the `backend` canceller. Blocks for about 4.5 s; raises SelfTestError
    when the devices cannot be used."""
    probe = make_probe()
    programme, probe_start = probe_programme(probe)
    recording = record_probe(programme, input_device=input_device, output_device=output_device)
    result = analyse_echo(programme, recording.samples, probe_start, probe.size, backend=backend)
    notice = "; ".join(n for n in (*recording.notices, result.notice) if n) or None
    return replace(result, speaker=recording.speaker, microphone=recording.microphone, notice=notice)
