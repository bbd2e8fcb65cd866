"""Every wire event is declared once: the type tables and the codec's table come from the classes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from qwenvoice.protocol import codec
from qwenvoice.protocol import events as ev


def test_each_direction_knows_each_registered_class_by_its_wire_type() -> None:
    assert ev.CLIENT_EVENTS["session.update"] is ev.SessionUpdate
    assert ev.SERVER_EVENTS["response.audio.delta"] is ev.ResponseAudioDelta
    assert "session.update" not in ev.SERVER_EVENTS  # a client type is not a server type
    assert ev.SERVER_EVENTS["session.updated"] is ev.SessionUpdated
    for type_, cls in ev.CLIENT_EVENTS.items():
        assert type_ == cls.TYPE and issubclass(cls, ev.ClientEvent) and not issubclass(cls, ev.ServerEvent)
    for type_, cls in ev.SERVER_EVENTS.items():
        assert type_ == cls.TYPE and issubclass(cls, ev.ServerEvent) and not issubclass(cls, ev.ClientEvent)
    assert tuple(ev.CLIENT_EVENTS.values()) == ev.CLIENT_EVENT_TYPES
    assert tuple(ev.SERVER_EVENTS.values()) == ev.SERVER_EVENT_TYPES


def test_what_the_codec_returns_instead_of_raising_belongs_to_both_directions() -> None:
    for cls in (ev.UnknownEvent, ev.MalformedEvent):
        assert issubclass(cls, ev.ClientEvent) and issubclass(cls, ev.ServerEvent)
        assert cls not in ev.CLIENT_EVENT_TYPES and cls not in ev.SERVER_EVENT_TYPES


def test_the_codec_decodes_and_encodes_exactly_the_registered_types() -> None:
    for cls in (*ev.CLIENT_EVENT_TYPES, *ev.SERVER_EVENT_TYPES):
        assert cls is ev.ErrorEvent or cls in codec._FIELD_TABLE
    assert set(codec._CLIENT_DECODERS) == set(ev.CLIENT_EVENTS)
    assert set(codec._SERVER_DECODERS) == set(ev.SERVER_EVENTS)


def test_field_metadata_sets_the_wire_name_and_what_decoding_fills_in() -> None:
    decoded = codec.decode_server_event(json.dumps({"type": "response.audio.delta", "response_id": "r",
                                                    "delta": "AAE="}))
    assert decoded == ev.ResponseAudioDelta("r", "", 0, 0, b"\x00\x01")
    assert json.loads(codec.encode_event(decoded))["delta"] == "AAE="
    started = codec.decode_server_event('{"type": "input_audio_buffer.speech_started"}')
    assert started == ev.SpeechStarted(0, "")
    with pytest.raises(TypeError):
        ev.SpeechStarted()  # type: ignore[call-arg]  # the constructor still requires what decoding tolerates


def test_a_wire_type_is_registered_only_once() -> None:
    with pytest.raises(TypeError, match="already registered"):

        @ev.register
        @dataclass(slots=True)
        class SecondSessionUpdate(ev.ClientEvent):
            TYPE: ClassVar[str] = "session.update"

    with pytest.raises(TypeError, match="neither"):

        @ev.register
        @dataclass(slots=True)
        class Directionless(ev.Event):
            TYPE: ClassVar[str] = "x.directionless"

    assert ev.CLIENT_EVENTS["session.update"] is ev.SessionUpdate


def test_a_field_type_the_codec_cannot_carry_is_refused_when_the_table_is_built() -> None:
    @dataclass(slots=True)
    class WithAFloat(ev.ServerEvent):
        TYPE: ClassVar[str] = "x.with_a_float"
        ratio: float = field(default=0.0)

    with pytest.raises(TypeError, match="no kind"):
        codec._field_specs(WithAFloat)
    assert [f.name for f in dataclasses.fields(WithAFloat)] == ["event_id", "ratio"]
