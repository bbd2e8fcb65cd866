"""Echo cancellation on the capture path: the assistant must not hear itself on speakers.

Pieces, all working on 16 kHz mono int16 and 10 ms frames (160 samples), all run on the asyncio loop
(never in a PortAudio callback):

- `EchoCanceller` — the backend interface (`process(mic_frame, reference_frame) -> cleaned_frame`), with
  WebRTC AEC3 (`pywebrtc-audio`, Apache-2.0), SpeexDSP (`libspeexdsp`, BSD, see `speex`) and a
  pass-through. `create_canceller()` falls back to the next backend, and finally to pass-through with a
  notice, when one cannot start.
- `estimate_delay()` / `ReferenceAligner` — GCC-PHAT over the last second of mic vs played audio finds
  the echo delay, and the aligner hands each mic frame the reference that was playing when its echo left
  the speaker.
- `CapturePathProcessor` — what the audio engine calls: `feed_playback()` with exactly what the output
  stream played, `process_capture()` with captured blocks of any size.
- `HalfDuplexGate` — when echo is too strong to cancel: the mic is muted while the assistant speaks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from qwenvoice.audio.pcm import Int16Array
from qwenvoice.audio.ring import SampleRing

SAMPLE_RATE: Final = 16000
FRAME_SAMPLES: Final = 160  # 10 ms at 16 kHz, the frame every backend works on

BACKEND_WEBRTC: Final = "webrtc"  # AEC3 only: strongest suppression
BACKEND_WEBRTC_NS: Final = "webrtc+ns"  # AEC3 + noise suppression
BACKEND_SPEEX: Final = "speex"  # MDF filter only: keeps double talk, leaves residual
BACKEND_SPEEX_PRE: Final = "speex+preprocess"  # MDF + residual-echo suppression
BACKEND_HYBRID: Final = "hybrid"  # both; speex+preprocess once it proves itself, else AEC3
BACKEND_OFF: Final = "off"
BACKEND_AUTO: Final = "auto"
BACKENDS: Final = (BACKEND_HYBRID, BACKEND_WEBRTC, BACKEND_WEBRTC_NS, BACKEND_SPEEX, BACKEND_SPEEX_PRE, BACKEND_OFF)
# Measured on the simulated room (tests/benchmarks/bench_echo.py): speex+preprocess keeps the user's words
# during double talk where AEC3 garbles them, but converges slowly and fails under clock drift; AEC3 is
# robust. The hybrid runs both and picks (see HybridCanceller).
DEFAULT_BACKEND: Final = BACKEND_HYBRID
# Which backend takes over when the chosen one cannot start.
_FALLBACK_ORDER: Final = (BACKEND_HYBRID, BACKEND_WEBRTC, BACKEND_SPEEX_PRE, BACKEND_OFF)


class EchoCanceller(Protocol):
    """One acoustic echo canceller instance; not thread-safe, owned by the loop."""

    name: str

    def process(self, mic_frame: Int16Array, reference_frame: Int16Array) -> Int16Array:
        """Cleaned 10 ms frame: `mic_frame` minus the echo of the time-aligned `reference_frame`."""
        ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class PassThroughCanceller:
    """Returns the mic unchanged: the bypass when no canceller can run, or AEC is switched off."""

    name = BACKEND_OFF

    def process(self, mic_frame: Int16Array, reference_frame: Int16Array) -> Int16Array:
        return mic_frame

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class WebRtcCanceller:
    """WebRTC audio processing (AEC3, high-pass filter, optional noise suppression)."""

    def __init__(self, *, noise_suppression: bool = False, stream_delay_ms: int = 0) -> None:
        import pywebrtc_audio

        self.name = BACKEND_WEBRTC_NS if noise_suppression else BACKEND_WEBRTC
        self._noise_suppression = noise_suppression
        self._processor = pywebrtc_audio.AudioProcessor(
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            echo_cancellation=True,
            noise_suppression=noise_suppression,
            high_pass_filter=True,
            stream_delay_ms=stream_delay_ms,
        )

    def process(self, mic_frame: Int16Array, reference_frame: Int16Array) -> Int16Array:
        cleaned: Int16Array = self._processor.process(
            np.ascontiguousarray(mic_frame, dtype=np.int16), np.ascontiguousarray(reference_frame, dtype=np.int16)
        )
        return cleaned

    def reset(self) -> None:
        self._processor.reset()

    def close(self) -> None:
        pass


class HybridCanceller:
    """Runs AEC3 and speex+preprocess side by side on every frame and outputs the better fit for the room.

    AEC3 converges in well under a second and tolerates clock drift between the output and input devices,
    but suppresses the user during double talk; speex keeps the user's words, but converges in ~2 s and
    loses most of its cancellation once the two clocks drift apart (20 ppm: -15 dB; separate USB mic and
    speakers drift that much). So the output is AEC3's until speex has shown, on echo-only frames, that it
    cancels at least `switch_db` and nearly as well as AEC3; it returns to AEC3 when speex drops below
    `fallback_db` for `fallback_hold_ms` of reply. Frames where AEC3 removes little (the user is talking) do
    not count. CPU is the sum of both (~0.2 ms per 10 ms frame).
    """

    def __init__(
        self,
        robust: EchoCanceller,
        keeper: EchoCanceller,
        *,
        switch_db: float = 30.0,
        fallback_db: float = 22.0,
        within_db: float = 6.0,
        time_constant_s: float = 0.5,
        min_audible_ms: float = 1500.0,
        fallback_hold_ms: float = 2500.0,
        audible_rms: float = 100.0,
    ) -> None:
        self.name = BACKEND_HYBRID
        self._robust = robust
        self._keeper = keeper
        self._switch_db = switch_db
        self._fallback_db = fallback_db
        self._within_db = within_db
        self._alpha = FRAME_SAMPLES / (time_constant_s * SAMPLE_RATE)
        self._min_audible = int(min_audible_ms * SAMPLE_RATE / 1000) // FRAME_SAMPLES
        self._fallback_hold = int(fallback_hold_ms * SAMPLE_RATE / 1000) // FRAME_SAMPLES
        self._audible_power = audible_rms**2
        self.using_keeper = False
        self.switches = 0
        self._reset_tracking()

    def _reset_tracking(self) -> None:
        self.audible_frames = 0
        self._poor_frames = 0
        self.robust_erle_db = 0.0  # smoothed per-frame ERLE in dB (log domain: old loud frames fade fast)
        self.keeper_erle_db = 0.0

    @property
    def active_name(self) -> str:
        return self._keeper.name if self.using_keeper else self._robust.name

    def process(self, mic_frame: Int16Array, reference_frame: Int16Array) -> Int16Array:
        robust_out = self._robust.process(mic_frame, reference_frame)
        keeper_out = self._keeper.process(mic_frame, reference_frame)
        if _mean_power(reference_frame) > self._audible_power:
            self._track(_mean_power(mic_frame), _mean_power(robust_out), _mean_power(keeper_out))
        return keeper_out if self.using_keeper else robust_out

    def _track(self, mic: float, robust: float, keeper: float) -> None:
        robust_db = _clipped_ratio_db(mic, robust)
        keeper_db = _clipped_ratio_db(mic, keeper)
        converged = self.audible_frames >= self._min_audible and self.robust_erle_db >= 20.0
        if converged and robust_db < 10.0:
            return  # AEC3 removed under 10 dB of this frame: the user is talking; keep the scores clean
        self.audible_frames += 1
        a = self._alpha if self.audible_frames > 1 else 1.0
        self.robust_erle_db += a * (robust_db - self.robust_erle_db)
        self.keeper_erle_db += a * (keeper_db - self.keeper_erle_db)
        if self.audible_frames < self._min_audible:
            return
        keeper_db, robust_db = self.keeper_erle_db, self.robust_erle_db
        if not self.using_keeper and keeper_db >= self._switch_db and keeper_db >= robust_db - self._within_db:
            self.using_keeper = True
            self.switches += 1
            return
        # Back to AEC3 only when speex stays poor: double talk also lowers its score, for a second or two,
        # and that is when its output matters most.
        self._poor_frames = self._poor_frames + 1 if self.using_keeper and keeper_db < self._fallback_db else 0
        if self._poor_frames >= self._fallback_hold:
            self.using_keeper = False
            self.switches += 1
            self._poor_frames = 0

    def reset(self) -> None:
        self._robust.reset()
        self._keeper.reset()
        self.using_keeper = False
        self._reset_tracking()

    def close(self) -> None:
        self._robust.close()
        self._keeper.close()


def _mean_power(frame: Int16Array) -> float:
    samples = frame.astype(np.float64)
    return float(np.dot(samples, samples)) / max(samples.size, 1)


def _clipped_ratio_db(before: float, after: float) -> float:
    return min(max(10.0 * float(np.log10((before + 1.0) / (after + 1.0))), -10.0), 60.0)


def _make_backend(backend: str) -> EchoCanceller:
    if backend == BACKEND_HYBRID:
        from qwenvoice.audio.echo.speex import SpeexEchoCanceller

        return HybridCanceller(WebRtcCanceller(), SpeexEchoCanceller(preprocess=True))
    if backend == BACKEND_WEBRTC:
        return WebRtcCanceller()
    if backend == BACKEND_WEBRTC_NS:
        return WebRtcCanceller(noise_suppression=True)
    if backend in (BACKEND_SPEEX, BACKEND_SPEEX_PRE):
        from qwenvoice.audio.echo.speex import SpeexEchoCanceller

        return SpeexEchoCanceller(preprocess=backend == BACKEND_SPEEX_PRE)
    if backend == BACKEND_OFF:
        return PassThroughCanceller()
    raise ValueError(f"unknown echo canceller backend {backend!r}; one of: {', '.join((BACKEND_AUTO, *BACKENDS))}")


def create_canceller(backend: str = BACKEND_AUTO) -> tuple[EchoCanceller, str | None]:
    """The requested canceller, or the first that starts after it; the notice says what was bypassed.

    Never raises for a backend that fails to start (missing wheel or library): the capture path must keep
    working, so the worst case is pass-through plus a notice the UI shows.
    """
    if backend != BACKEND_AUTO and backend not in BACKENDS:
        raise ValueError(f"unknown echo canceller backend {backend!r}; one of: {', '.join((BACKEND_AUTO, *BACKENDS))}")
    wanted = DEFAULT_BACKEND if backend == BACKEND_AUTO else backend
    order = [wanted, *(b for b in _FALLBACK_ORDER if b != wanted)]
    failures: list[str] = []
    for name in order:
        try:
            canceller = _make_backend(name)
        except Exception as exc:  # ImportError, OSError, RuntimeError from native code
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if not failures:
            return canceller, None
        if canceller.name == BACKEND_OFF and wanted != BACKEND_OFF:
            notice = "Echo cancellation is off: it could not start (" + "; ".join(failures) + "). Use headphones."
        else:
            notice = f"Echo cancellation uses {canceller.name}: " + "; ".join(failures)
        return canceller, notice
    raise AssertionError("pass-through canceller cannot fail")  # pragma: no cover


# --------------------------------------------------------------------------------------------- delay


@dataclass(slots=True, frozen=True)
class DelayEstimate:
    """Echo delay in samples (mic index minus reference index of the direct path) and how sure we are."""

    delay_samples: int
    confidence: float  # correlation peak over the RMS of the searched lags; ~3 for noise, >8 for clear echo

    @property
    def delay_ms(self) -> float:
        return 1000.0 * self.delay_samples / SAMPLE_RATE


def estimate_delay(
    mic: npt.NDArray[np.floating] | Int16Array,
    reference: npt.NDArray[np.floating] | Int16Array,
    max_delay_samples: int,
) -> DelayEstimate:
    """GCC-PHAT delay of `mic` against `reference`.

    `reference` holds `max_delay_samples` more samples than `mic`, ending at the same instant: reference
    index `i + max_delay_samples` was played at the moment mic index `i` was captured. The result `d` in
    [0, max_delay_samples] says mic[i] carries the echo of reference[i + max_delay_samples - d].
    """
    mic_f = np.asarray(mic, dtype=np.float32)
    ref_f = np.asarray(reference, dtype=np.float32)
    if ref_f.size != mic_f.size + max_delay_samples:
        raise ValueError("reference must be max_delay_samples longer than mic")
    # Lags 0..max_delay never wrap once the transform covers the reference: mic index i + lag < ref size.
    nfft = 1 << int(np.ceil(np.log2(ref_f.size)))
    mic_spec = np.fft.rfft(mic_f, nfft)
    ref_spec = np.fft.rfft(ref_f, nfft)
    cross = np.conj(mic_spec) * ref_spec
    # PHAT: keep only phase, so the strongest (direct) path wins over the room's colouring.
    magnitude = np.abs(cross)
    peak_magnitude = float(magnitude.max())
    if not peak_magnitude > 0.0:  # digital silence on one side: nothing to correlate
        return DelayEstimate(delay_samples=0, confidence=0.0)
    cross /= magnitude + np.float32(peak_magnitude * 1e-6)
    correlation = np.fft.irfft(cross, nfft)[: max_delay_samples + 1]
    # correlation[j] pairs mic[i] with reference[i + j]; delay d = max_delay_samples - j.
    peak_index = int(np.argmax(correlation))
    rms = float(np.sqrt(np.mean(correlation**2))) + 1e-12
    return DelayEstimate(delay_samples=max_delay_samples - peak_index, confidence=float(correlation[peak_index]) / rms)


@dataclass(slots=True)
class AlignerStats:
    estimates: int = 0  # estimations run
    accepted: int = 0  # confident estimates
    realignments: int = 0  # times the reference alignment moved
    reference_gaps: int = 0  # times the output stopped feeding and the reference was padded with zeros
    resyncs: int = 0  # reference ran far ahead of the mic; clocks re-anchored
    reference_missing_frames: int = 0  # mic frames whose reference had not arrived yet


class ReferenceAligner:
    """Time-aligns the played 16 kHz downmix with the mic stream and tracks the echo delay.

    Both streams are counted in samples. At the first mic frame the newest played sample is anchored to
    mic index 0; from then on mic index `m` lines up with reference index `origin + m`, and the echo of
    reference index `r` shows up `delay` samples later. Feed the reference continuously (the output stream
    plays silence when it has nothing; feed that too). Mic frames wait (a few hundred ms at most) for
    their reference; if none comes the output counts as idle and the reference is padded with zeros.
    """

    def __init__(
        self,
        *,
        initial_delay_ms: float = 100.0,
        max_delay_ms: float = 500.0,
        window_ms: float = 1000.0,
        estimate_every_ms: float = 500.0,
        margin_ms: float = 5.0,
        max_lead_ms: float = 60.0,
        min_confidence: float = 8.0,
    ) -> None:
        ms = SAMPLE_RATE // 1000
        self.max_delay_samples = int(max_delay_ms * ms)
        self.window_samples = int(window_ms * ms)
        self._estimate_every = int(estimate_every_ms * ms)
        self._margin = int(margin_ms * ms)
        self._max_lead = int(max_lead_ms * ms)
        self._min_confidence = min_confidence
        self.output_idle = False
        history = self.window_samples + self.max_delay_samples + SAMPLE_RATE
        self._reference = SampleRing(history, np.int16)
        self._mic = SampleRing(self.window_samples + SAMPLE_RATE, np.int16)
        self._origin: int | None = None
        self.delay_samples = int(initial_delay_ms * ms)
        self.last_estimate: DelayEstimate | None = None
        self._pending: DelayEstimate | None = None
        self._since_estimate = 0
        self._fast_every = max(FRAME_SAMPLES, self._estimate_every // 2)
        self._fast_until = 0  # mic index until which the delay is re-estimated twice as often
        self.stats = AlignerStats()
        self._frame_out = np.zeros(FRAME_SAMPLES, dtype=np.int16)

    @property
    def delay_ms(self) -> float:
        return 1000.0 * self.delay_samples / SAMPLE_RATE

    @property
    def anchored(self) -> bool:
        return self._origin is not None

    def push_reference(self, samples: Int16Array) -> None:
        """Append what the speaker played (16 kHz mono int16), in order."""
        self._reference.write(samples)
        self.output_idle = False

    def _expected_reference_index(self) -> int:
        """Reference index played when the next mic sample was captured (anchoring on first use)."""
        mic_index = self._mic.total_written
        if self._origin is None:
            self._origin = self._reference.total_written - mic_index
        return self._origin + mic_index

    def _reference_start(self, expected: int) -> int:
        return expected - max(self.delay_samples - self._margin, 0)

    def reference_ready(self, n: int = FRAME_SAMPLES) -> bool:
        """Whether the reference for the next `n` mic samples has arrived. Played audio reaches the loop in
        ticks, so after a stall the mic can be ahead for a moment; waiting keeps the streams in step."""
        if self.output_idle:
            return True
        return self._reference_start(self._expected_reference_index()) + n <= self._reference.total_written

    def mark_output_idle(self) -> None:
        """Nothing is being fed (no output stream): stop waiting and pad the reference with silence until
        played audio arrives again."""
        if not self.output_idle:
            self.output_idle = True
            self.stats.reference_gaps += 1

    def reference_for_next_mic_frame(self, n: int = FRAME_SAMPLES) -> Int16Array:
        """Reference samples aligned with the next `n` mic samples (call before `push_mic`)."""
        expected = self._expected_reference_index()
        if self.output_idle and self._reference.total_written < expected:
            self._reference.write_zeros(expected - self._reference.total_written)
        elif self._reference.total_written > expected + self.window_samples:
            # The reference ran a second ahead of the mic (a burst, or the mic stalled): re-anchor.
            self.stats.resyncs += 1
            self._origin = self._reference.total_written - self._mic.total_written
            expected = self._origin + self._mic.total_written
        start = self._reference_start(expected)
        if start + n > self._reference.total_written:
            self.stats.reference_missing_frames += 1
        return self._reference.read(start, n)

    def push_mic(self, frame: Int16Array) -> DelayEstimate | None:
        """Record the raw mic frame; every `estimate_every_ms` re-estimate the delay. Returns a new
        accepted estimate when the delay changed."""
        self._mic.write(frame)
        self._since_estimate += frame.size
        every = self._fast_every if self._mic.total_written < self._fast_until else self._estimate_every
        if self._since_estimate < every or self._mic.total_written < self.window_samples:
            return None
        self._since_estimate = 0
        return self.update_estimate()

    def expedite(self, seconds: float = 4.0) -> None:
        """The echo delay may just have moved (the output glitched): look twice as often for a while."""
        self._fast_until = self._mic.total_written + int(seconds * SAMPLE_RATE)

    def update_estimate(self) -> DelayEstimate | None:
        if self._origin is None:
            return None
        mic_end = self._mic.total_written
        mic = self._mic.read(mic_end - self.window_samples, self.window_samples)
        ref_end = self._origin + mic_end
        reference = self._reference.read(ref_end - self.window_samples - self.max_delay_samples,
                                         self.window_samples + self.max_delay_samples)
        # Nothing to learn from silence: need played audio and something at the mic.
        if _rms(reference[-self.window_samples :]) < 30.0 or _rms(mic) < 3.0:
            return None
        self.stats.estimates += 1
        estimate = estimate_delay(mic, reference, self.max_delay_samples)
        self.last_estimate = estimate
        if estimate.confidence < self._min_confidence:
            return None
        if self.stats.accepted > 0 and self._fits_current_alignment(estimate.delay_samples):
            self._pending = None
            return None
        tolerance = 2 * SAMPLE_RATE // 1000  # 2 ms
        # The first estimate is taken at once; a change needs two agreeing estimates in a row.
        if self.stats.accepted == 0 or (
            self._pending is not None and abs(self._pending.delay_samples - estimate.delay_samples) <= tolerance
        ):
            changed = not self._fits_current_alignment(estimate.delay_samples)
            self.stats.accepted += 1
            self._pending = None
            if not changed:
                return None
            # Centre the echo in the tolerated window, so clock drift either way takes minutes to push
            # it out again (70 ppm moves it 4 ms a minute).
            self.delay_samples = estimate.delay_samples + self._margin - self._max_lead // 2
            self.stats.realignments += 1
            return estimate
        self._pending = estimate
        return None

    def _fits_current_alignment(self, delay: int) -> bool:
        """Whether the cancellers can keep the alignment in use: every jump in the reference makes them
        re-converge, so realign only when the echo would come before its reference (non-causal) or too
        late for the filter's tail."""
        lead = delay - (self.delay_samples - self._margin)  # how far the echo trails its reference
        return 0 <= lead <= self._max_lead


