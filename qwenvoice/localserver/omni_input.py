"""The user's side of an offline Omni session: the input audio buffer, server VAD turns, commits and
their recognition, and the images that go with a turn.

``OmniSession`` owns one ``InputTurns``; it reaches the rest of the session (the outbox, the config,
responses, the idle timer) through that session.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qwenvoice.localserver.common import new_id
from qwenvoice.localserver.vad import (
    SileroScorer,
    SpeechPause,
    SpeechStart,
    SpeechStop,
    TurnDetector,
    VadSettings,
)
from qwenvoice.protocol.events import (
    ConversationItemCreated,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCleared,
    InputAudioBufferCommit,
    InputAudioBufferCommitted,
    InputAudioTranscriptionCompleted,
    InputAudioTranscriptionFailed,
    InputImageBufferAppend,
    SpeechStarted,
    SpeechStopped,
)

if TYPE_CHECKING:
    from qwenvoice.localserver.omni import OmniSession

log = logging.getLogger(__name__)

INPUT_RATE = 16000
MAX_BUFFER_SECONDS = 600
SCORE_SLICE = INPUT_RATE  # samples scored between two chances for other sessions to run


@dataclass
class UserTurn:
    item_id: str
    audio_seconds: float
    transcript: asyncio.Task[str]
    answered: bool = False
    images: int = 0


class InputTurns:
    def __init__(self, session: OmniSession) -> None:
        self.session = session
        self.out = session.out
        self.ctx = session.ctx
        self.detector: TurnDetector | None = None
        # Voice activity detection is on with these settings; its detector (and the ~10 MB model it
        # scores with) is made on the first audio, so sessions that never speak hold none.
        self.vad_settings: VadSettings | None = None
        self._scorer: SileroScorer | None = None
        self.manual_buffer: list[np.ndarray] = []
        self.audio_since_commit = False
        self.images_since_commit = 0
        self.speech_item_id: str | None = None
        # Recognition started at a pause in speech: (samples it covers, its task).
        self._early_asr: tuple[int, asyncio.Task[str]] | None = None

    @property
    def speaking(self) -> bool:
        return self.vad_settings is not None and self.speech_item_id is not None

    # ---- turn detection (session.turn_detection) -------------------------------------------------

    async def configure_vad(self) -> None:
        td = self.session.config.turn_detection
        if td is None:
            self.vad_settings = None
            self.detector = None
            return
        self.vad_settings = VadSettings(
            threshold=float(td.threshold),
            silence_duration_ms=int(td.silence_duration_ms),
            prefix_padding_ms=int(td.prefix_padding_ms),
        )
        if self.detector is not None:
            self.detector.configure(self.vad_settings)

    async def _detector(self, settings: VadSettings) -> TurnDetector:
        if self.detector is None:
            if self._scorer is None:
                self._scorer = await asyncio.to_thread(self.ctx.vad_pool.acquire)
            else:
                self._scorer.reset()
            self.detector = TurnDetector(settings, self._scorer, self.ctx.limits.max_turn_seconds)
        return self.detector

    def release(self) -> None:
        """Give the VAD scorer back to the pool; the session's tasks are already stopped."""
        if self._scorer is not None:
            self.ctx.vad_pool.release(self._scorer)
            self._scorer = None
        self.detector = None

    # ---- input audio -----------------------------------------------------------------------------

    async def on_audio_append(self, event: InputAudioBufferAppend) -> None:
        raw = event.audio
        limit = self.ctx.limits.max_append_bytes
        if len(raw) > limit:
            await self.out.error(
                f"The audio in one append is too large ({len(raw)} bytes; at most {limit}): send it in "
                "smaller chunks.",
                code="invalid_value",
                param="audio",
                client_event_id=event.event_id,
            )
            return
        if len(raw) % 2:
            raw = raw[:-1]
        pcm = np.frombuffer(raw, dtype="<i2")
        if pcm.size == 0:
            return
        self.audio_since_commit = True
        if self.vad_settings is None:
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
        detector = await self._detector(self.vad_settings)
        for start in range(0, pcm.size, SCORE_SLICE):
            if start:
                await asyncio.sleep(0)  # a long append is scored in slices: other sessions go on meanwhile
            for vad_event in detector.feed(pcm[start : start + SCORE_SLICE]):
                if isinstance(vad_event, SpeechStart):
                    await self._on_speech_started(vad_event)
                elif isinstance(vad_event, SpeechPause):
                    self._start_early_asr(vad_event.audio)
                elif isinstance(vad_event, SpeechStop):
                    await self._on_speech_stopped(vad_event)

    async def _on_speech_started(self, started: SpeechStart) -> None:
        self.session.disarm_idle()
        self.speech_item_id = new_id("item")
        await self.out.send(SpeechStarted(audio_start_ms=started.audio_start_ms, item_id=self.speech_item_id))
        td = self.session.config.turn_detection
        if self.session.responses.active is not None and td is not None and td.interrupt_response:
            await self.session.responses.cancel("turn_detected")

    def _start_early_asr(self, audio: np.ndarray) -> None:
        self._drop_early_asr()
        if self.ctx.models.transcriber is not None:  # never queue behind a model load
            self._early_asr = (audio.size, self.session.spawn(self._recognise(audio)))

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
        td = self.session.config.turn_detection
        if td is not None and td.create_response and self.session.responses.active is None:
            await self.session.responses.start(turn, None, None)

    async def on_audio_commit(self, event: InputAudioBufferCommit) -> None:
        self.session.disarm_idle()
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
        previous = self.session.last_item_id
        self.session.last_item_id = item_id
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
        transcript = self.session.spawn(self._transcribe(audio, item_id, early))
        turn = UserTurn(item_id=item_id, audio_seconds=audio.size / INPUT_RATE, transcript=transcript, images=images)
        self.session.pending_turn = turn
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
            if self.session.config.input_audio_transcription is not None:
                await self.out.send(
                    InputAudioTranscriptionFailed(
                        item_id=item_id, content_index=0, error={"code": "asr_failed", "message": str(exc)}
                    )
                )
            return ""
        if self.session.config.input_audio_transcription is not None:
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
