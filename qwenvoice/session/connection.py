"""What a face needs to know about how a connection went, without reaching into the transport: the
status records the session keeps (``VoiceSession.lost``, ``SpeechResult.lost``) and the error a
connection attempt fails with."""

from qwenvoice.net.client import ConnectionState, ConnectionStatus
from qwenvoice.net.endpoints import EndpointError
from qwenvoice.net.errors import FailureKind, FatalConnectionError

__all__ = ["ConnectionState", "ConnectionStatus", "EndpointError", "FailureKind", "FatalConnectionError"]
