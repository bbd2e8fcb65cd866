"""A bounded ring of client and server event records for the inspector and the session bundle.

Hands-free sends about 50 ``input_audio_buffer.append`` a second, which would fill the ring in under
two minutes and push the session's set-up out of it. So consecutive appends fold into one counted
record ("×N", their bytes summed), and the set-up (``session.update``, ``session.created``,
``session.updated``) and errors are kept when the ring overflows (up to :data:`KEPT_LIMIT` of them).

Audio payloads are never kept: base64 fields are replaced by a short note with their size, so the
ring stays small while streaming (about 50 appends and 25-50 deltas per second). Secrets are scrubbed
from every record as it is made (a server error may quote the API key), so neither the inspector nor
the saved ``events.jsonl`` ever holds one.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

from qwenvoice.logsetup import redact
from qwenvoice.protocol import events as ev

# An event as JSON-able data: values are whatever the JSON held, only ever shown or written back out.
Payload = dict[str, object]

OUT = "out"  # client -> server
IN = "in"  # server -> client

# Fields that carry base64 audio or images in the realtime protocol.
_BINARY_FIELDS = {"audio", "delta", "image"}
_AUDIO_DELTA_TYPES = {"response.audio.delta"}

APPEND = "input_audio_buffer.append"
SETUP_TYPES = frozenset({"session.update", "session.created", "session.updated"})
KEPT_LIMIT = 1000  # set-up and error records kept past the ring's capacity


def always_kept(event_type: str) -> bool:
    """Set-up and errors: kept when the ring overflows."""
    return event_type in SETUP_TYPES or event_type == "error" or event_type.endswith(".failed")


def event_payload(event: object) -> tuple[Payload, int]:
    """A JSON-able dict of a typed event with binary payloads replaced by their size, and the
    approximate size of the event on the wire."""
    if isinstance(event, ev.UnknownEvent):
        return dict(event.raw), len(str(event.raw))
    if isinstance(event, ev.MalformedEvent):
        return {"type": "<malformed>", "reason": event.reason, "raw": event.raw[:200]}, len(event.raw)
    payload: Payload = {"type": getattr(event, "TYPE", type(event).__name__)}
    size = 40
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        return payload, size
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if value is None and f.name == "event_id":
            continue
        if isinstance(value, bytes | bytearray):
            payload[f.name] = f"<audio: {len(value)} bytes elided>"
            size += (len(value) + 2) // 3 * 4
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            payload[f.name] = dataclasses.asdict(value)
            size += 80
        else:
            payload[f.name] = value
            size += len(str(value)) + len(f.name) + 4
    return payload, size


def elide_payload(payload: Payload) -> Payload:
    """A copy of an event with base64 payloads replaced by ``"<base64: N bytes elided>"``."""
    event_type = payload.get("type", "")
    out: Payload = {}
    for key, value in payload.items():
        is_binary = key in ("audio", "image") or (key == "delta" and event_type in _AUDIO_DELTA_TYPES)
        if is_binary and isinstance(value, str) and value.startswith("<") and value.endswith(" elided>"):
            out[key] = value  # already replaced by whoever built the record
        elif is_binary and isinstance(value, str):
            out[key] = f"<base64: {len(value) * 3 // 4} bytes elided>"
        elif is_binary and isinstance(value, bytes | bytearray):
            out[key] = f"<audio: {len(value)} bytes elided>"
        else:
            out[key] = value
    return out


def redact_value(value: object) -> object:
    """``value`` with registered secrets (and anything that looks like a key) scrubbed from every
    string in it, keys included; containers are copied only when something changed."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        items = [(redact_value(k), redact_value(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        cleaned = [redact_value(v) for v in value]
        if all(c is v for c, v in zip(cleaned, value, strict=True)):
            return value
        return cleaned if isinstance(value, list) else tuple(cleaned)
    return value


def redact_error(error: ev.ErrorDetail) -> ev.ErrorDetail:
    """A server error fit to show: secrets scrubbed from its text fields."""
    return dataclasses.replace(
        error,
        type=redact(error.type),
        message=redact(error.message),
        code=redact(error.code) if error.code is not None else None,
        param=redact(error.param) if error.param is not None else None,
    )


