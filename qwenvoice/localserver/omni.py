"""The Qwen-Omni-Realtime protocol, served offline: VAD or manual turns, ASR, rule-based replies, TTS.

One ``OmniSession`` per connection. Incoming events are handled in order on the loop; each response
streams from its own task so that ``response.cancel`` and barge-in are read while it plays out. ASR
and TTS run in the shared worker pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

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
from qwenvoice.localserver.vad import (
    SileroScorer,
    SpeechPause,
    SpeechStart,
    SpeechStop,
    TurnDetector,
    VadSettings,
)
from qwenvoice.protocol.config import ConfigError, OmniSessionConfig, estimate_tokens
from qwenvoice.protocol.events import (
    ConversationItemCreate,
    ConversationItemCreated,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCleared,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionFailed,
    InputImageBufferAppend,
    ResponseAudioDelta,
    ResponseAudioDone,
    ResponseAudioTranscriptDelta,
    ResponseAudioTranscriptDone,
    ResponseCancel,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreate,
    ResponseCreated,
    ResponseDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseTextDelta,
    ResponseTextDone,
    SessionFinish,
    SessionUpdate,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
)
from qwenvoice.protocol.models import omni_capabilities

log = logging.getLogger(__name__)

INPUT_RATE = 16000
OUTPUT_RATE = 24000
AUDIO_TOKENS_PER_SECOND = 25  # an estimate in the spirit of the cloud's per-second audio billing
OMNI_GAIN = 1.6
FINISH_WAIT_SECONDS = 30.0
MAX_BUFFER_SECONDS = 600
# Fields where an explicit null means something (off); any other null means "leave as it is".
_NULL_MEANS_OFF = {"turn_detection", "input_audio_transcription"}


def _text_tokens(text: str) -> int:
    return estimate_tokens(text) if text else 0


@dataclass
class UserTurn:
    item_id: str
    audio_seconds: float
    transcript: asyncio.Task[str]
    answered: bool = False
    images: int = 0


@dataclass
class ActiveResponse:
    response_id: str
    item_id: str
    modalities: list[str]
    voice: str
    task: asyncio.Task[None] | None = None
    created_sent: bool = False
    spoken: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    finished: bool = False
    first_audio_at: float | None = None  # loop time the first audio delta went out
    reengage: bool = False  # spoken on the model's own after the user stayed silent (idle_timeout_ms)

    @property
    def transcript(self) -> str:
        return " ".join(self.spoken)

    @property
    def has_audio(self) -> bool:
        return "audio" in self.modalities


class OmniSession(ConnectionSession[OmniSessionConfig]):
    def __init__(self, outbox: Outbox, model: str, ctx: ServerContext) -> None:
        super().__init__(outbox, model, ctx, OmniSessionConfig.for_model(model))
        self.conversation_id = new_id("conv")
        self.detector: TurnDetector | None = None
        self._scorer: SileroScorer | None = None
        self.manual_buffer: list[np.ndarray] = []
        self.audio_since_commit = False
        self.images_since_commit = 0
        self.speech_item_id: str | None = None
        self.last_item_id: str | None = None
        self.pending_turn: UserTurn | None = None
        self.response: ActiveResponse | None = None
        self.any_audio_out = False
        # Recognition started at a pause in speech: (samples it covers, its task).
        self._early_asr: tuple[int, asyncio.Task[str]] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle_timer: asyncio.TimerHandle | None = None

    # ---- wire helpers ---------------------------------------------------------------------------

    def wire_session(self) -> dict[str, Any]:
        session = super().wire_session()
        session.setdefault("input_audio_transcription", None)
        session.setdefault("turn_detection", None)
        return session

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- lifecycle ------------------------------------------------------------------------------

    async def opened(self) -> None:
        await self._configure_vad()

    async def shutdown(self) -> None:
        self._disarm_idle()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._scorer is not None:
            self.ctx.vad_pool.release(self._scorer)
            self._scorer = None
        self.detector = None

    # ---- session ---------------------------------------------------------------------------------

    async def on_session_update(self, event: SessionUpdate) -> None:
        merged = self.config.to_session(self.model)
        for key, value in event.session.items():
            if value is None and key not in _NULL_MEANS_OFF:
                continue
            merged[key] = value
        try:
            config = OmniSessionConfig.from_session(merged, self.model)
        except ConfigError as exc:
            await self.out.error(exc.message, code=exc.code, param=exc.param, client_event_id=event.event_id)
            return
        if config.voice != self.config.voice and self.any_audio_out:
            await self.out.error(
                "Voice cannot be changed after audio has been produced.",
                code="cannot_update_voice",
                param="session.voice",
                client_event_id=event.event_id,
            )
            return
        self.config = config
        if self._idle_timeout_s() is None:
            self._disarm_idle()
        await self._configure_vad()
        await self.out.send(SessionUpdated(session=self.wire_session()))

    async def _configure_vad(self) -> None:
        td = self.config.turn_detection
        if td is None:
            self.detector = None
            return
        settings = VadSettings(
            threshold=float(td.threshold),
            silence_duration_ms=int(td.silence_duration_ms),
            prefix_padding_ms=int(td.prefix_padding_ms),
        )
        if self.detector is not None:
            self.detector.configure(settings)
            return
        if self._scorer is None:
            self._scorer = await asyncio.to_thread(self.ctx.vad_pool.acquire)
        else:
            self._scorer.reset()
        self.detector = TurnDetector(settings, self._scorer)

    async def on_session_finish(self, event: SessionFinish) -> None:
        self.finishing = True
        if self.response is not None and self.response.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self.response.task), FINISH_WAIT_SECONDS)
        await self.end_session()

    # ---- input audio -----------------------------------------------------------------------------

    async def on_audio_append(self, event: InputAudioBufferAppend) -> None:
        raw = event.audio
        if len(raw) % 2:
            raw = raw[:-1]
        pcm = np.frombuffer(raw, dtype="<i2")
        if pcm.size == 0:
            return
        self.audio_since_commit = True
        if self.detector is None:
            held = sum(part.size for part in self.manual_buffer)
            if held + pcm.size > MAX_BUFFER_SECONDS * INPUT_RATE:
                await self.out.error(
                    f"The input audio buffer is full ({MAX_BUFFER_SECONDS} s); commit or clear it.",
                    code="input_audio_buffer_full",
                    client_event_id=event.event_id,
                )
                return
            self.manual_buffer.append(pcm.copy())
            return
        for vad_event in self.detector.feed(pcm):
            if isinstance(vad_event, SpeechStart):
                await self._on_speech_started(vad_event)
            elif isinstance(vad_event, SpeechPause):
                self._start_early_asr(vad_event.audio)
            elif isinstance(vad_event, SpeechStop):
                await self._on_speech_stopped(vad_event)

    async def _on_speech_started(self, started: SpeechStart) -> None:
        self._disarm_idle()
        self.speech_item_id = new_id("item")
        await self.out.send(SpeechStarted(audio_start_ms=started.audio_start_ms, item_id=self.speech_item_id))
        td = self.config.turn_detection
        if self.response is not None and td is not None and td.interrupt_response:
            await self.cancel_response("turn_detected")

    def _start_early_asr(self, audio: np.ndarray) -> None:
        self._drop_early_asr()
        if self.ctx.models.transcriber is not None:  # never queue behind a model load
            self._early_asr = (audio.size, self._spawn(self._recognise(audio)))

    def _drop_early_asr(self) -> None:
        if self._early_asr is not None:
            self._early_asr[1].cancel()
            self._early_asr = None

    def _take_early_asr(self, audio: np.ndarray) -> asyncio.Task[str] | None:
        early, self._early_asr = self._early_asr, None
        if early is not None and early[0] == audio.size:
            return early[1]
        if early is not None:
            early[1].cancel()
        return None

    async def _on_speech_stopped(self, stopped: SpeechStop) -> None:
        item_id = self.speech_item_id or new_id("item")
        self.speech_item_id = None
        await self.out.send(SpeechStopped(audio_end_ms=stopped.audio_end_ms, item_id=item_id))
        turn = await self.commit_audio(stopped.audio, item_id, self._take_early_asr(stopped.audio))
        td = self.config.turn_detection
        if td is not None and td.create_response and self.response is None:
            await self.start_response(turn, None, None)

    async def on_audio_commit(self, event: InputAudioBufferCommit) -> None:
        self._disarm_idle()
        if self.detector is not None:
            self._drop_early_asr()
            audio = self.detector.take_speech()
            item_id = self.speech_item_id or new_id("item")
            self.speech_item_id = None
        else:
            audio = np.concatenate(self.manual_buffer) if self.manual_buffer else np.zeros(0, np.int16)
            self.manual_buffer = []
            item_id = new_id("item")
        if audio.size == 0:
            await self.out.error(
                "Error committing input audio buffer: the buffer is empty.",
                code="input_audio_buffer_commit_empty",
                client_event_id=event.event_id,
            )
            return
        await self.commit_audio(audio, item_id)

    async def commit_audio(self, audio: np.ndarray, item_id: str, early: asyncio.Task[str] | None = None) -> UserTurn:
        previous = self.last_item_id
        self.last_item_id = item_id
        self.audio_since_commit = False
        images, self.images_since_commit = self.images_since_commit, 0
        await self.out.send(InputAudioBufferCommitted(item_id=item_id, previous_item_id=previous))
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=previous))
        transcript = self._spawn(self._transcribe(audio, item_id, early))
        turn = UserTurn(item_id=item_id, audio_seconds=audio.size / INPUT_RATE, transcript=transcript, images=images)
        self.pending_turn = turn
        return turn

    async def _recognise(self, audio: np.ndarray) -> str:
        await asyncio.to_thread(self.ctx.models.wait)
        transcriber = self.ctx.models.transcriber
        assert transcriber is not None
        return await asyncio.get_running_loop().run_in_executor(self.ctx.executor, transcriber.transcribe, audio)

    async def _transcribe(self, audio: np.ndarray, item_id: str, early: asyncio.Task[str] | None) -> str:
        try:
            text = await (early if early is not None else self._recognise(audio))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("transcription failed")
            if self.config.input_audio_transcription is not None:
                await self.out.send(
                    InputAudioTranscriptionFailed(
                        item_id=item_id, content_index=0, error={"code": "asr_failed", "message": str(exc)}
                    )
                )
            return ""
        if self.config.input_audio_transcription is not None:
            await self.out.send(InputAudioTranscriptionCompleted(item_id=item_id, content_index=0, transcript=text))
        return text

    async def on_audio_clear(self, event: InputAudioBufferClear) -> None:
        self.manual_buffer = []
        self._drop_early_asr()
        if self.detector is not None:
            self.detector.reset()
        self.speech_item_id = None
        self.audio_since_commit = False
        await self.out.send(InputAudioBufferCleared())

    async def on_image_append(self, event: InputImageBufferAppend) -> None:
        if not self.audio_since_commit:
            await self.out.error(
                "Error append image before append audio.",
                code="invalid_value",
                client_event_id=event.event_id,
            )
            return
        # Accepted for the protocol's sake; the offline mode has no vision, which replies say plainly.
        self.images_since_commit += 1

    async def on_item_create(self, event: ConversationItemCreate) -> None:
        self._disarm_idle()
        item = dict(event.item)
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        previous = self.last_item_id
        self.last_item_id = item["id"]
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=previous))
        if item.get("type") == "message" and item.get("role") == "user":
            texts = [
                part.get("text", "")
                for part in item.get("content") or []
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            ]
            done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            done.set_result(" ".join(texts))
            task = self._spawn(_return(done))
            self.pending_turn = UserTurn(item_id=item["id"], audio_seconds=0.0, transcript=task)

    # ---- responses -------------------------------------------------------------------------------

    async def on_response_create(self, event: ResponseCreate) -> None:
        if self.response is not None:
            await self.out.error(
                "Conversation already has an active response.",
                code="conversation_already_has_active_response",
                client_event_id=event.event_id,
            )
            return
        options = event.response or {}
        instructions = options.get("instructions")
        modalities = options.get("modalities")
        if modalities is not None and (
            not isinstance(modalities, list) or sorted(modalities) not in (["text"], ["audio", "text"])
        ):
            await self.out.error(
                f"Invalid modalities: {modalities!r}. Supported combinations are: ['text'] and ['audio', 'text'].",
                code="invalid_value",
                param="response.modalities",
                client_event_id=event.event_id,
            )
            return
        turn = self.pending_turn if self.pending_turn is not None and not self.pending_turn.answered else None
        await self.start_response(turn, instructions if isinstance(instructions, str) else None, modalities)

    async def start_response(
        self,
        turn: UserTurn | None,
        instructions: str | None,
        modalities: list[str] | None,
        *,
        reengage: bool = False,
    ) -> None:
        self._disarm_idle()
        if turn is not None:
            turn.answered = True
        response = ActiveResponse(
            response_id=new_id("resp"),
            item_id=new_id("item"),
            modalities=list(modalities or self.config.modalities),
            voice=self.config.voice or omni_capabilities(self.model).default_voice,
            reengage=reengage,
        )
        self.response = response
        response.task = self._spawn(self._run_response(response, turn, instructions))

    async def _run_response(self, response: ActiveResponse, turn: UserTurn | None, instructions: str | None) -> None:
        try:
            heard = await asyncio.shield(turn.transcript) if turn is not None else None
            persona = instructions or self.config.instructions
            if response.reengage:
                reply = self.ctx.responder.reengage()
            elif heard is None:
                reply = self.ctx.responder.greeting(persona)
            else:
                reply = self.ctx.responder.reply(heard, persona)
                if turn is not None and turn.images:
                    reply += " I can't see images in offline mode."
            response.input_text_tokens = _text_tokens(persona or "") + _text_tokens(heard or "")
            response.input_audio_tokens = math.ceil((turn.audio_seconds if turn else 0.0) * AUDIO_TOKENS_PER_SECOND)
            await self._send_response_start(response)
            if response.has_audio:
                await self._stream_audio_reply(response, reply)
            else:
                await self._stream_text_reply(response, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("response %s failed", response.response_id)
            await self.out.error(f"The response failed: {exc}", code="response_failed", error_type="server_error")
            if response.created_sent:
                await self.finish_response(response, "failed")
            elif self.response is response:
                self.response = None
            return
        await self.finish_response(response, "completed")
        if not response.reengage:  # one nudge per silence: the user may have walked away
            self._arm_idle(response)

    # ---- idle timeout (turn_detection.idle_timeout_ms) --------------------------------------------

    def _idle_timeout_s(self) -> float | None:
        td = self.config.turn_detection
        if td is None or td.idle_timeout_ms is None:
            return None
        return td.idle_timeout_ms / 1000.0

    def _arm_idle(self, response: ActiveResponse) -> None:
        """Speak again on our own if the user stays silent `idle_timeout_ms` after the reply finished
        playing (estimated: the client plays the audio as it arrives, from the first delta on)."""
        timeout = self._idle_timeout_s()
        if timeout is None or self.finishing:
            return
        loop = asyncio.get_running_loop()
        played_until = loop.time()
        if response.first_audio_at is not None:
            played_until = max(played_until, response.first_audio_at + response.audio_seconds)
        self._disarm_idle()
        self._idle_timer = loop.call_at(played_until + timeout, self._idle_elapsed)

    def _disarm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_elapsed(self) -> None:
        self._idle_timer = None
        speaking = self.detector is not None and self.speech_item_id is not None
        if self.response is None and not speaking and not self.finishing and self._idle_timeout_s() is not None:
            self._spawn(self.start_response(None, None, None, reengage=True))

    async def _send_response_start(self, response: ActiveResponse) -> None:
        response.created_sent = True
        await self.out.send(ResponseCreated(response=self._response_object(response, "in_progress", [])))
        item = self._assistant_item(response, "in_progress", [])
        await self.out.send(ResponseOutputItemAdded(response_id=response.response_id, output_index=0, item=item))
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=self.last_item_id))
        self.last_item_id = response.item_id
        part = {"type": "audio", "text": ""} if response.has_audio else {"type": "text", "text": ""}
        await self.out.send(self._part_event(ResponseContentPartAdded, response, part))

    async def _stream_text_reply(self, response: ActiveResponse, reply: str) -> None:
        for word in reply.split(" "):
            piece = word if not response.spoken else " " + word
            response.spoken.append(word)
            await self.out.send(
                ResponseTextDelta(
                    response_id=response.response_id,
                    item_id=response.item_id,
                    output_index=0,
                    content_index=0,
                    delta=piece,
                )
            )
            await asyncio.sleep(0)

    async def _stream_audio_reply(self, response: ActiveResponse, reply: str) -> None:
        await asyncio.to_thread(self.ctx.models.wait)
        synthesizer = self.ctx.models.synthesizer
        assert synthesizer is not None
        style = SpeechStyle(voice=self.config.voice, language_type="English", volume=OMNI_GAIN)
        loop = asyncio.get_running_loop()
        pacer = Pacer()
        sentences = speaking_pieces(reply)
        next_audio = (
            loop.run_in_executor(self.ctx.executor, synthesizer.synthesize, sentences[0], style, OUTPUT_RATE)
            if sentences
            else None
        )
        for index, sentence in enumerate(sentences):
            assert next_audio is not None
            audio = await next_audio
            # Synthesise the next sentence while this one streams out.
            next_audio = (
                loop.run_in_executor(
                    self.ctx.executor, synthesizer.synthesize, sentences[index + 1], style, OUTPUT_RATE
                )
                if index + 1 < len(sentences)
                else None
            )
            delta = sentence if not response.spoken else " " + sentence
            response.spoken.append(sentence)
            await self.out.send(
                ResponseAudioTranscriptDelta(
                    response_id=response.response_id,
                    item_id=response.item_id,
                    output_index=0,
                    content_index=0,
                    delta=delta,
                )
            )
            for chunk in pcm_chunks(audio, OUTPUT_RATE):
                seconds = len(chunk) / 2 / OUTPUT_RATE
                await pacer.before_sending(seconds)
                sent = await self.out.send(
                    ResponseAudioDelta(
                        response_id=response.response_id,
                        item_id=response.item_id,
                        output_index=0,
                        content_index=0,
                        audio=chunk,
                    )
                )
                if not sent:
                    return
                self.any_audio_out = True
                if response.first_audio_at is None:
                    response.first_audio_at = loop.time()
                response.audio_seconds += seconds

    async def cancel_response(self, reason: str) -> bool:
        response = self.response
        if response is None:
            return False
        if response.task is not None and not response.task.done():
            response.task.cancel()
            with contextlib.suppress(BaseException):
                await response.task
        if response.created_sent:
            await self.finish_response(response, "cancelled", reason)
        elif self.response is response:
            self.response = None
        return True

    async def on_response_cancel(self, event: ResponseCancel) -> None:
        if not await self.cancel_response("client_cancelled"):
            await self.out.error(
                "There is no active response to cancel.",
                code="response_cancel_not_active",
                client_event_id=event.event_id,
            )

    async def finish_response(self, response: ActiveResponse, status: str, reason: str | None = None) -> None:
        if response.finished:
            return
        response.finished = True
        if self.response is response:
            self.response = None
        transcript = response.transcript
        ids: dict[str, Any] = {
            "response_id": response.response_id,
            "item_id": response.item_id,
            "output_index": 0,
            "content_index": 0,
        }
        if response.has_audio:
            await self.out.send(ResponseAudioTranscriptDone(**ids, transcript=transcript))
            await self.out.send(ResponseAudioDone(**ids))
            part = {"type": "audio", "text": transcript}
            content = [{"type": "audio", "transcript": transcript}]
        else:
            await self.out.send(ResponseTextDone(**ids, text=transcript))
            part = {"type": "text", "text": transcript}
            content = [{"type": "text", "text": transcript}]
        await self.out.send(self._part_event(ResponseContentPartDone, response, part))
        item_status = "completed" if status == "completed" else "incomplete"
        item = self._assistant_item(response, item_status, content)
        await self.out.send(ResponseOutputItemDone(response_id=response.response_id, output_index=0, item=item))
        body = self._response_object(response, status, [item])
        if reason is not None:
            body["status_details"] = {"type": status, "reason": reason}
        body["usage"] = self._usage(response)
        await self.out.send(ResponseDone(response=body))

    def _usage(self, response: ActiveResponse) -> dict[str, Any]:
        output_text = _text_tokens(response.transcript)
        output_audio = math.ceil(response.audio_seconds * AUDIO_TOKENS_PER_SECOND)
        input_total = response.input_text_tokens + response.input_audio_tokens
        return {
            "total_tokens": input_total + output_text + output_audio,
            "input_tokens": input_total,
            "output_tokens": output_text + output_audio,
            "input_tokens_details": {
                "text_tokens": response.input_text_tokens,
                "audio_tokens": response.input_audio_tokens,
            },
            "output_tokens_details": {"text_tokens": output_text, "audio_tokens": output_audio},
        }

    def _response_object(self, response: ActiveResponse, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": response.response_id,
            "object": "realtime.response",
            "conversation_id": self.conversation_id,
            "status": status,
            "modalities": list(response.modalities),
            "voice": response.voice,
            "output_audio_format": "pcm24",
            "output": output,
        }

    def _assistant_item(self, response: ActiveResponse, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": response.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    @staticmethod
    def _part_event(cls: Any, response: ActiveResponse, part: dict[str, Any]) -> Any:
        return cls(
            response_id=response.response_id, item_id=response.item_id, output_index=0, content_index=0, part=part
        )

    _handlers: ClassVar[dict[type, EventHandler]] = {
        SessionUpdate: on_session_update,
        SessionFinish: on_session_finish,
        InputAudioBufferAppend: on_audio_append,
        InputAudioBufferCommit: on_audio_commit,
        InputAudioBufferClear: on_audio_clear,
        InputImageBufferAppend: on_image_append,
        ConversationItemCreate: on_item_create,
        ResponseCreate: on_response_create,
        ResponseCancel: on_response_cancel,
    }


async def _return(future: asyncio.Future[str]) -> str:
    return await future
