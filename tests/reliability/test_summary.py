"""The conversation summary that a renewed (or reconnected) session gets in its instructions."""

from __future__ import annotations

from qwenvoice.protocol.config import INSTRUCTIONS_TOKEN_LIMIT, estimate_tokens
from qwenvoice.session.conversation import Turn
from qwenvoice.session.summary import (
    SUMMARY_HEADER,
    conversation_summary,
    instructions_with_summary,
    session_with_summary,
)


def turns(n: int, text: str = "words " * 10) -> list[Turn]:
    return [Turn(turn_id=str(i), role="user" if i % 2 == 0 else "assistant", text=f"{i}: {text}") for i in range(n)]


def test_nothing_to_carry_over_gives_no_summary():
    assert conversation_summary([]) == ""
    assert conversation_summary([Turn("a", "user", text="  ")]) == ""
    assert instructions_with_summary("Be brief.", []) == "Be brief."


def test_latest_turns_in_order_with_roles_and_the_rest_counted():
    summary = conversation_summary(turns(40))
    lines = summary.splitlines()
    assert lines[0] == SUMMARY_HEADER
    assert lines[1].startswith("(") and "earlier turns not shown" in lines[1]
    body = lines[2:]
    assert body[-1].startswith("- Assistant: 39:") and body[-2].startswith("- User: 38:")
    numbers = [int(line.split(": ")[1]) for line in body]
    assert numbers == sorted(numbers)  # oldest first
    assert estimate_tokens(summary) <= 600


def test_a_cut_reply_keeps_only_what_was_heard_and_long_turns_are_clipped():
    cut = Turn("b", "assistant", text="The first half. The second half nobody heard.", interrupted=True,
               heard_chars=15)
    long = Turn("c", "user", text="x " * 500)
    summary = conversation_summary([long, cut])
    assert "- Assistant (cut off): The first half." in summary and "nobody heard" not in summary
    assert max(len(line) for line in summary.splitlines()) < 230


def test_user_instructions_are_never_cut_and_the_total_stays_within_the_limit():
    own = "Speak like a pirate. " * 250  # ~1300 tokens of the 1600 allowed
    combined = instructions_with_summary(own, turns(50))
    assert combined.startswith(own)
    assert estimate_tokens(combined) <= INSTRUCTIONS_TOKEN_LIMIT
    too_long = "长" * INSTRUCTIONS_TOKEN_LIMIT
    assert instructions_with_summary(too_long, turns(5)) == too_long  # no room: no summary


def test_session_with_summary_copies_and_only_touches_instructions():
    session = {"voice": "Cherry", "instructions": "Be kind.", "turn_detection": None}
    out = session_with_summary(session, turns(2))
    assert session["instructions"] == "Be kind." and out is not session
    assert out["voice"] == "Cherry" and out["turn_detection"] is None
    assert out["instructions"].startswith("Be kind.\n\n" + SUMMARY_HEADER)
    assert session_with_summary({"voice": "Cherry"}, []) == {"voice": "Cherry"}
