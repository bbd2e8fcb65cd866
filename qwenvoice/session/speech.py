"""``SpeechSession``: one Qwen-TTS-Realtime job, without Qt.

The protocol is the sans-I/O ``TtsSession``'s: it builds the client events and turns the server's into
notifications; this moves them between it, the socket and whoever plays or keeps the audio. The speech
studio, the settings panel's voice preview and ``qwenvoice speak`` all run their text through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qwenvoice.audio.decode import ENCODED_FORMATS, FILE_SUFFIX, StreamDecoder, make_decoder
from qwenvoice.audio.wav import split_wav_header, write_wav
from qwenvoice.net.backoff import NO_RECONNECT
from qwenvoice.net.client import ConnectionStatus, ConnectOptions, RealtimeClient
from qwenvoice.protocol import events as ev
from qwenvoice.protocol import notifications as nt
from qwenvoice.protocol.config import TtsSessionConfig
from qwenvoice.protocol.tts import TtsSession
from qwenvoice.protocol.tts_text import text_chunks
from qwenvoice.session.eventlog import IN, OUT, EventLog, redact_error
from qwenvoice.session.reports import SpeechListener

log = logging.getLogger(__name__)

# Seconds without any server event before a job gives up.
IDLE_TIMEOUT_S = 60.0

# (response_id, item_id, pcm, sample rate): audio as it streams in, decoded to 16-bit mono PCM.
AudioOut = Callable[[str, str, bytes, int], None]


@dataclass
class SpeechResult:
    pcm: bytearray = field(default_factory=bytearray)
    rate: int = 24000
    first_audio_ms: float | None = None
    responses: int = 0
    finished: bool = False  # the server closed the session after the last audio
    error: ev.ErrorDetail | None = None  # the server's error event, if any
    lost: ConnectionStatus | None = None  # the connection ended before the job did
    timed_out: bool = False
    response_ids: set[str] = field(default_factory=set)
    response_format: str = "pcm"  # what the server was asked to send
    encoded: bytearray = field(default_factory=bytearray)  # mp3/opus: the bytes as the server sent them
    usage: ev.Usage = field(default_factory=ev.Usage)  # what the server reported (TTS: characters)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate

    @property
    def file_suffix(self) -> str:
        """The extension of the file ``save`` writes: .mp3, .opus, or .wav (for pcm and wav)."""
        return FILE_SUFFIX.get(self.response_format, ".wav")

    def save(self, path: Path) -> None:
        """Compressed audio as the server sent it; PCM and WAV as one WAV file of the samples (the server
        repeats the WAV header in each response, so its bytes joined would not make one file)."""
        if self.response_format in ENCODED_FORMATS:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(self.encoded))
        else:
            write_wav(path, bytes(self.pcm), self.rate)

    @property
    def failure(self) -> str:
        """What went wrong, for the user; "" when the job went through."""
        if self.error is not None:
            return self.error.message or self.error.code or "the server reported an error"
        if self.lost is not None and (self.lost.state.value == "failed" or not self.pcm):
            return self.lost.error.message if self.lost.error else self.lost.reason
        if self.timed_out:
            return f"no answer from the server for {IDLE_TIMEOUT_S:.0f} s"
        if not self.pcm:
            # The service's only sure sign of success is audio: it may finish (or close) a session it
            # could not synthesise for, e.g. an unknown model, without saying why.
            return "the server sent no audio" + (" and finished the session" if self.finished else "")
        return ""


class SpeechSession:
    """Synthesise text with ``config`` and stream the audio to ``on_audio``: ``connect`` then ``run``."""

    def __init__(self, model: str, config: TtsSessionConfig, *,
                 listener: SpeechListener, on_audio: AudioOut | None = None,
                 on_audio_done: Callable[[str], None] | None = None, eventlog: EventLog | None = None,
                 idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.machine = TtsSession(model)
        self.update = self._configure(config)  # validates (ConfigError) before anything connects
        self.config = config
        self.model = model
        self.listener = listener
        self.on_audio = on_audio
        self.on_audio_done = on_audio_done
        self.eventlog = eventlog
        self.idle_timeout = idle_timeout
        self.result = SpeechResult(rate=config.sample_rate, response_format=config.response_format)
        self.client: RealtimeClient | None = None
        self._decoders: dict[str, StreamDecoder] = {}  # per response: mp3/opus to PCM for on_audio

    def _configure(self, config: TtsSessionConfig) -> ev.SessionUpdate:
        update = self.machine.configure(config)[0]
        assert isinstance(update, ev.SessionUpdate)
        return update

    async def connect(self, url: str, api_key: str | None) -> None:
        """Open the session (raises EndpointError or FatalConnectionError); no reconnect: a new socket
        would be a new session, and the service has no resumption."""
        update = self.update
        self.client = RealtimeClient(url, api_key, model=self.model, session_update=lambda: update,
                                     policy=NO_RECONNECT, options=ConnectOptions())
        await self.client.start()
        if self.eventlog is not None:
            self.eventlog.add_event(OUT, update)  # the client sent it on connecting: show it too

    def _send(self, events: list[ev.ClientEvent]) -> None:
        assert self.client is not None
        for event in events:
            if self.eventlog is not None:
                self.eventlog.add_event(OUT, event)
            self.client.send(event)

    async def _send_text(self, segments: list[str], words_per_chunk: int | None, pace_s: float,
                         started: list[float]) -> None:
        commit_mode = self.config.mode == "commit"
        for segment in segments:
            pieces = text_chunks(segment, words_per_chunk) if words_per_chunk else [segment]
            if not commit_mode and not words_per_chunk:
                pieces = [segment + " "]  # the server decides where to cut
            for piece in pieces:
                if not started:
                    started.append(time.perf_counter())
                self._send(self.machine.append_text(piece))
                if pace_s > 0 and words_per_chunk:
                    await asyncio.sleep(pace_s)
            if commit_mode and self.machine.has_uncommitted_text:
                self._send(self.machine.commit())  # one response per segment
        self._send(self.machine.finish())

    async def run(self, segments: list[str], *, words_per_chunk: int | None = None,
                  pace_s: float = 0.0) -> SpeechResult:
        """Send the text (in word chunks, paced, when asked) and take the audio until the session ends."""
        if self.client is None:
            raise RuntimeError("connect() first")
        expected, done = max(1, len(segments)), 0
        self.listener.speech_progress(0, expected)
        started: list[float] = []
        sender = asyncio.create_task(self._send_text(segments, words_per_chunk, pace_s, started),
                                     name="qwenvoice-speech-sender")
        result = self.result
        wav = self.config.response_format == "wav"
        try:
            items = self.client.incoming()
            while not result.finished and result.error is None:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        item = await anext(items)
                except TimeoutError:
                    result.timed_out = True
                    break
                except StopAsyncIteration:
                    break
                if isinstance(item, ConnectionStatus):
                    if item.terminal:
                        self.machine.connection_lost()
                        result.lost = item
                        break
                    continue
                if self.eventlog is not None:
                    self.eventlog.add_event(IN, item)
                for note in self.machine.receive(item):
                    if isinstance(note, nt.ResponseStarted):
                        result.response_ids.add(note.response_id)
                    elif isinstance(note, nt.AudioChunk):
                        self._audio(note, wav, started)
                    elif isinstance(note, nt.AudioDone):
                        self._end_decoding(note.response_id, note.item_id or "tts")
                        if self.on_audio_done is not None:
                            self.on_audio_done(note.response_id)
                    elif isinstance(note, nt.ResponseFinished) and not note.interrupted:
                        self._end_decoding(note.response_id, "tts")  # when no audio.done came
                        if note.usage is not None:
                            result.usage = result.usage + note.usage
                        result.responses += 1
                        done += 1
                        expected = max(expected, done)
                        self.listener.speech_progress(done, expected)
                    elif isinstance(note, nt.ProtocolErrorNotice) and note.error.type != "malformed_event":
                        # A malformed frame is counted by the client, not an answer.
                        result.error = redact_error(note.error)
                    elif isinstance(note, nt.SendEvents):
                        self._send(note.events)
                    elif isinstance(note, nt.SessionClosed):
                        result.finished = True
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            await self.close()
        self.listener.speech_progress(expected if not result.failure else done, expected)
        return result

    def _audio(self, note: nt.AudioChunk, wav: bool, started: list[float]) -> None:
        result = self.result
        data = note.pcm  # the delta's bytes in the session's response_format
        result.response_ids.add(note.response_id)
        if result.first_audio_ms is None and started and data:
            result.first_audio_ms = (time.perf_counter() - started[0]) * 1000.0
        if result.response_format in ENCODED_FORMATS:
            result.encoded += data
            decoder = self._decoders.get(note.response_id)
            if decoder is None:
                decoder = make_decoder(result.response_format, result.rate)
                assert decoder is not None
                self._decoders[note.response_id] = decoder
            data = decoder.feed(data)
        elif wav:
            data, header_rate = split_wav_header(data)
            if header_rate:
                result.rate = header_rate
        self._pcm(note.response_id, note.item_id or "tts", data)

    def _pcm(self, response_id: str, item_id: str, data: bytes) -> None:
        self.result.pcm += data
        if self.on_audio is not None and data:
            self.on_audio(response_id, item_id, data, self.result.rate)

    def _end_decoding(self, response_id: str, item_id: str) -> None:
        """A response's audio is complete: what its decoder still holds is played too."""
        decoder = self._decoders.pop(response_id, None)
        if decoder is not None:
            self._pcm(response_id, item_id, decoder.end())

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
