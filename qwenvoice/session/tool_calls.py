"""The model's function calls in a voice session: which tools are offered, running a call, the answer.

The registry holds the built-in tools and those of the run's MCP servers; a model that takes tools (the
registry in ``protocol.models`` says which) is offered them in ``session.update``. A
``FunctionCallRequested`` runs the tool under the approval policy and a time limit, then the protocol
machine's ``send_function_result`` gives the ``function_call_output`` item and the ``response.create``.
Stop, a barge-in or a typed message cancels calls still running (no output is sent for them: the user
moved on). Each call is reported to the listener twice: when it starts and with its outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwenvoice.protocol import notifications as nt
from qwenvoice.protocol.models import omni_capabilities
from qwenvoice.session import status as st
from qwenvoice.tools.approval import APPROVAL_TIMEOUT_S, ApprovalPolicy
from qwenvoice.tools.builtin import add_builtin_tools
from qwenvoice.tools.calls import CALL_TIME_LIMIT_S, ERROR, TIMED_OUT, ToolCallOutcome, parse_arguments, run_call
from qwenvoice.tools.mcp_client import McpServers
from qwenvoice.tools.registry import BUILT_IN, Tool, ToolRegistry

if TYPE_CHECKING:
    from qwenvoice.protocol.omni import OmniConversation
    from qwenvoice.session.voice import VoiceSession

log = logging.getLogger(__name__)

RUNNING = "running"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ToolCallReport:
    """One call as the user sees it: running, then its outcome (``status`` from ``tools.calls``/``approval``,
    or ``cancelled``), with the output the model got or the error."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    status: str
    output: str = ""
    error: str = ""
    elapsed_s: float = 0.0
    source: str = BUILT_IN
    read_only: bool = True

    @property
    def done(self) -> bool:
        return self.status != RUNNING


@dataclass(slots=True)
class ToolApprovalRequest:
    """A tool that acts wants to run: the face shows it and calls ``answer``; no answer within
    ``timeout_s`` means it does not run."""

    call_id: str
    name: str
    description: str
    arguments: dict[str, Any]
    source: str
    timeout_s: float
    _answer: asyncio.Future[bool] = field(repr=False,
                                          default_factory=lambda: asyncio.get_running_loop().create_future())

    def answer(self, allowed: bool) -> None:
        if not self._answer.done():
            self._answer.set_result(allowed)

    async def wait(self) -> bool:
        return await self._answer


class ToolCalls:
    def __init__(self, session: VoiceSession) -> None:
        self._session = session
        self.registry = ToolRegistry()
        self.mcp = McpServers(self.registry)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._awaiting_reply = False  # an output was sent; the model's answer has not started yet
        self._builtin_added = False

    # ---- what is offered ------------------------------------------------------------------------

    def enable_builtin(self) -> None:
        if not self._builtin_added:
            add_builtin_tools(self.registry)
            self._builtin_added = True

    async def start_mcp(self, command_lines: list[str]) -> list[str]:
        return await self.mcp.start(command_lines)

    def declarations(self, model: str) -> list[dict[str, Any]]:
        """The ``tools`` for ``model``'s ``session.update``: none for a model that does not take them."""
        if not omni_capabilities(model).supports_tools:
            return []
        return self.registry.declarations()

    @property
    def busy(self) -> bool:
        """A call is running, or its output went out and the model has not started answering."""
        return bool(self._running) or self._awaiting_reply

    # ---- the flow -------------------------------------------------------------------------------

    def on_request(self, n: nt.FunctionCallRequested) -> None:
        machine = self._session.machine
        if machine is None:
            return
        task = self._session.spawn(self._run(n, machine), f"qwenvoice-tool-{n.name}")
        self._running[n.call_id] = task

    def response_started(self) -> None:
        self._awaiting_reply = False

    async def _run(self, n: nt.FunctionCallRequested, machine: OmniConversation) -> None:
        s = self._session
        tool = self.registry.get(n.name)
        try:
            arguments = parse_arguments(n.arguments)
        except ValueError:
            arguments = {}
        started = time.monotonic()
        s.listener.tool_called(ToolCallReport(n.call_id, n.name, arguments, RUNNING,
                                              source=tool.source if tool else BUILT_IN,
                                              read_only=tool.read_only if tool else True))
        policy = ApprovalPolicy(s.options.allow_tools,
                                None if s.options.allow_tools is not None else self._ask(n.call_id),
                                s.options.tool_approval_timeout_s)
        try:
            outcome = await run_call(self.registry, policy, n.name, n.arguments, s.options.tool_time_limit_s)
        except asyncio.CancelledError:
            self._report_end(n, arguments, CANCELLED, "", "stopped by the user", time.monotonic() - started, tool)
            raise
        finally:
            self._running.pop(n.call_id, None)
        if machine is s.machine and not s.shutting_down:
            s.link.send_all(machine.send_function_result(n.call_id, outcome.output))
            self._awaiting_reply = True
        self._report_outcome(n.call_id, outcome)

    def _ask(self, call_id: str) -> Any:
        async def ask(tool: Tool, arguments: dict[str, Any]) -> bool:
            request = ToolApprovalRequest(call_id, tool.name, tool.description, arguments, tool.source,
                                          self._session.options.tool_approval_timeout_s)
            self._session.listener.tool_approval_requested(request)
            return await request.wait()

        return ask

    def _report_outcome(self, call_id: str, outcome: ToolCallOutcome) -> None:
        s = self._session
        s.listener.tool_called(ToolCallReport(call_id, outcome.name, outcome.arguments, outcome.status,
                                              outcome.output, outcome.error, outcome.elapsed_s, outcome.source,
                                              outcome.read_only))
        if outcome.source != BUILT_IN and outcome.status in (ERROR, TIMED_OUT):
            s.say(st.WARNING, f"The MCP server {outcome.source} failed on {outcome.name}: {outcome.error}",
                  st.ACTION_OPEN_SETTINGS)

    def _report_end(self, n: nt.FunctionCallRequested, arguments: dict[str, Any], status: str, output: str,
                    error: str, elapsed: float, tool: Tool | None) -> None:
        self._session.listener.tool_called(ToolCallReport(
            n.call_id, n.name, arguments, status, output, error, elapsed,
            tool.source if tool else BUILT_IN, tool.read_only if tool else True))

    def cancel_all(self) -> None:
        """Stop, barge-in, a new typed message or a lost connection: calls still running are dropped."""
        self._awaiting_reply = False
        for task in list(self._running.values()):
            task.cancel()
        self._running.clear()

    async def stop(self) -> None:
        self.cancel_all()
        await self.mcp.stop()


__all__ = ["APPROVAL_TIMEOUT_S", "CALL_TIME_LIMIT_S", "ToolApprovalRequest", "ToolCallReport", "ToolCalls"]
