"""Built-in tools a desktop voice assistant user expects, needing no credentials: the local time, a
calculator and a calendar look-up. All of them only read."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from qwenvoice.tools.registry import Tool, ToolRegistry

Clock = Callable[[], datetime]


def _local_now() -> datetime:
    return datetime.now().astimezone()


def _zone(now: datetime) -> str:
    offset = now.utcoffset()
    name = now.tzname() or ""
    if offset is None:
        return name or "local time"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    utc = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{name} ({utc})" if name and name != utc else utc


def current_time_text(now: datetime) -> str:
    hour = now.hour % 12 or 12
    suffix = "AM" if now.hour < 12 else "PM"
    return (f"{hour}:{now.minute:02d} {suffix} on {now.strftime('%A')}, {now.strftime('%B')} {now.day}, "
            f"{now.year}, time zone {_zone(now)}")


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def calculate(expression: str) -> str:
    """Arithmetic only (+ - * / // % ** and parentheses); no names, no calls."""
    text = expression.replace("×", "*").replace("÷", "/").replace("^", "**").strip()
    tree = ast.parse(text, mode="eval")

    def value(node: ast.AST) -> float | int:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 1000:
                raise ValueError("the exponent is too large")
            result: float | int = _BINARY[type(node.op)](left, right)
            return result
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            result = _UNARY[type(node.op)](value(node.operand))
            return result
        raise ValueError("only numbers and + - * / // % ** ( ) are allowed")

    result = value(tree)
    if isinstance(result, float) and result.is_integer() and abs(result) < 1e15:
        result = int(result)
    return f"{expression.strip()} = {result:.10g}" if isinstance(result, float) else f"{expression.strip()} = {result}"


def day_info(day: str, today: date) -> str:
    when = date.fromisoformat(day.strip())
    delta = (when - today).days
    relative = ("today" if delta == 0 else f"in {delta} day{'s' if delta != 1 else ''}" if delta > 0
                else f"{-delta} day{'s' if delta != -1 else ''} ago")
    week = when.isocalendar().week
    return f"{when.isoformat()} is a {when.strftime('%A')} (ISO week {week}), {relative}"


def add_builtin_tools(registry: ToolRegistry, clock: Clock = _local_now) -> None:
    async def get_current_time(_args: dict[str, Any]) -> str:
        return current_time_text(clock())

    async def calc(args: dict[str, Any]) -> str:
        expression = args.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise ValueError("expression must be a non-empty string")
        return calculate(expression)

    async def get_day_info(args: dict[str, Any]) -> str:
        day = args.get("date")
        if not isinstance(day, str):
            raise ValueError("date must be a string like 2026-12-25")
        return day_info(day, clock().date())

    registry.add(Tool(
        "get_current_time", "Get the user's local date, time and time zone now.",
        {"type": "object", "properties": {}, "required": []}, True, get_current_time))
    registry.add(Tool(
        "calculate", "Calculate an arithmetic expression exactly (numbers, + - * / // % ** and parentheses).",
        {"type": "object", "properties": {"expression": {"type": "string", "description": "e.g. (12.5 * 4) / 3"}},
         "required": ["expression"]}, True, calc))
    registry.add(Tool(
        "get_day_info", "Tell the weekday of a date, its week number and how many days it is from today.",
        {"type": "object",
         "properties": {"date": {"type": "string", "description": "the date as YYYY-MM-DD"}},
         "required": ["date"]}, True, get_day_info))
