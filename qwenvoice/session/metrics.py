"""Turn latency measured at the speaker, token usage and an estimated cost. Qt-free."""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from qwenvoice.protocol.events import Usage

# Estimated list prices in USD per million tokens: (input text, input audio, output text, output audio).
# Prices differ by region and change; these are labelled as an estimate wherever they are shown.
PRICES_PER_MILLION: dict[str, tuple[float, float, float, float]] = {
    "qwen3-omni-flash-realtime": (0.52, 4.33, 1.99, 7.97),
    "qwen-omni-turbo-realtime": (0.27, 4.44, 1.07, 17.78),
    "qwen3.5-omni-flash-realtime": (0.52, 4.33, 1.99, 7.97),
    "qwen3.5-omni-plus-realtime": (1.20, 10.00, 4.80, 19.20),
}
_FALLBACK_PRICE = PRICES_PER_MILLION["qwen3-omni-flash-realtime"]


# Input tokens served from the context cache: Model Studio bills the implicit cache at 20% of the
# standard input price (its Context Cache page); the realtime pages do not say otherwise.
CACHED_INPUT_PRICE_SHARE = 0.2
# Qwen3-TTS realtime bills characters: $0.13 per 10,000 characters (international list price;
# Beijing 1 CNY / 10k). See reference/protocol.md (e.2).
TTS_PRICE_PER_10K_CHARS = 0.13


def price_for(model: str) -> tuple[float, float, float, float]:
    for name, price in PRICES_PER_MILLION.items():
        if model.startswith(name):
            return price
    return _FALLBACK_PRICE


@dataclass(slots=True)
class UsageTotals:
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0  # part of the input tokens: served from the context cache
    tts_characters: int = 0  # characters synthesised by Qwen3-TTS (billed per character)
    responses: int = 0

    def add(self, usage: Usage | Mapping[str, int | None] | None) -> None:
        """Add a protocol ``Usage`` record (or anything with the same attribute names)."""
        if usage is None:
            return

        def get(name: str) -> int:
            value = usage.get(name, 0) if isinstance(usage, dict) else getattr(usage, name, 0)
            return int(value or 0)

        in_text, in_audio = get("input_text_tokens"), get("input_audio_tokens")
        out_text, out_audio = get("output_text_tokens"), get("output_audio_tokens")
        total = get("total_tokens") or (get("input_tokens") + get("output_tokens"))
        # Some servers report only the totals; count them as text so the estimate is not zero.
        if in_text + in_audio == 0:
            in_text = get("input_tokens")
        if out_text + out_audio == 0:
            out_text = get("output_tokens")
        self.input_text_tokens += in_text
        self.input_audio_tokens += in_audio
        self.output_text_tokens += out_text
        self.output_audio_tokens += out_audio
        self.total_tokens += total or (in_text + in_audio + out_text + out_audio)
        self.cached_input_tokens += min(get("cached_tokens"), in_text + in_audio)
        self.tts_characters += get("characters")
        self.responses += 1

    def estimated_cost_usd(self, model: str) -> float:
        """Tokens at the model's list prices, cached input at its discount, TTS characters per 10k."""
        p_in_text, p_in_audio, p_out_text, p_out_audio = price_for(model)
        # Which modality the cache served is not reported: count it against text input first (the
        # instructions and earlier turns' text are the prefix that repeats), the rest against audio.
        cached_text = min(self.cached_input_tokens, self.input_text_tokens)
        cached_audio = min(self.cached_input_tokens - cached_text, self.input_audio_tokens)
        saved = (cached_text * p_in_text + cached_audio * p_in_audio) * (1.0 - CACHED_INPUT_PRICE_SHARE)
        tokens = (
            self.input_text_tokens * p_in_text
            + self.input_audio_tokens * p_in_audio
            + self.output_text_tokens * p_out_text
            + self.output_audio_tokens * p_out_audio
            - saved
        ) / 1_000_000
        return tokens + self.tts_characters * TTS_PRICE_PER_10K_CHARS / 10_000

    def summary(self) -> str:
        """Short usage text: tokens (and how many came from the cache), TTS characters."""
        parts = [f"{self.total_tokens} tokens"]
        if self.cached_input_tokens:
            parts[0] += f" ({self.cached_input_tokens} cached)"
        if self.tts_characters:
            parts.append(f"{self.tts_characters} TTS characters")
        return ", ".join(parts)


class CaptureClock:
    """Maps "sample N of the audio sent this session" to the local time it was captured.

    The server reports the end of user speech as ``audio_end_ms`` on the session's input timeline;
    this turns that back into a local monotonic time, so latency starts at the real end of speech.
    """

    def __init__(self, sample_rate: int = 16000, keep: int = 3000) -> None:
        self.sample_rate = sample_rate
        self.samples_sent = 0
        self._marks: deque[tuple[int, float]] = deque(maxlen=keep)  # (end sample, capture time)

    def sent(self, n_samples: int, captured_at: float | None = None) -> None:
        self.samples_sent += n_samples
        self._marks.append((self.samples_sent, time.monotonic() if captured_at is None else captured_at))

    def time_of_ms(self, audio_ms: int) -> float | None:
        if not self._marks:
            return None
        target = audio_ms * self.sample_rate // 1000
        ends = [m[0] for m in self._marks]
        i = bisect.bisect_left(ends, target)
        if i >= len(self._marks):
            return self._marks[-1][1]
        end, t = self._marks[i]
        return t - (end - target) / self.sample_rate

    def reset(self) -> None:
        self.samples_sent = 0
        self._marks.clear()


@dataclass(slots=True)
class TurnLatency:
    """End of user speech -> first reply sample played, for one turn."""

    speech_end: float | None = None
    first_played: float | None = None

    @property
    def seconds(self) -> float | None:
        if self.speech_end is None or self.first_played is None:
            return None
        return max(0.0, self.first_played - self.speech_end)


@dataclass(slots=True)
class SessionMetrics:
    model: str = ""
    region: str = ""
    usage: UsageTotals = field(default_factory=UsageTotals)
    latencies: list[float] = field(default_factory=list)
    pending: TurnLatency = field(default_factory=TurnLatency)

    @property
    def last_latency(self) -> float | None:
        return self.latencies[-1] if self.latencies else None

    def speech_ended(self, at: float) -> None:
        self.pending = TurnLatency(speech_end=at)

    def first_sample_played(self, at: float) -> float | None:
        """Closes the pending turn; returns its latency (None when no speech end was seen)."""
        if self.pending.speech_end is None or self.pending.first_played is not None:
            return None
        self.pending.first_played = at
        latency = self.pending.seconds
        if latency is not None:
            self.latencies.append(latency)
        return latency

    @property
    def estimated_cost_usd(self) -> float:
        return self.usage.estimated_cost_usd(self.model)
