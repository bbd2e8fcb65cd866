"""The tool registry, the built-in tools, the approval policy, one call's outcomes, and real MCP servers."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from qwenvoice.tools import approval, calls
from qwenvoice.tools.builtin import add_builtin_tools, calculate
from qwenvoice.tools.mcp_client import McpServers, server_name
from qwenvoice.tools.registry import Tool, ToolRegistry

TEST_SERVER = f"{sys.executable} -m tests.support.mcp_server"
FIXED = datetime(2026, 3, 14, 15, 9, tzinfo=timezone(timedelta(hours=5, minutes=30), "IST"))


async def _echo(args: dict[str, Any]) -> str:
    return repr(args)


def test_names_stay_unique_across_sources() -> None:
    registry = ToolRegistry()
    add_builtin_tools(registry)
    clash = registry.add(Tool("get_current_time", "the server's clock", {"type": "object"}, True, _echo, "weather"))
    assert clash.name == "weather_get_current_time" and clash.original_name == "get_current_time"
    names = [d["function"]["name"] for d in registry.declarations()]
    assert len(names) == len(set(names)) and "get_current_time" in names
    assert all(d["type"] == "function" and "parameters" in d["function"] for d in registry.declarations())


async def test_builtin_time_says_date_time_and_zone() -> None:
    registry = ToolRegistry()
    add_builtin_tools(registry, clock=lambda: FIXED)
    tool = registry.get("get_current_time")
    assert tool is not None and tool.read_only
    text = await tool.call({})
    assert "3:09 PM" in text and "Saturday, March 14, 2026" in text and "UTC+05:30" in text and "IST" in text
    day = registry.get("get_day_info")
    assert day is not None and "Wednesday" in await day.call({"date": "2026-03-18"})
    assert "in 4 days" in await day.call({"date": "2026-03-18"})


def test_calculator_does_arithmetic_only() -> None:
    assert calculate("(12.5 * 4) / 2") == "(12.5 * 4) / 2 = 25"
    assert calculate("7 / 4") == "7 / 4 = 1.75"
    with pytest.raises(ValueError):
        calculate("__import__('os').system('true')")
    with pytest.raises(ValueError):
        calculate("9 ** 99999")


def _acting_registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add(Tool("send_mail", "sends mail", {"type": "object"}, False, _echo))
    return registry


async def test_acting_tool_is_refused_without_permission_and_runs_with_it() -> None:
    registry = _acting_registry()
    refused = await calls.run_call(registry, approval.ApprovalPolicy(allow_acting=False), "send_mail", '{"to": "x"}')
    assert refused.status == approval.DENIED and refused.output.startswith("denied:")
    assert "--allow-tools" in refused.output
    allowed = await calls.run_call(registry, approval.ApprovalPolicy(allow_acting=True), "send_mail", ' {"to": "x"}')
    assert allowed.ok and allowed.output == "{'to': 'x'}"


async def test_approval_asks_and_times_out() -> None:
    registry = _acting_registry()
    asked: list[str] = []

    async def yes(tool: Tool, args: dict[str, Any]) -> bool:
        asked.append(tool.name)
        return True

    async def never(tool: Tool, args: dict[str, Any]) -> bool:
        await asyncio.sleep(10)
        return True

    ok = await calls.run_call(registry, approval.ApprovalPolicy(ask=yes), "send_mail", "{}")
    assert ok.ok and asked == ["send_mail"]
    late = await calls.run_call(registry, approval.ApprovalPolicy(ask=never, timeout_s=0.05), "send_mail", "{}")
    assert late.status == approval.TIMED_OUT and late.output.startswith("timed out:")


async def test_bad_calls_give_the_model_a_clear_output() -> None:
    registry = ToolRegistry()
    add_builtin_tools(registry)

    async def slow(args: dict[str, Any]) -> str:
        await asyncio.sleep(10)
        return ""

    registry.add(Tool("slow", "slow", {"type": "object"}, True, slow))
    policy = approval.ApprovalPolicy()
    unknown = await calls.run_call(registry, policy, "nope", "{}")
    assert unknown.status == calls.UNKNOWN and "get_current_time" in unknown.output
    bad_json = await calls.run_call(registry, policy, "calculate", "{expression")
    assert bad_json.status == calls.ERROR and bad_json.output.startswith("error:")
    failed = await calls.run_call(registry, policy, "calculate", '{"expression": "os.getcwd()"}')
    assert failed.status == calls.ERROR
    slow_out = await calls.run_call(registry, policy, "slow", "{}", time_limit_s=0.05)
    assert slow_out.status == calls.TIMED_OUT and "longer than" in slow_out.output


def test_server_names() -> None:
    assert server_name("python -m tests.support.mcp_server") == "mcp_server"
    assert server_name("npx -y @modelcontextprotocol/server-filesystem /tmp") == "tmp"
    assert server_name("/opt/weather.py --verbose") == "weather"


async def test_mcp_server_tools_are_listed_called_and_stopped() -> None:
    registry = ToolRegistry()
    add_builtin_tools(registry)
    servers = McpServers(registry)
    problems = await servers.start([TEST_SERVER, f"{TEST_SERVER} --fail-start", "/nonexistent/mcp-server"])
    try:
        assert len(problems) == 2
        assert "no database configured" in problems[0]  # what the server said on stderr
        assert "/nonexistent/mcp-server" in problems[1]
        lookup, note = registry.get("lookup_word"), registry.get("add_note")
        assert lookup is not None and lookup.read_only and lookup.source == "mcp_server"
        assert note is not None and not note.read_only  # no read-only hint: it acts
        assert lookup.parameters["required"] == ["word"]
        out = await calls.run_call(registry, approval.ApprovalPolicy(allow_acting=False), "lookup_word",
                                   '{"word": "Zephyr"}')
        assert out.ok and "glossary entry 7431" in out.output
        refused = await calls.run_call(registry, approval.ApprovalPolicy(allow_acting=False), "add_note",
                                       '{"text": "milk"}')
        assert refused.status == approval.DENIED
        wrong = await calls.run_call(registry, approval.ApprovalPolicy(), "lookup_word", '{"colour": 1}')
        assert wrong.status == calls.ERROR
    finally:
        server = servers.servers[0]
        await servers.stop()
    assert registry.get("lookup_word") is None and not server.running


def test_the_tools_settings_are_saved_and_read_back(tmp_path) -> None:
    from qwenvoice.settings.store import SettingsStore

    store = SettingsStore(tmp_path)
    settings = store.load().settings
    assert settings.tools.builtin and settings.tools.mcp_servers == ()
    settings.tools.builtin = False
    settings.tools.mcp_servers = (TEST_SERVER,)
    store.save(settings)
    loaded = SettingsStore(tmp_path).load()
    assert loaded.notices == [] and not loaded.settings.tools.builtin
    assert loaded.settings.tools.mcp_servers == (TEST_SERVER,)
