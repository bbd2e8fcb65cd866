"""The one place that loads PortAudio (through sounddevice), lazily.

Importing sounddevice fails on Linux when `libportaudio2` is missing; the rest of the app (text,
TTS to a file) must keep working, so nothing imports sounddevice at module import time and every
failure becomes an `AudioUnavailable` with a message meant for the user.

All calls that enumerate devices, open or close streams, or re-initialise PortAudio go through
`PORTAUDIO_LOCK`: PortAudio is not safe against concurrent re-initialisation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Protocol, TypedDict

PORTAUDIO_LOCK = threading.RLock()
_module: ModuleType | None = None
_open_streams = 0


class PortAudioDevice(TypedDict):
    """One entry of ``sounddevice.query_devices()``."""

    name: str
    index: int
    hostapi: int
    max_input_channels: int
    max_output_channels: int
    default_low_input_latency: float
    default_low_output_latency: float
    default_high_input_latency: float
    default_high_output_latency: float
    default_samplerate: float


class PortAudioHostApi(TypedDict):
    """One entry of ``sounddevice.query_hostapis()``."""

    name: str
    devices: list[int]
    default_input_device: int
    default_output_device: int


class PortAudioStream(Protocol):
    """What the app uses of a sounddevice stream (``InputStream`` / ``OutputStream``)."""

    @property
    def latency(self) -> float: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


class CallbackTime(Protocol):
    """The ``time`` argument of a stream callback: PortAudio's ``PaStreamCallbackTimeInfo`` (its field names),
    in seconds."""

    @property
    def currentTime(self) -> float: ...

    @property
    def inputBufferAdcTime(self) -> float: ...

    @property
    def outputBufferDacTime(self) -> float: ...


class CallbackStatus(Protocol):
    """The ``status`` argument of a stream callback (``sounddevice.CallbackFlags``); false when no flag is set."""

    @property
    def input_overflow(self) -> bool: ...

    @property
    def output_underflow(self) -> bool: ...

    def __bool__(self) -> bool: ...


class AudioUnavailable(RuntimeError):
    """No usable audio system: the message says what is missing and what still works."""


def sounddevice() -> ModuleType:
    global _module
    if _module is not None:
        return _module
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio shared library is missing
        raise AudioUnavailable(
            "PortAudio is not installed, so there is no microphone or speaker "
            f"({exc}). On Debian/Ubuntu: sudo apt-get install libportaudio2. "
            "Text conversations and speech to a file still work."
        ) from exc
    except ImportError as exc:
        raise AudioUnavailable(f"the sounddevice package is missing ({exc})") from exc
    _module = sd
    return _module


def portaudio_error_types() -> tuple[type[BaseException], ...]:
    try:
        sd = sounddevice()
    except AudioUnavailable:
        return (OSError,)
    error: type[BaseException] = sd.PortAudioError
    return (error, OSError, ValueError)


def open_stream_count() -> int:
    return _open_streams


def note_stream_opened() -> None:
    global _open_streams
    with PORTAUDIO_LOCK:
        _open_streams += 1


def note_stream_closed() -> None:
    global _open_streams
    with PORTAUDIO_LOCK:
        _open_streams = max(0, _open_streams - 1)


def reinitialize() -> bool:
    """Make PortAudio re-read the device list. Only safe with no stream open; False if skipped."""
    sd = sounddevice()
    with PORTAUDIO_LOCK:
        if _open_streams:
            return False
        sd._terminate()
        sd._initialize()
        return True


@contextmanager
def environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a stream open (PULSE_SINK / PULSE_SOURCE are
    read by the ALSA PulseAudio plugin when the device is opened)."""
    with PORTAUDIO_LOCK:
        saved = {key: os.environ.get(key) for key in overrides}
        os.environ.update(overrides)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def query_devices() -> tuple[list[PortAudioDevice], list[PortAudioHostApi], tuple[int, int]]:
    """(devices, host APIs, (default input index, default output index)) as PortAudio reports them."""
    sd = sounddevice()
    with PORTAUDIO_LOCK:
        devices: list[PortAudioDevice] = [d.copy() for d in sd.query_devices()]  # each entry is a dict
        hostapis: list[PortAudioHostApi] = [h.copy() for h in sd.query_hostapis()]
        default_in, default_out = sd.default.device
    return devices, hostapis, (int(default_in), int(default_out))
