"""The Qwen-TTS-Realtime protocol, served offline.

``server_commit``: text is cut into segments at sentence ends as it streams in (a trailing sentence is
flushed after a short pause); ``commit`` forces the rest out. ``commit`` mode: nothing is spoken
before a commit; each commit is one response. Segments are spoken one response at a time, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from qwenvoice.audio.wav import wav_header
from qwenvoice.localserver.common import (
    ConnectionSession,
    EventHandler,
    Outbox,
    Pacer,
    ServerContext,
    new_id,
    pcm_chunks,
)
from qwenvoice.localserver.speech import SpeechStyle, speaking_pieces
from qwenvoice.protocol.config import ConfigError, TtsSessionConfig
from qwenvoice.protocol.events import (
    InputTextBufferAppend,
    InputTextBufferClear,
    InputTextBufferCleared,
    InputTextBufferCommit,
    InputTextBufferCommitted,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseCancel,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreated,
    ResponseDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    SessionFinish,
    SessionUpdate,
    SessionUpdated,
)
from qwenvoice.protocol.tts_text import take_complete_sentences

log = logging.getLogger(__name__)

PRODUCIBLE_FORMATS = ("pcm", "wav")
FLUSH_AFTER_SENTENCE_SECONDS = 0.3  # a finished sentence with nothing after it
FLUSH_AFTER_IDLE_SECONDS = 4.0  # unfinished text and the client went quiet
LONG_SEGMENT_CHARS = 240  # cut a run-on text at a comma or space rather than wait for a full stop
FINISH_WAIT_SECONDS = 120.0


@dataclass
class Segment:
    text: str
    config: TtsSessionConfig


class TtsSession(ConnectionSession[TtsSessionConfig]):
    def __init__(self, outbox: Outbox, model: str, ctx: ServerContext) -> None:
        super().__init__(outbox, model, ctx, TtsSessionConfig.for_model(model))
        self.buffer = ""
        self.appended_since_commit = False
        self.queue: asyncio.Queue[Segment | None] = asyncio.Queue()
        self.queued_chars = 0  # text in the queue, not yet being spoken
        self.current_task: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._flush_timer: asyncio.TimerHandle | None = None

    async def opened(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._speak_segments())

    async def shutdown(self) -> None:
        self._cancel_flush_timer()
        for task in (self._worker, self.current_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    # ---- events ----------------------------------------------------------------------------------

    async def on_session_update(self, event: SessionUpdate) -> None:
        merged = self.config.to_session(self.model)
        merged.update({k: v for k, v in event.session.items() if v is not None})
        try:
            config = TtsSessionConfig.from_session(merged, self.model)
        except ConfigError as exc:
            await self.out.error(exc.message, code=exc.code, param=exc.param, client_event_id=event.event_id)
            return
        if config.response_format not in PRODUCIBLE_FORMATS:
            await self.out.error(
                f"response_format {config.response_format!r} is not available in offline mode; "
                f"use one of: {', '.join(PRODUCIBLE_FORMATS)}.",
                code="unsupported_format",
                param="session.response_format",
                client_event_id=event.event_id,
            )
            return
        self.config = config
        await self.out.send(SessionUpdated(session=self.wire_session()))

    async def on_append(self, event: InputTextBufferAppend) -> None:
        if not event.text:
            return
        limit = self.ctx.limits.max_text_chars
        waiting = len(self.buffer) + self.queued_chars
        if waiting + len(event.text) > limit:
            await self.out.error(
                f"Too much text is waiting to be spoken ({waiting} characters; at most {limit}): commit "
                "or wait for the audio before appending more text.",
                code="invalid_value",
                param="text",
                client_event_id=event.event_id,
            )
            return
        self.buffer += event.text
        self.appended_since_commit = True
        if self.config.mode == "server_commit":
            self._segment_streamed_text()

    def _segment_streamed_text(self) -> None:
        sentences, rest = take_complete_sentences(self.buffer)
        while len(rest) > LONG_SEGMENT_CHARS:
            cut = max(rest.rfind(",", 0, LONG_SEGMENT_CHARS), rest.rfind(" ", 0, LONG_SEGMENT_CHARS))
            # No comma or space to cut at: cut anyway, so a run-on text is not rescanned on every append.
            end = cut + 1 if cut > 0 else LONG_SEGMENT_CHARS
            sentences.append(rest[:end].strip())
            rest = rest[end:]
        for sentence in sentences:
            self._enqueue(sentence)
        self.buffer = rest
        self._cancel_flush_timer()
        if rest.strip():
            stripped = rest.rstrip()
            delay = FLUSH_AFTER_SENTENCE_SECONDS if stripped[-1:] in ".!?;" else FLUSH_AFTER_IDLE_SECONDS
            self._flush_timer = asyncio.get_running_loop().call_later(delay, self._flush_buffer)

    def _flush_buffer(self) -> None:
        self._flush_timer = None
        text, self.buffer = self.buffer, ""
        self._enqueue(text)

    def _cancel_flush_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _enqueue(self, text: str) -> None:
        if text.strip():
            self.queued_chars += len(text.strip())
            self.queue.put_nowait(Segment(text=text.strip(), config=self.config))

    async def on_commit(self, event: InputTextBufferCommit) -> None:
        self._cancel_flush_timer()
        pending = self.buffer.strip()
        # server_commit may already have spoken what was appended; only a commit with nothing new is empty.
        nothing_new = not pending if self.config.mode == "commit" else not self.appended_since_commit
        if nothing_new:
            await self.out.error(
                "Error committing input text buffer: the buffer is empty.",
                code="input_text_buffer_commit_empty",
                client_event_id=event.event_id,
            )
            return
        item_id = new_id("item")
        await self.out.send(InputTextBufferCommitted(item_id=item_id))
        self.buffer = ""
        self.appended_since_commit = False
        self._enqueue(pending)

    async def on_clear(self, event: InputTextBufferClear) -> None:
        self.buffer = ""
        self._cancel_flush_timer()
        await self.out.send(InputTextBufferCleared())

    async def on_cancel(self, event: ResponseCancel) -> None:
        dropped = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            dropped += 1
        self.queued_chars = 0
        task = self.current_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        elif not dropped:
            await self.out.error(
                "There is no active response to cancel.",
                code="response_cancel_not_active",
                client_event_id=event.event_id,
            )

    async def on_finish(self, event: SessionFinish) -> None:
        self._cancel_flush_timer()
        self.finishing = True
        text, self.buffer = self.buffer, ""
        self._enqueue(text)
        self.queue.put_nowait(None)
        if self._worker is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._worker), FINISH_WAIT_SECONDS)
        await self.end_session()

    # ---- speaking --------------------------------------------------------------------------------

    async def _speak_segments(self) -> None:
        while True:
            segment = await self.queue.get()
            if segment is None:
                return
            self.queued_chars = max(0, self.queued_chars - len(segment.text))
            task = asyncio.get_running_loop().create_task(self._respond(segment))
            self.current_task = task
            # wait() rather than await: a response.cancel cancels the response, not this worker.
            await asyncio.wait({task})
            self.current_task = None
            if self.out.closed:
                return

    async def _respond(self, segment: Segment) -> None:
        cfg = segment.config
        response_id, item_id = new_id("resp"), new_id("item")
        state = {"status": "completed"}
        await self.out.send(ResponseCreated(response=self._response(response_id, cfg, "in_progress", [])))
        await self.out.send(
            ResponseOutputItemAdded(response_id=response_id, output_index=0, item=self._item(item_id, "in_progress"))
        )
        ids: dict[str, Any] = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        await self.out.send(ResponseContentPartAdded(**ids, part={"type": "audio", "text": ""}))
        try:
            await self._stream(segment, ids)
        except asyncio.CancelledError:
            state["status"] = "cancelled"
        except Exception as exc:
            log.exception("synthesis failed")
            state["status"] = "failed"
            await self.out.error(f"Synthesis failed: {exc}", code="synthesis_failed", error_type="server_error")
        await self.out.send(ResponseAudioDone(**ids))
        await self.out.send(ResponseContentPartDone(**ids, part={"type": "audio", "text": ""}))
        item_status = "completed" if state["status"] == "completed" else "incomplete"
        item = self._item(item_id, item_status, [{"type": "audio", "text": ""}])
        await self.out.send(ResponseOutputItemDone(response_id=response_id, output_index=0, item=item))
        body = self._response(response_id, cfg, state["status"], [item])
        body["usage"] = {"characters": len(segment.text)}
        await self.out.send(ResponseDone(response=body))

    async def _stream(self, segment: Segment, ids: dict[str, Any]) -> None:
        await asyncio.to_thread(self.ctx.models.wait)
        synthesizer = self.ctx.models.synthesizer
        assert synthesizer is not None
        cfg = segment.config
        rate = int(cfg.sample_rate)
        style = SpeechStyle(
            voice=cfg.voice,
            language_type=cfg.language_type,
            speech_rate=float(cfg.speech_rate) if cfg.speech_rate is not None else 1.0,
            volume=(float(cfg.volume) / 50.0) if cfg.volume is not None else 1.0,
            pitch_rate=float(cfg.pitch_rate) if cfg.pitch_rate is not None else 1.0,
        )
        loop = asyncio.get_running_loop()
        pacer = Pacer()
        first = True
        sentences = speaking_pieces(segment.text) or [segment.text]
        next_audio = loop.run_in_executor(self.ctx.executor, synthesizer.synthesize, sentences[0], style, rate)
        for index in range(len(sentences)):
            audio: np.ndarray = await next_audio
            if index + 1 < len(sentences):
                next_audio = loop.run_in_executor(
                    self.ctx.executor, synthesizer.synthesize, sentences[index + 1], style, rate
                )
            for chunk in pcm_chunks(audio, rate):
                await pacer.before_sending(len(chunk) / 2 / rate)
                if first and cfg.response_format == "wav":
                    chunk = wav_header(rate) + chunk
                first = False
                if not await self.out.send(ResponseAudioDelta(**ids, audio=chunk)):
                    return

    def _response(self, response_id: str, cfg: TtsSessionConfig, status: str, output: list[Any]) -> dict[str, Any]:
        return {
            "id": response_id,
            "object": "realtime.response",
            "conversation_id": "",
            "status": status,
            "modalities": ["text", "audio"],
            "voice": cfg.voice,
            "output": output,
        }

    @staticmethod
    def _item(item_id: str, status: str, content: list[Any] | None = None) -> dict[str, Any]:
        return {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content or [],
        }

    _handlers: ClassVar[dict[type, EventHandler]] = {
        SessionUpdate: on_session_update,
        InputTextBufferAppend: on_append,
        InputTextBufferCommit: on_commit,
        InputTextBufferClear: on_clear,
        ResponseCancel: on_cancel,
        SessionFinish: on_finish,
    }
