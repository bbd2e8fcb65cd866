"""The benchmark's realtime server: answers every turn with the same recorded reply at a chosen pace.

Speaks the Omni realtime protocol through `qwenvoice.protocol.codec` on 127.0.0.1. The pace is chosen
by the model name in the URL (`?model=bench-<pace>`), so both clients (ours and the official SDK,
which appends `?model=` itself) reach the same server the same way:

* `cloud`    - faster than real time (`speed`x, 4 by default), as the service generates;
* `realtime` - one delta per delta-length of wall time;
* `jitter`   - real time, every delta delayed by a uniform 0-`jitter_ms` (seeded per turn number, so
               both clients get the same delays; TCP delays, never reorders, so a delta never
               overtakes the one before).

A response starts on `response.create` or, when the session has `turn_detection`, when a simple energy
VAD over the appended audio has seen speech followed by `silence_ms` of silence. Every send time is
`time.monotonic()` (CLOCK_MONOTONIC, shared by all processes on the machine), recorded per response.
Appends are recorded with their receive time by `event_id`, for the capture-to-wire measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve

from qwenvoice.protocol import events as ev
from qwenvoice.protocol.codec import decode_client_event, encode_event, new_event_id

PATH = "/api-ws/v1/realtime"
PACES = ("cloud", "realtime", "jitter")


@dataclass(slots=True)
class ResponseLog:
    response_id: str
    pace: str
    turn: int
    created_at: float
    first_delta_sent_at: float | None = None
    last_delta_sent_at: float | None = None
    deltas_sent: int = 0
    cancelled_at: float | None = None
    vad_end_at: float | None = None  # server VAD decided the user stopped (VAD turns only)


@dataclass
class BenchServer:
    reply_pcm: bytes  # 24 kHz mono int16
    delta_ms: int = 80
    speed: float = 4.0
    jitter_ms: float = 150.0
    silence_ms: int = 500
    speech_rms: float = 300.0  # int16 RMS above which an appended block counts as speech
    responses: list[ResponseLog] = field(default_factory=list)
    appends: dict[str, float] = field(default_factory=dict)  # event_id -> receive time
    _server: Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None, max_size=2**24)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        model = parse_qs(urlsplit(request.path if request else "").query).get("model", ["bench-cloud"])[0]
        pace = model.removeprefix("bench-")
        if pace not in PACES:
            pace = "cloud"
        session = _Session(self, ws, pace, model)
        await session.run()


class _Session:
    def __init__(self, server: BenchServer, ws: ServerConnection, pace: str, model: str) -> None:
        self.server, self.ws, self.pace, self.model = server, ws, pace, model
        self.turns = 0
        self.vad = False
        self.speaking = False
        self.speech_ms = 0.0
        self.silence_ms = 0.0
        self.task: asyncio.Task[None] | None = None
        self.current: ResponseLog | None = None

    async def send(self, event: Any) -> None:
        if event.event_id is None:
            event.event_id = new_event_id()
        await self.ws.send(encode_event(event))

    async def run(self) -> None:
        await self.send(ev.SessionCreated(session={"id": "sess_bench", "model": self.model}))
        try:
            async for message in self.ws:
                event = self.decode(message)
                if event is not None:
                    await self.on_event(event)
        except Exception:  # a dropped client ends its session, nothing else
            pass
        finally:
            if self.task is not None:
                self.task.cancel()

    def decode(self, message: str | bytes) -> Any:
        if isinstance(message, str) and '"input_audio_buffer.append"' in message:
            received = time.monotonic()
            event = decode_client_event(message)
            if isinstance(event, ev.InputAudioBufferAppend) and event.event_id:
                self.server.appends[event.event_id] = received
            return event
        return decode_client_event(message)

    async def on_event(self, event: Any) -> None:
        if isinstance(event, ev.SessionUpdate):
            self.vad = bool(event.session.get("turn_detection"))
            await self.send(ev.SessionUpdated(session=dict(event.session)))
        elif isinstance(event, ev.ResponseCreate):
            self.start_response()
        elif isinstance(event, ev.ResponseCancel):
            if self.task is not None and not self.task.done():
                self.task.cancel()
                if self.current is not None:
                    self.current.cancelled_at = time.monotonic()
                    await self.send(ev.ResponseDone(response={"id": self.current.response_id, "status": "cancelled"}))
        elif isinstance(event, ev.InputAudioBufferAppend) and self.vad:
            await self.listen(event.audio)
        elif isinstance(event, ev.InputAudioBufferCommit):
            await self.send(ev.InputAudioBufferCommitted(item_id="item_user", previous_item_id=None))
        elif isinstance(event, ev.SessionFinish):
            await self.send(ev.SessionFinished())

    async def listen(self, pcm: bytes) -> None:
        """An energy VAD: speech on loud blocks, end of turn after `silence_ms` of appended silence."""
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
        if samples.size == 0:
            return
        block_ms = samples.size / 16.0
        loud = float(np.sqrt(np.mean(samples * samples))) > self.server.speech_rms
        if loud:
            self.speech_ms += block_ms
            self.silence_ms = 0.0
            if not self.speaking and self.speech_ms >= 60:
                self.speaking = True
                await self.send(ev.SpeechStarted(audio_start_ms=0, item_id=f"item_user_{self.turns}"))
        else:
            if not self.speaking:
                self.speech_ms = 0.0
                return
            self.silence_ms += block_ms
            if self.silence_ms >= self.server.silence_ms:
                vad_end = time.monotonic()
                self.speaking = False
                self.speech_ms = self.silence_ms = 0.0
                item = f"item_user_{self.turns}"
                await self.send(ev.SpeechStopped(audio_end_ms=0, item_id=item))
                await self.send(ev.InputAudioBufferCommitted(item_id=item, previous_item_id=None))
                self.start_response(vad_end)

    def start_response(self, vad_end: float | None = None) -> None:
        if self.task is not None and not self.task.done():
            return  # one response at a time, like the service
        self.turns += 1
        log = ResponseLog(f"resp_{self.pace}_{self.turns}_{new_event_id()[-6:]}", self.pace, self.turns,
                          time.monotonic(), vad_end_at=vad_end)
        self.server.responses.append(log)
        self.current = log
        self.task = asyncio.get_running_loop().create_task(self.respond(log))

    async def respond(self, log: ResponseLog) -> None:
        rid, item = log.response_id, f"item_{log.response_id}"
        common: dict[str, Any] = {"response_id": rid, "item_id": item, "output_index": 0, "content_index": 0}
        await self.send(ev.ResponseCreated(response={"id": rid, "status": "in_progress"}))
        await self.send(ev.ResponseOutputItemAdded(response_id=rid, output_index=0,
                                                   item={"id": item, "type": "message", "role": "assistant"}))
        step = 24000 * 2 * self.server.delta_ms // 1000
        pcm = self.server.reply_pcm
        chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
        period = self.server.delta_ms / 1000.0 / (self.server.speed if self.pace == "cloud" else 1.0)
        rng = random.Random(log.turn)
        start = time.monotonic()
        due_last = 0.0
        for k, chunk in enumerate(chunks):
            due = k * period
            if self.pace == "jitter":
                due = max(due_last, due + rng.uniform(0.0, self.server.jitter_ms / 1000.0))
            due_last = due
            wait = start + due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = time.monotonic()  # handed to the socket now (a loopback write; drain may yield later)
            await self.send(ev.ResponseAudioDelta(audio=chunk, **common))
            if log.first_delta_sent_at is None:
                log.first_delta_sent_at = sent
            log.last_delta_sent_at = sent
            log.deltas_sent += 1
        await self.send(ev.ResponseAudioDone(**common))
        await self.send(ev.ResponseAudioTranscriptDone(transcript="The weather is mild today.", **common))
        await self.send(ev.ResponseOutputItemDone(response_id=rid, output_index=0,
                                                  item={"id": item, "type": "message", "status": "completed"}))
        await self.send(ev.ResponseDone(response={"id": rid, "status": "completed", "usage": {}}))


async def _main() -> None:  # a manual check: serve a tone until interrupted
    tone = (np.sin(np.arange(48000) * 2 * np.pi * 440 / 24000) * 8000).astype("<i2").tobytes()
    server = BenchServer(tone)
    await server.start()
    print(server.url, flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main())
