"""Speech parts: language choice, voices, model hashes, espeak-ng Mandarin, synthesis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from qwenvoice.localserver.espeak import shared_engine
from qwenvoice.localserver.speech import (
    WHISPER_MODEL_SHA256,
    ModelIntegrityError,
    SpeechStyle,
    SpeechSynthesizer,
    detect_language,
    drop_echoed_tail,
    speaking_pieces,
    verify_model_dir,
    voice_style,
    whisper_model_dir,
)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello", "english"),
        ("你好", "chinese"),
        ("こんにちは", "japanese"),
        ("안녕하세요", "korean"),
        ("Привет", "russian"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_voices_differ_audibly_in_pitch() -> None:
    assert voice_style("Cherry").pitch > voice_style("Ethan").pitch > voice_style("Arthur").pitch


def test_whisper_model_matches_pinned_hashes() -> None:
    verify_model_dir(whisper_model_dir(), WHISPER_MODEL_SHA256)


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    for name in WHISPER_MODEL_SHA256:
        (tmp_path / name).write_bytes(b"not the model")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_model_dir(tmp_path, WHISPER_MODEL_SHA256)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelIntegrityError, match="missing"):
        verify_model_dir(empty, WHISPER_MODEL_SHA256)


def test_mandarin_is_read_as_mandarin_not_english_digits() -> None:
    engine = shared_engine()
    phonemes = engine.phonemes("你好，现在几点了？", engine.mandarin_voice)
    assert "(en)" not in phonemes  # no switch to English
    assert "Tr'i:" not in phonemes  # "three" for a tone digit
    assert "214" in phonemes  # a real third tone


def test_debian_library_falls_back_to_the_pinyin_voice() -> None:
    # In a child process: two libespeak-ng copies in one process would share nothing but confusion.
    script = (
        "from qwenvoice.localserver.espeak import EspeakEngine, EspeakLibrary\n"
        "import ctypes.util\n"
        "path = ctypes.util.find_library('espeak-ng')\n"
        "e = EspeakEngine(EspeakLibrary(path, None, 'system'))\n"
        "print(e.version, e.mandarin_voice, e.phonemes('你好', e.mandarin_voice))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    if "not found" in done.stderr or "NoneType" in done.stderr:
        pytest.skip("Debian's libespeak-ng is not installed")
    assert done.returncode == 0, done.stderr
    version, voice, phonemes = done.stdout.split(maxsplit=2)
    if version.startswith("1.51"):
        assert voice == "cmn-latn-pinyin"
    assert "(en)" not in phonemes and "Tr'i:" not in phonemes


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def test_espeak_synthesis_obeys_rate_volume_and_output_rate() -> None:
    synth = SpeechSynthesizer(piper=None)
    german = SpeechStyle(language_type="German")
    normal = synth.synthesize("Guten Tag, wie geht es Ihnen heute?", german, 24000)
    fast = synth.synthesize(
        "Guten Tag, wie geht es Ihnen heute?", SpeechStyle(language_type="German", speech_rate=2.0), 24000
    )
    quiet = synth.synthesize(
        "Guten Tag, wie geht es Ihnen heute?", SpeechStyle(language_type="German", volume=0.2), 24000
    )
    at_8k = synth.synthesize("Guten Tag, wie geht es Ihnen heute?", german, 8000)
    assert normal.dtype == np.int16 and normal.size > 24000
    assert fast.size < normal.size * 0.7
    assert _rms(quiet) < _rms(normal) * 0.3
    assert abs(at_8k.size * 3 - normal.size) < 300


def test_nothing_speakable_is_silence() -> None:
    assert SpeechSynthesizer(piper=None).synthesize(" ... ", SpeechStyle(), 24000).size == 0


def test_a_long_first_sentence_is_spoken_in_two_pieces() -> None:
    text = "The offline server reads this sentence aloud, and we time how long the first audio takes. Done."
    pieces = speaking_pieces(text)
    assert pieces == [
        "The offline server reads this sentence aloud,",
        "and we time how long the first audio takes.",
        "Done.",
    ]
    assert " ".join(pieces) == text
    assert speaking_pieces("Short one, really. Next.") == ["Short one, really.", "Next."]


def test_echoed_tail_of_a_short_window_is_dropped() -> None:
    assert drop_echoed_tail("Can you help me? Can you Help") == "Can you help me?"
    assert drop_echoed_tail("Who are you? Who are You") == "Who are you?"
    assert drop_echoed_tail("Stop! What time is it?") == "Stop! What time is it?"
    assert drop_echoed_tail("") == ""


def test_whisper_transcribes_espeak_speech() -> None:
    from qwenvoice.localserver.speech import Transcriber

    engine = shared_engine()
    speech = engine.synthesize("What time is it?", "en-us")
    pcm16k = soxr.resample(speech.astype(np.float32), engine.sample_rate, 16000).astype(np.int16)
    transcriber = Transcriber(cpu_threads=1)
    assert "time is it" in transcriber.transcribe(pcm16k).lower()
    assert transcriber.transcribe(np.zeros(800, np.int16)) == ""  # under 0.1 s: nothing to hear
