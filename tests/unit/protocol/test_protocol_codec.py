"""Codec: documented examples round-trip, client events survive encode/decode, decoding never raises."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seed_examples import (
    OMNI_CLIENT_EXAMPLES,
    OMNI_EXTRA_SERVER_EXAMPLES,
    OMNI_SERVER_EXAMPLES,
    TTS_CLIENT_EXAMPLES,
    TTS_SERVER_EXAMPLES,
)

from qwenvoice.protocol import codec
from qwenvoice.protocol.codec import decode_client_event, decode_server_event, encode_event, new_event_id
from qwenvoice.protocol.events import (
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    ConversationItemCreate,
    ErrorDetail,
    ErrorEvent,
    Event,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioTranscriptionDelta,
    InputImageBufferAppend,
    InputTextBufferAppend,
    MalformedEvent,
    ResponseAudioDelta,
    ResponseCreate,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
    SessionUpdate,
    SpeechStarted,
    UnknownEvent,
    Usage,
)

SERVER_CLASSES = {cls.TYPE: cls for cls in SERVER_EVENT_TYPES}
CLIENT_CLASSES = {cls.TYPE: cls for cls in CLIENT_EVENT_TYPES}


# ---- documented examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame", OMNI_SERVER_EXAMPLES + OMNI_EXTRA_SERVER_EXAMPLES + TTS_SERVER_EXAMPLES, ids=lambda f: f[:60]
)
def test_every_documented_server_example_decodes_to_its_class_and_round_trips(frame: str) -> None:
    wire = json.loads(frame)
    event = decode_server_event(frame)
    assert type(event) is SERVER_CLASSES[wire["type"]]
    assert event.event_id == wire.get("event_id")
    assert json.loads(encode_event(event)) == wire
    assert decode_server_event(encode_event(event)) == event


@pytest.mark.parametrize("frame", TTS_CLIENT_EXAMPLES + OMNI_CLIENT_EXAMPLES, ids=lambda f: f[:60])
def test_every_documented_client_example_decodes_to_its_class_and_round_trips(frame: str) -> None:
    wire = json.loads(frame)
    event = decode_client_event(frame)
    assert type(event) is CLIENT_CLASSES[wire["type"]]
    assert json.loads(encode_event(event)) == wire
    assert decode_client_event(encode_event(event)) == event


def test_all_documented_omni_server_types_are_covered_by_the_examples() -> None:
    seen = {json.loads(frame)["type"] for frame in OMNI_SERVER_EXAMPLES}
    assert len(seen) == 22
    assert seen <= set(SERVER_CLASSES)


def test_example_fields_land_in_typed_attributes() -> None:
    by_type = {json.loads(f)["type"]: decode_server_event(f) for f in OMNI_SERVER_EXAMPLES}
    error = by_type["error"]
    assert isinstance(error, ErrorEvent)
    assert error.error.param == "session.modalities"
    assert error.error.code == "invalid_value"
    assert error.error.type == "invalid_request_error"
    started = by_type["input_audio_buffer.speech_started"]
    assert started == SpeechStarted(3647, "item_YbAiGvK2H7YaS34o4R6Ba", event_id="event_Pvp8nEhsQuGCQbFJ9x58n")
    audio = by_type["response.audio.delta"]
    assert isinstance(audio, ResponseAudioDelta)
    assert audio.audio == base64.b64decode("AAABAP//AIA=")
    done = by_type["response.done"]
    assert isinstance(done, ResponseDone)
    assert done.status == "completed"
    assert done.response_id == "resp_HaVOPdbmX6vifiV5pAfJY"
    assert done.usage == Usage(
        total_tokens=377,
        input_tokens=336,
        output_tokens=41,
        input_text_tokens=228,
        input_audio_tokens=108,
        output_text_tokens=9,
        output_audio_tokens=32,
    )


def test_tts_usage_counts_characters_and_error_without_type() -> None:
    by_type = {json.loads(f)["type"]: decode_server_event(f) for f in TTS_SERVER_EXAMPLES}
    done = by_type["response.done"]
    assert isinstance(done, ResponseDone)
    assert done.usage == Usage(characters=17)
    error = by_type["error"]
    assert isinstance(error, ErrorEvent)
    assert error.error.type == ""
    assert error.error.code == "invalid_value"
    assert "session already started" in error.error.message


def test_transcription_delta_and_function_call_fields() -> None:
    delta = decode_server_event(OMNI_EXTRA_SERVER_EXAMPLES[0])
    assert delta == InputAudioTranscriptionDelta("item_u1", 0, "Hello", " there", "en", "neutral", event_id="event_t1")
    call = decode_server_event(OMNI_EXTRA_SERVER_EXAMPLES[2])
    assert isinstance(call, ResponseFunctionCallArgumentsDone)
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Hangzhou"}


# ---- encoding ------------------------------------------------------------------------------------


def test_encode_is_compact_omits_none_and_base64_encodes_bytes() -> None:
    text = encode_event(InputAudioBufferAppend(b"\x00\x01\xff", event_id="event_1"))
    assert text == '{"event_id":"event_1","type":"input_audio_buffer.append","audio":"AAH/"}'
    assert encode_event(ResponseCreate()) == '{"type":"response.create"}'
    assert encode_event(ConversationItemCreate({"a": 1})) == ('{"type":"conversation.item.create","item":{"a":1}}')
    image = encode_event(InputImageBufferAppend(b"\xff\xd8\xff"))
    assert json.loads(image)["image"] == base64.b64encode(b"\xff\xd8\xff").decode()


def test_encode_keeps_non_ascii_text_readable() -> None:
    assert '"你好"' in encode_event(InputTextBufferAppend("你好"))


def test_encode_refuses_nan_rather_than_writing_invalid_json() -> None:
    with pytest.raises(ValueError):
        encode_event(SessionUpdate({"temperature": float("nan")}))


def test_new_event_id_is_prefixed_and_unique() -> None:
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("event_") and len(i) == 38 for i in ids)


def test_unknown_event_is_encoded_as_its_raw_object() -> None:
    event = decode_server_event('{"type":"x.y","a":[1]}')
    assert isinstance(event, UnknownEvent)
    assert json.loads(encode_event(event)) == {"type": "x.y", "a": [1]}


# ---- decoding edge cases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason_part"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[1,2]", "not a JSON object"),
        ('"text"', "not a JSON object"),
        ("null", "not a JSON object"),
        ("{}", "type"),
        ('{"type": 5}', "type"),
        ('{"type": ["response.done"]}', "type"),
        ('{"type":"response.done"}', "response: missing"),
        ('{"type":"response.done","response":[]}', "response: expected an object"),
        ('{"type":"response.audio.delta","response_id":"r","delta":"!!"}', "invalid base64"),
        ('{"type":"response.audio.delta","response_id":"r","delta":"AAE"}', "invalid base64"),
        ('{"type":"response.audio.delta","response_id":"r","delta":"AAE=\\u00e9"}', "invalid base64"),
        ('{"type":"response.audio.delta","response_id":"r","delta":5}', "base64"),
        ('{"type":"response.audio.delta","delta":"AAAA"}', "response_id"),
        ('{"type":"response.audio.delta","response_id":"r"}', "delta: missing"),
        ('{"type":"response.audio.delta","response_id":"r","output_index":"0","delta":"AAAA"}', "output_index"),
        ('{"type":"response.text.delta","response_id":"r","delta":null}', "delta"),
        ('{"type":"input_audio_buffer.speech_started","audio_start_ms":true}', "audio_start_ms"),
        ('{"type":"input_audio_buffer.speech_started","audio_start_ms":1.5}', "audio_start_ms"),
        ('{"type":"session.finished","event_id":7}', "event_id"),
        ('{"type":"error"}', "error"),
        ('{"type":"error","error":{"message":["x"]}}', "error.message"),
    ],
)
def test_malformed_server_frames_become_malformed_events(frame: str, reason_part: str) -> None:
    event = decode_server_event(frame)
    assert isinstance(event, MalformedEvent), event
    assert reason_part in event.reason
    assert event.raw == frame


def test_malformed_client_frames_become_malformed_events() -> None:
    assert isinstance(decode_client_event('{"type":"input_audio_buffer.append"}'), MalformedEvent)
    assert isinstance(decode_client_event('{"type":"input_audio_buffer.append","audio":"%%"}'), MalformedEvent)
    assert isinstance(decode_client_event('{"type":"input_text_buffer.append","text":1}'), MalformedEvent)
    assert isinstance(decode_client_event(b"\xff\xfe\x00"), MalformedEvent)


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    assert isinstance(decode_server_event("[" * 200_000), MalformedEvent)
    event = decode_server_event('{"type":"session.created","session":' + "[" * 200_000 + "]}")
    assert isinstance(event, MalformedEvent)
    assert len(event.raw) == codec.MALFORMED_RAW_LIMIT


def test_bytes_frames_decode_like_text() -> None:
    frame = OMNI_SERVER_EXAMPLES[0]
    assert decode_server_event(frame.encode()) == decode_server_event(frame)


def test_lenient_fields_get_defaults_and_extra_fields_are_ignored() -> None:
    event = decode_server_event(
        '{"type":"response.audio.delta","response_id":"r","delta":"AAAA","obfuscation":"xx","new":{"a":1}}'
    )
    assert event == ResponseAudioDelta("r", "", 0, 0, b"\x00\x00\x00")
    # integral floats are accepted for integer fields (falls back from the fast path)
    event = decode_server_event(
        '{"type":"response.audio.delta","response_id":"r","output_index":1.0,"content_index":0,"delta":"AAAA"}'
    )
    assert event == ResponseAudioDelta("r", "", 1, 0, b"\x00\x00\x00")


def test_numeric_error_code_is_read_as_text() -> None:
    event = decode_server_event('{"type":"error","error":{"code":401,"message":"no"}}')
    assert isinstance(event, ErrorEvent)
    assert event.error == ErrorDetail(code="401", message="no")


def test_decoded_defaults_are_not_shared_between_events() -> None:
    first = decode_server_event('{"type":"response.content_part.added","response_id":"r"}')
    second = decode_server_event('{"type":"response.content_part.added","response_id":"r"}')
    assert first == second
    first.part["x"] = 1  # type: ignore[union-attr]
    assert second.part == {}  # type: ignore[union-attr]


def test_client_types_are_unknown_to_the_server_decoder_and_vice_versa() -> None:
    assert isinstance(decode_server_event('{"type":"response.cancel"}'), UnknownEvent)
    assert isinstance(decode_client_event('{"type":"response.done","response":{}}'), UnknownEvent)


def test_unknown_type_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    kind = "response.brand_new." + new_event_id()
    with caplog.at_level(logging.INFO, logger="qwenvoice.protocol.codec"):
        for _ in range(3):
            event = decode_server_event(json.dumps({"type": kind, "event_id": "e1", "x": 1}))
            assert isinstance(event, UnknownEvent)
            assert event.type == kind
            assert event.raw["x"] == 1
            assert event.event_id == "e1"
    assert sum(kind in record.getMessage() for record in caplog.records) == 1


def test_usage_sums() -> None:
    assert Usage(1, 2, 3, 4, 5, 6, 7, 8) + Usage(1, 1, 1, 1, 1, 1, 1, 1) == Usage(2, 3, 4, 5, 6, 7, 8, 9)
    assert Usage.from_wire({"total_tokens": "x", "input_tokens_details": 3, "characters": True}) == Usage()


# ---- property tests ------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
event_ids = st.none() | st.text(max_size=20)

_FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "str": st.text(max_size=30),
    "int": st.integers(min_value=-(2**40), max_value=2**40),
    "bytes": st.binary(max_size=64),
    "dict[str, Any]": json_objects,
    "dict[str, Any] | None": st.none() | json_objects,
    "str | None": st.none() | st.text(max_size=30),
}


def _event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    if cls is ErrorEvent:
        detail = st.builds(
            ErrorDetail,
            type=st.text(max_size=10),
            code=st.none() | st.text(max_size=10),
            message=st.text(max_size=20),
            param=st.none() | st.text(max_size=10),
            event_id=st.none() | st.text(max_size=10),
        )
        return st.builds(ErrorEvent, detail, event_id=event_ids)
    kwargs = {f.name: _FIELD_STRATEGIES[str(f.type)] for f in dataclasses.fields(cls) if f.name != "event_id"}
    return st.builds(cls, event_id=event_ids, **kwargs)


client_events = st.one_of([_event_strategy(cls) for cls in CLIENT_EVENT_TYPES])
server_events = st.one_of([_event_strategy(cls) for cls in SERVER_EVENT_TYPES])
ALL_TYPES = sorted(SERVER_CLASSES) + sorted(CLIENT_CLASSES)
EVENT_TYPES_UNION = (*SERVER_EVENT_TYPES, *CLIENT_EVENT_TYPES, UnknownEvent, MalformedEvent)


@given(client_events)
@settings(max_examples=400)
def test_client_events_round_trip(event: Event) -> None:
    assert decode_client_event(encode_event(event)) == event


@given(server_events)
@settings(max_examples=400)
def test_server_events_round_trip(event: Event) -> None:
    assert decode_server_event(encode_event(event)) == event


@given(st.text() | st.binary())
@settings(max_examples=300)
def test_arbitrary_frames_never_raise(data: str | bytes) -> None:
    assert isinstance(decode_server_event(data), EVENT_TYPES_UNION)
    assert isinstance(decode_client_event(data), EVENT_TYPES_UNION)


@given(json_values)
@settings(max_examples=300)
def test_arbitrary_json_values_never_raise(value: Any) -> None:
    frame = json.dumps(value)
    assert isinstance(decode_server_event(frame), EVENT_TYPES_UNION)
    assert isinstance(decode_client_event(frame), EVENT_TYPES_UNION)


_FIELD_NAMES = st.sampled_from(
    [
        "event_id", "session", "error", "item_id", "audio_start_ms", "audio_end_ms", "previous_item_id",
        "item", "content_index", "output_index", "response_id", "delta", "text", "stash", "transcript",
        "response", "part", "call_id", "name", "arguments", "audio", "image", "language", "emotion",
    ]
)  # fmt: skip
_B64ISH = st.sampled_from(["AAAA", "AAE=", "!!!", "AAE", "", "AA==AA==", "é"])


@given(
    st.sampled_from(ALL_TYPES),
    st.dictionaries(_FIELD_NAMES | st.text(max_size=6), json_values | _B64ISH, max_size=8),
)
@settings(max_examples=1500)
def test_known_types_with_random_fields_never_raise(event_type: str, fields: dict[str, Any]) -> None:
    frame = json.dumps({**fields, "type": event_type})
    server = decode_server_event(frame)
    client = decode_client_event(frame)
    assert isinstance(server, EVENT_TYPES_UNION)
    assert isinstance(client, EVENT_TYPES_UNION)
    if event_type in SERVER_CLASSES:
        assert isinstance(server, SERVER_CLASSES[event_type] | MalformedEvent)
    if event_type in CLIENT_CLASSES:
        assert isinstance(client, CLIENT_CLASSES[event_type] | MalformedEvent)


def test_audio_delta_decode_is_fast_enough_for_realtime() -> None:
    # 100 ms of 24 kHz mono int16 = 4800 bytes. Realtime needs 10/s; demand far more (shared CI box).
    import time

    frame = encode_event(ResponseAudioDelta("resp_1", "item_1", 0, 0, bytes(4800), event_id=new_event_id()))
    start = time.perf_counter()
    for _ in range(2000):
        decode_server_event(frame)
    rate = 2000 / (time.perf_counter() - start)
    assert rate > 2000, rate


def test_input_audio_commit_event_has_no_payload() -> None:
    assert json.loads(encode_event(InputAudioBufferCommit(event_id="e"))) == {
        "event_id": "e",
        "type": "input_audio_buffer.commit",
    }
