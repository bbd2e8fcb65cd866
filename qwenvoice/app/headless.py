"""Headless commands: ``qwenvoice speak`` (Qwen-TTS-Realtime) and ``qwenvoice ask`` (one Omni turn).

They reuse the same core as the app without Qt: the validated session configs, the TTS and Omni state
machines (``TtsSession``, ``OmniConversation``) and the net client (no reconnect here: a one-shot command
cannot resume a reply, the service has no session resumption).

Exit codes (both commands):
  0  done
  1  the server answered with an ``error`` event
  2  bad arguments or options (the message names the option), or a feature not available
  3  the connection failed or was lost (what arrived is still saved)
  4  authentication failed (HTTP 401/403): no retry
  5  no reply within the time limit

The API key comes from ``DASHSCOPE_API_KEY`` or the OS keyring (service "qwenvoice", user
"dashscope-api-key"), through the settings package's key store; it is registered with the log redactor
and never printed. The endpoint is ``--url``, else the region (or custom URL) saved in the settings,
else Beijing; ``--model`` overrides the saved models. Without a key and without ``--url``, with
``--offline``, or with the "offline" region saved, the offline server is started as a child process.

Audio devices are pluggable: ``--play`` needs a ``PcmSink`` and ``--mic`` a ``PcmSource``, looked up in
``qwenvoice.audio.headless`` (``open_player(rate, device)`` / ``open_microphone(rate, device)``); without
that module these options report "not available yet", and a device error (a RuntimeError from the hook)
ends the command with its message and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import sys
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qwenvoice.audio.wav import split_wav_header, write_wav
from qwenvoice.logsetup import register_secret
from qwenvoice.net.backoff import NO_RECONNECT
from qwenvoice.net.client import ConnectionState, ConnectionStatus, ConnectOptions, RealtimeClient
from qwenvoice.net.endpoints import REGION_ENDPOINTS, EndpointError
from qwenvoice.net.errors import FailureKind, FatalConnectionError
from qwenvoice.protocol.config import ConfigError, OmniSessionConfig, TtsSessionConfig
from qwenvoice.protocol.events import ClientEvent, ErrorDetail, SessionUpdate
from qwenvoice.protocol.models import DEFAULT_OMNI_MODEL, DEFAULT_TTS_MODEL, OMNI_INPUT_RATE, OMNI_OUTPUT_RATE
from qwenvoice.protocol.notifications import (
    AudioChunk,
    Notification,
    ProtocolErrorNotice,
    ResponseFinished,
    ResponseStarted,
    SendEvents,
    SessionClosed,
    SessionConfigured,
    TranscriptDelta,
    TurnCommitted,
)
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.protocol.tts import TtsSession
from qwenvoice.protocol.tts_text import sentence_pieces, text_chunks

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SERVER_ERROR, EXIT_USAGE, EXIT_CONNECTION, EXIT_AUTH, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 5

ASK_CHUNK_MS = 40
SPEAK_IDLE_TIMEOUT = 60.0  # seconds without any server event before speak gives up

# CLI flag for a session field named in a ConfigError.
_FLAG_FOR_FIELD = {
    "language_type": "--language",
    "speech_rate": "--speech-rate",
    "pitch_rate": "--pitch-rate",
    "sample_rate": "--sample-rate",
    "response_format": "--format",
    "turn_detection": "--manual",
}


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------------------- plug points


class PcmSink(Protocol):
    """Plays 16-bit mono PCM at the rate it was opened with."""

    def write(self, pcm: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class PcmSource(Protocol):
    """Yields 16 kHz mono 16-bit PCM blocks until closed."""

    def blocks(self) -> AsyncIterator[bytes]: ...

    def close(self) -> None: ...


def _audio_hook(name: str, option: str) -> Callable[..., Any]:
    try:
        audio_headless = importlib.import_module("qwenvoice.audio.headless")
    except ImportError:
        raise CommandError(f"{option} is not available yet", EXIT_USAGE) from None
    hook = getattr(audio_headless, name, None)
    if hook is None:
        raise CommandError(f"{option} is not available yet", EXIT_USAGE)
    return hook  # type: ignore[no-any-return]


def open_player(rate: int, device: str | None) -> PcmSink:
    hook = _audio_hook("open_player", "--play")
    try:
        return hook(rate, device)  # type: ignore[no-any-return]
    except RuntimeError as exc:  # no PortAudio, no speaker: the audio package says which
        raise CommandError(f"--play: {exc}", EXIT_USAGE) from None


def open_microphone(device: str | None) -> PcmSource:
    hook = _audio_hook("open_microphone", "--mic")
    try:
        return hook(OMNI_INPUT_RATE, device)  # type: ignore[no-any-return]
    except RuntimeError as exc:
        raise CommandError(f"--mic: {exc}", EXIT_USAGE) from None


# ---------------------------------------------------------------------------------------- shared helpers


def load_api_key() -> str | None:
    """``DASHSCOPE_API_KEY``, else the key the settings panel stored (keyring, or the private file the
    user opted into); None when there is none. Never printed."""
    key: str | None
    try:
        from qwenvoice.settings.secrets import ApiKeyStore
        from qwenvoice.settings.store import default_config_dir

        key = ApiKeyStore(config_dir=default_config_dir()).get()
    except Exception as exc:  # no backend, locked keychain, D-Bus down...: the environment still works
        log.info("key store unavailable: %s", type(exc).__name__)
        key = os.environ.get("DASHSCOPE_API_KEY", "").strip() or None
    register_secret(key)
    return key


@dataclass(frozen=True)
class SavedConnection:
    """What the settings panel saved: where to connect (None: the offline server) and the models."""

    endpoint: str | None = REGION_ENDPOINTS["beijing"]
    omni_model: str = DEFAULT_OMNI_MODEL
    tts_model: str = DEFAULT_TTS_MODEL


def saved_connection() -> SavedConnection:
    try:
        from qwenvoice.settings.store import SettingsStore

        connection = SettingsStore().load().settings.connection
        return SavedConnection(connection.endpoint_url(), connection.omni_model, connection.tts_model)
    except Exception as exc:  # unreadable settings never stop a command: built-in defaults
        log.info("settings unavailable: %s", exc)
        return SavedConnection()


@dataclass
class Target:
    url: str
    api_key: str | None
    offline: Any = None  # OfflineServer when we started one


async def open_target(args: argparse.Namespace, saved: SavedConnection) -> Target:
    """Where to connect: ``--url``; else the saved region / custom URL; ``--offline``, a saved "offline"
    region, or no key at all without ``--url`` start the offline server."""
    key = load_api_key()
    if args.offline or (not args.url and (key is None or saved.endpoint is None)):
        from qwenvoice.app.offline_server import OfflineServer, OfflineServerError

        if not args.offline and key is None:
            print("no API key found: using the offline server", file=sys.stderr)
        server = OfflineServer()
        try:
            url = await server.start()
        except OfflineServerError as exc:
            raise CommandError(f"offline server: {exc}", EXIT_CONNECTION) from None
        return Target(url=url, api_key=server.token, offline=server)
    return Target(url=args.url or saved.endpoint or REGION_ENDPOINTS["beijing"], api_key=key)


async def close_target(target: Target) -> None:
    if target.offline is not None:
        with contextlib.suppress(Exception):
            await target.offline.stop()


def flag_for(field_name: str) -> str:
    last = field_name.rsplit(".", 1)[-1]
    return _FLAG_FOR_FIELD.get(last, "--" + last.replace("_", "-"))


def config_error_text(exc: Exception) -> str:
    field_name = str(getattr(exc, "field", "") or "")
    return f"invalid {flag_for(field_name)}: {exc}" if field_name else f"invalid option: {exc}"


def loss_reason(status: ConnectionStatus) -> str:
    text = status.error.message if status.error else status.reason
    prefix = "connection lost: "
    return text[len(prefix):] if text.startswith(prefix) else text


def fatal_exit_code(error: FatalConnectionError) -> int:
    return EXIT_AUTH if error.kind is FailureKind.AUTH else EXIT_CONNECTION


def error_text(err: ErrorDetail) -> str:
    parts = [err.message or "(no message)"]
    extra = [f"{name}={value}" for name, value in (("type", err.type), ("code", err.code), ("param", err.param))
             if value]
    if extra:
        parts.append("(" + ", ".join(extra) + ")")
    return "server error: " + " ".join(parts)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _run(coro_factory: Callable[[], Any]) -> int:
    try:
        return int(asyncio.run(coro_factory()))
    except CommandError as exc:
        print(f"qwenvoice: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# ---------------------------------------------------------------------------------------- speak


def tts_config(args: argparse.Namespace) -> TtsSessionConfig:
    options: dict[str, Any] = {"mode": args.mode}
    for name in ("voice", "language_type", "speech_rate", "volume", "pitch_rate", "instructions", "sample_rate"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if getattr(args, "response_format", None):
        options["response_format"] = args.response_format
    return TtsSessionConfig(**options)


@dataclass
class SpeakResult:
    pcm: bytearray = field(default_factory=bytearray)
    rate: int = 24000
    first_audio_ms: float | None = None
    responses: int = 0
    finished: bool = False


async def speak(args: argparse.Namespace) -> int:
    saved = saved_connection()
    model = args.model or saved.tts_model
    tts = TtsSession(model)
    config = tts_config(args)
    try:
        (update,) = tts.configure(config)  # validates before anything connects
    except ConfigError as exc:
        raise CommandError(config_error_text(exc), EXIT_USAGE) from None
    player = open_player(config.sample_rate, args.output_device) if args.play else None
    try:
        target = await open_target(args, saved)
        try:
            return await _speak_session(args, tts, update, target, player)
        finally:
            await close_target(target)
    finally:
        if player is not None:
            player.close()


async def _speak_session(
    args: argparse.Namespace, tts: TtsSession, update: ClientEvent, target: Target, player: PcmSink | None
) -> int:
    client = _make_client(target, tts.model, update)
    config = tts.config or tts_config(args)
    result = SpeakResult(rate=config.sample_rate)
    wav_format = config.response_format == "wav"
    try:
        await client.start()
    except FatalConnectionError as exc:
        print(f"qwenvoice: {exc.message}", file=sys.stderr)
        return fatal_exit_code(exc)

    pace = _env_float("QWENVOICE_SPEAK_PACE", 0.02)
    started: list[float] = []

    def send(events: list[ClientEvent]) -> None:
        for event in events:
            client.send(event)

    async def send_text() -> None:
        commit_mode = args.mode == "commit"
        groups = [text_chunks(s) for s in sentence_pieces(args.text)] if commit_mode else [text_chunks(args.text)]
        for group in groups:
            for chunk in group:
                if not started:
                    started.append(time.perf_counter())
                send(tts.append_text(chunk))
                if pace > 0:
                    await asyncio.sleep(pace)
            if commit_mode and tts.has_uncommitted_text:
                send(tts.commit())
        send(tts.finish())

    sender = asyncio.create_task(send_text(), name="qwenvoice-speak-sender")
    exit_code = EXIT_OK
    try:
        items = client.incoming()
        while not result.finished:
            try:
                async with asyncio.timeout(SPEAK_IDLE_TIMEOUT):
                    item = await anext(items)
            except TimeoutError:
                print(f"qwenvoice: no answer from the server for {SPEAK_IDLE_TIMEOUT:.0f} s", file=sys.stderr)
                exit_code = EXIT_TIMEOUT
                break
            except StopAsyncIteration:
                break
            if isinstance(item, ConnectionStatus):
                if item.terminal:
                    tts.connection_lost()
                    print(f"qwenvoice: connection lost: {loss_reason(item)}", file=sys.stderr)
                    exit_code = fatal_exit_code(item.error) if item.error else EXIT_CONNECTION
                    break
                continue
            for note in tts.receive(item):
                if isinstance(note, AudioChunk):
                    data = note.pcm
                    if wav_format:
                        data, header_rate = split_wav_header(data)
                        if header_rate:
                            result.rate = header_rate
                    if result.first_audio_ms is None and started:
                        result.first_audio_ms = (time.perf_counter() - started[0]) * 1000.0
                    result.pcm += data
                    if player is not None:
                        player.write(data)
                elif isinstance(note, ResponseFinished):
                    result.responses += 1
                elif isinstance(note, ProtocolErrorNotice):
                    if note.error.type == "malformed_event":
                        continue  # counted and logged by the client; not the server's answer
                    print(f"qwenvoice: {error_text(note.error)}", file=sys.stderr)
                    exit_code = EXIT_SERVER_ERROR
                elif isinstance(note, SessionClosed) and note.reason == "finished":
                    result.finished = True
            if exit_code != EXIT_OK:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        await client.close()
    if player is not None and exit_code == EXIT_OK:
        await player.drain()
    write_wav(args.out, bytes(result.pcm), result.rate)
    seconds = len(result.pcm) / 2 / result.rate
    if result.first_audio_ms is not None:
        print(f"first audio after {result.first_audio_ms:.0f} ms")
    print(f"wrote {args.out}: {seconds:.2f} s of audio at {result.rate} Hz in {result.responses} response(s)")
    if exit_code == EXIT_OK and not result.pcm:
        print("qwenvoice: the server sent no audio", file=sys.stderr)
        exit_code = EXIT_SERVER_ERROR
    return exit_code


def run_speak(args: argparse.Namespace) -> int:
    return _run(lambda: speak(args))


# ---------------------------------------------------------------------------------------- ask


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
    pace = _env_float("QWENVOICE_ASK_PACE", 1.0)
    chunk_bytes = OMNI_INPUT_RATE * 2 * ASK_CHUNK_MS // 1000
    chunk_seconds = ASK_CHUNK_MS / 1000.0

    def send(events: list[ClientEvent]) -> None:
        for event in events:
            client.send(event)

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

    sender = asyncio.create_task(send_turn(), name="qwenvoice-ask-sender")
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
    return _run(lambda: ask(args))
