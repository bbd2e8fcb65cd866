"""A scripted, fault-injecting realtime server on 127.0.0.1 for tests.

It speaks enough of both realtime protocols (chosen by ``?model=``: a name containing "tts" gets
Qwen-TTS-Realtime, anything else Qwen-Omni-Realtime) to drive a client through real turns, with the
event order and field shapes of the published examples, and real PCM audio in the deltas (a sine tone
by default, or any PCM you give it). Faults are switched on per test through ``Script``:

=========================  =====================================================================
``http_status``            refuse the handshake with this HTTP status (e.g. 401) and ``http_body``
``redirect_to``            answer the handshake with ``redirect_status`` (302) and this ``Location``
``drop_after_deltas``      cut the TCP connection (no close frame: 1006) after N audio deltas of
                           a response, on the first ``drop_connections`` connections only
                           (FIN by default; ``drop_with_reset`` for an RST)
``malformed_frames``       raw text frames sent right after ``session.created`` (bad JSON etc.)
``unknown_events``         number of events of an unknown type sent after ``session.created``
``error_events``           error payloads (see ``ERROR_*``) sent after ``session.updated``
``reject_session_update``  answer ``session.update`` with this error instead of ``session.updated``
``error_on_response``      answer each response trigger with this error instead of a response
``delta_delay/_jitter``    seconds to sleep before every audio delta (slow server)
``close_after_created``    (code, reason) close right after ``session.created``; a reason longer than
                           123 bytes is written as a raw frame, like the service's free-tier 1007
``idle_cut_after``         abort the connection after this many seconds without a client message
``binary_frames``          binary frames sent after ``session.created`` (the protocol is text only)
``oversized_frame_bytes``  one text frame of about this size (first connection only)
``freeze_after_created``   stop reading, so pings go unanswered (first connection only)
``silent_connections``     the first N connections are accepted but never answered: no
                           ``session.created``, no ``session.updated`` (pings are still answered)
``max_session_seconds``    the session cap: close (1000, "session time limit") after this long, like
                           the service's 120-minute limit
``drop_every_responses``   cut the connection (1006) mid-reply on every Nth reply, server-wide
                           (soak: reconnects at a steady rate)
``slow_word``              a typed message containing this word gets a reply paced at
                           ``slow_delta_delay`` per delta (time to barge in)
``record_audio``           False: the connection log keeps appends without their audio (long runs)
``response_status``        the status of every Omni ``response.done`` (``incomplete``, ``failed`` ...)
                           with ``response_status_details`` as its ``status_details``
``transcription_error``    the user's words are not transcribed: ``...input_audio_transcription.failed``
                           with this ``error`` instead of ``.completed``
``cached_tokens``          ``usage.input_tokens_details.cached_tokens`` of every Omni reply
``enforce_model_rules``    answer a ``session.update`` that breaks the model's documented rules (voice,
                           transcription model, audio formats, fields the model does not take,
                           the qwen3.8 nested dialect) with the cloud's ``invalid_value`` error
                           instead of ``session.updated``. The rules are written here from the
                           2026 cloud pages, on purpose not taken from the app's model registry.
=========================  =====================================================================

``await server.push(frame)`` sends any raw text (or binary) frame on the newest open connection, at
the moment the test chooses (fuzzing the client with arbitrary server events). ``python -m
tests.support.scripted_server --script '{...}'`` serves from a child process (see ``main``).

Everything the server receives is recorded per connection (``server.connections[i].received``: the
decoded JSON dicts) and handshakes are counted (``server.handshakes``), so tests can assert on what a
client actually sent. Every loop is bounded in count and time (``max_session_seconds``).

Use in an async test::

    async with ScriptedServer(Script(reply_text="Hi there.")) as server:
        ... connect to server.url ...

or, from synchronous code, ``with ScriptedServer(...).in_thread() as server:``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import itertools
import json
import logging
import math
import random
import re
import ssl
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from qwenvoice.audio.wav import wav_header

PATH = "/api-ws/v1/realtime"

# The documented error shapes.
ERROR_SEED_INVALID_REQUEST: dict[str, Any] = {  # Omni server-events seed
    "type": "invalid_request_error",
    "code": "invalid_value",
    "message": "Invalid modalities: ['audio']. Supported combinations are: ['text'] and ['audio', 'text'].",
    "param": "session.modalities",
}
ERROR_TTS: dict[str, Any] = {  # TTS server events: no type, no param
    "code": "invalid_value",
    "message": "Session update error: session already started or finished or failed.",
}
ERROR_WITH_EVENT_ID: dict[str, Any] = {  # Chinese TTS doc: error.event_id names the rejected client event
    "type": "invalid_request_error",
    "code": "invalid_value",
    "message": "Voice 'Nobody' is not supported.",
    "param": "session.voice",
    "event_id": "event_rejected_by_server",
}
FREE_TIER_REASON = (
    "The free tier of the model has been exhausted. If you wish to continue access the model on a paid "
    "basis, please disable the \"use free tier only\" mode in the management console."
)


def sine_pcm(seconds: float, rate: int = 24000, freq: float = 440.0, amplitude: float = 0.3) -> bytes:
    """Mono 16-bit little-endian PCM of a sine tone."""
    n = max(0, int(round(seconds * rate)))
    t = np.arange(n, dtype=np.float64) / rate
    return (np.sin(2 * math.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def encode_speech(response_format: str, pcm: bytes, rate: int, bit_rate_kbps: int | None = None) -> bytes:
    """``pcm`` (mono int16 at ``rate``) as the TTS service sends it compressed, made with PyAV: "mp3" as
    bare MP3 frames (no ID3 tag, no Xing header: a stream), "opus" as an Ogg Opus stream at 48 kHz."""
    import fractions

    import av

    buffer = io.BytesIO()
    if response_format == "mp3":
        out = av.open(buffer, "w", format="mp3", options={"write_xing": "0", "id3v2_version": "0"})
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
    elif response_format == "opus":
        out = av.open(buffer, "w", format="ogg")
        stream = out.add_stream("libopus", rate=48000, layout="mono")
    else:
        raise ValueError(response_format)
    if bit_rate_kbps:
        stream.bit_rate = bit_rate_kbps * 1000
    frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, "<i2").reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, rate)
    for packet in [*stream.encode(frame), *stream.encode(None)]:
        out.mux(packet)
    out.close()
    return buffer.getvalue()


def speech_like_pcm(rate: int = 16000, speech_s: float = 0.8, lead_s: float = 0.2, tail_s: float = 0.3) -> bytes:
    """Silence, a voiced-sounding burst (harmonics with a syllable envelope), silence."""
    n = int(speech_s * rate)
    t = np.arange(n) / rate
    tone = sum(np.sin(2 * math.pi * f * t) / k for k, f in enumerate((180.0, 360.0, 540.0, 900.0), start=1))
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * 4.0 * t) ** 2
    burst = (tone / 2.1 * envelope * 0.5 * 32767).astype("<i2").tobytes()
    return bytes(int(lead_s * rate) * 2) + burst + bytes(int(tail_s * rate) * 2)


@dataclass
class Script:
    """What the server says and which faults it injects. Defaults: a clean, fast session."""

    user_transcript: str = "What is the weather like?"
    reply_text: str = "It is sunny and warm today."
    reply_seconds: float = 0.6  # Omni reply audio length
    reply_pcm: bytes | None = None  # Omni reply audio (24 kHz mono int16); default: a sine of reply_seconds
    tts_seconds_per_char: float = 0.02  # TTS audio length per character of text
    delta_ms: int = 100  # audio per delta
    user_transcript_deltas: bool = True  # input transcription previews before .completed
    vad_threshold: float = 0.02  # RMS (full scale = 1) above which an append counts as speech
    vad_silence_ms: int = 300  # silence after speech that ends the turn
    vad_response_delay: float = 0.0  # from a VAD commit to response.created
    later_session_ready_delay: float = 0.0  # connections after the first answer session.update this late
    max_session_seconds: float = 30.0
    wav_header_per_response: bool = True  # TTS response_format "wav": RIFF header in each response's first delta
    tts_close_on_text: tuple[int, str] | None = None  # TTS: close (code, reason) when the first text arrives
    tts_without_audio: bool = False  # TTS: responses carry no audio deltas (the session still finishes)
    # faults
    http_status: int | None = None
    http_body: str = "Unauthorized: invalid api key"
    redirect_to: str | None = None  # Location of a 3xx answer to the handshake
    redirect_status: int = 302
    drop_after_deltas: int | None = None
    drop_connections: int = 1
    drop_with_reset: bool = False  # RST instead of FIN (may lose data in flight)
    malformed_frames: list[str] = field(default_factory=list)
    unknown_events: int = 0
    error_events: list[dict[str, Any]] = field(default_factory=list)
    reject_session_update: dict[str, Any] | None = None
    close_after_reject: bool = False
    error_on_response: dict[str, Any] | None = None
    delta_delay: float = 0.0
    delta_jitter: float = 0.0
    close_after_created: tuple[int, str] | None = None
    idle_cut_after: float | None = None
    binary_frames: int = 0  # binary frames sent after session.created (the protocol is text only)
    oversized_frame_bytes: int | None = None  # one text frame this large after session.created (first connection)
    freeze_after_created: bool = False  # stop reading (so no pongs) after session.created (first connection)
    silent_connections: int = 0  # the first N connections are accepted and never answered
    drop_every_responses: int | None = None  # drop mid-reply (after 2 deltas) on every Nth reply, server-wide
    slow_word: str = ""  # a typed message containing this word gets a reply paced at slow_delta_delay
    slow_delta_delay: float = 0.03
    record_audio: bool = True  # keep appended audio in ConnectionLog.received (off for long runs)
    response_status: str = "completed"  # status of every Omni response.done
    response_status_details: dict[str, Any] | None = None
    transcription_error: dict[str, Any] | None = None  # input transcription fails with this error
    cached_tokens: int = 0  # usage.input_tokens_details.cached_tokens of every Omni reply
    enforce_model_rules: bool = False  # refuse session.update fields the model's docs do not allow
    seed: int = 1234


@dataclass
class ConnectionLog:
    path: str
    model: str
    authorization: str | None
    received: list[dict[str, Any]] = field(default_factory=list)
    sent_types: list[str] = field(default_factory=list)
    appended_audio_bytes: int = 0
    closed_by: str = ""
    audio_sent: bytearray = field(default_factory=bytearray)  # TTS: every audio delta's bytes, in order

    def types(self) -> list[str]:
        return [str(m.get("type")) for m in self.received]


class _Dropped(Exception):
    """The script cut the connection on purpose."""


class ScriptedServer:
    def __init__(
        self, script: Script | None = None, *, token: str | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.script = script or Script()
        self.token = token
        self.ssl_context = ssl_context  # serve wss:// (see self_signed_certificate)
        self.handshakes = 0
        self.connections: list[ConnectionLog] = []
        self._server: Server | None = None
        self._ids = itertools.count(1)
        self._rng = random.Random(self.script.seed)
        self.port = 0
        self.responses = 0  # replies started, over all connections
        self._live: list[_Session] = []  # sessions whose connection is open, newest last

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> ScriptedServer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            compression=None,
            max_size=16 * 2**20,
            ping_interval=None,
            close_timeout=1.0,
            # Its own logger, kept at INFO: websockets logs request headers (the client's key) at DEBUG,
            # and tests that turn every client-side logger to DEBUG must only see the client's logs.
            logger=_server_logger(),
            ssl=self.ssl_context,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3.0)
            self._server = None

    async def __aenter__(self) -> ScriptedServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[ScriptedServer]:
        """Run the server on its own loop in a daemon thread (for synchronous tests)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        thread = threading.Thread(target=loop.run_forever, name="scripted-server", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(10)
            started.set()
            yield self
        finally:
            if started.is_set():
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()

    # ---------------------------------------------------------------- queries

    def received(self, event_type: str) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.received if m.get("type") == event_type]

    async def push(self, frame: str | bytes) -> bool:
        """Send a raw frame on the newest open connection; False when none is open."""
        for session in reversed(self._live):
            with contextlib.suppress(Exception):
                session.log.sent_types.append("<pushed>")
                await session.ws.send(frame)
                return True
        return False

    # ---------------------------------------------------------------- handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        if self.script.redirect_to is not None:
            response = connection.respond(HTTPStatus(self.script.redirect_status), "Moved\n")
            response.headers["Location"] = self.script.redirect_to
            return response
        if self.script.http_status is not None:
            return connection.respond(HTTPStatus(self.script.http_status), self.script.http_body + "\n")
        if not request.path.startswith(PATH):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        return None

    # ---------------------------------------------------------------- session

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        query = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", request.path))
        model = query.get("model", "qwen3-omni-flash-realtime")
        log = ConnectionLog(request.path, model, _auth_header(request.headers))
        self.connections.append(log)
        index = len(self.connections) - 1
        session: _Session = (_TtsSession if "tts" in model else _OmniSession)(self, ws, log, index)
        self._live.append(session)
        try:
            await asyncio.wait_for(session.run(), self.script.max_session_seconds)
        except _Dropped:
            pass
        except TimeoutError:
            log.closed_by = "server: max session time"
            await ws.close(1000, "session time limit")
        except Exception as exc:  # a broken client must not take the test server down
            log.closed_by = f"server error: {exc!r}"
        finally:
            self._live.remove(session)


