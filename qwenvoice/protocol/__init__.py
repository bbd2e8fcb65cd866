"""The sans-I/O protocol core: typed events, the JSON codec, session config, conversation state machines.

Nothing here does I/O or imports asyncio, websockets, Qt or sounddevice; the transport feeds decoded
events in and sends the client events the state machines return.
"""

from .codec import decode_client_event, decode_server_event, encode_event, event_to_wire, new_event_id
from .events import *  # noqa: F403 — one class per wire type; the list lives in events.__all__
from .events import __all__ as _event_names

__all__ = [
    "decode_client_event",
    "decode_server_event",
    "encode_event",
    "event_to_wire",
    "new_event_id",
    *_event_names,
]
