"""A tiny stdio MCP server written with the ``mcp`` package, for tests.

``python -m tests.support.mcp_server`` serves ``lookup_word`` (read-only: a fixed glossary) and
``add_note`` (acts: keeps a note). ``--fail-start`` exits at once with a message on stderr, as a server
that cannot start does.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

GLOSSARY = {"zephyr": "a gentle west wind (glossary entry 7431)", "harbor": "a sheltered port (glossary entry 5120)"}

server = MCPServer("qwenvoice-test-glossary")


@server.tool(description="Look up a word in the team glossary and return its meaning.",
             annotations=ToolAnnotations(read_only_hint=True))
def lookup_word(word: str) -> str:
    return GLOSSARY.get(word.strip().lower(), f"{word} is not in the glossary")


@server.tool(description="Add a note to the shared notebook.", annotations=ToolAnnotations(read_only_hint=False))
def add_note(text: str) -> str:
    return f"noted: {text}"


if __name__ == "__main__":
    if "--fail-start" in sys.argv:
        print("glossary server: no database configured", file=sys.stderr)
        sys.exit(3)
    server.run("stdio")