def _server_logger() -> logging.Logger:
    logger = logging.getLogger("tests.support.scripted_server")
    logger.setLevel(logging.INFO)
    return logger


def _auth_header(headers: Headers) -> str | None:
    return headers.get("Authorization")


# ---- the documented per-model rules (cloud-2026 reference, protocol reference section e) -------------
# Written from the vendor's pages, independently of qwenvoice.protocol.models, so that a wrong registry
# in the app is caught by a server that behaves like the documentation.

_DOC_FLASH_1201_VOICES = frozenset((
    "Cherry", "Serena", "Ethan", "Chelsie", "Momo", "Vivian", "Moon", "Maia", "Kai", "Nofish", "Bella",
    "Jennifer", "Ryan", "Katerina", "Aiden", "Eldric Sage", "Mia", "Mochi", "Bellona", "Vincent", "Bunny",
    "Neil", "Elias", "Arthur", "Nini", "Ebona", "Seren", "Pip", "Stella", "Bodega", "Sonrisa", "Alek", "Dolce",
    "Sohee", "Ono Anna", "Lenn", "Emilien", "Andre", "Radio Gol", "Jada", "Dylan", "Li", "Marcus", "Roy",
    "Peter", "Sunny", "Eric", "Rocky", "Kiki",
))  # fmt: skip
_DOC_FLASH_0915_VOICES = frozenset((
    "Cherry", "Ethan", "Nofish", "Jennifer", "Ryan", "Katerina", "Elias", "Jada", "Dylan", "Sunny", "Li",
    "Marcus", "Roy", "Peter", "Rocky", "Kiki", "Eric",
))  # fmt: skip
_DOC_TURBO_VOICES = frozenset({"Cherry", "Serena", "Ethan", "Chelsie"})
_DOC_QWEN35_REFUSED = frozenset({"Cherry", "Chelsie", "Serena"})


