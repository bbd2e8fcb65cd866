"""The model's side of an offline Omni session: responses, from ``response.create`` (or a VAD turn)
through the streamed text or speech to ``response.done`` with its usage, and their cancellation.

``OmniSession`` owns one ``Responses``; it reaches the rest of the session (the outbox, the config, the
conversation's last item, the idle timer) through that session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwenvoice.localserver.common import Pacer, new_id, pcm_chunks
from qwenvoice.localserver.omni_input import UserTurn
from qwenvoice.localserver.speech import SpeechStyle, speaking_pieces
from qwenvoice.localserver.tool_planner import PlannedCall, answer_with, plan_call
from qwenvoice.protocol.config import estimate_tokens
from qwenvoice.protocol.events import (
    ConversationItemCreated,
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
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseTextDelta,
    ResponseTextDone,
)
from qwenvoice.protocol.models import omni_capabilities

if TYPE_CHECKING:
    from qwenvoice.localserver.omni import OmniSession

log = logging.getLogger(__name__)

OUTPUT_RATE = 24000
# Audio is billed by its length. Documented: qwen-omni-turbo-realtime 25 tokens per second, at least
# one second (reference/protocol.md e.1). Qwen3-Omni (and its 3.5/3.8 successors) codes audio at
# 12.5 Hz, one token per 80 ms (its technical report); the service publishes no other rate for them.
TURBO_AUDIO_TOKENS_PER_SECOND = 25.0
AUDIO_TOKENS_PER_SECOND = 12.5


def audio_tokens(model: str, seconds: float) -> int:
    """The audio tokens the model being imitated counts for ``seconds`` of audio (0 for none)."""
    if seconds <= 0:
        return 0
    if model.startswith("qwen-omni-turbo"):
        return math.ceil(max(seconds, 1.0) * TURBO_AUDIO_TOKENS_PER_SECOND)
    return math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
OMNI_GAIN = 1.6


def _text_tokens(text: str) -> int:
    return estimate_tokens(text) if text else 0


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
    call: PlannedCall | None = None  # a function_call response (no audio): the call it makes
    call_id: str = ""

    @property
    def transcript(self) -> str:
        return " ".join(self.spoken)

    @property
    def has_audio(self) -> bool:
        return "audio" in self.modalities


class Responses:
    def __init__(self, session: OmniSession) -> None:
        self.session = session
        self.out = session.out
        self.ctx = session.ctx
        self.active: ActiveResponse | None = None
        self.any_audio_out = False

    async def on_response_create(self, event: ResponseCreate) -> None:
        if self.active is not None:
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
        pending = self.session.pending_turn
        turn = pending if pending is not None and not pending.answered else None
        await self.start(turn, instructions if isinstance(instructions, str) else None, modalities)

    async def start(
        self,
        turn: UserTurn | None,
        instructions: str | None,
        modalities: list[str] | None,
        *,
        reengage: bool = False,
    ) -> None:
        self.session.disarm_idle()
        if turn is not None:
            turn.answered = True
        response = ActiveResponse(
            response_id=new_id("resp"),
            item_id=new_id("item"),
            modalities=list(modalities or self.session.config.modalities),
            voice=self.session.config.voice or omni_capabilities(self.session.model).default_voice,
            reengage=reengage,
        )
        self.active = response
        response.task = self.session.spawn(self._run_response(response, turn, instructions))

    async def _run_response(self, response: ActiveResponse, turn: UserTurn | None, instructions: str | None) -> None:
        try:
            heard = await asyncio.shield(turn.transcript) if turn is not None else None
            persona = instructions or self.session.config.instructions
            outputs = self.session.take_tool_outputs()
            call = plan_call(heard, self.session.config.tools) if heard and self.session.config.tools else None
            if call is not None and not outputs:
                response.input_text_tokens = _text_tokens(persona or "") + _text_tokens(heard or "")
                response.input_audio_tokens = audio_tokens(self.session.model, turn.audio_seconds if turn else 0.0)
                await self._call_function(response, call)
                await self.finish(response, "completed")
                return
            if outputs:
                reply = " ".join(answer_with(name, output) for name, output in outputs)
            elif response.reengage:
                reply = self.ctx.responder.reengage()
            elif heard is None:
                reply = self.ctx.responder.greeting(persona)
            else:
                reply = self.ctx.responder.reply(heard, persona)
                if turn is not None and turn.images:
                    reply += " I can't see images in offline mode."
            response.input_text_tokens = _text_tokens(persona or "") + _text_tokens(heard or "")
            response.input_audio_tokens = audio_tokens(self.session.model, turn.audio_seconds if turn else 0.0)
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
                await self.finish(response, "failed")
            elif self.active is response:
                self.active = None
            return
        await self.finish(response, "completed")
        if not response.reengage:  # one nudge per silence: the user may have walked away
            self.session.arm_idle(response)

    async def _send_response_start(self, response: ActiveResponse) -> None:
        response.created_sent = True
        await self.out.send(ResponseCreated(response=self._response_object(response, "in_progress", [])))
        item = self._assistant_item(response, "in_progress", [])
        await self.out.send(ResponseOutputItemAdded(response_id=response.response_id, output_index=0, item=item))
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=self.session.last_item_id))
        self.session.last_item_id = response.item_id
        part = {"type": "audio", "text": ""} if response.has_audio else {"type": "text", "text": ""}
        await self.out.send(self._part_event(ResponseContentPartAdded, response, part))

    async def _call_function(self, response: ActiveResponse, call: PlannedCall) -> None:
        """The documented function-call response: the item, its arguments in deltas, then .done."""
        response.call = call
        response.call_id = new_id("call")
        self.session.calls_made[response.call_id] = call.name
        response.created_sent = True
        await self.out.send(ResponseCreated(response=self._response_object(response, "in_progress", [])))
        item = self._call_item(response, "in_progress", "")
        await self.out.send(ResponseOutputItemAdded(response_id=response.response_id, output_index=0, item=item))
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=self.session.last_item_id))
        self.session.last_item_id = response.item_id
        arguments = call.arguments_json
        for start in range(0, len(arguments), 8):
            await self.out.send(ResponseFunctionCallArgumentsDelta(
                response_id=response.response_id, item_id=response.item_id, output_index=0,
                call_id=response.call_id, delta=arguments[start : start + 8]))
            await asyncio.sleep(0)
        await self.out.send(ResponseFunctionCallArgumentsDone(
            response_id=response.response_id, item_id=response.item_id, output_index=0, call_id=response.call_id,
            name=call.name, arguments=arguments))

    def _call_item(self, response: ActiveResponse, status: str, arguments: str) -> dict[str, Any]:
        assert response.call is not None
        return {"id": response.item_id, "object": "realtime.item", "type": "function_call", "status": status,
                "name": response.call.name, "call_id": response.call_id, "arguments": arguments}

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
        style = SpeechStyle(voice=self.session.config.voice, language_type="English", volume=OMNI_GAIN)
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

    async def cancel(self, reason: str) -> bool:
        response = self.active
        if response is None:
            return False
        if response.task is not None and not response.task.done():
            response.task.cancel()
            with contextlib.suppress(BaseException):
                await response.task
        if response.created_sent:
            await self.finish(response, "cancelled", reason)
        elif self.active is response:
            self.active = None
        return True

    async def on_response_cancel(self, event: ResponseCancel) -> None:
        if not await self.cancel("client_cancelled"):
            await self.out.error(
                "There is no active response to cancel.",
                code="response_cancel_not_active",
                client_event_id=event.event_id,
            )

    async def finish(self, response: ActiveResponse, status: str, reason: str | None = None) -> None:
        if response.finished:
            return
        response.finished = True
        if self.active is response:
            self.active = None
        if response.call is not None:
            item = self._call_item(response, "completed" if status == "completed" else "incomplete",
                                   response.call.arguments_json)
            await self.out.send(ResponseOutputItemDone(response_id=response.response_id, output_index=0, item=item))
            body = self._response_object(response, status, [item])
            if reason is not None:
                body["status_details"] = {"type": status, "reason": reason}
            body["usage"] = self._usage(response)
            await self.out.send(ResponseDone(response=body))
            return
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
        output_audio = audio_tokens(self.session.model, response.audio_seconds)
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
            "conversation_id": self.session.conversation_id,
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
