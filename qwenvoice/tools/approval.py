"""Which tool calls run: a tool that only reads runs; a tool that acts needs the user's approval.

``allow_acting`` True runs acting tools without asking (``ask --allow-tools``), False refuses them (the
terminal without that flag), None asks through ``ask`` and waits at most ``timeout_s``. A refusal or
no answer becomes a clear output for the model, never silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from qwenvoice.tools.registry import Tool

Approver = Callable[[Tool, dict[str, Any]], Awaitable[bool]]

APPROVAL_TIMEOUT_S = 60.0

ALLOWED = "allowed"
DENIED = "denied"
TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: str  # ALLOWED, DENIED or TIMED_OUT
    reason: str = ""  # for the model and the user when not allowed

    @property
    def allowed(self) -> bool:
        return self.verdict == ALLOWED


class ApprovalPolicy:
    def __init__(self, allow_acting: bool | None = None, ask: Approver | None = None,
                 timeout_s: float = APPROVAL_TIMEOUT_S) -> None:
        self.allow_acting = allow_acting
        self.ask = ask
        self.timeout_s = timeout_s

    async def decide(self, tool: Tool, arguments: dict[str, Any]) -> Decision:
        if tool.read_only or self.allow_acting is True:
            return Decision(ALLOWED)
        if self.allow_acting is False or self.ask is None:
            return Decision(DENIED, f"denied: {tool.name} acts rather than only reads, and tools that act are "
                                    "not allowed in this run (the user can allow them with --allow-tools)")
        try:
            ok = await asyncio.wait_for(self.ask(tool, arguments), self.timeout_s)
        except TimeoutError:
            return Decision(TIMED_OUT, f"timed out: the user did not approve {tool.name} within "
                                       f"{self.timeout_s:.0f} s, so it did not run")
        if ok:
            return Decision(ALLOWED)
        return Decision(DENIED, f"denied: the user did not allow {tool.name} to run")
