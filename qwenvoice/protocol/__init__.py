"""The sans-I/O protocol core: typed events, the JSON codec, session config, conversation state machines.

Nothing here does I/O or imports asyncio, websockets, Qt or sounddevice; the transport feeds decoded
events in and sends the client events the state machines return.
"""

from .codec import decode_client_event, decode_server_event, encode_event, event_to_wire, new_event_id
from .config import (
    INSTRUCTIONS_TOKEN_LIMIT,
    ConfigError,
    OmniSessionConfig,
    TtsSessionConfig,
    TurnDetection,
    estimate_tokens,
)
from .events import *  # noqa: F403 — one class per wire type; the list lives in events.__all__
from .events import __all__ as _event_names
from .models import (
    DEFAULT_OMNI_MODEL,
    DEFAULT_TTS_MODEL,
    ENDPOINTS,
    OMNI_INPUT_RATE,
    OMNI_OUTPUT_RATE,
    OmniCapabilities,
    TtsCapabilities,
    is_tts_model,
    omni_capabilities,
    tts_capabilities,
)
from .notifications import (
    AudioChunk,
    AudioDone,
    FunctionCallRequested,
    Notification,
    ProtocolErrorNotice,
    ResponseFinished,
    ResponseStarted,
    SendEvents,
    SessionClosed,
    SessionConfigured,
    SessionPhase,
    StateChanged,
    TextCommitted,
    TranscriptDelta,
    TranscriptionFailed,
    TurnCommitted,
    TurnPhase,
    UserSpeechStarted,
    UserSpeechStopped,
)
from .omni import OmniConversation
from .tts import TtsSession

__all__ = [
    "DEFAULT_OMNI_MODEL",
    "DEFAULT_TTS_MODEL",
    "ENDPOINTS",
    "INSTRUCTIONS_TOKEN_LIMIT",
    "OMNI_INPUT_RATE",
    "OMNI_OUTPUT_RATE",
    "ConfigError",
    "OmniCapabilities",
    "OmniSessionConfig",
    "TtsCapabilities",
    "TtsSessionConfig",
    "TurnDetection",
    "decode_client_event",
    "decode_server_event",
    "encode_event",
    "estimate_tokens",
    "event_to_wire",
    "is_tts_model",
    "new_event_id",
    "omni_capabilities",
    "tts_capabilities",
    # state machines and their notifications (the wire events SpeechStarted/SpeechStopped stay the
    # events' names here; the notifications are UserSpeechStarted/UserSpeechStopped)
    "OmniConversation",
    "TtsSession",
    "AudioChunk",
    "AudioDone",
    "FunctionCallRequested",
    "Notification",
    "ProtocolErrorNotice",
    "ResponseFinished",
    "ResponseStarted",
    "SendEvents",
    "SessionClosed",
    "SessionConfigured",
    "SessionPhase",
    "StateChanged",
    "TextCommitted",
    "TranscriptDelta",
    "TranscriptionFailed",
    "TurnCommitted",
    "TurnPhase",
    "UserSpeechStarted",
    "UserSpeechStopped",
    *_event_names,
]
