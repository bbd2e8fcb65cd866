"""``qwenvoice ask``: one Qwen-Omni-Realtime turn from the shell.

The question comes from a WAV file (any rate, 16-bit) or the microphone, paced at real time
(``QWENVOICE_ASK_PACE`` scales it); the server's VAD ends the turn, or ``--manual`` commits it. Both
transcripts are printed as they stream, and the reply is written to ``--out`` and played with
``--play``. The conversation is the session layer's ``VoiceSession``, the same one the window runs,
here without reconnecting (a one-shot command cannot resume a reply). Exit codes are in
``qwenvoice.commands.common``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

from qwenvoice.audio.wav import WavFormatError, read_wav, write_wav
from qwenvoice.commands.common import (
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_SERVER_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CommandError,
    PcmSink,
    PcmSource,
    config_error_text,
    env_float,
    error_text,
    fatal_exit_code,
    loss_reason,
    open_microphone,
    open_player,
    run_command,
)
from qwenvoice.protocol.config import ConfigError
from qwenvoice.protocol.events import ErrorDetail
from qwenvoice.protocol.models import OMNI_INPUT_RATE, OMNI_OUTPUT_RATE, omni_capabilities
from qwenvoice.protocol.omni import OmniConversation
from qwenvoice.session import status as st
from qwenvoice.session.conversation import ASSISTANT, USER
from qwenvoice.session.reports import QuietVoiceListener
from qwenvoice.session.tool_calls import ToolCallReport
from qwenvoice.session.voice import NO_KEY_REASON, RunOptions, VoiceSession

ASK_CHUNK_MS = 40


def read_wav_16k_mono(path: str) -> bytes:
    """Any-rate, any-channel 16-bit PCM WAV -> 16 kHz mono int16 bytes."""
    try:
        audio = read_wav(path)
    except WavFormatError as exc:
        raise CommandError(f"--wav {path}: {exc}", EXIT_USAGE) from None
    except OSError as exc:
        raise CommandError(f"cannot read --wav {path}: {exc}", EXIT_USAGE) from None
    mono = audio.mono()
    if audio.rate != OMNI_INPUT_RATE and mono.size:
        import soxr

        mono = soxr.resample(mono, audio.rate, OMNI_INPUT_RATE, quality="HQ")
    return bytes((np.clip(mono, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes())


class AskPrinter(QuietVoiceListener):
    """The terminal's view of the conversation: both transcripts as they stream, the reply's end."""

    def __init__(self) -> None:
        self.session: VoiceSession | None = None
        self.printed: dict[int, int] = {}  # turn index -> characters of it printed
        self.line_open = False
        self.reply_started = False
        self.reply_done = asyncio.Event()
        self.error: ErrorDetail | None = None

    def turn_changed(self, index: int) -> None:
        assert self.session is not None
        turn = self.session.conversation.turns[index]
        if turn.role == USER:
            if turn.final and index not in self.printed and turn.text:
                self.close_line()
                print(f"you: {turn.text}", flush=True)
                self.printed[index] = len(turn.text)
            return
        if turn.role != ASSISTANT:
            return
        self.reply_started = True
        done = self.printed.get(index, 0)
        if len(turn.text) > done:
            if not self.line_open:
                print("assistant: ", end="", flush=True)
                self.line_open = True
            print(turn.text[done:], end="", flush=True)
            self.printed[index] = len(turn.text)
        if (turn.final or turn.interrupted) and not self._tools_busy():
            self.reply_done.set()

    def response_active_changed(self, active: bool) -> None:
        if not active and self.reply_started and not self._tools_busy():
            self.reply_done.set()

    def _tools_busy(self) -> bool:
        """A function call is running or its answer has not started: the reply is still to come."""
        return self.session is not None and self.session.tools.busy

    def tool_called(self, report: ToolCallReport) -> None:
        if not report.done:
            return
        self.close_line()
        args = ", ".join(f"{k}={v!r}" for k, v in report.arguments.items())
        result = report.output if report.status == "ok" else f"{report.status}: {report.error or report.output}"
        print(f"tool: {report.name}({args}) -> {result} [{report.elapsed_s * 1000:.0f} ms]", flush=True)

    def server_error(self, error: ErrorDetail) -> None:
        if self.error is None:
            self.error = error
        self.reply_done.set()

    def connection_changed(self, info: st.ConnectionInfo) -> None:
        if info.state in (st.FAILED, st.DISCONNECTED, st.RECONNECTING):
            self.reply_done.set()

    def notice(self, level: str, text: str, action: str) -> None:
        if text.endswith(NO_KEY_REASON):
            print("no API key found: using the offline server", file=sys.stderr)
        elif action == st.ACTION_OPEN_SETTINGS and (level in (st.INFO, st.WARNING)
                                                    or text.startswith("The MCP server")):
            print(f"qwenvoice: {text}", file=sys.stderr)  # e.g. the model's rules changed the saved voice

    def close_line(self) -> None:
        if self.line_open:
            print(flush=True)
            self.line_open = False


def configure(session: VoiceSession, args: argparse.Namespace) -> None:
    """This run's voice, instructions and turn mode over the saved settings (nothing is saved)."""
    omni = session.settings.omni
    model = args.model or session.settings.connection.omni_model
    if args.voice:
        caps = omni_capabilities(model)
        if not caps.takes_voice(args.voice):
            offered = ", ".join(caps.voices) or "leave --voice out for the server's default"
            raise CommandError(f"--voice {args.voice}: {model} does not offer this voice ({offered})", EXIT_USAGE)
        omni.voice = args.voice
    if args.instructions:
        omni.instructions = args.instructions
    session.settings.ui.turn_mode = "ptt" if args.manual else "vad"  # for this run: ask never saves
    try:  # validates before anything connects
        OmniConversation(model).configure(session.settings.omni.to_config(model, session.mode))
    except ConfigError as exc:
        raise CommandError(config_error_text(exc), EXIT_USAGE) from None


