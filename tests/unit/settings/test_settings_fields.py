"""The field declarations: one per setting, defaults and ranges taken from the schema and the protocol,
and the capability rules that switch a field off."""

from __future__ import annotations

import dataclasses

import pytest

from qwenvoice.settings import fields
from qwenvoice.settings.fields import Control
from qwenvoice.settings.schema import AppSettings, validate


def test_every_settings_field_is_declared_once():
    declared = [spec.key for spec in fields.FIELDS]
    assert len(declared) == len(set(declared))
    expected = {f"{section}.{f.name}" for section in ("connection", "omni", "tts", "audio", "ui")
                for f in dataclasses.fields(getattr(AppSettings(), section))}
    assert set(declared) == expected


def test_defaults_and_labels_come_with_each_declaration():
    settings = AppSettings()
    for spec in fields.FIELDS:
        assert spec.default == spec.read(settings), spec.key
        if spec.control is not Control.NONE:
            assert spec.label or spec.text, f"{spec.key} has nothing to show"
        for choice in spec.choices:
            assert choice.label, spec.key


@pytest.mark.parametrize("spec", [s for s in fields.FIELDS if s.range is not None], ids=lambda s: s.key)
def test_declared_ranges_are_the_ones_validation_refuses_with(spec):
    settings = AppSettings()
    settings.connection.omni_model = "qwen3.5-omni-flash-realtime"  # every optional Omni field is allowed
    settings.tts.response_format = "opus"  # bit rate is allowed
    value_range = spec.number_range(settings)
    assert value_range is not None
    outside = (value_range.high + 1) if value_range.high is not None else (value_range.low - 1)
    spec.write(settings, spec.kind(outside))
    problems = fields.problems_by_field(settings)
    assert spec.key in problems, spec.key
    assert problems[spec.key].allowed == value_range.allowed()


def test_capabilities_switch_fields_off_with_a_reason():
    settings = AppSettings()
    idle = fields.field("omni.idle_timeout_ms")
    assert idle.unavailable(settings) == fields.Unavailable(fields.REASON_NOT_SUPPORTED, "qwen3-omni-flash-realtime")
    settings.connection.omni_model = "qwen3.5-omni-flash-realtime"
    assert idle.unavailable(settings) is None
    settings.ui.turn_mode = "ptt"
    assert idle.unavailable(settings).reason == fields.REASON_PUSH_TO_TALK
    assert fields.field("omni.vad_threshold").unavailable(settings).reason == fields.REASON_PUSH_TO_TALK

    settings.connection.omni_model = "qwen-omni-turbo-realtime"
    assert fields.field("omni.temperature").unavailable(settings).reason == fields.REASON_IGNORES_SAMPLING
    turn = fields.field("ui.turn_mode")
    assert [c.value for c in turn.offered(settings)] == ["off", "server_vad"]

    settings.connection.tts_model = "qwen-tts-realtime"
    assert [c.value for c in fields.field("tts.response_format").offered(settings)] == ["pcm"]
    assert fields.field("tts.speech_rate").unavailable(settings).reason == fields.REASON_NOT_SUPPORTED
    settings.audio.listening_setup = "headphones"
    assert fields.field("audio.half_duplex").unavailable(settings).reason == fields.REASON_HEADPHONES


def test_problems_by_field_is_one_validation_pass_keyed_by_field():
    settings = AppSettings()
    settings.omni.silence_duration_ms = 100
    settings.omni.temperature = 5.0
    problems = fields.problems_by_field(settings)
    assert set(problems) == {"omni.silence_duration_ms", "omni.temperature"}
    assert [p.field for p in validate(settings)] == ["omni.silence_duration_ms", "omni.temperature"]
