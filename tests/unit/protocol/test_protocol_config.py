"""Session config: documented ranges at their boundaries, model capabilities, wire round trips."""

from __future__ import annotations

import dataclasses
import json
import pickle
from typing import Any

import pytest
from seed_examples import OMNI_SERVER_EXAMPLES, TTS_CLIENT_EXAMPLES

from qwenvoice.protocol.config import (
    INSTRUCTIONS_TOKEN_LIMIT,
    ConfigError,
    OmniSessionConfig,
    TtsSessionConfig,
    TurnDetection,
    estimate_tokens,
)
from qwenvoice.protocol.models import (
    DEFAULT_OMNI_MODEL,
    DEFAULT_TTS_MODEL,
    ENDPOINTS,
    FLASH_VOICES,
    is_tts_model,
    omni_capabilities,
    tts_capabilities,
)

FLASH = "qwen3-omni-flash-realtime"
FLASH_0915 = "qwen3-omni-flash-realtime-2025-09-15"
TURBO = "qwen-omni-turbo-realtime"
Q35 = "qwen3.5-omni-plus-realtime"
TTS_FLASH = "qwen3-tts-flash-realtime"
TTS_INSTRUCT = "qwen3-tts-instruct-flash-realtime"
TTS_LEGACY = "qwen-tts-realtime"


def _omni(model: str, **changes: Any) -> OmniSessionConfig:
    """The model's own defaults (voice, formats, transcription), then ``changes``."""
    vad_changes = {k[4:]: changes.pop(k) for k in list(changes) if k.startswith("vad_")}
    config = OmniSessionConfig.for_model(model, **changes)
    if vad_changes:
        config.turn_detection = TurnDetection(**vad_changes)
    return config


