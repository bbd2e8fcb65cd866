"""``qwenvoice serve``: the offline realtime server on loopback.

One WebSocket endpoint, ``/api-ws/v1/realtime?model=...``, like the cloud: a model name containing
"tts" speaks the Qwen-TTS-Realtime protocol, any other the Qwen-Omni-Realtime protocol. With a token,
the handshake requires ``Authorization: Bearer <token>`` (401 otherwise). The speech models load in the
background so that the server is listening at once; the first turn waits for them if it must.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from qwenvoice.localserver.common import Outbox, ServerContext, ServerLimits
from qwenvoice.localserver.speech import SpeechModels
from qwenvoice.protocol.models import is_tts_model

log = logging.getLogger(__name__)

PATH = "/api-ws/v1/realtime"
# One frame: a recording of a few minutes in one append still fits (the docs' sample sends a whole
# file); larger frames close the connection (1009) before anything is decoded.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
SPEECH_WORKERS = 2
# Concurrent sessions: each holds conversation state and, once it sends audio, a voice-detection model.
MAX_SESSIONS = 16
# A token from the environment (how the app passes it: a command line is readable by every local user).
TOKEN_ENV = "QWENVOICE_SERVE_TOKEN"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    max_sessions: int = MAX_SESSIONS
    limits: ServerLimits = field(default_factory=ServerLimits)


def cross_origin(origin: str | None, host: str | None) -> bool:
    """A browser handshake from another site. Native clients send no Origin, or (like websocket-client,
    which the vendor's SDK uses) the server's own address; this server serves no pages of its own."""
    if not origin:
        return False
    return urlsplit(origin).netloc.lower() != (host or "").lower()


def request_model(path: str) -> str | None:
    values = parse_qs(urlsplit(path).query).get("model")
    model = values[0].strip() if values else ""
    return model or None


class RealtimeServer:
    def __init__(self, options: ServeOptions, models: SpeechModels | None = None) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        self.options = options
        self.models = models or SpeechModels()
        self.executor = ThreadPoolExecutor(max_workers=SPEECH_WORKERS, thread_name_prefix="qwenvoice-speech")
        self.ctx = ServerContext(models=self.models, executor=self.executor, limits=options.limits)
        self._server: Server | None = None
        self._vad_warmup: asyncio.Future[None] | None = None
        self.connections = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"ws://{shown}:{port}{PATH}"

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path.rstrip("/") != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, f"Not found; the endpoint is {PATH}?model=...\n")
        if cross_origin(request.headers.get("Origin"), request.headers.get("Host")):
            # A page on some web site, opened in the user's browser, must not drive this server.
            return connection.respond(HTTPStatus.FORBIDDEN, "Browser pages may not connect to this server.\n")
        if self.options.token is not None:
            expected = f"Bearer {self.options.token}".encode()
            given = (request.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, expected):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid or missing API key.\n")
        if request_model(request.path) is None:
            return connection.respond(HTTPStatus.BAD_REQUEST, "Missing query parameter 'model'.\n")
        if len(self.ctx.sessions) >= self.options.max_sessions:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"Too many sessions (at most {self.options.max_sessions}); try again later.\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        from qwenvoice.localserver.omni import OmniSession
        from qwenvoice.localserver.tts import TtsSession

        assert connection.request is not None
        model = request_model(connection.request.path) or ""
        outbox = Outbox(connection)
        session: Any = (
            TtsSession(outbox, model, self.ctx) if is_tts_model(model) else OmniSession(outbox, model, self.ctx)
        )
        self.connections += 1
        self.ctx.sessions.add(session)
        log.info("session %s opened (%s)", session.session_id, model)
        try:
            await session.run()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("session %s failed", session.session_id)
            await outbox.close(1011, "internal error")
        finally:
            self.ctx.sessions.discard(session)
            log.info("session %s closed", session.session_id)

    def _prepare_vad(self) -> None:
        # Two ready silero instances: the first sessions need not load one while the user waits.
        scorers = [self.ctx.vad_pool.acquire() for _ in range(2)]
        for scorer in scorers:
            self.ctx.vad_pool.release(scorer)

    async def start(self) -> str:
        self.models.start_loading()
        self._vad_warmup = asyncio.get_running_loop().run_in_executor(None, self._prepare_vad)
        self._server = await serve(
            self._handle,
            self.options.host,
            self.options.port,
            process_request=self._process_request,
            compression=None,  # base64 audio barely compresses and deflate costs a lot of CPU
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=20,
            ping_timeout=60,
            close_timeout=2,
        )
        return self.url

    async def stop(self) -> None:
        if self._vad_warmup is not None:
            with contextlib.suppress(Exception):
                await self._vad_warmup
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        # Wait for work in flight (under a second): native code must not outlive the interpreter.
        await asyncio.to_thread(self.executor.shutdown, wait=True, cancel_futures=True)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        url = await self.start()
        try:
            yield url
        finally:
            await self.stop()


class BackgroundServer:
    """The server on its own loop in a daemon thread, for embedding (tests, benchmarks, tools).

    ``with BackgroundServer() as server: server.url``; leaving the block stops it.
    """

    def __init__(self, options: ServeOptions | None = None, models: SpeechModels | None = None) -> None:
        self.server = RealtimeServer(options or ServeOptions(), models)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="qwenvoice-offline-server", daemon=True)
        self.url = ""

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def session_count(self) -> int:
        return len(self.server.ctx.sessions)


async def serve_until_stopped(options: ServeOptions, models: SpeechModels | None = None) -> None:
    server = RealtimeServer(options, models)
    started = time.perf_counter()
    url = await server.start()
    print(f"qwenvoice offline server ready at {url}", flush=True)
    log.info("listening after %.2f s; speech models load in the background", time.perf_counter() - started)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    watcher = loop.create_task(_stop_when_orphaned(stop)) if os.environ.get(EXIT_WITH_PARENT_ENV) == "1" else None
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        if watcher is not None:
            watcher.cancel()
        await server.stop()


# Set by the app for the server it starts: if the app dies without stopping us (SIGKILL, a crash),
# the server notices it was re-parented and stops, instead of running on with nobody to talk to.
EXIT_WITH_PARENT_ENV = "QWENVOICE_EXIT_WITH_PARENT"


# Read when the process starts: the parent may already be gone by the time the server is listening.
_PARENT_AT_START = os.getppid()


async def _stop_when_orphaned(stop: asyncio.Event, every_s: float = 1.0) -> None:
    parent = _PARENT_AT_START
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("the app that started this server is gone; stopping")
            stop.set()
            return
        await asyncio.sleep(every_s)


def serve_options(args: Any) -> ServeOptions:
    """The options of ``qwenvoice serve``: ``--token`` wins over the token in ``QWENVOICE_SERVE_TOKEN``."""
    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or None
    return ServeOptions(host=args.host or "127.0.0.1", port=int(args.port or 0), token=token)


def run_serve(args: Any) -> int:
    """Entry point for ``qwenvoice serve`` (args: host, port, token, verbose)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    options = serve_options(args)
    os.environ.pop(TOKEN_ENV, None)  # nothing this server starts needs it
    if options.token:
        from qwenvoice.logsetup import register_secret

        register_secret(options.token)
    if options.host not in LOOPBACK_HOSTS:
        if not options.token:
            print(f"qwenvoice serve: listening on {options.host} reaches other machines; give a --token "
                  f"(or {TOKEN_ENV}) so that only your clients can connect", file=sys.stderr)
            return 2
        print(f"qwenvoice serve: warning: listening on {options.host}, reachable from other machines; "
              "the token is the only protection and travels in clear over ws://", file=sys.stderr)
    # Until the loop takes over, SIGTERM ends us like Ctrl+C does: through the same clean path.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    models = SpeechModels()
    code = 0
    try:
        asyncio.run(serve_until_stopped(options, models))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"qwenvoice serve: cannot listen on {options.host}:{options.port}: {exc}", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    if models.loading:
        # Stopped while the models were still loading: the sockets are closed and nothing is left to
        # save, but the native libraries abort if the interpreter finalises under a half-done load.
        log.info("stopped during model load; exiting without finalisation")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _raise_keyboard_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt
