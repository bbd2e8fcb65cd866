"""MCP servers over stdio (the official ``mcp`` SDK): start one from a command line, list its tools into
the registry, call them, stop it.

Each server lives in one task that holds the SDK's context managers (they must be entered and left in
the same task); calls from other tasks go through its ``ClientSession``. A server that fails to start or
to answer is reported with its reason (the end of what it wrote on stderr when there is one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import tempfile
from pathlib import PurePath
from typing import Any, TextIO

from qwenvoice.tools.registry import Tool, ToolRegistry, clean_name

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


class McpServerError(RuntimeError):
    pass


def server_name(command_line: str) -> str:
    """A short name for a server from its command: the last word that is not an option, without its
    folder, extension or package (``python -m pkg.weather_server`` → ``weather_server``)."""
    try:
        words = shlex.split(command_line)
    except ValueError:
        words = command_line.split()
    plain = [w for w in words if not w.startswith("-")] or words or ["mcp"]
    stem = PurePath(plain[-1]).name
    for ext in (".py", ".js", ".mjs", ".exe"):
        stem = stem.removesuffix(ext)
    return clean_name(stem.rsplit(".", 1)[-1]) or "mcp"


class McpServer:
    def __init__(self, command_line: str, *, start_timeout_s: float = START_TIMEOUT_S,
                 env: dict[str, str] | None = None) -> None:
        self.command_line = command_line
        self.name = server_name(command_line)
        self.start_timeout_s = start_timeout_s
        self.env = env
        self._session: Any = None  # mcp.ClientSession once started
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._errlog: TextIO | None = None

    @property
    def running(self) -> bool:
        return self._session is not None and self._task is not None and not self._task.done()

    def _stderr_tail(self) -> str:
        if self._errlog is None:
            return ""
        try:
            self._errlog.seek(0)
            lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return " / ".join(lines[-3:])[-400:]

    async def start(self) -> list[Any]:
        """Start the server and list its tools (``mcp.types.Tool``); raises ``McpServerError`` with the reason."""
        try:
            words = shlex.split(self.command_line)
        except ValueError as exc:
            raise McpServerError(f"the command cannot be read: {exc}") from None
        if not words:
            raise McpServerError("the command is empty")
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[list[Any]] = loop.create_future()
        self._stop = asyncio.Event()
        errlog: Any = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._errlog = errlog
        self._task = loop.create_task(self._run(words, ready), name=f"qwenvoice-mcp-{self.name}")
        try:
            return await asyncio.wait_for(asyncio.shield(ready), self.start_timeout_s)
        except TimeoutError:
            await self.stop()
            tail = self._stderr_tail()
            raise McpServerError(f"it did not answer within {self.start_timeout_s:.0f} s"
                                 + (f" ({tail})" if tail else "")) from None
        except McpServerError:
            await self.stop()
            raise

    async def _run(self, words: list[str], ready: asyncio.Future[list[Any]]) -> None:
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        env = dict(self.env) if self.env is not None else None
        if env is None and "PYTHONPATH" in os.environ:
            env = {"PYTHONPATH": os.environ["PYTHONPATH"]}  # the SDK passes only a safe subset on
        params = StdioServerParameters(command=words[0], args=words[1:], env=env)
        assert self._stop is not None and self._errlog is not None
        try:
            async with stdio_client(params, errlog=self._errlog) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                self._session = session
                if not ready.done():
                    ready.set_result(list(listed.tools))
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.set_exception(McpServerError("it was stopped while starting"))
            raise
        except BaseException as exc:
            reason = self._stderr_tail() or _first_reason(exc)
            if not ready.done():
                ready.set_exception(McpServerError(reason))
            else:
                log.warning("MCP server %s ended: %s", self.name, reason)
        finally:
            self._session = None

    async def call(self, tool: str, arguments: dict[str, Any], timeout_s: float | None = None) -> str:
        session = self._session
        if session is None:
            tail = self._stderr_tail()
            raise McpServerError(f"the MCP server {self.name} is not running" + (f" ({tail})" if tail else ""))
        result = await session.call_tool(tool, arguments, read_timeout_seconds=timeout_s)
        text = _result_text(result.content)
        if result.is_error:
            raise McpServerError(text or f"{tool} failed on the MCP server {self.name}")
        if not text and result.structured_content is not None:
            import json

            text = json.dumps(result.structured_content, ensure_ascii=False)
        return text

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
            self._errlog = None


def _first_reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return text or type(exc).__name__


def _result_text(content: list[Any]) -> str:
    parts: list[str] = []
    for block in content:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')}]")
    return "\n".join(parts)


class McpServers:
    """The MCP servers of one run: started together, their tools in the registry, stopped together."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
        self.servers: list[McpServer] = []

    async def start(self, command_lines: list[str], *, env: dict[str, str] | None = None,
                    start_timeout_s: float = START_TIMEOUT_S) -> list[str]:
        """Start every server; returns a problem text per server that failed (the others run)."""
        new = [McpServer(line, env=env, start_timeout_s=start_timeout_s) for line in command_lines if line.strip()]
        results = await asyncio.gather(*(server.start() for server in new), return_exceptions=True)
        problems: list[str] = []
        for server, result in zip(new, results, strict=True):
            if isinstance(result, BaseException):
                problems.append(f"The MCP server '{server.command_line}' could not start: {_first_reason(result)}")
                continue
            self.servers.append(server)
            for listed in result:
                self.registry.add(self._tool(server, listed))
        return problems

    @staticmethod
    def _tool(server: McpServer, listed: Any) -> Tool:
        name = str(listed.name)
        schema = listed.input_schema if isinstance(listed.input_schema, dict) else {}
        parameters = {k: v for k, v in schema.items() if k not in ("title", "$schema")} or {"type": "object",
                                                                                            "properties": {}}
        annotations = listed.annotations
        read_only = bool(annotations is not None and annotations.read_only_hint)

        async def call(arguments: dict[str, Any]) -> str:
            return await server.call(name, arguments)

        description = listed.description or listed.title or name
        return Tool(name, f"{description} (MCP server {server.name})", parameters, read_only, call, server.name, name)

    async def stop(self) -> None:
        servers, self.servers = self.servers, []
        for server in servers:
            self.registry.remove_source(server.name)
        await asyncio.gather(*(server.stop() for server in servers), return_exceptions=True)