def _rms(samples: Int16Array) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


# ------------------------------------------------------------------------------------ convergence guard


class ConvergenceGuard:
    """Holds the microphone back while the reply is audible and the canceller is not (yet) cancelling.

    A canceller that has just started, been reset for a new delay, or lost its alignment because the
    output glitched (an underrun delays everything played after it) passes the reply's echo until it
    re-converges, and the server's VAD takes that echo for the user: the app interrupts itself. While
    engaged, frames are muted when the reference was audible in the last `echo_tail_ms`; the guard lets
    go once the output stays quiet or well below the microphone (`converged_db`) for `settle_ms` of
    audible reply, or at the latest after `max_hold_ms` of it (during double talk the first test never
    passes, and the user must not stay muted for long).

    It also engages when the output becomes audible after `reengage_after_ms` of quiet (a new reply): the
    echo path can move while nothing plays (a sound server's loopback or resampler re-settling its
    latency), and no underrun reports that. A canceller that still fits lets go after `settle_ms`.
    """

    def __init__(
        self,
        *,
        converged_db: float = 20.0,
        settle_ms: float = 200.0,
        max_hold_ms: float = 1500.0,
        echo_tail_ms: float = 500.0,
        reengage_after_ms: float = 1500.0,
        audible_rms: float = 100.0,
        quiet_rms: float = 60.0,
    ) -> None:
        frames = SAMPLE_RATE // 1000 * 1.0 / FRAME_SAMPLES  # frames per ms
        self._reengage_after = max(1, int(reengage_after_ms * frames))
        self._converged_ratio = 10.0 ** (converged_db / 10.0)
        self._settle = max(1, int(settle_ms * frames))
        self._max_hold = max(1, int(max_hold_ms * frames))
        self._tail = max(1, int(echo_tail_ms * frames))
        self._audible_power = audible_rms**2
        self._quiet_power = quiet_rms**2
        self.engaged = True
        self.engagements = 1
        self.muted_frames = 0
        self._good = 0
        self._held = 0
        self._since_audible = self._tail  # frames since the reference was last audible

    def engage(self) -> None:
        if not self.engaged:
            self.engagements += 1
        self.engaged = True
        self._good = 0
        self._held = 0

    def apply(self, mic_frame: Int16Array, reference_frame: Int16Array, cleaned: Int16Array) -> Int16Array:
        audible = _mean_power(reference_frame) > self._audible_power
        if audible and self._since_audible >= self._reengage_after:
            self.engage()  # a new reply after a quiet spell: prove the cancellation again
        self._since_audible = 0 if audible else self._since_audible + 1
        if not self.engaged or self._since_audible >= self._tail:
            return cleaned
        if audible:
            out_power = _mean_power(cleaned)
            quiet = out_power < self._quiet_power or _mean_power(mic_frame) > self._converged_ratio * out_power
            self._good = self._good + 1 if quiet else 0
            self._held += 1
            if self._good >= self._settle or self._held >= self._max_hold:
                self.engaged = False
                return cleaned
        self.muted_frames += 1
        return np.zeros_like(cleaned)


