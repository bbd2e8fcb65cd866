"""The offline mode's replies: a small, honest rule set, not a language model.

It answers the time and date, greetings and requests for help, repeats what it heard, and takes a name
from the session's instructions when they give one. Everything else gets what was heard plus the
plain statement that this is the offline mode and full answers need an API key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

OFFLINE_NOTE = "This is qwenvoice's offline mode; for full answers, add an API key."
NOT_HEARD = "Sorry, I didn't catch that. " + OFFLINE_NOTE


@dataclass(frozen=True, slots=True)
class Persona:
    name: str | None = None

    @staticmethod
    def from_instructions(instructions: str | None) -> Persona:
        text = instructions or ""
        patterns = (
            r"\b(?i:named)\s+([A-Z][\w'-]{1,30})",
            r"\b(?i:your name is)\s+([A-Z][\w'-]{1,30})",
            r"\b(?i:called)\s+([A-Z][\w'-]{1,30})",
            r"\bYou are\s+([A-Z][\w'-]{1,30})\b(?![\w ]*\bassistant\b)",
        )
        for pattern in patterns:
            match = re.search(pattern, text)
            if match:
                return Persona(name=match.group(1))
        return Persona()

    def introduce(self) -> str:
        if self.name:
            return f"I'm {self.name}, speaking from qwenvoice's offline mode."
        return "I'm qwenvoice's offline mode."


def _clock(now: datetime) -> str:
    hour = now.hour % 12 or 12
    suffix = "AM" if now.hour < 12 else "PM"
    return f"{hour}:{now.minute:02d} {suffix}"


def _day(now: datetime) -> str:
    return f"{now.strftime('%A')}, {now.strftime('%B')} {now.day}, {now.year}"


def _words(text: str) -> str:
    return " " + re.sub(r"[^\w' ]+", " ", text.lower()) + " "


class Responder:
    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        self._clock = clock

    def greeting(self, instructions: str | None = None) -> str:
        """What to say when asked to respond with nothing heard."""
        persona = Persona.from_instructions(instructions)
        return f"Hello! {persona.introduce()} Ask me the time or the date. For full answers, add an API key."

    def reengage(self) -> str:
        """What to say on our own when the user stayed silent after a reply (idle_timeout_ms)."""
        return "Are you still there? Ask me the time or the date whenever you like."

    def reply(self, heard: str, instructions: str | None = None) -> str:
        persona = Persona.from_instructions(instructions)
        heard = heard.strip()
        if not heard:
            return NOT_HEARD
        words = _words(heard)
        now = self._clock()
        repeat = re.search(r"\b(?:repeat after me|say)\b[,:]?\s+(.+)$", heard, flags=re.IGNORECASE)
        if repeat and not re.search(r"\bwhat did (?:i|you) say\b", heard, re.IGNORECASE):
            return f"{repeat.group(1).strip()}"
        asks_time = " time " in words and not any(w in words for w in (" timer ", " times "))
        asks_date = (
            re.search(
                r"\b(date|what day|which day|day is it|day of the week|what is today|what's today|month|year)\b", words
            )
            is not None
        )
        if asks_time and asks_date:
            return f"It's {_clock(now)} on {_day(now)}."
        if asks_time or " o'clock " in words:
            return f"It's {_clock(now)}."
        if asks_date:
            return f"Today is {_day(now)}."
        if any(w in words for w in (" who are you ", " your name ", " what are you ")):
            return f"{persona.introduce()} I can tell you the time or the date and repeat what you say. " + (
                "For full answers, add an API key."
            )
        if any(w in words for w in (" help ", " what can you do ", " how does this work ")):
            return (
                "I'm running offline, so I can tell you the time or the date, and repeat what I heard. "
                "I understand English only. For full answers, add an API key."
            )
        if re.search(r"\b(hello|hi|hey|good (morning|afternoon|evening)|greetings)\b", words):
            return f"Hello! {persona.introduce()} Ask me the time or the date. For full answers, add an API key."
        if any(w in words for w in (" thank you ", " thanks ")):
            return "You're welcome."
        if any(w in words for w in (" bye ", " goodbye ")):
            return "Goodbye!"
        return f'I heard: "{heard}". {OFFLINE_NOTE}'
