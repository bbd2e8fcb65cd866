"""The offline server's function calls: when a session declared tools, decide from the user's words
whether to call one, and fill its arguments from those words, as the cloud model would (roughly).

A question about the time or the date calls a declared time tool; a request that names a declared tool
(its name, or enough of its description's words) calls that tool when every required argument can be
filled from the words. Rules, not a language model: honest and predictable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_STOP_WORDS = (
    "a an and the of to in on for with from by at is are was be it its this that what whats which who how "
    "please can could would you your me my i we our us tell give get show find use call run do does some any "
    "now then there their them than into about up as or if not no yes just"
)
_STOP = frozenset(_STOP_WORDS.split(" "))
_NUMBER_WORDS = {"plus": "+", "minus": "-", "times": "*", "multiplied": "*", "x": "*", "divided": "/",
                 "over": "/", "mod": "%", "modulo": "%"}


@dataclass(frozen=True, slots=True)
class PlannedCall:
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Declared:
    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]

    @property
    def name_words(self) -> list[str]:
        return [w for w in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", self.name.lower()) if w]


def _declared(tools: list[dict[str, Any]]) -> list[_Declared]:
    found: list[_Declared] = []
    for tool in tools:
        fn: Any = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            continue
        params: Any = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
        props: Any = params.get("properties") if isinstance(params.get("properties"), dict) else {}
        required: Any = params.get("required") if isinstance(params.get("required"), list) else []
        found.append(_Declared(fn["name"], str(fn.get("description") or ""), props,
                               tuple(r for r in required if isinstance(r, str))))
    return found


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'.-]*[a-z0-9]|[a-z0-9]", text.lower())


def asks_time(heard: str) -> bool:
    words = f" {' '.join(_tokens(heard))} "
    if " time " in words and not any(w in words for w in (" timer ", " times ")):
        return True
    return re.search(r"\b(o'clock|what day|which day|day is it|what date|the date|today's date)\b", words) is not None


def _time_tool(tools: list[_Declared]) -> _Declared | None:
    candidates = [t for t in tools if not t.required and ("time" in t.name_words or "clock" in t.name_words)]
    if not candidates:
        candidates = [t for t in tools if not t.required and re.search(r"\btime\b", t.description.lower())]
    return candidates[0] if candidates else None


def _keywords(tool: _Declared) -> set[str]:
    return {w for w in _tokens(tool.description) if len(w) > 3 and w not in _STOP}


def _singular(words: set[str]) -> set[str]:
    return words | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}


def _score(tool: _Declared, heard: str, words: set[str]) -> int:
    spaced = " ".join(tool.name_words)
    if tool.name.lower() in heard.lower() or (len(tool.name_words) > 1 and spaced in " ".join(_tokens(heard))):
        return 100
    name_hits = sum(1 for w in tool.name_words if w in words and w not in _STOP)
    return name_hits * 2 + len(_keywords(tool) & words)


def _expression(heard: str) -> str | None:
    text = heard.lower().replace("divided by", "divided")
    out: list[str] = []
    for token in re.findall(r"\d+(?:\.\d+)?|[-+*/%^()]|[a-z]+", text):
        if token in _NUMBER_WORDS:
            out.append(_NUMBER_WORDS[token])
        elif re.fullmatch(r"\d+(?:\.\d+)?|[-+*/%^()]", token):
            out.append(token)
        elif out and out[-1] not in "+-*/%^(":
            break  # a word after the expression ends it
    expression = " ".join(out).strip()
    return expression if re.search(r"\d", expression) and re.search(r"[-+*/%^]", expression) else None


def _fill(tool: _Declared, heard: str) -> dict[str, Any] | None:
    tokens = _tokens(heard)
    quoted = re.findall(r"[\"“']([^\"”']+)[\"”']", heard)
    skip = _STOP | set(tool.name_words) | _keywords(tool)
    content = [t for t in tokens if t not in skip]
    arguments: dict[str, Any] = {}
    for name, schema in tool.properties.items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        value: Any = None
        if kind in ("number", "integer"):
            numbers = re.findall(r"-?\d+(?:\.\d+)?", heard)
            if numbers:
                value = int(float(numbers[0])) if kind == "integer" else float(numbers[0])
        elif name.lower() in ("expression", "formula"):
            value = _expression(heard)
        elif name.lower() == "date":
            match = re.search(r"\d{4}-\d{2}-\d{2}", heard)
            value = match.group(0) if match else None
        else:
            key = name.lower()
            if key in tokens and tokens.index(key) + 1 < len(tokens):
                following = [t for t in tokens[tokens.index(key) + 1:] if t not in _STOP | {"called", "named"}]
                value = following[0] if following else None
            elif quoted:
                value = quoted[0]
            elif content:
                value = content[-1]
        if value is not None:
            arguments[name] = value
    if any(name not in arguments for name in tool.required):
        return None
    return arguments


def plan_call(heard: str, tools: list[dict[str, Any]]) -> PlannedCall | None:
    """The call to make for what the user said, or None to answer in words."""
    declared = _declared(tools)
    if not declared or not heard.strip():
        return None
    words = _singular(set(_tokens(heard)))
    ranked = sorted(((_score(t, heard, words), i, t) for i, t in enumerate(declared)), key=lambda x: (-x[0], x[1]))
    for score, _i, tool in ranked:
        if score < 3:
            break
        arguments = _fill(tool, heard)
        if arguments is not None:
            return PlannedCall(tool.name, arguments)
    if asks_time(heard):
        time_tool = _time_tool(declared)
        if time_tool is not None:
            return PlannedCall(time_tool.name, {})
    return None


def answer_with(name: str, output: str) -> str:
    """What the offline model says once a tool's output came back: it carries the output."""
    output = " ".join(output.split())
    spoken_name = name.replace("_", " ")
    if re.match(r"^(denied|timed out|error)\b", output):
        return f"I could not use {spoken_name}. {output}"
    if "time" in name.lower().split("_") or "clock" in name.lower():
        return f"It's {output}."
    return f"{spoken_name.capitalize()} says: {output}"