def _refusal(param: str, message: str) -> dict[str, Any]:
    return {"type": "invalid_request_error", "code": "invalid_value", "message": message, "param": param}


def _omni_rule_violation(model: str, update: dict[str, Any]) -> dict[str, Any] | None:
    name = model.lower()
    flash_0915 = name.startswith("qwen3-omni-flash-realtime-2025-09-15")
    flash = name.startswith("qwen3-omni-flash-realtime")
    turbo = name.startswith("qwen-omni-turbo-realtime")
    q35 = name.startswith("qwen3.5-omni-")
    q38 = name.startswith("qwen3.8-omni-")
    voice = update.get("voice")
    if voice is not None:
        if voice == "":
            return _refusal("session.voice", "Voice '' is not supported.")
        if q38:  # the SDK's omni_v38 dialect: the voice lives in audio.output.voice
            return _refusal("session.voice", "Unknown parameter: 'session.voice'.")
        ok = (
            (flash_0915 and voice in _DOC_FLASH_0915_VOICES)
            or (flash and not flash_0915 and voice in _DOC_FLASH_1201_VOICES)
            or (turbo and voice in _DOC_TURBO_VOICES)
            or (q35 and voice not in _DOC_QWEN35_REFUSED)
            or not (flash or turbo or q35)
        )
        if not ok:
            return _refusal("session.voice", f"Voice '{voice}' is not supported.")
    asr = update.get("input_audio_transcription")
    if isinstance(asr, dict) and asr.get("model") is not None:
        asr_model = asr["model"]
        allowed: tuple[str, ...] = ()
        if flash:  # the pages disagree: gummy (seed) or qwen3-asr (server-events page)
            allowed = ("gummy-realtime-v1", "qwen3-asr-flash-realtime")
        elif turbo:
            allowed = ("gummy-realtime-v1",)
        elif q35 or q38:
            allowed = ("qwen3-asr-flash-realtime",)
        if allowed and asr_model not in allowed:
            return _refusal("session.input_audio_transcription.model",
                            f"Invalid input_audio_transcription model: {asr_model}.")
    formats = {"input_audio_format": update.get("input_audio_format"),
               "output_audio_format": update.get("output_audio_format")}
    for key, value in formats.items():
        if value is None:
            continue
        if q38:
            return _refusal(f"session.{key}", f"Unknown parameter: 'session.{key}'.")
        if key == "input_audio_format":
            allowed = ("pcm",) if q35 else ("pcm16", "pcm") if flash else ("pcm16",) if turbo else ()
        else:
            allowed = ("pcm",) if q35 else ("pcm24", "pcm") if flash else ("pcm16",) if turbo else ()
        if allowed and value not in allowed:
            return _refusal(f"session.{key}", f"Invalid {key}: {value}.")
    audio = update.get("audio")
    if audio is not None:
        if not (q35 or q38):
            return _refusal("session.audio", "Unknown parameter: 'session.audio'.")
        for side in ("input", "output"):
            fmt = (audio.get(side) or {}).get("format") or {}
            if fmt.get("type", "pcm") not in ("pcm", "wav") or fmt.get("sample_rate", 16000) not in (
                    8000, 16000, 24000, 48000):
                return _refusal(f"session.audio.{side}.format", f"Invalid audio format: {fmt}.")
    if update.get("smooth_output") is not None and not flash:
        return _refusal("session.smooth_output", "Unknown parameter: 'session.smooth_output'.")
    if update.get("tools") and not q35:
        return _refusal("session.tools", f"Model {model} does not support tools.")
    vad = update.get("turn_detection")
    if isinstance(vad, dict) and (flash or turbo):
        if vad.get("type") == "semantic_vad":
            return _refusal("session.turn_detection.type", "Invalid turn_detection type: semantic_vad.")
        if "idle_timeout_ms" in vad:
            return _refusal("session.turn_detection.idle_timeout_ms", "Unknown parameter: 'idle_timeout_ms'.")
    return None


