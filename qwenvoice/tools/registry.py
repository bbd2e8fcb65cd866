"""The tools offered to the model: one registry, unique names across sources.

A ``Tool`` has a name, a description, JSON-schema parameters (the ``parameters`` of the documented
``session.update`` ``tools`` entry), whether it only reads or acts, and an async call that returns the
text the model gets back. A name that another source already uses is offered with the source's prefix.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

ToolFunction = Callable[[dict[str, Any]], Awaitable[str]]

BUILT_IN = "built-in"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    read_only: bool  # True: it only reads; False: it acts (and needs the user's approval)
    call: ToolFunction
    source: str = BUILT_IN  # "built-in" or the MCP server's name
    original_name: str = ""  # the name its source knows it by (MCP), when offered under another

    def declaration(self) -> dict[str, Any]:
        """The wire form: ``{"type": "function", "function": {name, description, parameters}}``."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


def clean_name(name: str) -> str:
    return _NAME_CHARS.sub("_", name).strip("_")[:MAX_NAME] or "tool"


@dataclass
class ToolRegistry:
    tools: dict[str, Tool] = field(default_factory=dict)

    def add(self, tool: Tool) -> Tool:
        """Register ``tool``; a clashing name gets the source's prefix (then a number). Returns the tool as
        registered (with the name the model sees)."""
        name = clean_name(tool.name)
        if name in self.tools:
            name = clean_name(f"{tool.source}_{tool.name}")
        base, n = name, 2
        while name in self.tools:
            name = clean_name(f"{base}_{n}")
            n += 1
        original = tool.original_name or tool.name
        registered = Tool(name, tool.description, tool.parameters, tool.read_only, tool.call, tool.source, original)
        self.tools[name] = registered
        return registered

    def remove_source(self, source: str) -> None:
        for name in [n for n, t in self.tools.items() if t.source == source]:
            del self.tools[name]

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def __len__(self) -> int:
        return len(self.tools)

    def declarations(self) -> list[dict[str, Any]]:
        return [tool.declaration() for tool in self.tools.values()]
