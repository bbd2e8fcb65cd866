"""Echo handling of the running app: the capture path's canceller and half-duplex gate, set from the
audio settings, and the echo self-test. Qt-free; everything runs on the loop (the engine calls the
filter and the played-audio feed from the loop, never from a PortAudio callback).

Settings map to what the capture path does:

- headphones: nothing (the speaker cannot reach the mic), no CPU spent;
- speakers + echo cancellation: the canceller is fed exactly what the output stream played and cleans
  every captured block;
- speakers + half duplex: the mic is muted while the assistant is audible (and `hang_ms` after);
  interrupting then works by button or key only (the controller calls `barge_in()`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from qwenvoice.audio.echo.capture_path import BACKEND_AUTO, CapturePathProcessor, HalfDuplexGate
from qwenvoice.settings.schema import AudioSettings
from qwenvoice.settings.services import EchoState, EchoTestReport, apply_echo_recommendation

if TYPE_CHECKING:
    from qwenvoice.audio.echo.selftest import EchoTestResult
    from qwenvoice.audio.engine import AudioEngine

log = logging.getLogger(__name__)

Int16Array = npt.NDArray[np.int16]
NoticeHandler = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class EchoMode:
    cancel: bool  # run the echo canceller
    gate: bool  # mute the mic while the assistant speaks


def echo_mode(audio: AudioSettings) -> EchoMode:
    if audio.listening_setup == "headphones":
        return EchoMode(cancel=False, gate=False)
    return EchoMode(cancel=bool(audio.echo_cancellation), gate=bool(audio.half_duplex))


def recommended_settings(audio: AudioSettings, report: EchoTestReport) -> AudioSettings:
    """The audio settings the self-test recommends (unchanged when the test failed)."""
    return apply_echo_recommendation(audio, report.recommendation) if report.ok else audio


class EchoControl:
    """Owns the `CapturePathProcessor` and `HalfDuplexGate` of one audio engine.

    `attach(engine)` installs the capture filter and the played-audio feed; `configure(audio)` follows
    settings changes at run time; `barge_in()` opens the gate on a user's interruption; `state()` is
    the snapshot the settings panel shows; `close()` detaches and frees the canceller.
    """

    BARGE_IN_GRACE_S = 0.5  # longest a flushed player may still look busy after a barge-in

    def __init__(
        self,
        audio: AudioSettings,
        *,
        backend: str = BACKEND_AUTO,
        hang_ms: float = 300.0,
        on_notice: NoticeHandler | None = None,
        clock: Callable[[], float] = time.monotonic,
        processor_factory: Callable[..., CapturePathProcessor] = CapturePathProcessor,
    ) -> None:
        self.backend = backend
        self.mode = echo_mode(audio)
        self.gate = HalfDuplexGate(hang_ms=hang_ms, enabled=self.mode.gate)
        self.processor: CapturePathProcessor | None = None
        self._factory = processor_factory
        self._on_notice = on_notice
        self._said: set[str] = set()
        self._clock = clock
        self._engine: AudioEngine | None = None
        self._detach: list[Callable[[], None]] = []
        self._closed = False
        self._barged_in_at: float | None = None
        self._apply_mode()

    # ------------------------------------------------------------------ settings

    def configure(self, audio: AudioSettings) -> None:
        """Follow changed settings at once (the streams keep running)."""
        old, self.mode = self.mode, echo_mode(audio)
        if self.mode.cancel and not old.cancel and self.processor is not None:
            # Mic and played counters drifted apart while the canceller was idle: re-anchor.
            self.processor.restart()
        self._apply_mode()

    def _apply_mode(self) -> None:
        self.gate.enabled = self.mode.gate
        if not self.mode.gate:
            self.gate.force_open()
        if self.mode.cancel and self.processor is None and not self._closed:
            self.processor = self._factory(self.backend, enabled=True)
            if self.processor.notice:
                self._say(self.processor.notice)
        if self.processor is not None:
            self.processor.enabled = self.mode.cancel

    def _say(self, text: str) -> None:
        if text in self._said:
            return
        self._said.add(text)
        log.warning("echo: %s", text)
        if self._on_notice is not None:
            self._on_notice(text)

    @property
    def notice(self) -> str | None:
        """Why cancellation fell back or is bypassed, if it did."""
        return self.processor.notice if self.processor is not None else None

    # ------------------------------------------------------------------ engine

    def attach(self, engine: AudioEngine) -> None:
        """Clean `engine.capture`'s blocks and feed the canceller what `engine.player` plays."""
        self.detach()
        self._engine = engine
        self._detach.append(engine.attach_echo_canceller(self))

    def detach(self) -> None:
        self._engine = None
        for undo in self._detach:
            undo()
        self._detach.clear()

    def _player_busy(self, now: float) -> bool:
        engine = self._engine
        busy = engine is not None and not engine.player.is_idle()
        if self._barged_in_at is not None:
            # The flushed reply is reported idle a tick after the flush: until then it is not playing
            # (closing the gate again would add the hang time to the user's interruption).
            if busy and now - self._barged_in_at < self.BARGE_IN_GRACE_S:
                return False
            self._barged_in_at = None
        return busy

    def feed_playback(self, pcm: Int16Array) -> None:
        """What the speaker played (16 kHz mono int16, silence included), in order."""
        if self.mode.cancel and self.processor is not None:
            self.processor.feed_playback(pcm)

    def process_capture(self, pcm: Int16Array) -> Int16Array:
        """The capture filter: cancel the echo, then gate (half duplex). Returns what is sent on."""
        out = pcm
        if self.mode.cancel and self.processor is not None:
            out = self.processor.process_capture(pcm)
        if self.mode.gate:
            now = self._clock()
            self.gate.set_playing(self._player_busy(now), now)
            out = self.gate.apply(out, now)
        return out

    def output_glitched(self) -> None:
        """The output underran (the engine's wiring says so before the next captured block)."""
        if self.mode.cancel and self.processor is not None:
            self.processor.output_glitched()

    def restart(self) -> None:
        """After a stream reopened, on purpose or after a device loss: re-anchor and re-converge."""
        if self.processor is not None:
            self.processor.restart()

    def barge_in(self) -> None:
        """The user interrupted by button or key: open the mic now, without the hang time."""
        self.gate.force_open()
        self._barged_in_at = self._clock()

    def mic_open(self) -> bool:
        return self.gate.is_open(self._clock())

    # ------------------------------------------------------------------ status

    def state(self) -> EchoState:
        processor = self.processor
        if not self.mode.cancel or processor is None:
            return EchoState(mode="off", half_duplex=self.mode.gate)
        status = processor.status()
        return EchoState(
            mode="cancelling" if status.active else "bypassed",
            half_duplex=self.mode.gate,
            backend=status.backend,
            playing_from=status.playing_from,
            delay_ms=status.delay_ms if status.active else None,
            cpu_ms_p50=status.cpu_us_p50 / 1000.0,
            cpu_ms_p95=status.cpu_us_p95 / 1000.0,
            notice=status.notice,
        )

    def close(self) -> None:
        self.detach()
        self._closed = True
        processor, self.processor = self.processor, None
        if processor is not None:
            processor.close()

    # ------------------------------------------------------------------ self-test

    async def self_test(self, input_device: str | None, output_device: str | None) -> EchoTestReport:
        """Run the echo self-test in a worker thread (about 5 s). The caller pauses the app's own streams
        first. Never raises: a device problem comes back as a report that is not ok."""
        return await run_self_test(input_device, output_device, backend=self.backend)