# ------------------------------------------------------------------------------------ capture path


@dataclass(slots=True)
class CaptureStats:
    frames: int = 0  # 10 ms frames processed
    waits: int = 0  # times mic frames were held back for their reference
    cancelled_frames: int = 0  # frames that went through the canceller
    delay_changes: int = 0
    output_glitches: int = 0  # output underruns reported by the engine (each may move the echo delay)
    cpu_us: list[float] = field(default_factory=list)  # recent per-frame canceller times (bounded)

    def cpu_percentiles(self) -> tuple[float, float]:
        if not self.cpu_us:
            return (0.0, 0.0)
        values = np.asarray(self.cpu_us)
        return (float(np.percentile(values, 50)), float(np.percentile(values, 95)))


class CapturePathProcessor:
    """Echo cancellation for the capture path, called on the loop with blocks of any size.

    - `feed_playback(pcm)` with exactly what the output callback played (16 kHz mono int16 downmix),
      including its silence, in order;
    - `process_capture(block)` with captured 16 kHz mono int16 audio; returns the cleaned audio of the
      complete 10 ms frames so far (up to 159 samples wait for the next block), in order. A frame whose
      reference has not reached the loop yet is held back (at most `max_wait_ms`) and returned by a
      later call.
    `enabled` switches cancellation at run time; when off, audio passes unchanged (still framed).
    """

    _CPU_HISTORY: Final = 2000

    def __init__(
        self,
        backend: str = BACKEND_AUTO,
        *,
        enabled: bool = True,
        initial_delay_ms: float = 100.0,
        canceller_factory: Callable[[str], tuple[EchoCanceller, str | None]] = create_canceller,
        aligner: ReferenceAligner | None = None,
        max_wait_ms: float = 300.0,
    ) -> None:
        self.canceller, self.notice = canceller_factory(backend)
        self.requested_backend = backend
        self.enabled = enabled
        self.aligner = aligner if aligner is not None else ReferenceAligner(initial_delay_ms=initial_delay_ms)
        self.stats = CaptureStats()
        self._pending = np.zeros(0, dtype=np.int16)
        self._waiting: deque[Int16Array] = deque()  # whole frames whose reference has not arrived yet
        self._max_wait_frames = int(max_wait_ms * SAMPLE_RATE / 1000) // FRAME_SAMPLES
        self.guard = ConvergenceGuard()
        self._perf = time.perf_counter

    @property
    def backend_name(self) -> str:
        return self.canceller.name

    @property
    def active(self) -> bool:
        """True when frames are really being cancelled (enabled and not bypassed)."""
        return self.enabled and self.canceller.name != BACKEND_OFF

    def feed_playback(self, pcm: Int16Array) -> None:
        self.aligner.push_reference(np.asarray(pcm, dtype=np.int16).reshape(-1))

    def process_capture(self, block: Int16Array) -> Int16Array:
        samples = np.asarray(block, dtype=np.int16).reshape(-1)
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        whole = samples.size - samples.size % FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        for start in range(0, whole, FRAME_SAMPLES):
            self._waiting.append(samples[start : start + FRAME_SAMPLES])
        ready: list[Int16Array] = []
        while self._waiting:
            if self.active and not self.aligner.reference_ready(FRAME_SAMPLES):
                if len(self._waiting) <= self._max_wait_frames:
                    self.stats.waits += 1
                    break
                self.aligner.mark_output_idle()
            ready.append(self._process_frame(self._waiting.popleft()))
        return np.concatenate(ready) if ready else np.zeros(0, dtype=np.int16)

    def _process_frame(self, mic_frame: Int16Array) -> Int16Array:
        reference = self.aligner.reference_for_next_mic_frame(FRAME_SAMPLES)
        if self.aligner.push_mic(mic_frame) is not None:
            # The reference jumped: a clean restart converges faster than adapting to the shift.
            self.stats.delay_changes += 1
            self.canceller.reset()
            self.guard.engage()
        self.stats.frames += 1
        if not self.active:
            return mic_frame
        began = self._perf()
        engagements = self.guard.engagements
        cleaned = self.guard.apply(mic_frame, reference, self.canceller.process(mic_frame, reference))
        if self.guard.engagements != engagements:
            self.aligner.expedite()  # a reply starts: the echo may have moved while nothing played
        elapsed_us = (self._perf() - began) * 1e6
        cpu = self.stats.cpu_us
        if len(cpu) >= self._CPU_HISTORY:
            del cpu[: self._CPU_HISTORY // 2]
        cpu.append(elapsed_us)
        self.stats.cancelled_frames += 1
        return cleaned

    def reset(self) -> None:
        """Forget the adapted echo path (keeps the alignment and any audio not yet returned)."""
        self.canceller.reset()
        self.guard.engage()

    def output_glitched(self) -> None:
        """The output stream underran: what it played since reaches the speaker later than counted,
        so the echo may have moved. Hold the mic back until cancelling is proven again, and look for
        the new delay at once."""
        self.stats.output_glitches += 1
        self.guard.engage()
        self.aligner.expedite()

    def restart(self) -> None:
        """After a capture or playback stream (re)opened, e.g. on a device change: the sample counters
        no longer line up, so re-anchor them (the last delay is the new first guess) and re-converge."""
        self.aligner = ReferenceAligner(initial_delay_ms=self.aligner.delay_ms)
        self.reset()

    def status(self) -> EchoStatus:
        """A snapshot for the settings panel and metrics (poll it; nothing here emits events)."""
        p50, p95 = self.stats.cpu_percentiles()
        estimate = self.aligner.last_estimate
        return EchoStatus(
            enabled=self.enabled,
            active=self.active,
            backend=self.canceller.name,
            playing_from=getattr(self.canceller, "active_name", self.canceller.name),
            notice=self.notice,
            delay_ms=self.aligner.delay_ms,
            estimated_delay_ms=None if estimate is None else estimate.delay_ms,
            frames=self.stats.frames,
            cpu_us_p50=p50,
            cpu_us_p95=p95,
        )

    def close(self) -> None:
        self.canceller.close()


@dataclass(slots=True, frozen=True)
class EchoStatus:
    enabled: bool  # the user's switch
    active: bool  # enabled and a real canceller runs (False when bypassed)
    backend: str  # "hybrid", "webrtc", ... or "off" when bypassed
    playing_from: str  # for the hybrid: whose output is used right now ("webrtc" / "speex+preprocess")
    notice: str | None  # why a fallback or bypass happened
    delay_ms: float  # alignment in use
    estimated_delay_ms: float | None  # last GCC-PHAT estimate
    frames: int
    cpu_us_p50: float
    cpu_us_p95: float


# ------------------------------------------------------------------------------------ half duplex


class HalfDuplexGate:
    """Mutes the mic while the assistant is audible and for `hang_ms` after, for rooms where echo is
    too strong to cancel. Barge-in then works only by key/button (the controller calls `force_open`)."""

    def __init__(self, *, hang_ms: float = 300.0, enabled: bool = True) -> None:
        self.hang_s = hang_ms / 1000.0
        self.enabled = enabled
        self._playing = False
        self._closed_until = 0.0
        self.muted_samples = 0

    def set_playing(self, playing: bool, now: float) -> None:
        """Feed from the playback state (samples being played / buffer drained)."""
        if self._playing and not playing:
            self._closed_until = now + self.hang_s
        self._playing = playing

    def force_open(self) -> None:
        """Manual barge-in: the controller flushes playback; open at once, no hang time."""
        self._playing = False
        self._closed_until = 0.0

    def is_open(self, now: float) -> bool:
        if not self.enabled:
            return True
        return not self._playing and now >= self._closed_until

    def apply(self, block: Int16Array, now: float) -> Int16Array:
        """The block itself when open, silence of the same length when muted (the stream keeps time)."""
        if self.is_open(now):
            return block
        self.muted_samples += block.size
        return np.zeros_like(block)