def _tts_rule_violation(model: str, update: dict[str, Any]) -> dict[str, Any] | None:
    name = model.lower()
    voice = update.get("voice")
    if voice is not None:
        custom = name.startswith(("qwen3-tts-vc-realtime", "qwen3-tts-vd-realtime"))
        if (not voice or (custom and voice in _DOC_FLASH_1201_VOICES)
                or (name.startswith("qwen3-tts-flash-realtime-2025-09-18") and voice not in _DOC_FLASH_0915_VOICES)
                or (name.startswith("qwen3-tts-flash-realtime") and voice not in _DOC_FLASH_1201_VOICES)):
            return {"code": "invalid_value", "message": f"Voice '{voice}' is not supported."}
    if name.startswith("qwen-tts-realtime") and (
            update.get("response_format", "pcm") != "pcm" or update.get("sample_rate", 24000) != 24000):
        return {"code": "invalid_value", "message": "qwen-tts-realtime speaks pcm at 24000 Hz only."}
    return None


def model_rule_violation(model: str, update: dict[str, Any]) -> dict[str, Any] | None:
    """The error the cloud answers this ``session.update`` of ``model`` with, or None when the documented
    rules allow it (unknown models: anything)."""
    if "tts" in model.lower():
        return _tts_rule_violation(model, update)
    return _omni_rule_violation(model, update)


