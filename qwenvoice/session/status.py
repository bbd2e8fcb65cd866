"""Small read-only records the controller hands to views (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass

# Connection states shown in the status bar.
IDLE = "idle"
STARTING_SERVER = "starting_server"
CONNECTING = "connecting"
READY = "ready"
RECONNECTING = "reconnecting"
DISCONNECTED = "disconnected"
FAILED = "failed"

# Playback states of the jitter buffer.
PLAYBACK_IDLE = "idle"
PREBUFFERING = "prebuffering"
PLAYING = "playing"
FLUSHED = "flushed"

# Notice levels.
INFO = "info"
WARNING = "warning"
ERROR = "error"

# Actions a notice can offer (the window maps them to buttons).
ACTION_NONE = ""
ACTION_OPEN_SETTINGS = "open_settings"
ACTION_RECONNECT = "reconnect"
ACTION_ADD_KEY = "add_key"
ACTION_AUDIO_SETTINGS = "audio_settings"


@dataclass(slots=True, frozen=True)
class PlaybackStatus:
    state: str = PLAYBACK_IDLE
    depth_ms: float = 0.0
    target_ms: float = 80.0
    underruns: int = 0
    volume: float = 1.0
    played_ms: float = 0.0
    dropped_deltas: int = 0


@dataclass(slots=True, frozen=True)
class ConnectionInfo:
    state: str = IDLE
    detail: str = ""  # e.g. "retry in 3 s" or the reason it failed
    retry_at: float | None = None  # monotonic time of the next attempt while reconnecting
    model: str = ""
    region: str = ""  # "beijing", "singapore", "offline" or "custom"
    url: str = ""
    offline: bool = False