# (model, changes) that must validate
OMNI_VALID: list[tuple[str, dict[str, Any]]] = [
    (FLASH, {}),
    (FLASH, {"modalities": ("text",)}),
    (FLASH, {"modalities": ("audio", "text")}),
    (FLASH, {"modalities": ["text", "audio"]}),
    (FLASH, {"voice": "Eldric Sage"}),
    (FLASH, {"voice": ""}),
    (FLASH_0915, {"voice": "Nofish"}),
    (TURBO, {"voice": "Chelsie"}),
    (Q35, {"voice": "Tina"}),
    (Q35, {"voice": "my-cloned-voice-id"}),
    ("some-future-omni-model", {"voice": "Anybody"}),
    ("some-future-omni-model", {"output_audio_format": "pcm"}),
    ("qwen3.8-omni-flash-realtime", {}),
    ("qwen3.8-omni-flash-realtime", {"voice": "longanlingxin"}),
    (Q35, {"input_audio_transcription": "qwen3-asr-flash-realtime"}),
    (FLASH, {"input_audio_format": "pcm", "output_audio_format": "pcm"}),
    (TURBO, {"output_audio_format": "pcm16"}),
    (FLASH, {"smooth_output": True}),
    (FLASH, {"smooth_output": False}),
    (FLASH, {"turn_detection": None}),
    (FLASH, {"input_audio_transcription": None}),
    (FLASH, {"vad_threshold": -1.0}),
    (FLASH, {"vad_threshold": 1.0}),
    (FLASH, {"vad_threshold": 0}),
    (FLASH, {"vad_silence_duration_ms": 200}),
    (FLASH, {"vad_silence_duration_ms": 6000}),
    (FLASH, {"vad_prefix_padding_ms": 0}),
    (FLASH, {"vad_prefix_padding_ms": 5000}),
    (Q35, {"vad_type": "semantic_vad"}),
    (Q35, {"vad_idle_timeout_ms": 5000}),
    (Q35, {"vad_idle_timeout_ms": 30000}),
    (FLASH, {"vad_create_response": False, "vad_interrupt_response": False}),
    (FLASH, {"temperature": 0.0}),
    (FLASH, {"temperature": 1.999}),
    (FLASH, {"top_p": 1e-9}),
    (FLASH, {"top_p": 1.0}),
    (FLASH, {"top_k": 0}),
    (FLASH, {"top_k": 1000}),
    (FLASH, {"max_tokens": 1}),
    (FLASH, {"max_tokens": 16384}),
    (Q35, {"max_tokens": 100000}),
    (FLASH, {"repetition_penalty": 1e-6}),
    (FLASH, {"presence_penalty": -2.0}),
    (FLASH, {"presence_penalty": 2}),
    (FLASH, {"seed": -1}),
    (FLASH, {"seed": 0}),
    (FLASH, {"seed": 2**31 - 1}),
    (Q35, {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
]

# (model, changes, dotted field)
OMNI_INVALID: list[tuple[str, dict[str, Any], str]] = [
    (FLASH, {"modalities": ("audio",)}, "session.modalities"),
    (FLASH, {"modalities": ()}, "session.modalities"),
    (FLASH, {"modalities": ("text", "text")}, "session.modalities"),
    (FLASH, {"modalities": ("text", "video")}, "session.modalities"),
    (FLASH, {"modalities": "text"}, "session.modalities"),
    (FLASH, {"voice": "Tina"}, "session.voice"),
    (FLASH, {"voice": None}, "session.voice"),
    (FLASH_0915, {"voice": "Serena"}, "session.voice"),
    (TURBO, {"voice": "Momo"}, "session.voice"),
    (Q35, {"voice": "Cherry"}, "session.voice"),  # the legacy voices are refused by qwen3.5
    (Q35, {"voice": "Serena"}, "session.voice"),
    ("qwen3.5-omni-flash-realtime-2026-03-15", {"voice": "Chelsie"}, "session.voice"),
    ("qwen3.8-omni-flash-realtime", {"voice": "Cherry"}, "session.voice"),
    (TURBO, {"output_audio_format": "pcm24"}, "session.output_audio_format"),  # turbo: pcm16 only
    (Q35, {"input_audio_transcription": "gummy-realtime-v1"}, "session.input_audio_transcription.model"),
    ("some-future-omni-model", {"smooth_output": True}, "session.smooth_output"),
    ("some-future-omni-model", {"vad_type": "semantic_vad"}, "session.turn_detection.type"),
    (FLASH, {"instructions": None}, "session.instructions"),
    (FLASH, {"input_audio_format": "pcm24"}, "session.input_audio_format"),
    (FLASH, {"output_audio_format": "mp3"}, "session.output_audio_format"),
    (FLASH, {"smooth_output": "yes"}, "session.smooth_output"),
    (Q35, {"smooth_output": True}, "session.smooth_output"),
    (TURBO, {"smooth_output": False}, "session.smooth_output"),
    (FLASH, {"turn_detection": {"type": "server_vad"}}, "session.turn_detection"),
    (FLASH, {"vad_type": "semantic_vad"}, "session.turn_detection.type"),
    (FLASH, {"vad_type": "client_vad"}, "session.turn_detection.type"),
    (FLASH, {"vad_threshold": -1.0001}, "session.turn_detection.threshold"),
    (FLASH, {"vad_threshold": 1.0001}, "session.turn_detection.threshold"),
    (FLASH, {"vad_threshold": float("nan")}, "session.turn_detection.threshold"),
    (FLASH, {"vad_threshold": "0.5"}, "session.turn_detection.threshold"),
    (FLASH, {"vad_threshold": True}, "session.turn_detection.threshold"),
    (FLASH, {"vad_silence_duration_ms": 199}, "session.turn_detection.silence_duration_ms"),
    (FLASH, {"vad_silence_duration_ms": 6001}, "session.turn_detection.silence_duration_ms"),
    (FLASH, {"vad_silence_duration_ms": 800.5}, "session.turn_detection.silence_duration_ms"),
    (FLASH, {"vad_prefix_padding_ms": -1}, "session.turn_detection.prefix_padding_ms"),
    (FLASH, {"vad_prefix_padding_ms": 5001}, "session.turn_detection.prefix_padding_ms"),
    (FLASH, {"vad_idle_timeout_ms": 10000}, "session.turn_detection.idle_timeout_ms"),
    (Q35, {"vad_idle_timeout_ms": 4999}, "session.turn_detection.idle_timeout_ms"),
    (Q35, {"vad_idle_timeout_ms": 30001}, "session.turn_detection.idle_timeout_ms"),
    (Q35, {"vad_idle_timeout_ms": 10000, "vad_type": "semantic_vad"}, "session.turn_detection.idle_timeout_ms"),
    (FLASH, {"vad_create_response": 1}, "session.turn_detection.create_response"),
    (FLASH, {"vad_interrupt_response": None}, "session.turn_detection.interrupt_response"),
    (FLASH, {"input_audio_transcription": ""}, "session.input_audio_transcription.model"),
    (FLASH, {"temperature": -0.001}, "session.temperature"),
    (FLASH, {"temperature": 2.0}, "session.temperature"),
    (FLASH, {"temperature": float("inf")}, "session.temperature"),
    (FLASH, {"top_p": 0.0}, "session.top_p"),
    (FLASH, {"top_p": 1.0001}, "session.top_p"),
    (FLASH, {"top_k": -1}, "session.top_k"),
    (FLASH, {"top_k": 5.0}, "session.top_k"),
    (FLASH, {"max_tokens": 0}, "session.max_tokens"),
    (FLASH, {"max_tokens": 16385}, "session.max_tokens"),
    (TURBO, {"max_tokens": 2049}, "session.max_tokens"),
    (FLASH, {"repetition_penalty": 0.0}, "session.repetition_penalty"),
    (FLASH, {"repetition_penalty": -1}, "session.repetition_penalty"),
    (FLASH, {"presence_penalty": -2.001}, "session.presence_penalty"),
    (FLASH, {"presence_penalty": 2.001}, "session.presence_penalty"),
    (FLASH, {"seed": -2}, "session.seed"),
    (FLASH, {"seed": 2**31}, "session.seed"),
    (FLASH, {"seed": 1.0}, "session.seed"),
    (FLASH, {"seed": True}, "session.seed"),
    (FLASH, {"tools": [{"type": "function"}]}, "session.tools"),
    (Q35, {"tools": ["not an object"]}, "session.tools"),
    (Q35, {"tools": {"type": "function"}}, "session.tools"),
]


@pytest.mark.parametrize(("model", "changes"), OMNI_VALID, ids=lambda v: str(v))
def test_omni_valid_values(model: str, changes: dict[str, Any]) -> None:
    config = _omni(model, **changes)
    config.validate(model)
    session = config.to_session(model)
    json.dumps(session, allow_nan=False)  # always serializable
    assert OmniSessionConfig.from_session(session, model) == dataclasses.replace(
        config, modalities=tuple(config.modalities)
    )


@pytest.mark.parametrize(("model", "changes", "field"), OMNI_INVALID, ids=lambda v: str(v))
def test_omni_invalid_values_name_field_allowed_and_value(model: str, changes: dict[str, Any], field: str) -> None:
    config = _omni(model, **changes)
    with pytest.raises(ConfigError) as caught:
        config.validate(model)
    error = caught.value
    assert error.field == field
    assert error.param == field
    assert error.allowed
    assert str(error) == f"{field}: {error.value!r} is not allowed; allowed: {error.allowed}"
    with pytest.raises(ConfigError):
        config.to_session(model)


def test_modalities_error_reads_like_the_server() -> None:
    with pytest.raises(ConfigError) as caught:
        OmniSessionConfig(modalities=("audio",)).validate(FLASH)
    assert caught.value.value == ["audio"]
    assert caught.value.message == (
        "Invalid modalities: ['audio']. Supported combinations are: ['text'] and ['audio', 'text']."
    )
    assert caught.value.code == "invalid_value"
    assert isinstance(caught.value, ValueError)


def test_voice_error_lists_the_models_voices() -> None:
    with pytest.raises(ConfigError) as caught:
        OmniSessionConfig(voice="Tina").validate(FLASH)
    assert "Cherry" in caught.value.allowed and "Kiki" in caught.value.allowed
    assert caught.value.message == "Voice 'Tina' is not supported."


def test_config_error_survives_pickling() -> None:
    error = ConfigError("session.voice", "x", "one of: a")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.value, copy.allowed, str(copy)) == (error.field, "x", "one of: a", str(error))


def test_to_session_wire_shape_for_manual_mode() -> None:
    session = OmniSessionConfig(turn_detection=None, instructions="Be brief.", temperature=0.7).to_session(FLASH)
    assert session == {
        "modalities": ["text", "audio"],
        "voice": "Cherry",
        "instructions": "Be brief.",
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm24",
        "turn_detection": None,
        "input_audio_transcription": {"model": "gummy-realtime-v1"},
        "temperature": 0.7,
    }
    assert OmniSessionConfig(turn_detection=None).manual_turns


def test_to_session_omits_empty_voice_and_unset_sampling() -> None:
    session = OmniSessionConfig(voice="").to_session(FLASH)
    assert "voice" not in session
    for name in ("temperature", "top_p", "top_k", "max_tokens", "repetition_penalty", "presence_penalty", "seed"):
        assert name not in session
    assert "smooth_output" not in session and "tools" not in session
    assert session["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 800,
        "create_response": True,
        "interrupt_response": True,
    }


def test_for_model_picks_the_models_defaults() -> None:
    q35 = OmniSessionConfig.for_model(Q35)
    assert q35.voice == "Tina"
    assert q35.input_audio_transcription == "qwen3-asr-flash-realtime"
    assert OmniSessionConfig.for_model(TURBO).voice == "Chelsie"
    assert OmniSessionConfig.for_model(FLASH, voice="Ethan").voice == "Ethan"
    assert TtsSessionConfig.for_model(TTS_FLASH).voice == "Cherry"


@pytest.mark.parametrize("index", [1, 2])
def test_server_session_echo_reads_back(index: int) -> None:
    session = json.loads(OMNI_SERVER_EXAMPLES[index])["session"]
    config = OmniSessionConfig.from_session(session, FLASH)
    assert config.voice == "Cherry"
    assert config.input_audio_transcription == "gummy-realtime-v1"
    assert config.temperature == 0.8
    assert config.turn_detection is not None
    if index == 2:
        assert config.turn_detection.threshold == 0.1
        assert config.turn_detection.silence_duration_ms == 900
        assert config.seed == -1 and config.top_k == 50 and config.max_tokens == 16384


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"modalities": ["audio"]}, "session.modalities"),
        ({"modalities": "text,audio"}, "session.modalities"),
        ({"voice": 7}, "session.voice"),
        ({"turn_detection": "server_vad"}, "session.turn_detection"),
        ({"turn_detection": {"threshold": "high"}}, "session.turn_detection.threshold"),
        ({"turn_detection": {"silence_duration_ms": 100}}, "session.turn_detection.silence_duration_ms"),
        ({"input_audio_transcription": "gummy"}, "session.input_audio_transcription"),
        ({"input_audio_transcription": {"model": 5}}, "session.input_audio_transcription.model"),
        ({"temperature": "0.5"}, "session.temperature"),
        ({"top_k": [1]}, "session.top_k"),
        ({"seed": "x"}, "session.seed"),
        ({"tools": "none"}, "session.tools"),
        ({"smooth_output": "auto"}, "session.smooth_output"),
    ],
)
def test_omni_from_session_refuses_ill_typed_values(session: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        OmniSessionConfig.from_session(session, FLASH)
    assert caught.value.param == field


def test_omni_from_session_ignores_unknown_keys_and_reads_defaults() -> None:
    config = OmniSessionConfig.from_session(
        {"object": "realtime.session", "id": "sess_1", "tool_choice": "auto", "max_response_output_token": "inf"},
        FLASH,
    )
    assert config == OmniSessionConfig(voice="")
    manual = OmniSessionConfig.from_session({"turn_detection": None, "input_audio_transcription": None}, FLASH)
    assert manual.turn_detection is None and manual.input_audio_transcription is None
    on_default = OmniSessionConfig.from_session({"input_audio_transcription": {"model": None}}, Q35)
    assert on_default.input_audio_transcription == "qwen3-asr-flash-realtime"
    assert OmniSessionConfig.from_session({"voice": None, "instructions": None}, FLASH).voice == ""
    floats = OmniSessionConfig.from_session({"turn_detection": {"silence_duration_ms": 900.0}, "seed": 3.0}, FLASH)
    assert floats.turn_detection is not None and floats.turn_detection.silence_duration_ms == 900
    assert floats.seed == 3
    with pytest.raises(ConfigError) as caught:
        OmniSessionConfig.from_session(["not", "a", "dict"], FLASH)
    assert caught.value.field == "session"


# ---- TTS -----------------------------------------------------------------------------------------

TTS_VALID: list[tuple[str, dict[str, Any]]] = [
    (TTS_FLASH, {}),
    (TTS_FLASH, {"voice": "Kiki", "mode": "commit"}),
    *[(TTS_FLASH, {"language_type": lang}) for lang in ("Auto", "Chinese", "English", "Russian", "Korean")],
    *[(TTS_FLASH, {"response_format": fmt}) for fmt in ("pcm", "wav", "mp3", "opus")],
    *[(TTS_FLASH, {"sample_rate": rate}) for rate in (8000, 16000, 24000, 48000)],
    (TTS_FLASH, {"speech_rate": 0.5, "pitch_rate": 2.0, "volume": 0}),
    (TTS_FLASH, {"speech_rate": 2, "pitch_rate": 0.5, "volume": 100}),
    (TTS_FLASH, {"response_format": "opus", "bit_rate": 6}),
    (TTS_FLASH, {"response_format": "opus", "bit_rate": 510}),
    (TTS_FLASH, {"instructions": "", "optimize_instructions": False}),
    (TTS_INSTRUCT, {"instructions": "Speak slowly and warmly.", "optimize_instructions": True}),
    (TTS_INSTRUCT, {"instructions": "a" * (INSTRUCTIONS_TOKEN_LIMIT * 4)}),
    (TTS_INSTRUCT, {"instructions": "慢" * INSTRUCTIONS_TOKEN_LIMIT}),
    (TTS_LEGACY, {"voice": "Serena"}),
    ("qwen3-tts-vc-realtime-2026-01-15", {"voice": "qwen-tts-vc-my-voice-123"}),
    ("qwen3-tts-flash-realtime-2025-09-18", {"voice": "Nofish"}),
    ("future-tts-model", {"voice": "Someone", "instructions": "x"}),
]

TTS_INVALID: list[tuple[str, dict[str, Any], str]] = [
    (TTS_FLASH, {"voice": "Tina"}, "session.voice"),
    (TTS_FLASH, {"voice": ""}, "session.voice"),
    (TTS_FLASH, {"voice": None}, "session.voice"),
    ("qwen3-tts-flash-realtime-2025-09-18", {"voice": "Serena"}, "session.voice"),
    ("qwen3-tts-vd-realtime-2025-12-16", {}, "session.voice"),
    (TTS_FLASH, {"mode": "manual"}, "session.mode"),
    (TTS_FLASH, {"language_type": "Klingon"}, "session.language_type"),
    (TTS_FLASH, {"language_type": "english"}, "session.language_type"),
    (TTS_FLASH, {"response_format": "flac"}, "session.response_format"),
    (TTS_FLASH, {"sample_rate": 22050}, "session.sample_rate"),
    (TTS_FLASH, {"sample_rate": "24000"}, "session.sample_rate"),
    (TTS_FLASH, {"speech_rate": 0.49}, "session.speech_rate"),
    (TTS_FLASH, {"speech_rate": 2.01}, "session.speech_rate"),
    (TTS_FLASH, {"volume": -1}, "session.volume"),
    (TTS_FLASH, {"volume": 101}, "session.volume"),
    (TTS_FLASH, {"volume": 50.5}, "session.volume"),
    (TTS_FLASH, {"pitch_rate": 0.49}, "session.pitch_rate"),
    (TTS_FLASH, {"pitch_rate": 2.01}, "session.pitch_rate"),
    (TTS_FLASH, {"bit_rate": 128}, "session.bit_rate"),
    (TTS_FLASH, {"response_format": "opus", "bit_rate": 5}, "session.bit_rate"),
    (TTS_FLASH, {"response_format": "opus", "bit_rate": 511}, "session.bit_rate"),
    (TTS_FLASH, {"instructions": "Speak slowly."}, "session.instructions"),
    (TTS_INSTRUCT, {"instructions": "a" * (INSTRUCTIONS_TOKEN_LIMIT * 4 + 1)}, "session.instructions"),
    (TTS_INSTRUCT, {"instructions": "慢" * (INSTRUCTIONS_TOKEN_LIMIT + 1)}, "session.instructions"),
    (TTS_INSTRUCT, {"instructions": 5}, "session.instructions"),
    (TTS_INSTRUCT, {"optimize_instructions": True}, "session.optimize_instructions"),
    (TTS_INSTRUCT, {"instructions": "", "optimize_instructions": True}, "session.optimize_instructions"),
    (TTS_INSTRUCT, {"instructions": "x", "optimize_instructions": "yes"}, "session.optimize_instructions"),
    (TTS_LEGACY, {"response_format": "wav"}, "session.response_format"),
    (TTS_LEGACY, {"sample_rate": 16000}, "session.sample_rate"),
    (TTS_LEGACY, {"speech_rate": 1.0}, "session.speech_rate"),
    (TTS_LEGACY, {"volume": 50}, "session.volume"),
    (TTS_LEGACY, {"pitch_rate": 1.0}, "session.pitch_rate"),
    (TTS_LEGACY, {"instructions": "x"}, "session.instructions"),
]


@pytest.mark.parametrize(("model", "changes"), TTS_VALID, ids=lambda v: str(v)[:60])
def test_tts_valid_values(model: str, changes: dict[str, Any]) -> None:
    config = TtsSessionConfig(**changes)
    session = config.to_session(model)
    assert TtsSessionConfig.from_session(session, model) == config


@pytest.mark.parametrize(("model", "changes", "field"), TTS_INVALID, ids=lambda v: str(v)[:60])
def test_tts_invalid_values_name_field_allowed_and_value(model: str, changes: dict[str, Any], field: str) -> None:
    config = TtsSessionConfig(**changes)
    with pytest.raises(ConfigError) as caught:
        config.validate(model)
    error = caught.value
    assert error.field == field
    assert error.allowed
    assert str(error).startswith(f"{field}: ")
    assert f"allowed: {error.allowed}" in str(error)


def test_tts_opus_bit_rate_error_says_why() -> None:
    with pytest.raises(ConfigError) as caught:
        TtsSessionConfig(bit_rate=128).validate(TTS_FLASH)
    assert "opus" in caught.value.allowed
    assert caught.value.value == 128


def test_tts_seed_example_session_reads_and_writes_back() -> None:
    wire = json.loads(TTS_CLIENT_EXAMPLES[0])["session"]
    config = TtsSessionConfig.from_session(wire, TTS_FLASH)
    assert config.language_type == "Chinese"
    assert config.to_session(TTS_FLASH) == wire


def test_tts_to_session_omits_unset_options() -> None:
    assert TtsSessionConfig().to_session(TTS_FLASH) == {
        "voice": "Cherry",
        "mode": "server_commit",
        "language_type": "Auto",
        "response_format": "pcm",
        "sample_rate": 24000,
    }


def test_tts_from_session_ignores_unknown_keys_refuses_bad_types() -> None:
    config = TtsSessionConfig.from_session({"enable_tn": True, "object": "realtime.session", "volume": 60.0}, TTS_FLASH)
    assert config == TtsSessionConfig(volume=60)
    with pytest.raises(ConfigError) as caught:
        TtsSessionConfig.from_session({"speech_rate": "fast"}, TTS_FLASH)
    assert caught.value.field == "session.speech_rate"
    with pytest.raises(ConfigError):
        TtsSessionConfig.from_session("voice=Cherry", TTS_FLASH)


def test_token_estimate_is_conservative() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("你好") == 2
    assert estimate_tokens("你好 ab") == 3


# ---- model table ---------------------------------------------------------------------------------


def test_model_table() -> None:
    assert is_tts_model(DEFAULT_TTS_MODEL) and is_tts_model("QWEN-TTS-REALTIME")
    assert not is_tts_model(DEFAULT_OMNI_MODEL)
    assert ENDPOINTS["singapore"].startswith("wss://dashscope-intl.")
    assert len(FLASH_VOICES) == len(set(FLASH_VOICES)) == 49
    assert len(omni_capabilities(FLASH_0915).voices) == 17
    assert omni_capabilities("qwen3-omni-flash-realtime-2025-12-01").voices == FLASH_VOICES
    assert omni_capabilities(Q35).supports_semantic_vad and not omni_capabilities(FLASH).supports_semantic_vad
    assert not omni_capabilities("qwen3.5-omni-flash-realtime").supports_session_finish
    unknown = omni_capabilities("mystery")
    assert not unknown.known and not unknown.voices_exhaustive
    legacy = tts_capabilities("qwen-tts-realtime-latest")
    assert legacy.formats == ("pcm",) and legacy.sample_rates == (24000,)
    assert tts_capabilities(TTS_INSTRUCT).supports_instructions
    assert not tts_capabilities(TTS_FLASH).supports_instructions
    assert tts_capabilities("qwen3-tts-flash-realtime-2025-11-27").voices == FLASH_VOICES