async def ask(args: argparse.Namespace) -> int:
    printer = AskPrinter()
    session = VoiceSession(printer, RunOptions(offline=args.offline, url=args.url, model=args.model,
                                               workspace=args.workspace, region=args.region, audio=False,
                                               save_conversation=False, reconnect=False,
                                               server_start_timeout=120.0, mcp=tuple(args.mcp or ()),
                                               allow_tools=bool(args.allow_tools)))
    printer.session = session
    session.load_settings()
    configure(session, args)
    pcm = b"" if args.mic else read_wav_16k_mono(args.wav)
    source: PcmSource | None = None
    player: PcmSink | None = None
    try:
        source = open_microphone(args.input_device) if args.mic else None
        player = open_player(OMNI_OUTPUT_RATE, args.output_device) if args.play else None
        return await _ask_session(args, session, printer, pcm, source, player)
    finally:
        if player is not None:
            player.close()
        if source is not None:
            source.close()


async def _send_question(args: argparse.Namespace, session: VoiceSession, printer: AskPrinter, pcm: bytes,
                         source: PcmSource | None, pace: float) -> None:
    """The question at real time (scaled by ``pace``), then the turn's end: a commit, or silence."""
    chunk_bytes = OMNI_INPUT_RATE * 2 * ASK_CHUNK_MS // 1000
    chunk_seconds = ASK_CHUNK_MS / 1000.0
    send: Callable[[bytes], None] = session.send_turn_audio if args.manual else session.feed_mic

    async def paced(blocks: AsyncIterator[bytes]) -> None:
        start = time.monotonic()
        sent_s = 0.0
        async for block in blocks:
            send(block)
            sent_s += len(block) / (2 * OMNI_INPUT_RATE)
            await asyncio.sleep(max(0.0, start + sent_s * pace - time.monotonic()))

    async def wav_blocks() -> AsyncIterator[bytes]:
        for i in range(0, len(pcm), chunk_bytes):
            yield pcm[i : i + chunk_bytes]

    async def silence_blocks(limit_s: float) -> AsyncIterator[bytes]:
        # Server VAD only ends a turn once it hears silence, and a live microphone would keep streaming
        # through the reply: send silence until the reply is complete (bounded by the time limit).
        # Once the reply has started nothing waits on the turn any more, so it goes at real time.
        silence = bytes(chunk_bytes)
        for _ in range(int(limit_s / chunk_seconds) + 1):
            if printer.reply_done.is_set():
                return
            yield silence
            if printer.reply_started or session.conversation.turns:
                await asyncio.sleep(chunk_seconds)

    # Audio before session.updated would run under the server's defaults.
    while not (session.ready and session.machine is not None and session.machine.ready):  # noqa: ASYNC110
        if printer.reply_done.is_set():
            return
        await asyncio.sleep(0.01)
    await paced(source.blocks() if source is not None else wav_blocks())
    if args.manual:
        session.commit_turn()  # response.create follows from the conversation once the server has it
    else:
        await paced(silence_blocks(args.timeout))


