"""``qwenvoice speak``: Qwen-TTS-Realtime from the shell, text to a WAV file (and the speaker).

The text goes out in small word groups at a typing pace (``QWENVOICE_SPEAK_PACE`` seconds apart), as
a streaming model would send it; in commit mode one sentence per response. The job itself is the
session layer's ``SpeechSession``, the same one the speech studio runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qwenvoice.audio.wav import write_wav
from qwenvoice.commands.common import (
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_SERVER_ERROR,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CommandError,
    PcmSink,
    Target,
    close_target,
    config_error_text,
    env_float,
    error_text,
    fatal_exit_code,
    loss_reason,
    open_player,
    open_target,
    run_command,
    saved_connection,
)
from qwenvoice.protocol.config import ConfigError, TtsSessionConfig
from qwenvoice.protocol.tts_text import sentence_pieces
from qwenvoice.session.connection import FatalConnectionError
from qwenvoice.session.metrics import UsageTotals
from qwenvoice.session.reports import QuietSpeechListener
from qwenvoice.session.speech import SpeechSession


def tts_config(args: argparse.Namespace, model: str) -> TtsSessionConfig:
    """This run's options over the model's own defaults (its default voice)."""
    options: dict[str, Any] = {"mode": args.mode}
    for name in ("voice", "language_type", "speech_rate", "volume", "pitch_rate", "instructions", "sample_rate"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if getattr(args, "response_format", None):
        options["response_format"] = args.response_format
    return TtsSessionConfig.for_model(model, **options)


async def speak(args: argparse.Namespace) -> int:
    saved = saved_connection()
    model = args.model or saved.tts_model
    config = tts_config(args, model)
    try:  # validates before anything connects
        job = SpeechSession(model, config, listener=QuietSpeechListener())
    except ConfigError as exc:
        raise CommandError(config_error_text(exc), EXIT_USAGE) from None
    player = open_player(config.sample_rate, args.output_device) if args.play else None
    if player is not None:
        sink = player
        job.on_audio = lambda _response, _item, pcm, _rate: sink.write(pcm)
    try:
        target = await open_target(args, saved)
        try:
            return await _speak(args, job, target, player)
        finally:
            await close_target(target)
    finally:
        if player is not None:
            player.close()


async def _speak(args: argparse.Namespace, job: SpeechSession, target: Target, player: PcmSink | None) -> int:
    try:
        await job.connect(target.url, target.api_key)
    except FatalConnectionError as exc:
        print(f"qwenvoice: {exc.message}", file=sys.stderr)
        return fatal_exit_code(exc)
    except ValueError as exc:  # a refused endpoint
        raise CommandError(str(exc), EXIT_USAGE) from None
    segments = sentence_pieces(args.text) if args.mode == "commit" else [args.text]
    result = await job.run(segments, words_per_chunk=3, pace_s=env_float("QWENVOICE_SPEAK_PACE", 0.02))
    exit_code = EXIT_OK
    if result.error is not None:
        print(f"qwenvoice: {error_text(result.error)}", file=sys.stderr)
        exit_code = EXIT_SERVER_ERROR
    elif result.timed_out:
        print(f"qwenvoice: no answer from the server for {job.idle_timeout:.0f} s", file=sys.stderr)
        exit_code = EXIT_TIMEOUT
    elif result.lost is not None and not result.finished:
        print(f"qwenvoice: connection lost: {loss_reason(result.lost)}", file=sys.stderr)
        exit_code = fatal_exit_code(result.lost.error) if result.lost.error else EXIT_CONNECTION
    if player is not None and exit_code == EXIT_OK:
        await player.drain()
    write_wav(args.out, bytes(result.pcm), result.rate)
    if result.first_audio_ms is not None:
        print(f"first audio after {result.first_audio_ms:.0f} ms")
    print(f"wrote {args.out}: {result.seconds:.2f} s of audio at {result.rate} Hz in {result.responses} response(s)")
    if result.usage.characters or result.usage.total_tokens:
        usage = UsageTotals()
        usage.add(result.usage)
        cost = "free (offline)" if target.local is not None else \
            f"≈ ${usage.estimated_cost_usd(job.model):.4f} at list prices"
        print(f"usage: {usage.summary()}, {cost}")
    if exit_code == EXIT_OK and not result.pcm:
        print("qwenvoice: the server sent no audio", file=sys.stderr)
        exit_code = EXIT_SERVER_ERROR
    return exit_code


def run_speak(args: argparse.Namespace) -> int:
    return run_command(lambda: speak(args))
