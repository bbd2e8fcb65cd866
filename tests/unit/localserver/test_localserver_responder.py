"""The offline replies: time, date, greetings, help, repetition, persona, and honesty about being offline."""

from __future__ import annotations

from datetime import datetime

import pytest

from qwenvoice.localserver.responder import OFFLINE_NOTE, Persona, Responder

FIXED = datetime(2026, 11, 21, 15, 7)


@pytest.fixture
def responder() -> Responder:
    return Responder(clock=lambda: FIXED)


def test_time_question_gets_the_clock(responder: Responder) -> None:
    assert responder.reply("What time is it?") == "It's 3:07 PM."


def test_morning_time_uses_am(responder: Responder) -> None:
    early = Responder(clock=lambda: datetime(2026, 1, 2, 0, 5))
    assert early.reply("what's the time") == "It's 12:05 AM."


def test_date_question_gets_the_day(responder: Responder) -> None:
    assert responder.reply("What's the date today?") == "Today is Saturday, November 21, 2026."


def test_timer_is_not_a_time_question(responder: Responder) -> None:
    reply = responder.reply("Please set a timer for five minutes.")
    assert "3:07" not in reply
    assert "API key" in reply


def test_greeting_introduces_offline_mode(responder: Responder) -> None:
    reply = responder.reply("Hello, how are you doing today?")
    assert reply.startswith("Hello!")
    assert "offline mode" in reply and "API key" in reply


def test_help_says_english_only_and_offline(responder: Responder) -> None:
    reply = responder.reply("Can you help me?")
    assert "English only" in reply and "offline" in reply and "API key" in reply


def test_repeat_after_me(responder: Responder) -> None:
    assert responder.reply("Repeat after me: the quick brown fox") == "the quick brown fox"


def test_anything_else_is_echoed_with_the_offline_note(responder: Responder) -> None:
    reply = responder.reply("What is the capital of France?")
    assert reply == f'I heard: "What is the capital of France?". {OFFLINE_NOTE}'


def test_nothing_heard(responder: Responder) -> None:
    reply = responder.reply("   ")
    assert "didn't catch" in reply and "API key" in reply


def test_persona_name_from_instructions(responder: Responder) -> None:
    instructions = "You are a personal assistant named Xiaoyun. Please answer questions in a friendly manner."
    assert Persona.from_instructions(instructions).name == "Xiaoyun"
    reply = responder.reply("Who are you?", instructions)
    assert "Xiaoyun" in reply and "offline mode" in reply


def test_persona_without_a_name(responder: Responder) -> None:
    assert Persona.from_instructions("You are a helpful assistant.").name is None
    assert "qwenvoice's offline mode" in responder.reply("who are you", "You are a helpful assistant.")


def test_greeting_without_input_uses_persona(responder: Responder) -> None:
    assert "Max" in responder.greeting("Your name is Max.")


@pytest.mark.parametrize(
    "heard",
    ["What time is it?", "hello", "help", "tell me a joke", "who are you", "", "what is today"],
)
def test_never_claims_to_be_a_language_model(responder: Responder, heard: str) -> None:
    reply = responder.reply(heard).lower()
    assert "language model" not in reply
    assert "as an ai" not in reply