async def _ask_session(args: argparse.Namespace, session: VoiceSession, printer: AskPrinter, pcm: bytes,
                       source: PcmSource | None, player: PcmSink | None) -> int:
    reply = bytearray()

    def keep(_response_id: str, chunk: bytes) -> None:
        reply.extend(chunk)
        if player is not None:
            player.write(chunk)

    session.reply_taps.append(keep)
    pace = env_float("QWENVOICE_ASK_PACE", 1.0)
    exit_code = EXIT_OK
    try:
        await session.start()
        if session.connection.state == st.FAILED:
            # A refused configuration is the server's answer (exit 1, naming the field), not a lost link.
            return _outcome(session, printer) if printer.error is not None else _failure_exit(session)
        sender = asyncio.create_task(_send_question(args, session, printer, pcm, source, pace),
                                     name="qwenvoice-ask-sender")
        limit = args.timeout + (len(pcm) / (2 * OMNI_INPUT_RATE)) * pace
        try:
            await asyncio.wait_for(printer.reply_done.wait(), limit)
        except TimeoutError:
            printer.close_line()
            print(f"qwenvoice: no complete reply within {args.timeout:.0f} s", file=sys.stderr)
            exit_code = EXIT_TIMEOUT
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        if exit_code == EXIT_OK:
            exit_code = _outcome(session, printer)
    finally:
        await session.shutdown()
    printer.close_line()
    if player is not None and exit_code == EXIT_OK:
        await player.drain()
    if args.out:
        write_wav(args.out, bytes(reply), OMNI_OUTPUT_RATE)
        print(f"wrote {args.out}: {len(reply) / 2 / OMNI_OUTPUT_RATE:.2f} s of reply audio")
    return exit_code


def _outcome(session: VoiceSession, printer: AskPrinter) -> int:
    if printer.error is not None:
        printer.close_line()
        print(f"qwenvoice: {error_text(printer.error)}", file=sys.stderr)
        return EXIT_SERVER_ERROR
    lost = session.lost
    if lost is not None:
        printer.close_line()
        turns = session.conversation.turns
        cut = bool(turns) and turns[-1].role == ASSISTANT and turns[-1].interrupted
        where = " during the reply" if cut else ""
        print(f"qwenvoice: connection lost{where}: {loss_reason(lost)}", file=sys.stderr)
        return fatal_exit_code(lost.error) if lost.error is not None else EXIT_CONNECTION
    replies = [t for t in session.conversation.turns if t.role == ASSISTANT]
    if replies and replies[-1].status:
        # The server ended the reply as incomplete (kept, a warning) or failed (an error).
        reply = replies[-1]
        printer.close_line()
        why = f": {reply.status_reason}" if reply.status_reason else ""
        print(f"qwenvoice: the reply is {reply.status}{why}", file=sys.stderr)
        if reply.status == "failed":
            return EXIT_SERVER_ERROR
    return EXIT_OK


def _failure_exit(session: VoiceSession) -> int:
    lost = session.lost
    if lost is not None and lost.error is not None:
        print(f"qwenvoice: {lost.error.message}", file=sys.stderr)
        return fatal_exit_code(lost.error)
    print(f"qwenvoice: {session.connection.detail}", file=sys.stderr)
    return EXIT_CONNECTION if "endpoint" not in session.connection.detail.lower() else EXIT_USAGE


def run_ask(args: argparse.Namespace) -> int:
    return run_command(lambda: ask(args))
