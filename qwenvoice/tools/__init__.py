"""What the model can do: the tool registry, built-in tools, MCP clients and the approval policy (Qt-free)."""
