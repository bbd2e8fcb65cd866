"""One function call from the model, run to an output string: parse the arguments, find the tool, ask the
approval policy, run it within a time limit. Every way it can end gives the model a clear output."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from qwenvoice.tools.approval import ApprovalPolicy
from qwenvoice.tools.registry import BUILT_IN, ToolRegistry

CALL_TIME_LIMIT_S = 30.0
MAX_OUTPUT_CHARS = 8000

OK = "ok"
ERROR = "error"
UNKNOWN = "unknown tool"
TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class ToolCallOutcome:
    """What a call did: for the model (``output``) and for the user (the rest)."""

    name: str
    arguments: dict[str, Any]
    output: str  # sent as the function_call_output
    status: str  # OK, ERROR, UNKNOWN, TIMED_OUT, or the approval's verdict ("denied", "timed out")
    error: str = ""
    elapsed_s: float = 0.0
    source: str = BUILT_IN
    read_only: bool = True

    @property
    def ok(self) -> bool:
        return self.status == OK


def parse_arguments(text: str) -> dict[str, Any]:
    """The ``arguments`` JSON string (may start with a space; empty means none)."""
    text = (text or "").strip()
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the arguments are not a JSON object")
    return value


async def run_call(registry: ToolRegistry, policy: ApprovalPolicy, name: str, arguments_json: str,
                   time_limit_s: float = CALL_TIME_LIMIT_S) -> ToolCallOutcome:
    started = time.monotonic()
    tool = registry.get(name)
    if tool is None:
        offered = ", ".join(registry.tools) or "none"
        reason = f"there is no tool named {name} (offered: {offered})"
        return ToolCallOutcome(name, {}, f"error: {reason}", UNKNOWN, reason)
    try:
        arguments = parse_arguments(arguments_json)
    except ValueError as exc:
        reason = f"the arguments are not valid JSON: {exc}"
        return ToolCallOutcome(name, {}, f"error: {reason}", ERROR, reason, source=tool.source,
                               read_only=tool.read_only)
    decision = await policy.decide(tool, arguments)
    if not decision.allowed:
        return ToolCallOutcome(name, arguments, decision.reason, decision.verdict, decision.reason,
                               time.monotonic() - started, tool.source, tool.read_only)
    run_started = time.monotonic()
    try:
        output = await asyncio.wait_for(tool.call(arguments), time_limit_s)
    except TimeoutError:
        reason = f"{name} took longer than {time_limit_s:.0f} s and was stopped"
        return ToolCallOutcome(name, arguments, f"error: {reason}", TIMED_OUT, reason,
                               time.monotonic() - run_started, tool.source, tool.read_only)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return ToolCallOutcome(name, arguments, f"error: {reason}", ERROR, reason,
                               time.monotonic() - run_started, tool.source, tool.read_only)
    if len(output) > MAX_OUTPUT_CHARS:
        output = output[:MAX_OUTPUT_CHARS] + " …(cut)"
    return ToolCallOutcome(name, arguments, output, OK, "", time.monotonic() - run_started, tool.source,
                           tool.read_only)
