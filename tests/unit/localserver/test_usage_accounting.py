"""The offline server counts audio tokens at the rate of the model it imitates."""

from __future__ import annotations

import pytest

from qwenvoice.localserver.omni_response import audio_tokens


@pytest.mark.parametrize(("model", "seconds", "tokens"), [
    ("qwen-omni-turbo-realtime", 2.0, 50),  # 25 tokens per second
    ("qwen-omni-turbo-realtime-2025-05-08", 0.3, 25),  # at least one second
    ("qwen3-omni-flash-realtime", 2.0, 25),  # 12.5 Hz audio tokens: one per 80 ms
    ("qwen3.5-omni-plus-realtime", 0.08, 1),
    ("qwen3-omni-flash-realtime", 0.0, 0),  # no audio, no audio tokens
])
def test_audio_tokens_follow_the_imitated_model(model: str, seconds: float, tokens: int) -> None:
    assert audio_tokens(model, seconds) == tokens