async def run_self_test(
    input_device: str | None, output_device: str | None, *, backend: str = BACKEND_AUTO,
    test: Callable[..., EchoTestResult] | None = None,
) -> EchoTestReport:
    """The self-test on these devices (names as in the settings; None: the defaults), as a report."""
    try:
        from qwenvoice.audio.echo.selftest import SelfTestError, run_echo_self_test
    except Exception as exc:  # no PortAudio / numpy parts: say so instead of failing
        return EchoTestReport(ok=False, summary=f"The echo self-test cannot run here: {exc}")
    from qwenvoice.audio import backend as portaudio

    runner = test or run_echo_self_test
    # The app's streams are only paused: count them as open, so the device monitor does not re-initialise
    # PortAudio under the probe's streams (a re-init while a stream opens crashes the process).
    portaudio.note_stream_opened()
    try:
        result = await asyncio.to_thread(runner, input_device=input_device, output_device=output_device,
                                         backend=backend)
    except SelfTestError as exc:
        return EchoTestReport(ok=False, summary=f"The echo self-test could not use the devices: {exc}")
    except Exception as exc:  # native audio errors: report, never crash the settings panel
        log.exception("echo self-test failed")
        return EchoTestReport(ok=False, summary=f"The echo self-test failed: {exc}")
    finally:
        portaudio.note_stream_closed()
    return report_from_result(result)


def report_from_result(result: EchoTestResult) -> EchoTestReport:
    """An `echo.selftest.EchoTestResult` as the settings layer's report."""
    summary = str(result.summary())
    devices = " → ".join(d for d in (getattr(result, "speaker", ""), getattr(result, "microphone", "")) if d)
    if devices:
        summary += f" ({devices})"
    return EchoTestReport(
        ok=True,
        summary=summary,
        recommendation=str(result.recommendation.value),
        delay_ms=float(result.delay_ms) if result.echo_detected else None,
        echo_return_loss_db=float(result.echo_return_loss_db) if result.echo_detected else None,
        erle_db=float(result.erle_db) if result.echo_detected else None,
        backend=str(result.backend),
        notice=result.notice,
    )
