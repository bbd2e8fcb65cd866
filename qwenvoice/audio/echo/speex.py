"""A small ctypes binding of the SpeexDSP echo canceller and preprocessor (BSD licence).

Only the handful of calls the capture path needs: the multidelay echo canceller on 10 ms frames and,
optionally, the preprocessor's residual-echo suppression, which keeps the user's voice during double
talk better than AEC3 at the cost of more residual echo. The library is Debian's `libspeexdsp1`
(`libspeexdsp.so.1`); Homebrew and vcpkg ship it as `speexdsp`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Final

import numpy as np
import numpy.typing as npt

# Request codes from speex_echo.h / speex_preprocess.h (public header constants).
_SPEEX_ECHO_SET_SAMPLING_RATE: Final = 24
_SPEEX_PREPROCESS_SET_DENOISE: Final = 0
_SPEEX_PREPROCESS_SET_NOISE_SUPPRESS: Final = 18
_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS: Final = 20
_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE: Final = 22
_SPEEX_PREPROCESS_SET_ECHO_STATE: Final = 24

_LIBRARY_NAMES: Final = {
    "linux": ("libspeexdsp.so.1", "libspeexdsp.so"),
    "darwin": ("libspeexdsp.1.dylib", "libspeexdsp.dylib", "/opt/homebrew/lib/libspeexdsp.dylib",
               "/usr/local/lib/libspeexdsp.dylib"),
    "win32": ("speexdsp.dll", "libspeexdsp.dll", "libspeexdsp-1.dll"),
}

_Int16Ptr = ctypes.POINTER(ctypes.c_int16)


class SpeexUnavailableError(RuntimeError):
    """libspeexdsp could not be loaded or refused to create a state."""


_cached_library: ctypes.CDLL | None = None


def load_speexdsp() -> ctypes.CDLL:
    """Load libspeexdsp once and declare the prototypes we call."""
    global _cached_library
    if _cached_library is not None:
        return _cached_library
    platform_key = "win32" if sys.platform == "win32" else ("darwin" if sys.platform == "darwin" else "linux")
    candidates = list(_LIBRARY_NAMES[platform_key])
    found = ctypes.util.find_library("speexdsp")
    if found:
        candidates.insert(0, found)
    errors: list[str] = []
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
            continue
        _declare_prototypes(lib)
        _cached_library = lib
        return lib
    raise SpeexUnavailableError("libspeexdsp not found (" + "; ".join(errors) + ")")


def _declare_prototypes(lib: ctypes.CDLL) -> None:
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_state_destroy.restype = None
    lib.speex_echo_state_reset.argtypes = [ctypes.c_void_p]
    lib.speex_echo_state_reset.restype = None
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, _Int16Ptr, _Int16Ptr, _Int16Ptr]
    lib.speex_echo_cancellation.restype = None
    lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_preprocess_state_init.restype = ctypes.c_void_p
    lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_preprocess_state_destroy.restype = None
    lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_preprocess_ctl.restype = ctypes.c_int
    lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, _Int16Ptr]
    lib.speex_preprocess_run.restype = ctypes.c_int


class SpeexEchoCanceller:
    """SpeexDSP MDF echo canceller (+ optional residual-echo suppression) on fixed-size frames."""

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        frame_samples: int = 160,
        tail_ms: int = 250,
        preprocess: bool = True,
        echo_suppress_db: int = -40,
        echo_suppress_active_db: int = -15,
        denoise: bool = True,
    ) -> None:
        self._lib = load_speexdsp()
        self._frame_samples = frame_samples
        self._sample_rate = sample_rate
        self._tail_samples = sample_rate * tail_ms // 1000
        self.name = "speex+preprocess" if preprocess else "speex"
        self._echo = self._lib.speex_echo_state_init(frame_samples, self._tail_samples)
        if not self._echo:
            raise SpeexUnavailableError("speex_echo_state_init failed")
        self._int_arg = ctypes.c_int(sample_rate)
        self._lib.speex_echo_ctl(self._echo, _SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(self._int_arg))
        self._pre: int | None = None
        self._pre_settings = (preprocess, echo_suppress_db, echo_suppress_active_db, denoise)
        if preprocess:
            self._init_preprocess()

    def _init_preprocess(self) -> None:
        _, suppress_db, suppress_active_db, denoise = self._pre_settings
        pre = self._lib.speex_preprocess_state_init(self._frame_samples, self._sample_rate)
        if not pre:
            raise SpeexUnavailableError("speex_preprocess_state_init failed")
        self._pre = int(pre)
        # Residual-echo suppression is applied through the denoiser's gains: with denoise off the
        # preprocessor leaves every bin at unity gain, so echo suppression needs it on.
        self._set_pre(_SPEEX_PREPROCESS_SET_DENOISE, 1 if denoise else 0)
        self._set_pre(_SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, -15)
        self._set_pre(_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, suppress_db)
        self._set_pre(_SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, suppress_active_db)
        self._lib.speex_preprocess_ctl(pre, _SPEEX_PREPROCESS_SET_ECHO_STATE, ctypes.c_void_p(self._echo))

    def _set_pre(self, request: int, value: int) -> None:
        arg = ctypes.c_int(value)
        self._lib.speex_preprocess_ctl(self._pre, request, ctypes.byref(arg))

    def process(
        self, mic_frame: npt.NDArray[np.int16], reference_frame: npt.NDArray[np.int16]
    ) -> npt.NDArray[np.int16]:
        if mic_frame.shape != (self._frame_samples,) or reference_frame.shape != (self._frame_samples,):
            raise ValueError(f"frames must hold {self._frame_samples} samples")
        mic = np.ascontiguousarray(mic_frame, dtype=np.int16)
        ref = np.ascontiguousarray(reference_frame, dtype=np.int16)
        out = np.empty(self._frame_samples, dtype=np.int16)
        out_ptr = out.ctypes.data_as(_Int16Ptr)
        self._lib.speex_echo_cancellation(self._echo, mic.ctypes.data_as(_Int16Ptr), ref.ctypes.data_as(_Int16Ptr),
                                          out_ptr)
        if self._pre is not None:
            self._lib.speex_preprocess_run(self._pre, out_ptr)
        return out

    def reset(self) -> None:
        self._lib.speex_echo_state_reset(self._echo)
        if self._pre is not None:
            # The preprocessor has no reset call; a fresh state forgets the old noise/echo estimates.
            self._lib.speex_preprocess_state_destroy(self._pre)
            self._pre = None
            self._init_preprocess()

    def close(self) -> None:
        if self._pre is not None:
            self._lib.speex_preprocess_state_destroy(self._pre)
            self._pre = None
        if self._echo:
            self._lib.speex_echo_state_destroy(self._echo)
            self._echo = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