class _Session:
    def __init__(self, server: ScriptedServer, ws: ServerConnection, log: ConnectionLog, index: int) -> None:
        self.server = server
        self.script = server.script
        self.ws = ws
        self.log = log
        self.index = index
        self.model = log.model
        self.session: dict[str, Any] = {}
        self.deltas_this_connection = 0
        self.deltas_this_response = 0

    # -- sending

    async def send(self, payload: dict[str, Any]) -> None:
        payload = {"event_id": self.server._id("event"), **payload}
        self.log.sent_types.append(payload["type"])
        await self.ws.send(json.dumps(payload))

    async def send_error(self, error: dict[str, Any]) -> None:
        await self.send({"type": "error", "error": dict(error)})

    def drop(self, why: str) -> None:
        self.log.closed_by = f"server: {why}"
        transport = self.ws.transport
        transport.abort()
        raise _Dropped(why)

    async def flush_then_drop(self, why: str) -> None:
        """Cut the connection mid-stream without a WebSocket close frame (the client sees 1006).

        By default the cut is a TCP FIN after everything already sent: deterministic, the client gets
        every event sent before the cut. With ``Script.drop_with_reset`` it is a TCP RST, as a dying
        network path would give: the client's kernel may then discard data it had not read yet."""
        transport = self.ws.transport
        if self.script.drop_with_reset or not transport.can_write_eof():
            self.drop(why)
        self.log.closed_by = f"server: {why}"
        # Half-close: FIN after what is buffered, but keep reading. Closing outright while the client is
        # still streaming audio would answer its next packet with an RST, and an RST makes the client's
        # kernel discard what it had not read yet.
        transport.write_eof()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.wait_closed(), 3.0)
        transport.abort()
        raise _Dropped(why)

    async def close_raw(self, code: int, reason: str) -> None:
        """Send a close frame even if its reason is longer than the protocol allows, then hang up."""
        payload = struct.pack("!H", code) + reason.encode()
        if len(payload) <= 125:
            self.log.closed_by = f"server: close {code}"
            await self.ws.close(code, reason)
            raise _Dropped("closed")
        header = b"\x88" + (bytes([126]) + struct.pack("!H", len(payload)) if len(payload) < 65536 else b"")
        self.log.closed_by = f"server: raw close {code}"
        self.ws.transport.write(header + payload)
        self.ws.transport.close()  # flushes the frame, then hangs up (no reply is read)
        raise _Dropped("raw close")

    async def pace_delta(self) -> None:
        s = self.script
        if s.slow_word and s.slow_word in getattr(self, "last_text", ""):
            await asyncio.sleep(s.slow_delta_delay)
        elif s.delta_delay or s.delta_jitter:
            await asyncio.sleep(max(0.0, s.delta_delay + self.server._rng.uniform(-s.delta_jitter, s.delta_jitter)))

    async def count_delta(self) -> None:
        self.deltas_this_connection += 1
        s = self.script
        self.deltas_this_response += 1
        if (
            s.drop_every_responses
            and self.server.responses > 0
            and self.server.responses % s.drop_every_responses == 0
            and self.deltas_this_response > 2
        ):
            await self.flush_then_drop(f"dropped reply {self.server.responses} (every {s.drop_every_responses})")
        if (
            s.drop_after_deltas is not None
            and self.index < s.drop_connections
            and self.deltas_this_connection > s.drop_after_deltas
        ):
            await self.flush_then_drop(f"dropped after {s.drop_after_deltas} deltas")

    # -- receiving

    async def recv(self) -> dict[str, Any] | None:
        timeout = self.script.idle_cut_after
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            self.drop(f"idle for {timeout} s")
        except Exception:
            return None
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"type": "<invalid json>", "raw": str(raw)[:200]}
        if not isinstance(message, dict):
            message = {"type": "<not an object>"}
        if not self.script.record_audio and "audio" in message:
            self.log.received.append({k: v for k, v in message.items() if k != "audio"})
        else:
            self.log.received.append(message)
        return message

    async def run(self) -> None:
        if self.index < self.script.silent_connections:
            # Accepts the socket, reads (so pings are answered) and says nothing at all.
            for _ in range(100_000):
                if await self.recv() is None:
                    self.log.closed_by = self.log.closed_by or "client"
                    return
            return
        await self.send({"type": "session.created", "session": self.session})
        if self.script.close_after_created is not None:
            await self.close_raw(*self.script.close_after_created)
        for raw in self.script.malformed_frames:
            self.log.sent_types.append("<malformed>")
            await self.ws.send(raw)
        for _ in range(self.script.unknown_events):
            await self.send({"type": "response.future_event", "payload": {"x": 1}})
        for _ in range(self.script.binary_frames):
            self.log.sent_types.append("<binary>")
            await self.ws.send(b'{"type": "session.updated", "session": {}}')
        if self.script.oversized_frame_bytes and self.index == 0:
            self.log.sent_types.append("<oversized>")
            filler = "x" * self.script.oversized_frame_bytes
            await self.ws.send(json.dumps({"type": "response.text.delta", "delta": filler}))
        if self.script.freeze_after_created and self.index == 0:
            # A hung server: the socket stays open but nothing is read or answered, not even pings.
            self.log.closed_by = "server: frozen"
            self.ws.transport.pause_reading()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ws.wait_closed(), self.script.max_session_seconds)
            raise _Dropped("frozen")
        for _ in range(100_000):  # bounded: max_session_seconds also applies
            message = await self.recv()
            if message is None:
                self.log.closed_by = self.log.closed_by or "client"
                return
            if not await self.on_message(message):
                return

    async def on_session_update(self, message: dict[str, Any]) -> None:
        if self.index > 0 and self.script.later_session_ready_delay:
            await asyncio.sleep(self.script.later_session_ready_delay)  # a slow handshake (renewals)
        if self.script.reject_session_update is not None:
            await self.send_error(self.script.reject_session_update)
            if self.script.close_after_reject:
                await self.close_raw(1000, "session rejected")
            return
        update = message.get("session")
        if self.script.enforce_model_rules and isinstance(update, dict):
            refusal = model_rule_violation(self.model, update)
            if refusal is not None:
                await self.send_error(refusal)
                return
        if isinstance(update, dict):
            self.session.update(update)
        await self.send({"type": "session.updated", "session": self.session})
        for error in self.script.error_events:
            await self.send_error(error)

    async def on_message(self, message: dict[str, Any]) -> bool:
        raise NotImplementedError


