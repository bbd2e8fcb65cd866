"""What the settings panel needs from the running app, as a typed interface (no Qt, no I/O here).

The controller implements :class:`SettingsServices`; the panel receives it at construction, so the
panel never touches audio devices, sockets or the keyring itself (the layer rules forbid the UI to). Device
identities are stable strings "name (host API)" — the same strings ``AudioSettings`` stores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from qwenvoice.settings.schema import AudioSettings, TtsSettings
from qwenvoice.settings.secrets import ApiKeyStatus

# What the echo self-test recommends (the same strings as qwenvoice.audio.echo.selftest.Recommendation).
ECHO_NO_ECHO: Final = "no-echo"
ECHO_FULL_DUPLEX_AEC: Final = "full-duplex-aec"
ECHO_HALF_DUPLEX: Final = "half-duplex"


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    ok: bool
    message: str  # user-facing: "Connected in 182 ms (session.created)" or the reason it failed
    latency_ms: float | None = None
    missing_key: bool = False  # not tried: there is no API key for a cloud endpoint


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    identity: str  # "name (host API)"
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class EchoTestReport:
    """The echo self-test's outcome, for the settings panel."""

    ok: bool  # False: the probe could not be played or recorded (``summary`` says why)
    summary: str  # user-facing result text
    recommendation: str = ""  # ECHO_NO_ECHO / ECHO_FULL_DUPLEX_AEC / ECHO_HALF_DUPLEX; "" when not ok
    delay_ms: float | None = None
    echo_return_loss_db: float | None = None
    erle_db: float | None = None
    backend: str = ""
    notice: str | None = None  # device or canceller fallbacks during the test


@dataclass(frozen=True, slots=True)
class EchoState:
    """What the capture path does with echo right now (polled by the settings panel)."""

    mode: str  # "off" (headphones / switched off), "cancelling", "bypassed" (canceller failed), "stopped"
    half_duplex: bool  # the mic is muted while the assistant speaks
    backend: str = ""  # canceller in use ("hybrid", "webrtc", ...)
    playing_from: str = ""  # for the hybrid: whose output is used right now
    delay_ms: float | None = None  # alignment in use
    cpu_ms_p50: float = 0.0  # canceller time per 10 ms frame
    cpu_ms_p95: float = 0.0
    notice: str | None = None


def apply_echo_recommendation(audio: AudioSettings, recommendation: str) -> AudioSettings:
    """The audio settings that follow the self-test's recommendation (unknown ones change nothing)."""
    if recommendation == ECHO_FULL_DUPLEX_AEC:
        return dataclasses.replace(audio, listening_setup="speakers", echo_cancellation=True, half_duplex=False)
    if recommendation == ECHO_HALF_DUPLEX:
        return dataclasses.replace(audio, listening_setup="speakers", echo_cancellation=True, half_duplex=True)
    if recommendation == ECHO_NO_ECHO:  # the speaker does not reach the mic: talk freely
        return dataclasses.replace(audio, half_duplex=False)
    return audio


@runtime_checkable
class SettingsServices(Protocol):
    def list_input_devices(self) -> list[DeviceInfo]: ...

    def list_output_devices(self) -> list[DeviceInfo]: ...

    def play_test_tone(self, output_device: str | None, volume_percent: int) -> None: ...

    def start_mic_monitor(self, input_device: str | None) -> None: ...

    def stop_mic_monitor(self) -> None: ...

    def mic_level_db(self) -> float:
        """The latest input level in dBFS (-inf … 0) while the monitor runs."""
        ...

    def test_connection(self, url: str | None, model: str, api_key: str | None) -> Awaitable[ConnectionCheck]:
        """Open a session with these values (``api_key`` None = the stored key) and report."""
        ...

    def preview_voice(self, model: str, tts: TtsSettings, text: str) -> Awaitable[None]:
        """Speak ``text`` with these TTS settings; raises with a user-facing message on failure."""
        ...

    def run_echo_self_test(self, input_device: str | None, output_device: str | None) -> Awaitable[EchoTestReport]:
        """Play a probe on the output, record the input and measure the echo (about 5 s; never raises)."""
        ...

    def echo_state(self) -> EchoState | None:
        """The capture path's echo handling now (None while no audio runs)."""
        ...

    # The API key lives in the OS keyring, written only by qwenvoice.settings.secrets; the form
    # hands a typed key over and never holds a store itself.
    def api_key_status(self) -> ApiKeyStatus | None:
        """Where the key comes from and where it would be kept; None: keys cannot be stored here."""
        ...

    def save_api_key(self, key: str, *, allow_plaintext_file: bool = False) -> None:
        """Store the key (keyring; a 0600 file only when allowed); SecretStoreError says why not."""
        ...

    def clear_api_key(self) -> None:
        """Forget the stored key (the environment variable is not ours to change)."""
        ...
