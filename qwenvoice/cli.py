"""Command-line entry point: `qwenvoice` (the GUI) and its headless subcommands.

The argument names here are a stable interface (see design.md); each subcommand's work lives in the
package that owns it and is imported lazily, so `qwenvoice devices` never loads Qt and the GUI never
loads the offline speech stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from qwenvoice import __version__

SUBCOMMANDS = ("serve", "speak", "ask", "devices")


def _add_connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="realtime endpoint (wss://... or ws:// on loopback); default: settings/region")
    p.add_argument("--model", help="model name sent as ?model=")
    _add_workspace_options(p)
    p.add_argument("--offline", action="store_true", help="start and use the local offline server")
    # The top-level -v only works before a subcommand name, which routes to the GUI: accept it here too.
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")


def _workspace_id(value: str) -> str:
    from qwenvoice.protocol.models import is_workspace_id

    if not is_workspace_id(value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a workspace id (letters, digits and inner hyphens)")
    return value.strip()


def _add_workspace_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="ID", type=_workspace_id,
                   help="connect through this Model Studio workspace's endpoint (needed for qwen3.8)")
    p.add_argument("--region", choices=["beijing", "singapore"], help="the region for this run (default: settings)")


def _add_mcp_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mcp", action="append", default=[], metavar="'COMMAND ARGS'",
                   help="start this MCP server (stdio) for this run and offer its tools to the model (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qwenvoice", description="Voice assistant for Qwen realtime models.")
    parser.add_argument("--version", action="version", version=f"qwenvoice {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the offline realtime server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--token", help="require 'Authorization: Bearer TOKEN'")

    speak = sub.add_parser("speak", help="Qwen-TTS-Realtime: text to a WAV file")
    speak.add_argument("text")
    speak.add_argument("--out", required=True, help="WAV file to write")
    speak.add_argument("--voice")
    speak.add_argument("--language", dest="language_type")
    speak.add_argument("--speech-rate", type=float)
    speak.add_argument("--volume", type=int)
    speak.add_argument("--pitch-rate", type=float)
    speak.add_argument("--instructions")
    speak.add_argument("--sample-rate", type=int)
    speak.add_argument("--format", dest="response_format", choices=["pcm", "wav"], help="audio format on the wire")
    speak.add_argument("--mode", choices=["server_commit", "commit"], default="server_commit")
    speak.add_argument("--play", action="store_true", help="also play the audio as it streams")
    speak.add_argument("--output-device")
    _add_connection_options(speak)

    ask = sub.add_parser("ask", help="one Qwen-Omni-Realtime turn from the shell")
    src = ask.add_mutually_exclusive_group(required=True)
    src.add_argument("--wav", help="the question as a WAV file")
    src.add_argument("--mic", action="store_true", help="the question from the microphone")
    ask.add_argument("--out", help="WAV file for the reply audio")
    ask.add_argument("--manual", action="store_true", help="no server VAD: commit + response.create")
    ask.add_argument("--play", action="store_true", help="play the reply as it streams")
    ask.add_argument("--input-device")
    ask.add_argument("--output-device")
    ask.add_argument("--voice")
    ask.add_argument("--instructions")
    ask.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the reply")
    _add_mcp_option(ask)
    ask.add_argument("--allow-tools", action="store_true",
                     help="let the model run tools that act (not only read) without asking; refused otherwise")
    _add_connection_options(ask)

    sub.add_parser("devices", help="list audio devices as the app sees them")
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qwenvoice", description="Voice assistant for Qwen realtime models.")
    p.add_argument("--version", action="version", version=f"qwenvoice {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--offline", action="store_true", help="use the local offline server")
    p.add_argument("--url", help="override the realtime endpoint for this run")
    p.add_argument("--model", help="override the Omni model for this run")
    _add_workspace_options(p)
    p.add_argument("--mode", choices=["vad", "ptt"], help="turn taking for this run")
    _add_mcp_option(p)
    p.add_argument("--install-desktop-entry", action="store_true", help="add qwenvoice to the applications menu")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in SUBCOMMANDS and args_list[0] not in ("-h", "--help"):
        gui_args = build_gui_parser().parse_args(args_list)
        from qwenvoice.gui import run_gui

        return run_gui(gui_args)
    args = build_parser().parse_args(args_list)
    from qwenvoice.logsetup import configure_logging

    configure_logging(args.verbose)
    if args.command == "serve":
        from qwenvoice.localserver.server import run_serve

        return run_serve(args)
    if args.command == "speak":
        from qwenvoice.commands.speak import run_speak

        return run_speak(args)
    if args.command == "ask":
        from qwenvoice.commands.ask import run_ask

        return run_ask(args)
    if args.command == "devices":
        from qwenvoice.commands.devices import run_devices

        return run_devices(args)
    build_parser().print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
