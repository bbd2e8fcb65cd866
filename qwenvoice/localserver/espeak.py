"""A small ctypes binding to libespeak-ng that synthesises straight into memory.

We prefer the library shipped in the ``espeakng-loader`` wheel (espeak-ng 1.52 with its own data, so
no apt package is needed and the ``cmn`` voice reads pinyin tones correctly). Debian's 1.51 library is
the fallback; there ``cmn`` reads tone digits out in English, so Mandarin uses ``cmn-latn-pinyin``.

espeak-ng keeps global state, so one process-wide engine guarded by a lock does all the work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4

DEFAULT_RATE_WPM = 175
MIN_RATE_WPM = 80
MAX_RATE_WPM = 450

# int (*t_espeak_callback)(short *wav, int numsamples, espeak_EVENT *events)
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True, slots=True)
class EspeakLibrary:
    path: str
    data_dir: str | None  # None: the library's compiled-in default
    version: str


def find_library() -> EspeakLibrary:
    """The wheel's library if present, else the system one."""
    try:
        import espeakng_loader

        lib_path = Path(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
        if lib_path.exists():
            versions = sorted(p.name for p in lib_path.parent.glob("libespeak-ng.so.*.*"))
            version = versions[-1].removeprefix("libespeak-ng.so.") if versions else "unknown"
            return EspeakLibrary(str(lib_path), str(data_path), version)
    except (ImportError, RuntimeError):
        pass
    system = ctypes.util.find_library("espeak-ng")
    if system is None:
        raise OSError("libespeak-ng not found: install the 'offline' extra (espeakng-loader) or espeak-ng")
    return EspeakLibrary(system, None, "system")


class EspeakEngine:
    """In-memory espeak-ng synthesis to int16 mono PCM at ``sample_rate`` (22050 Hz)."""

    def __init__(self, library: EspeakLibrary | None = None) -> None:
        self.library = library or find_library()
        self._lib = ctypes.CDLL(self.library.path)
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._abort = False
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        data = self.library.data_dir.encode() if self.library.data_dir else None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise OSError(f"espeak_Initialize failed ({rate}) with {self.library.path}")
        self.sample_rate = int(rate)
        info = lib.espeak_Info(None)
        self.version = info.decode("ascii", "replace").split()[0] if info else self.library.version
        # Keep a reference: ctypes frees the trampoline if the Python object dies.
        self._callback = _SynthCallback(self._on_audio)
        lib.espeak_SetSynthCallback(self._callback)

    @property
    def mandarin_voice(self) -> str:
        # 1.51's "cmn" speaks tone digits as English words; its pinyin voice does not.
        try:
            major, minor = (int(x) for x in self.version.split(".")[:2])
        except ValueError:
            return "cmn-latn-pinyin"
        return "cmn" if (major, minor) >= (1, 52) else "cmn-latn-pinyin"

    def _on_audio(self, wav: ctypes._Pointer, numsamples: int, _events: int) -> int:  # type: ignore[type-arg]
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 1 if self._abort else 0

    def synthesize(
        self,
        text: str,
        voice: str = "en-us",
        rate_wpm: int = DEFAULT_RATE_WPM,
        volume: int = 100,
        pitch: int = 50,
    ) -> np.ndarray:
        """Whole utterance as int16 samples at ``self.sample_rate``."""
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks = []
            self._abort = False
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            self._lib.espeak_SetParameter(_PARAM_RATE, max(MIN_RATE_WPM, min(MAX_RATE_WPM, int(rate_wpm))), 0)
            self._lib.espeak_SetParameter(_PARAM_VOLUME, max(0, min(200, int(volume))), 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, max(0, min(99, int(pitch))), 0)
            buf = ctypes.create_string_buffer(encoded)
            status = self._lib.espeak_Synth(buf, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            chunks, self._chunks = self._chunks, []
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16, copy=False)

    def phonemes(self, text: str, voice: str) -> str:
        """espeak-ng's phoneme mnemonics for ``text`` (language switches show as "(en)" etc.)."""
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
            cursor = ctypes.c_void_p(ctypes.addressof(buf))
            parts: list[str] = []
            while cursor.value:
                piece = self._lib.espeak_TextToPhonemes(ctypes.byref(cursor), _CHARS_UTF8, 0)
                if piece is None:
                    break
                parts.append(piece.decode("utf-8", "replace"))
        return " ".join(parts)


_engine: EspeakEngine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> EspeakEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = EspeakEngine()
            log.info("espeak-ng %s loaded from %s", _engine.version, _engine.library.path)
        return _engine
