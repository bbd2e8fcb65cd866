"""The offline realtime server as a child process: start on a free loopback port, stop without zombies.

``qwenvoice serve --port 0 --token T`` prints one line ``qwenvoice offline server ready at
ws://HOST:PORT/api-ws/v1/realtime`` once it listens. A reader thread waits for that line and then
keeps draining the pipe into our log (a full pipe would block the server). Stopping sends SIGTERM,
waits, then kills; the process is always reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from qwenvoice.private_files import open_private, private_dir

log = logging.getLogger(__name__)

READY_PATTERN = re.compile(r"ready at (ws://\S+)")


class OfflineServerError(RuntimeError):
    pass


# The token travels in the child's environment: any local user can read a process's command line.
TOKEN_ENV = "QWENVOICE_SERVE_TOKEN"


def serve_command() -> list[str]:
    """How to run the server: the frozen app runs itself, otherwise this interpreter runs the package."""
    from qwenvoice import runtime

    return [*runtime.app_command(), "serve", "--host", "127.0.0.1", "--port", "0"]


class OfflineServer:
    def __init__(self, log_file: Path | None = None, start_timeout: float = 120.0) -> None:
        self.token = secrets.token_urlsafe(24)
        self.url: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.start_timeout = start_timeout
        self.log_file = log_file
        self.output_tail: deque[str] = deque(maxlen=40)
        self._reader: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> str:
        """Start the server and return its ws:// URL (raises OfflineServerError)."""
        if self.process is not None:
            raise RuntimeError("already started")
        from qwenvoice.logsetup import register_secret

        register_secret(self.token)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[str] = loop.create_future()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("HF_HUB_OFFLINE", "1")
        env[TOKEN_ENV] = self.token
        env["QWENVOICE_EXIT_WITH_PARENT"] = "1"  # the server stops if this process dies without stopping it
        try:
            # Popen returns right after fork/exec; the slow part (reading output) runs in a thread.
            self.process = subprocess.Popen(  # noqa: ASYNC220
                serve_command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a terminal's Ctrl+C goes to us; we stop the server ourselves
            )
        except OSError as exc:
            raise OfflineServerError(f"could not start the offline server: {exc}") from exc

        def deliver(result: str | None) -> None:
            if ready.done():
                return
            if result is None:
                ready.set_exception(OfflineServerError(self._exit_message()))
            else:
                ready.set_result(result)

        def read_output(proc: subprocess.Popen[bytes]) -> None:
            assert proc.stdout is not None
            sink = None
            if self.log_file is not None:
                with contextlib.suppress(OSError):
                    private_dir(self.log_file.parent)
                    sink = os.fdopen(open_private(self.log_file, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8")
            found = False
            try:
                for raw in proc.stdout:
                    line = raw.decode("utf-8", errors="replace").rstrip()
                    self.output_tail.append(line)
                    if sink is not None:
                        sink.write(line + "\n")
                        sink.flush()
                    if not found and (m := READY_PATTERN.search(line)):
                        found = True
                        with contextlib.suppress(RuntimeError):
                            loop.call_soon_threadsafe(deliver, m.group(1))
            finally:
                if sink is not None:
                    sink.close()
                if not found:
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(deliver, None)

        self._reader = threading.Thread(
            target=read_output, args=(self.process,), name="qwenvoice-offline-server-output", daemon=True
        )
        self._reader.start()
        try:
            self.url = await asyncio.wait_for(ready, self.start_timeout)
        except TimeoutError as exc:
            await self.stop()
            raise OfflineServerError(f"the offline server did not become ready in {self.start_timeout:.0f} s") from exc
        except BaseException:
            await self.stop()
            raise
        log.info("offline server ready at %s (pid %s)", self.url, self.process.pid)
        return self.url

    def _exit_message(self) -> str:
        code = self.process.poll() if self.process is not None else None
        tail = " | ".join(line for line in list(self.output_tail)[-3:] if line)
        return f"the offline server exited (code {code})" + (f": {tail}" if tail else "")

    async def stop(self, grace: float = 6.0) -> int | None:
        """SIGTERM, wait up to ``grace`` s, then SIGKILL; always reaps. Returns the exit code.

        The server stops in about 0.5 s, or about 4 s while its speech models are still loading.
        """
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            deadline = time.monotonic() + grace
            # Polling keeps this independent of the loop's child watcher (qasync has none of its own).
            while proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                log.warning("offline server did not stop in %.1f s; killing it", grace)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        code = proc.wait()  # reaps; returns at once because the process has ended
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
        return code

    def stop_now(self) -> None:
        """Synchronous last resort (interpreter exit): kill and reap."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=2.0)
