"""The settings tree maps onto the protocol's session config and reports every invalid field."""

from __future__ import annotations

import dataclasses

from qwenvoice.protocol.config import OmniSessionConfig, TtsSessionConfig
from qwenvoice.settings.schema import (
    AppSettings,
    OmniSettings,
    TtsSettings,
    omni_errors,
    sanitize,
    settings_from_dict,
    settings_to_dict,
    tts_errors,
    validate,
)


def test_defaults_are_valid_and_match_the_protocol_defaults():
    settings = AppSettings()
    assert validate(settings) == []
    omni = settings.omni_config()
    assert omni.voice == OmniSessionConfig().voice
    assert omni.turn_detection is not None and omni.turn_detection.threshold == 0.5
    assert settings.tts_config() == TtsSessionConfig()


def test_every_invalid_field_is_reported_with_allowed_range_and_value():
    omni = dataclasses.replace(OmniSettings(), temperature=3.0, top_p=0.0, vad_threshold=2.0, silence_duration_ms=50)
    errors = {e.field: e for e in omni_errors(omni, "qwen3-omni-flash-realtime")}
    assert set(errors) == {"omni.temperature", "omni.top_p", "omni.vad_threshold", "omni.silence_duration_ms"}
    assert errors["omni.temperature"].allowed == "a number in [0.0, 2.0)"
    assert errors["omni.temperature"].value == 3.0
    assert str(errors["omni.temperature"]) == "omni.temperature: 3.0 is not allowed; allowed: a number in [0.0, 2.0)"


def test_tts_ranges_come_from_the_protocol():
    tts = dataclasses.replace(TtsSettings(), speech_rate=2.5, volume=101, pitch_rate=0.4)
    fields = {e.field: e.allowed for e in tts_errors(tts, "qwen3-tts-flash-realtime")}
    assert fields == {
        "tts.speech_rate": "a number in [0.5, 2.0]",
        "tts.volume": "an integer in [0, 100]",
        "tts.pitch_rate": "a number in [0.5, 2.0]",
    }


def test_unsupported_fields_are_not_sent_for_a_model_without_them():
    tts = dataclasses.replace(TtsSettings(), speech_rate=1.3, volume=80, instructions="Speak softly")
    session = tts.to_config("qwen-tts-realtime").to_session("qwen-tts-realtime")
    assert "speech_rate" not in session and "volume" not in session and "instructions" not in session
    instruct = tts.to_config("qwen3-tts-instruct-flash-realtime").to_session("qwen3-tts-instruct-flash-realtime")
    assert instruct["instructions"] == "Speak softly" and instruct["speech_rate"] == 1.3


def test_bit_rate_is_sent_only_with_opus():
    tts = dataclasses.replace(TtsSettings(), bit_rate=64)
    assert "bit_rate" not in tts.to_config("qwen3-tts-flash-realtime").to_session("qwen3-tts-flash-realtime")
    opus = dataclasses.replace(tts, response_format="opus")
    assert opus.to_config("qwen3-tts-flash-realtime").to_session("qwen3-tts-flash-realtime")["bit_rate"] == 64
    assert [e.field for e in tts_errors(dataclasses.replace(opus, bit_rate=5), "qwen3-tts-flash-realtime")] == [
        "tts.bit_rate"
    ]


def test_push_to_talk_sends_null_turn_detection_and_semantic_vad_falls_back():
    settings = AppSettings()
    settings.ui.turn_mode = "ptt"
    assert settings.omni_config().to_session(settings.connection.omni_model)["turn_detection"] is None
    settings.ui.turn_mode = "vad"
    settings.omni.vad_type = "semantic_vad"
    # qwen3-omni-flash has no semantic VAD: we send server_vad rather than have the server refuse
    assert settings.omni_config().turn_detection.type == "server_vad"  # type: ignore[union-attr]
    assert settings.omni_config("qwen3.5-omni-flash-realtime").turn_detection.type == "semantic_vad"  # type: ignore[union-attr]


def test_turbo_does_not_get_sampling_values_or_smooth_output():
    omni = dataclasses.replace(OmniSettings(), temperature=0.7, seed=5, smooth_output=True, voice="Chelsie")
    session = omni.to_config("qwen-omni-turbo-realtime").to_session("qwen-omni-turbo-realtime")
    assert "temperature" not in session and "seed" not in session and "smooth_output" not in session


def test_connection_checks_custom_url_and_model_kinds():
    settings = AppSettings()
    settings.connection.region = "custom"
    settings.connection.custom_url = "http://example.com"
    settings.connection.tts_model = "qwen3-omni-flash-realtime"
    fields = {e.field for e in validate(settings)}
    assert "connection.custom_url" in fields
    settings.connection.custom_url = "ws://127.0.0.1:8765/api-ws/v1/realtime"
    assert {e.field for e in validate(settings)} == {"connection.tts_model"}
    assert settings.connection.endpoint_url() == "ws://127.0.0.1:8765/api-ws/v1/realtime"
    settings.connection.region = "offline"
    assert settings.connection.endpoint_url() is None


def test_round_trip_through_dict_keeps_every_value():
    settings = AppSettings()
    settings.omni = dataclasses.replace(
        settings.omni, temperature=0.9, seed=-1, modalities=("text",), instructions="你好"
    )
    settings.tts = dataclasses.replace(settings.tts, response_format="opus", bit_rate=32, speech_rate=1.25)
    settings.audio.output_device = "speaker (PulseAudio)"
    settings.ui.language = "zh_CN"
    notices: list = []
    again = settings_from_dict(settings_to_dict(settings), notices)
    assert notices == []
    assert again == settings


def test_wrong_types_and_values_fall_back_to_defaults_with_notices():
    data = settings_to_dict(AppSettings())
    data["omni"]["temperature"] = "hot"
    data["omni"]["top_k"] = -3
    data["ui"]["theme"] = "purple"
    data["audio"] = 7
    notices: list = []
    settings = sanitize(settings_from_dict(data, notices), notices)
    assert validate(settings) == []
    assert settings.omni.temperature is None and settings.omni.top_k is None and settings.ui.theme == "system"
    assert {n.field for n in notices} >= {"omni.temperature", "omni.top_k", "ui.theme", "audio"}