class _OmniSession(_Session):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.session = {
            "id": self.server._id("sess"),
            "object": "realtime.session",
            "model": self.model,
            "modalities": ["text", "audio"],
            "voice": "Cherry",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm24",
            "input_audio_transcription": {"model": "gummy-realtime-v1"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 800,
                "create_response": True,
                "interrupt_response": True,
            },
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
        }
        self.buffer_ms = 0.0  # audio in the input buffer
        self.session_ms = 0.0  # audio since the session started
        self.in_speech = False
        self.silence_ms = 0.0
        self.item_id: str | None = None
        self.last_committed: str | None = None
        self.last_text = ""  # the last typed user message

    @property
    def vad(self) -> bool:
        return self.session.get("turn_detection") is not None

    async def on_message(self, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == "session.update":
            await self.on_session_update(message)
        elif kind == "input_audio_buffer.append":
            await self.on_append(message)
        elif kind == "input_audio_buffer.commit":
            if self.buffer_ms <= 0:
                await self.send_error(
                    {
                        "type": "invalid_request_error",
                        "code": "invalid_value",
                        "message": "Error committing input audio buffer: the buffer is empty.",
                        "param": None,
                    }
                )
            else:
                await self.commit_turn()
        elif kind == "input_audio_buffer.clear":
            self.buffer_ms = 0.0
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "response.create":
            await self.respond()
        elif kind == "conversation.item.create":
            content = (message.get("item") or {}).get("content") or [{}]
            self.last_text = str(content[0].get("text", "")) if isinstance(content[0], dict) else ""
        elif kind == "session.finish":
            await self.send({"type": "session.finished"})
            self.log.closed_by = "server: finished"
            await self.ws.close(1000, "session finished")
            return False
        return True

    async def on_append(self, message: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(str(message.get("audio", "")), validate=True)
        except ValueError:
            await self.send_error({"type": "invalid_request_error", "code": "invalid_value",
                                   "message": "audio is not valid base64", "param": "audio"})
            return
        self.log.appended_audio_bytes += len(pcm)
        chunk_ms = len(pcm) / 32.0  # 16 kHz mono int16: 32 bytes per ms
        start_ms = self.session_ms
        self.session_ms += chunk_ms
        self.buffer_ms += chunk_ms
        if not self.vad or not pcm:
            return
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
        loud = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > self.script.vad_threshold
        if loud and not self.in_speech:
            self.in_speech = True
            self.silence_ms = 0.0
            self.item_id = self.server._id("item")
            await self.send({"type": "input_audio_buffer.speech_started",
                             "audio_start_ms": int(start_ms), "item_id": self.item_id})
        elif self.in_speech and not loud:
            self.silence_ms += chunk_ms
            if self.silence_ms >= self.script.vad_silence_ms:
                self.in_speech = False
                await self.send({"type": "input_audio_buffer.speech_stopped",
                                 "audio_end_ms": int(self.session_ms), "item_id": self.item_id})
                await self.commit_turn()
                create = (self.session.get("turn_detection") or {}).get("create_response", True)
                if create:
                    if self.script.vad_response_delay:
                        await asyncio.sleep(self.script.vad_response_delay)  # ASR and the model's first token
                    await self.respond()
        elif loud:
            self.silence_ms = 0.0

    async def commit_turn(self) -> None:
        item_id = self.item_id or self.server._id("item")
        self.item_id = None
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id,
                         "previous_item_id": self.last_committed})
        await self.send({"type": "conversation.item.created", "previous_item_id": self.last_committed,
                         "item": {"id": item_id, "object": "realtime.item", "type": "message",
                                  "status": "completed", "role": "user", "content": [{"type": "input_audio"}]}})
        self.last_committed = item_id
        self.buffer_ms = 0.0
        if self.script.user_transcript_deltas:
            words = re.findall(r"\S+\s*", self.script.user_transcript)
            for n in range(1, len(words) + 1):  # confirmed prefix + tentative tail, like the newer models
                await self.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id,
                                 "content_index": 0, "text": "".join(words[: n - 1]), "stash": words[n - 1],
                                 "language": "en", "emotion": "neutral"})
        if self.script.transcription_error is not None:
            await self.send({"type": "conversation.item.input_audio_transcription.failed", "item_id": item_id,
                             "content_index": 0, "error": dict(self.script.transcription_error)})
            return
        await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                         "content_index": 0, "transcript": self.script.user_transcript})

    async def respond(self) -> None:
        s = self.script
        if s.error_on_response is not None:
            await self.send_error(s.error_on_response)
            return
        self.server.responses += 1
        self.deltas_this_response = 0
        response_id = self.server._id("resp")
        item_id = self.server._id("item")
        base = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        response = {"id": response_id, "object": "realtime.response", "conversation_id": "conv_1",
                    "status": "in_progress", "modalities": ["text", "audio"], "voice": self.session.get("voice"),
                    "output_audio_format": "pcm24", "output": []}
        await self.send({"type": "response.created", "response": response})
        item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}
        await self.send({"type": "response.output_item.added", "response_id": response_id, "output_index": 0,
                         "item": item})
        await self.send({"type": "conversation.item.created", "previous_item_id": self.last_committed, "item": item})
        await self.send({"type": "response.content_part.added", **base, "part": {"type": "audio", "text": ""}})
        pcm = s.reply_pcm if s.reply_pcm is not None else sine_pcm(s.reply_seconds, 24000, 330.0)
        chunk = max(2, int(24000 * s.delta_ms / 1000) * 2)
        chunks = [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]
        words = re.findall(r"\S+\s*", s.reply_text)
        for i in range(max(len(chunks), len(words))):
            if i < len(words):
                await self.send({"type": "response.audio_transcript.delta", **base, "delta": words[i]})
            if i < len(chunks):
                await self.pace_delta()
                await self.count_delta()
                await self.send({"type": "response.audio.delta", **base,
                                 "delta": base64.b64encode(chunks[i]).decode()})
        await self.send({"type": "response.audio_transcript.done", **base, "transcript": s.reply_text})
        await self.send({"type": "response.audio.done", **base})
        await self.send({"type": "response.content_part.done", **base,
                         "part": {"type": "audio", "transcript": s.reply_text}})
        done_item = {**item, "status": "completed", "content": [{"type": "audio", "transcript": s.reply_text}]}
        await self.send({"type": "response.output_item.done", "response_id": response_id, "output_index": 0,
                         "item": done_item})
        input_details: dict[str, int] = {"text_tokens": 60, "audio_tokens": 20}
        if s.cached_tokens:
            input_details["cached_tokens"] = s.cached_tokens
        usage = {"total_tokens": 120, "input_tokens": 80, "output_tokens": 40,
                 "input_tokens_details": input_details,
                 "output_tokens_details": {"text_tokens": 10, "audio_tokens": 30}}
        done: dict[str, Any] = {**response, "status": s.response_status, "output": [done_item], "usage": usage}
        if s.response_status_details is not None:
            done["status_details"] = dict(s.response_status_details)
        await self.send({"type": "response.done", "response": done})


