"""``qwenvoice ask``: one Qwen-Omni-Realtime turn from the shell.

The question comes from a WAV file (any rate, 16-bit) or the microphone, paced at real time
(``QWENVOICE_ASK_PACE`` scales it); the server's VAD ends the turn, or ``--manual`` commits it. Both
transcripts are printed as they stream, and the reply is written to ``--out`` and played with
``--play``. Exit codes are in ``qwenvoice.commands.common``. No reconnect here: a one-shot command
cannot resume a reply, the service has no session resumption.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qwenvoice.audio.wav import write_wav
from qwenvoice.commands.common import (
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_SERVER_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CommandError,
    PcmSink,
    PcmSource,
    Target,
    close_target,
    config_error_text,
    env_float,
    error_text,
    fatal_exit_code,
    loss_reason,
    open_microphone,
    open_player,
    open_target,
    run_command,
    saved_connection,
)
from qwenvoice.net.backoff import NO_RECONNECT
from qwenvoice.net.client import ConnectionState, ConnectionStatus, ConnectOptions, RealtimeClient
from qwenvoice.net.endpoints import EndpointError
from qwenvoice.net.errors import FatalConnectionError
from qwenvoice.protocol.config import ConfigError, OmniSessionConfig
from qwenvoice.protocol.events import ClientEvent, SessionUpdate
from qwenvoice.protocol.models import OMNI_INPUT_RATE, OMNI_OUTPUT_RATE
from qwenvoice.protocol.notifications import (
    AudioChunk,
    Notification,
    ProtocolErrorNotice,
    ResponseFinished,
    ResponseStarted,
    SendEvents,
    SessionConfigured,
    TranscriptDelta,
    TurnCommitted,
)
from qwenvoice.protocol.omni import OmniConversation

ASK_CHUNK_MS = 40
def read_wav_16k_mono(path: str | Path) -> bytes:
    """Any-rate, any-channel 16-bit PCM WAV -> 16 kHz mono int16 bytes."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise CommandError(f"cannot read --wav {path}: {exc}", EXIT_USAGE) from None
    if width != 2:
        raise CommandError(f"--wav {path}: only 16-bit PCM WAV is supported (got {8 * width}-bit)", EXIT_USAGE)
    samples = np.frombuffer(frames[: len(frames) // (2 * channels) * 2 * channels], dtype="<i2")
    mono = samples.reshape(-1, channels).astype(np.float32).mean(axis=1) / 32768.0
    if rate != OMNI_INPUT_RATE and mono.size:
        import soxr

        mono = soxr.resample(mono, rate, OMNI_INPUT_RATE, quality="HQ")
    return bytes((np.clip(mono, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes())


def omni_config(args: argparse.Namespace) -> OmniSessionConfig:
    options: dict[str, Any] = {}
    if args.voice:
        options["voice"] = args.voice
    if args.instructions:
        options["instructions"] = args.instructions
    if args.manual:
        options["turn_detection"] = None
    return OmniSessionConfig(**options)


@dataclass
class AskState:
    reply_pcm: bytearray = field(default_factory=bytearray)
    assistant_text: str = ""
    assistant_line_open: bool = False
    response_active: bool = False
    response_done: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    turn_committed: asyncio.Event = field(default_factory=asyncio.Event)


async def ask(args: argparse.Namespace) -> int:
    saved = saved_connection()
    model = args.model or saved.omni_model
    conversation = OmniConversation(model)
    try:
        (update,) = conversation.configure(omni_config(args))  # validates before anything connects
    except ConfigError as exc:
        raise CommandError(config_error_text(exc), EXIT_USAGE) from None
    pcm = b"" if args.mic else read_wav_16k_mono(args.wav)
    source: PcmSource | None = None
    player: PcmSink | None = None
    try:
        source = open_microphone(args.input_device) if args.mic else None
        player = open_player(OMNI_OUTPUT_RATE, args.output_device) if args.play else None
        target = await open_target(args, saved)
        try:
            return await _ask_session(args, conversation, update, pcm, source, player, target)
        finally:
            await close_target(target)
    finally:
        if player is not None:
            player.close()
        if source is not None:
            source.close()


async def _send_question(args: argparse.Namespace, conversation: OmniConversation, state: AskState,
                         send: Callable[[list[ClientEvent]], None], pcm: bytes, source: PcmSource | None,
                         pace: float) -> None:
    """The question at real time (scaled by ``pace``), then the turn's end: a commit, or silence."""
    chunk_bytes = OMNI_INPUT_RATE * 2 * ASK_CHUNK_MS // 1000
    chunk_seconds = ASK_CHUNK_MS / 1000.0

    async def paced(blocks: AsyncIterator[bytes]) -> None:
        start = time.monotonic()
        sent_s = 0.0
        async for block in blocks:
            send(conversation.append_audio(block))
            sent_s += len(block) / (2 * OMNI_INPUT_RATE)
            await asyncio.sleep(max(0.0, start + sent_s * pace - time.monotonic()))

    async def wav_blocks() -> AsyncIterator[bytes]:
        for i in range(0, len(pcm), chunk_bytes):
            yield pcm[i : i + chunk_bytes]

    async def silence_blocks(limit_s: float) -> AsyncIterator[bytes]:
        # Server VAD only ends a turn once it hears silence, and a live microphone would keep streaming
        # through the reply: send silence until the reply is complete (bounded by the time limit).
        # Once the turn is committed nothing waits on it any more, so it goes at real time.
        silence = bytes(chunk_bytes)
        for _ in range(int(limit_s / chunk_seconds) + 1):
            if state.response_done:
                return
            yield silence
            if state.turn_committed.is_set():
                await asyncio.sleep(chunk_seconds)

    async def send_turn() -> None:
        await state.ready.wait()  # audio before session.updated would run under the server's defaults
        await paced(source.blocks() if source is not None else wav_blocks())
        if conversation.manual_turns:
            send(conversation.commit_turn())  # response.create follows from the conversation (SendEvents)
        else:
            await paced(silence_blocks(args.timeout))

    await send_turn()


async def _ask_session(
    args: argparse.Namespace,
    conversation: OmniConversation,
    update: ClientEvent,
    pcm: bytes,
    source: PcmSource | None,
    player: PcmSink | None,
    target: Target,
) -> int:
    client = _make_client(target, conversation.model, update)
    try:
        await client.start()
    except FatalConnectionError as exc:
        print(f"qwenvoice: {exc.message}", file=sys.stderr)
        return fatal_exit_code(exc)

    state = AskState()
    pace = env_float("QWENVOICE_ASK_PACE", 1.0)

    def send(events: list[ClientEvent]) -> None:
        for event in events:
            client.send(event)

    sender = asyncio.create_task(_send_question(args, conversation, state, send, pcm, source, pace),
                                 name="qwenvoice-ask-sender")
    exit_code = EXIT_OK
    lost_reason: str | None = None
    try:
        items = client.incoming()
        deadline = time.monotonic() + args.timeout + (len(pcm) / (2 * OMNI_INPUT_RATE)) * pace
        while not state.response_done and exit_code == EXIT_OK:
            now = time.monotonic()
            wait = deadline - now
            timer = conversation.next_deadline()
            if timer is not None:
                wait = min(wait, max(0.0, timer - now))
            try:
                async with asyncio.timeout(max(0.0, wait)):
                    item = await anext(items)
            except TimeoutError:
                if time.monotonic() < deadline:
                    notes = conversation.on_timer()
                else:
                    _close_assistant_line(state)
                    print(f"qwenvoice: no complete reply within {args.timeout:.0f} s", file=sys.stderr)
                    exit_code = EXIT_TIMEOUT
                    break
            except StopAsyncIteration:
                break
            else:
                if isinstance(item, ConnectionStatus):
                    if item.state is ConnectionState.RECONNECTING or item.terminal:
                        conversation.connection_lost()
                        lost_reason = loss_reason(item)
                        exit_code = fatal_exit_code(item.error) if item.error else EXIT_CONNECTION
                        break
                    continue
                notes = conversation.receive(item)
            exit_code = _handle_ask_notes(notes, state, send, player)
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        await client.close()
    _close_assistant_line(state)
    if lost_reason is not None:
        where = " during the reply" if state.response_active and not state.response_done else ""
        print(f"qwenvoice: connection lost{where}: {lost_reason}", file=sys.stderr)
    if player is not None and exit_code == EXIT_OK:
        await player.drain()
    if args.out:
        write_wav(args.out, bytes(state.reply_pcm), OMNI_OUTPUT_RATE)
        print(f"wrote {args.out}: {len(state.reply_pcm) / 2 / OMNI_OUTPUT_RATE:.2f} s of reply audio")
    return exit_code


def _handle_ask_notes(
    notes: list[Notification], state: AskState, send: Callable[[list[ClientEvent]], None], player: PcmSink | None
) -> int:
    for note in notes:
        if isinstance(note, SendEvents):
            send(note.events)
        elif isinstance(note, SessionConfigured):
            state.ready.set()
        elif isinstance(note, TurnCommitted):
            state.turn_committed.set()
        elif isinstance(note, TranscriptDelta):
            if note.role == "user":
                if note.final:
                    _close_assistant_line(state)
                    print(f"you: {note.text}", flush=True)
            elif not note.final:
                if not state.assistant_line_open:
                    print("assistant: ", end="", flush=True)
                    state.assistant_line_open = True
                state.assistant_text += note.text
                print(note.text, end="", flush=True)
            elif not state.assistant_text and note.text:
                # Models that send the reply text only at the end.
                print(f"assistant: {note.text}", end="", flush=True)
                state.assistant_text = note.text
                state.assistant_line_open = True
        elif isinstance(note, ResponseStarted):
            state.response_active = True
        elif isinstance(note, AudioChunk):
            state.reply_pcm += note.pcm
            if player is not None:
                player.write(note.pcm)
        elif isinstance(note, ResponseFinished):
            state.response_done = True
        elif isinstance(note, ProtocolErrorNotice):
            if note.error.type == "malformed_event":
                continue  # counted and logged by the client; not the server's answer
            _close_assistant_line(state)
            print(f"qwenvoice: {error_text(note.error)}", file=sys.stderr)
            return EXIT_SERVER_ERROR
    return EXIT_OK


def _close_assistant_line(state: AskState) -> None:
    if state.assistant_line_open:
        print(flush=True)
        state.assistant_line_open = False


def _make_client(target: Target, model: str, update: ClientEvent) -> RealtimeClient:
    if not isinstance(update, SessionUpdate):
        raise TypeError("the first event must be session.update")
    try:
        # One-shot commands do not reconnect: there is no session resumption, a new socket is a new session.
        return RealtimeClient(
            target.url, target.api_key, model=model, session_update=lambda: update,
            policy=NO_RECONNECT, options=ConnectOptions(),
        )
    except EndpointError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def run_ask(args: argparse.Namespace) -> int:
    return run_command(lambda: ask(args))