@dataclass(slots=True)
class EventRecord:
    seq: int
    time: float  # epoch seconds
    direction: str  # IN or OUT
    type: str
    size: int  # bytes on the wire (approximate for client events built locally); summed when folded
    payload: Payload
    count: int = 1  # consecutive audio appends folded into this record

    @property
    def label(self) -> str:
        return f"{self.type} ×{self.count}" if self.count > 1 else self.type

    def to_json(self) -> str:
        record: dict[str, object] = {
            "seq": self.seq,
            "time": round(self.time, 6),
            "direction": self.direction,
            "type": self.type,
            "size": self.size,
            "event": self.payload,
        }
        if self.count > 1:
            record["count"] = self.count
        return json.dumps(record, ensure_ascii=False, default=str)


class EventLog:
    """Keeps the last ``capacity`` events; ``seq`` keeps counting so views can ask for what is new."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._records: deque[EventRecord] = deque()
        self._kept: deque[EventRecord] = deque(maxlen=KEPT_LIMIT)  # set-up and errors pushed out of the ring
        self._next_seq = 0
        self.counts: dict[str, int] = {IN: 0, OUT: 0}
        self.sink: TextIO | None = None  # optional text file that receives every record as one JSONL line

    def __len__(self) -> int:
        return len(self._kept) + len(self._records)

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def add_event(self, direction: str, event: object) -> EventRecord:
        """Record a typed client or server event (binary payloads elided)."""
        payload, size = event_payload(event)
        return self.add(direction, payload, size=size)

    def add(self, direction: str, payload: Payload, size: int | None = None) -> EventRecord:
        event_type = str(payload.get("type", "?"))
        # Scrubbed after the base64 payloads are elided: no regex runs over audio.
        elided = cast(Payload, redact_value(elide_payload(payload)))
        event_type = redact(event_type)
        if size is None:
            size = len(json.dumps(payload, default=str)) if event_type not in _AUDIO_DELTA_TYPES else 0
        record = EventRecord(self._next_seq, time.time(), direction, event_type, size, elided)
        self.counts[direction] = self.counts.get(direction, 0) + 1
        if self.sink is not None and not getattr(self.sink, "closed", False):
            self.sink.write(record.to_json() + "\n")  # the file keeps every event, unfolded
        last = self._records[-1] if self._records else None
        if event_type == APPEND and last is not None and last.type == APPEND and last.direction == direction:
            # One more append in a run: the run's record counts it (same seq: views refresh their last row).
            if last.count == 1:
                last.payload = {"type": APPEND, "first_at": round(last.time, 6)}
            last.count += 1
            last.size += size
            last.time = record.time  # the run's latest append; its first is in the payload
            last.payload.update(appends=last.count, audio=f"<{last.size} bytes elided>")
            return last
        self._next_seq += 1
        if len(self._records) >= self.capacity:
            dropped = self._records.popleft()
            if always_kept(dropped.type):
                self._kept.append(dropped)
        self._records.append(record)
        return record

    def add_raw(self, direction: str, frame: str | bytes) -> EventRecord:
        """Log a wire frame as received or sent (JSON text)."""
        try:
            payload = json.loads(frame)
        except (ValueError, TypeError):
            payload = {"type": "(not JSON)", "text": str(frame[:200])}
        if not isinstance(payload, dict):
            payload = {"type": "(not an object)", "value": payload}
        return self.add(direction, payload, size=len(frame))

    def since(self, seq: int) -> list[EventRecord]:
        """Records with ``seq >= seq`` still in the ring (or kept past it)."""
        kept = [r for r in self._kept if r.seq >= seq]
        if not self._records or seq > self._records[-1].seq:
            return kept
        first = self._records[0].seq
        start = max(0, seq - first)
        return kept + list(self._records)[start:]

    def records(self) -> list[EventRecord]:
        return list(self._kept) + list(self._records)

    def clear(self) -> None:
        self._records.clear()
        self._kept.clear()

    @staticmethod
    def export_jsonl(records: Iterable[EventRecord], path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        n = 0
        with open(path, "w", encoding="utf-8") as f:
            for r in records:
                f.write(r.to_json() + "\n")
                n += 1
        return n
