"""A short summary of the conversation so far, for a session that continues an earlier one.

The service keeps no history across sessions: a session renewed before the 120-minute cap (or opened
after a dropped connection) starts blank. Its instructions therefore carry the user's own
instructions plus a compact, extractive summary of the latest turns, so the assistant keeps the
thread. Qt-free and pure: turns in, text out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qwenvoice.session.conversation import Turn

from qwenvoice.protocol.config import INSTRUCTIONS_TOKEN_LIMIT, estimate_tokens

SUMMARY_HEADER = "Conversation so far (continued from an earlier session; do not repeat it):"
# Room left for the user's own instructions: the summary never takes more than this many tokens.
SUMMARY_TOKEN_BUDGET = 600
TURN_CHARS = 200  # each turn is clipped to about this many characters
MAX_TURNS = 12


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def _line(turn: Turn) -> str | None:
    text = str(getattr(turn, "text", "") or "").strip()
    if not text:
        return None
    role = getattr(turn, "role", "")
    if role == "assistant":
        heard = getattr(turn, "heard_chars", None)
        if getattr(turn, "interrupted", False) and isinstance(heard, int):
            text = text[:heard]
            return f"- Assistant (cut off): {_clip(text, TURN_CHARS)}" if text.strip() else None
        return f"- Assistant: {_clip(text, TURN_CHARS)}"
    return f"- User: {_clip(text, TURN_CHARS)}"


def conversation_summary(turns: Sequence[Turn], token_budget: int = SUMMARY_TOKEN_BUDGET) -> str:
    """The latest turns (newest kept first when the budget runs out), oldest first in the text, with
    a count of the earlier turns left out. Empty when there is nothing to carry over."""
    lines: list[str] = []
    used = estimate_tokens(SUMMARY_HEADER) + 8
    considered = 0
    with_text = [t for t in turns if _line(t) is not None]
    for turn in reversed(with_text):
        if len(lines) >= MAX_TURNS:
            break
        line = _line(turn)
        assert line is not None
        cost = estimate_tokens(line) + 1
        if used + cost > token_budget:
            break
        lines.append(line)
        used += cost
        considered += 1
    if not lines:
        return ""
    lines.reverse()
    earlier = len(with_text) - considered
    head = SUMMARY_HEADER + (f"\n({earlier} earlier turns not shown)" if earlier else "")
    return head + "\n" + "\n".join(lines)


def instructions_with_summary(instructions: str, turns: Sequence[Turn]) -> str:
    """The user's instructions followed by the summary, within the instructions token limit (the
    summary shrinks to fit; the user's own instructions are never cut)."""
    instructions = instructions or ""
    room = INSTRUCTIONS_TOKEN_LIMIT - estimate_tokens(instructions) - 4
    summary = conversation_summary(turns, min(SUMMARY_TOKEN_BUDGET, room)) if room > 40 else ""
    if not summary:
        return instructions
    return f"{instructions}\n\n{summary}" if instructions.strip() else summary


def session_with_summary(session: dict[str, Any], turns: Sequence[Turn]) -> dict[str, Any]:
    """A copy of a ``session.update`` session object whose instructions carry the summary."""
    out = dict(session)
    combined = instructions_with_summary(str(session.get("instructions") or ""), turns)
    if combined:
        out["instructions"] = combined
    return out
