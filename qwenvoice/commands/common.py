"""What the terminal commands share: exit codes, errors as messages, where to connect, audio hooks.

Exit codes (``speak`` and ``ask``):
  0  done
  1  the server answered with an ``error`` event
  2  bad arguments or options (the message names the option), or a feature not available
  3  the connection failed or was lost (what arrived is still saved)
  4  authentication failed (HTTP 401/403): no retry
  5  no reply within the time limit

The API key comes from ``DASHSCOPE_API_KEY`` or the OS keyring (service "qwenvoice", user
"dashscope-api-key") and is never printed. The endpoint is ``--url``, else the region (or custom URL)
saved in the settings, else Beijing; ``--model`` overrides the saved models. Without a key and without
``--url``, with ``--offline``, or with the "offline" region saved, the offline server is started as a
child process.

Audio devices are pluggable: ``--play`` needs a ``PcmSink`` and ``--mic`` a ``PcmSource``, looked up in
``qwenvoice.commands.terminal_audio`` (``open_player(rate, device)`` / ``open_microphone(rate, device)``);
without that module these options report "not available yet", and a device error (a RuntimeError from
the hook) ends the command with its message and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from qwenvoice.protocol.events import ErrorDetail
from qwenvoice.protocol.models import OMNI_INPUT_RATE
from qwenvoice.session.connection import ConnectionStatus, FailureKind, FatalConnectionError
from qwenvoice.session.endpoint import LocalServer, choose_endpoint, lookup_api_key
from qwenvoice.session.offline_server import OfflineServerError
from qwenvoice.settings.schema import ConnectionSettings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SERVER_ERROR, EXIT_USAGE, EXIT_CONNECTION, EXIT_AUTH, EXIT_TIMEOUT = 0, 1, 2, 3, 4, 5

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


def _audio_hook(name: str, option: str) -> Callable[..., object]:
    try:
        terminal_audio = importlib.import_module("qwenvoice.commands.terminal_audio")
    except ImportError:
        raise CommandError(f"{option} is not available yet", EXIT_USAGE) from None
    hook = getattr(terminal_audio, name, None)
    if hook is None:
        raise CommandError(f"{option} is not available yet", EXIT_USAGE)
    return hook  # type: ignore[no-any-return]


def open_player(rate: int, device: str | None) -> PcmSink:
    hook = _audio_hook("open_player", "--play")
    try:
        return hook(rate, device)  # type: ignore[return-value]
    except RuntimeError as exc:  # no PortAudio, no speaker: the audio package says which
        raise CommandError(f"--play: {exc}", EXIT_USAGE) from None


def open_microphone(device: str | None) -> PcmSource:
    hook = _audio_hook("open_microphone", "--mic")
    try:
        return hook(OMNI_INPUT_RATE, device)  # type: ignore[return-value]
    except RuntimeError as exc:
        raise CommandError(f"--mic: {exc}", EXIT_USAGE) from None


# ---------------------------------------------------------------------------------------- where to connect


def saved_connection() -> ConnectionSettings:
    """What the settings panel saved (built-in defaults when the settings cannot be read)."""
    try:
        from qwenvoice.settings.store import SettingsStore

        return SettingsStore().load().settings.connection
    except Exception as exc:  # unreadable settings never stop a command: built-in defaults
        log.info("settings unavailable: %s", exc)
        return ConnectionSettings()


@dataclass
class Target:
    url: str
    api_key: str | None
    local: LocalServer | None = None  # when we started the offline server


async def open_target(args: argparse.Namespace, saved: ConnectionSettings) -> Target:
    """Where to connect (see the module docstring); starts the offline server when that is the answer."""
    choice = choose_endpoint(saved, url=args.url, offline=args.offline, api_key=lookup_api_key(),
                             region=getattr(args, "region", None), workspace=getattr(args, "workspace", None))
    if choice.url is not None:
        return Target(url=choice.url, api_key=choice.api_key)
    if choice.no_key and not args.offline:
        print("no API key found: using the offline server", file=sys.stderr)
    local = LocalServer(start_timeout=120.0)
    try:
        url = await local.url()
    except OfflineServerError as exc:
        raise CommandError(f"offline server: {exc}", EXIT_CONNECTION) from None
    return Target(url=url, api_key=local.token, local=local)


async def close_target(target: Target) -> None:
    if target.local is not None:
        try:
            await target.local.stop()
        except Exception as exc:
            log.info("stopping the offline server: %s", exc)


# ---------------------------------------------------------------------------------------- messages


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


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def run_command(coro_factory: Callable[[], Awaitable[int]]) -> int:
    async def main() -> int:
        return await coro_factory()

    try:
        return int(asyncio.run(main()))
    except CommandError as exc:
        print(f"qwenvoice: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
