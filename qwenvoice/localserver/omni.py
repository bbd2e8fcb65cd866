"""The Qwen-Omni-Realtime protocol, served offline: VAD or manual turns, ASR, rule-based replies, TTS.

One ``OmniSession`` per connection. Incoming events are handled in order on the loop; each response
streams from its own task so that ``response.cancel`` and barge-in are read while it plays out. ASR
and TTS run in the shared worker pool.

The session keeps what both sides of the conversation share (config, the last item, the pending user
turn, its tasks, the idle timer); the user's side lives in ``omni_input.InputTurns`` and the model's
side in ``omni_response.Responses``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from qwenvoice.localserver.common import (
    ConnectionSession,
    EventHandler,
    Outbox,
    ServerContext,
    new_id,
)
from qwenvoice.localserver.omni_input import InputTurns, UserTurn
from qwenvoice.localserver.omni_response import ActiveResponse, Responses
from qwenvoice.protocol.config import ConfigError, OmniSessionConfig
from qwenvoice.protocol.events import (
    ConversationItemCreate,
    ConversationItemCreated,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    InputImageBufferAppend,
    ResponseCancel,
    ResponseCreate,
    SessionFinish,
    SessionUpdate,
    SessionUpdated,
)

FINISH_WAIT_SECONDS = 30.0
# Fields where an explicit null means something (off); any other null means "leave as it is".
_NULL_MEANS_OFF = {"turn_detection", "input_audio_transcription"}

_T = TypeVar("_T")


class OmniSession(ConnectionSession[OmniSessionConfig]):
    def __init__(self, outbox: Outbox, model: str, ctx: ServerContext) -> None:
        super().__init__(outbox, model, ctx, OmniSessionConfig.for_model(model))
        self.conversation_id = new_id("conv")
        self.last_item_id: str | None = None
        self.pending_turn: UserTurn | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle_timer: asyncio.TimerHandle | None = None
        self.input = InputTurns(self)
        self.responses = Responses(self)
        self.calls_made: dict[str, str] = {}  # call_id -> the tool's name, of the function calls made
        self._tool_outputs: list[tuple[str, str]] = []  # (tool name, output) not yet answered

    # ---- wire helpers ---------------------------------------------------------------------------

    def wire_session(self) -> dict[str, Any]:
        session = super().wire_session()
        session.setdefault("input_audio_transcription", None)
        session.setdefault("turn_detection", None)
        return session

    def spawn(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- lifecycle ------------------------------------------------------------------------------

    async def opened(self) -> None:
        await self.input.configure_vad()

    async def shutdown(self) -> None:
        self.disarm_idle()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        self.input.release()

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
        if config.voice != self.config.voice and self.responses.any_audio_out:
            await self.out.error(
                "Voice cannot be changed after audio has been produced.",
                code="cannot_update_voice",
                param="session.voice",
                client_event_id=event.event_id,
            )
            return
        self.config = config
        if self._idle_timeout_s() is None:
            self.disarm_idle()
        await self.input.configure_vad()
        await self.out.send(SessionUpdated(session=self.wire_session()))

    async def on_session_finish(self, event: SessionFinish) -> None:
        self.finishing = True
        response = self.responses.active
        if response is not None and response.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(response.task), FINISH_WAIT_SECONDS)
        await self.end_session()

    # ---- conversation items ----------------------------------------------------------------------

    async def on_item_create(self, event: ConversationItemCreate) -> None:
        self.disarm_idle()
        item = dict(event.item)
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        previous = self.last_item_id
        self.last_item_id = item["id"]
        await self.out.send(ConversationItemCreated(item=item, previous_item_id=previous))
        if item.get("type") == "function_call_output":
            call_id = item.get("call_id")
            name = self.calls_made.get(call_id, "the tool") if isinstance(call_id, str) else "the tool"
            output = item.get("output")
            self._tool_outputs.append((name, output if isinstance(output, str) else json.dumps(output)))
        if item.get("type") == "message" and item.get("role") == "user":
            texts = [
                part.get("text", "")
                for part in item.get("content") or []
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            ]
            done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            done.set_result(" ".join(texts))
            task = self.spawn(_return(done))
            self.pending_turn = UserTurn(item_id=item["id"], audio_seconds=0.0, transcript=task)

    def take_tool_outputs(self) -> list[tuple[str, str]]:
        """The function outputs the next response answers with (then they are answered)."""
        outputs, self._tool_outputs = self._tool_outputs, []
        return outputs

    # ---- idle timeout (turn_detection.idle_timeout_ms) --------------------------------------------

    def _idle_timeout_s(self) -> float | None:
        td = self.config.turn_detection
        if td is None or td.idle_timeout_ms is None:
            return None
        return td.idle_timeout_ms / 1000.0

    def arm_idle(self, response: ActiveResponse) -> None:
        """Speak again on our own if the user stays silent `idle_timeout_ms` after the reply finished
        playing (estimated: the client plays the audio as it arrives, from the first delta on)."""
        timeout = self._idle_timeout_s()
        if timeout is None or self.finishing:
            return
        loop = asyncio.get_running_loop()
        played_until = loop.time()
        if response.first_audio_at is not None:
            played_until = max(played_until, response.first_audio_at + response.audio_seconds)
        self.disarm_idle()
        self._idle_timer = loop.call_at(played_until + timeout, self._idle_elapsed)

    def disarm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_elapsed(self) -> None:
        self._idle_timer = None
        speaking = self.input.speaking
        if self.responses.active is None and not speaking and not self.finishing and self._idle_timeout_s() is not None:
            self.spawn(self.responses.start(None, None, None, reengage=True))

    # ---- event table -----------------------------------------------------------------------------

    async def on_audio_append(self, event: InputAudioBufferAppend) -> None:
        await self.input.on_audio_append(event)

    async def on_audio_commit(self, event: InputAudioBufferCommit) -> None:
        await self.input.on_audio_commit(event)

    async def on_audio_clear(self, event: InputAudioBufferClear) -> None:
        await self.input.on_audio_clear(event)

    async def on_image_append(self, event: InputImageBufferAppend) -> None:
        await self.input.on_image_append(event)

    async def on_response_create(self, event: ResponseCreate) -> None:
        await self.responses.on_response_create(event)

    async def on_response_cancel(self, event: ResponseCancel) -> None:
        await self.responses.on_response_cancel(event)

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
