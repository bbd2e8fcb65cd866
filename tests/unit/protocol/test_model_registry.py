"""The model registry: every documented family gets its own voice, formats, transcription and dialect."""

from __future__ import annotations

import pytest

from qwenvoice.protocol import models
from qwenvoice.protocol.config import OmniSessionConfig, TtsSessionConfig
from qwenvoice.settings.schema import OmniSettings, TtsSettings

# (model, voice sent when the saved voice is Cherry, transcription model, output format), as the 2026
# cloud pages document them (turbo has Cherry; qwen3.5 refuses it and gets its default Tina)
OMNI_FAMILIES = [
    ("qwen3-omni-flash-realtime", "Cherry", "gummy-realtime-v1", "pcm24"),
    ("qwen3-omni-flash-realtime-2025-12-01", "Cherry", "gummy-realtime-v1", "pcm24"),
    ("qwen3-omni-flash-realtime-2025-09-15", "Cherry", "gummy-realtime-v1", "pcm24"),
    ("qwen3.5-omni-plus-realtime", "Tina", "qwen3-asr-flash-realtime", "pcm"),
    ("qwen3.5-omni-flash-realtime", "Tina", "qwen3-asr-flash-realtime", "pcm"),
    ("qwen3.5-omni-plus-realtime-2026-03-15", "Tina", "qwen3-asr-flash-realtime", "pcm"),
    ("qwen-omni-turbo-realtime", "Cherry", "gummy-realtime-v1", "pcm16"),
    ("qwen-omni-turbo-realtime-2025-05-08", "Cherry", "gummy-realtime-v1", "pcm16"),
]


@pytest.mark.parametrize(("model", "voice", "asr", "out_format"), OMNI_FAMILIES)
def test_each_family_gets_its_own_rules_from_the_saved_defaults(model: str, voice: str, asr: str,
                                                                out_format: str) -> None:
    session = OmniSettings().to_config(model).to_session(model)  # the saved default voice is Cherry
    assert session["voice"] == voice
    assert session["input_audio_transcription"] == {"model": asr}
    assert session["output_audio_format"] == out_format
    assert "audio" not in session


@pytest.mark.parametrize("model", ["qwen3.5-omni-plus-realtime", "qwen3.5-omni-flash-realtime"])
@pytest.mark.parametrize("legacy", ["Cherry", "Chelsie", "Serena"])
def test_qwen35_never_gets_a_legacy_voice(model: str, legacy: str) -> None:
    assert OmniSettings(voice=legacy).to_config(model).voice == "Tina"
    assert OmniSettings(voice="my-cloned-voice").to_config(model).voice == "my-cloned-voice"


def test_turbo_keeps_a_voice_it_has_and_loses_one_it_lacks() -> None:
    assert OmniSettings(voice="Serena").to_config("qwen-omni-turbo-realtime").voice == "Serena"
    assert OmniSettings(voice="Momo").to_config("qwen-omni-turbo-realtime").voice == "Chelsie"


def test_turbo_sampling_and_smooth_output_are_not_sent() -> None:
    settings = OmniSettings(temperature=0.5, smooth_output=True)
    session = settings.to_config("qwen-omni-turbo-realtime").to_session("qwen-omni-turbo-realtime")
    assert "temperature" not in session and "smooth_output" not in session


def test_qwen38_is_nested_and_needs_a_workspace() -> None:
    model = "qwen3.8-omni-flash-realtime"
    caps = models.omni_capabilities(model)
    assert caps.needs_workspace and caps.dialect == models.DIALECT_NESTED
    session = OmniSettings().to_config(model, "ptt").to_session(model)
    for flat in ("voice", "input_audio_format", "output_audio_format"):
        assert flat not in session
    assert session["audio"] == {"input": {"format": {"type": "pcm", "sample_rate": 16000}},
                                "output": {"format": {"type": "pcm", "sample_rate": 24000}}}
    assert session["input_audio_transcription"] == {"model": "qwen3-asr-flash-realtime"}
    chosen = OmniSessionConfig.for_model(model, voice="longanlingxin").to_session(model)
    assert chosen["audio"]["output"]["voice"] == "longanlingxin"
    # a renewal reads the wire session back
    again = OmniSessionConfig.from_session(chosen, model)
    assert again.voice == "longanlingxin" and again.to_session(model) == chosen


def test_only_qwen38_needs_a_workspace() -> None:
    for model, *_ in OMNI_FAMILIES:
        assert not models.omni_capabilities(model).needs_workspace


def test_an_unknown_model_gets_the_conservative_profile() -> None:
    caps = models.omni_capabilities("qwen9-omni-realtime")
    assert not caps.known
    assert not (caps.supports_tools or caps.supports_semantic_vad or caps.supports_idle_timeout
                or caps.supports_smooth_output)
    settings = OmniSettings(voice="Anyone", smooth_output=True, vad_type="semantic_vad", idle_timeout_ms=9000)
    session = settings.to_config("qwen9-omni-realtime").to_session("qwen9-omni-realtime")
    assert session["voice"] == "Anyone"  # kept: the server judges
    assert "smooth_output" not in session and session["turn_detection"]["type"] == "server_vad"
    assert "idle_timeout_ms" not in session["turn_detection"]
    assert "qwen9-omni-realtime" in models.unknown_model_note("qwen9-omni-realtime")


@pytest.mark.parametrize(("model", "voice"), [
    ("qwen3-tts-flash-realtime-2025-09-18", "Cherry"),  # Momo is not among the 17 first voices
    ("qwen3-tts-flash-realtime", "Momo"),
])
def test_tts_voice_follows_the_model(model: str, voice: str) -> None:
    assert TtsSettings(voice="Momo").to_config(model).voice == voice
    TtsSettings(voice="Momo").to_config(model).validate(model)


def test_workspace_urls() -> None:
    assert models.workspace_url("ws-1", "beijing") == "wss://ws-1.cn-beijing.maas.aliyuncs.com/api-ws/v1/realtime"
    assert (models.workspace_url("ws-1", "singapore")
            == "wss://ws-1.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/realtime")
    assert models.is_workspace_id("llm-abc123")
    for bad in ("", "-a", "a-", "a.b", "a b", "ä", "x" * 64):
        assert not models.is_workspace_id(bad)
    assert TtsSessionConfig.for_model("qwen-tts-realtime").voice == "Cherry"