class _TtsSession(_Session):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.session = {
            "id": self.server._id("sess"),
            "object": "realtime.session",
            "mode": "server_commit",
            "model": self.model,
            "voice": "Cherry",
            "response_format": "pcm",
            "sample_rate": 24000,
        }
        self.text = ""

    async def on_message(self, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == "session.update":
            await self.on_session_update(message)
        elif kind == "input_text_buffer.append":
            if self.script.tts_close_on_text is not None:
                await self.close_raw(*self.script.tts_close_on_text)
            self.text += str(message.get("text", ""))
            if self.session.get("mode") == "server_commit":
                # Synthesize whole sentences as they complete, like the service's own segmentation.
                cut = max((m.end() for m in re.finditer(r"[.!?。！？]\s", self.text)), default=0)
                if cut:
                    sentence, self.text = self.text[:cut], self.text[cut:]
                    await self.synthesize(sentence)
        elif kind == "input_text_buffer.commit":
            if not self.text.strip():
                await self.send_error({"code": "invalid_value", "message": "Input text buffer is empty."})
            else:
                await self.send({"type": "input_text_buffer.committed", "item_id": ""})
                text, self.text = self.text, ""
                await self.synthesize(text)
        elif kind == "input_text_buffer.clear":
            self.text = ""
            await self.send({"type": "input_text_buffer.cleared"})
        elif kind == "session.finish":
            if self.text.strip():
                text, self.text = self.text, ""
                await self.synthesize(text)
            await self.send({"type": "session.finished"})
            self.log.closed_by = "server: finished"
            await self.ws.close(1000, "session finished")
            return False
        return True

    async def synthesize(self, text: str) -> None:
        s = self.script
        if s.error_on_response is not None:
            await self.send_error(s.error_on_response)
            return
        rate = int(self.session.get("sample_rate") or 24000)
        response_id, item_id = self.server._id("resp"), self.server._id("item")
        base = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        response = {"id": response_id, "object": "realtime.response", "conversation_id": "", "status": "in_progress",
                    "voice": self.session.get("voice"), "output": []}
        await self.send({"type": "response.created", "response": response})
        item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "in_progress",
                "role": "assistant", "content": []}
        await self.send({"type": "response.output_item.added", "response_id": response_id, "output_index": 0,
                         "item": item})
        await self.send({"type": "response.content_part.added", **base, "part": {"type": "audio", "text": ""}})
        pcm = sine_pcm(max(0.05, len(text.strip()) * s.tts_seconds_per_char), rate, 220.0)
        chunk = max(2, int(rate * s.delta_ms / 1000) * 2)
        response_format = self.session.get("response_format")
        wav = response_format == "wav"
        if response_format in ("mp3", "opus"):
            pcm = encode_speech(response_format, pcm, rate, self.session.get("bit_rate"))
            chunk = 500  # compressed bytes per delta: frames and Ogg pages cut anywhere
        for n, i in enumerate(range(0, 0 if s.tts_without_audio else len(pcm), chunk)):
            data = pcm[i : i + chunk]
            if wav and n == 0 and s.wav_header_per_response:
                data = wav_header(rate) + data
            await self.pace_delta()
            await self.count_delta()
            self.log.audio_sent += data
            await self.send({"type": "response.audio.delta", **base, "delta": base64.b64encode(data).decode()})
        await self.send({"type": "response.audio.done", **base})
        await self.send({"type": "response.content_part.done", **base, "part": {"type": "audio", "text": ""}})
        done_item = {**item, "status": "completed", "content": [{"type": "audio", "text": ""}]}
        await self.send({"type": "response.output_item.done", "response_id": response_id, "output_index": 0,
                         "item": done_item})
        await self.send({"type": "response.done", "response": {**response, "status": "completed",
                                                               "output": [done_item],
                                                               "usage": {"characters": len(text)}}})


def self_signed_certificate(directory: Any) -> tuple[str, str]:
    """(cert.pem, key.pem) for 127.0.0.1, valid for a day; needs the ``cryptography`` package."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qwenvoice test server")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context



def main(argv: list[str] | None = None) -> None:
    """Serve in this process until stdin closes: ``python -m tests.support.scripted_server
    --script '{"reply_seconds": 2}' [--token T]``. Prints ``PORT <n>`` once listening (long runs keep
    the server out of the measured process)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--script", default="{}", help="Script fields as JSON")
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    fields = json.loads(args.script)
    if isinstance(fields.get("close_after_created"), list):
        fields["close_after_created"] = tuple(fields["close_after_created"])

    async def serve_until_stdin_closes() -> None:
        server = await ScriptedServer(Script(**fields), token=args.token).start()
        print(f"PORT {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # EOF when the parent ends or closes the pipe
        await server.stop()

    asyncio.run(serve_until_stdin_closes())


if __name__ == "__main__":
    main()
