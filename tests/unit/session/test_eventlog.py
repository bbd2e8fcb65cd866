"""The event log elides audio, stays bounded and exports JSONL."""

from __future__ import annotations

import base64
import json

from qwenvoice.session.eventlog import IN, OUT, EventLog


def test_audio_is_elided_and_text_is_kept():
    log = EventLog()
    audio = base64.b64encode(bytes(3000)).decode()
    r = log.add_raw(IN, json.dumps({"type": "response.audio.delta", "delta": audio, "response_id": "r"}))
    assert r.payload["delta"] == "<base64: 3000 bytes elided>" and r.payload["response_id"] == "r"
    assert r.size > 4000
    t = log.add(IN, {"type": "response.audio_transcript.delta", "delta": "Hello"})
    assert t.payload["delta"] == "Hello"
    o = log.add(OUT, {"type": "input_audio_buffer.append", "audio": audio})
    assert "elided" in o.payload["audio"] and audio not in o.to_json()
    assert log.counts == {IN: 2, OUT: 1}


def test_ring_is_bounded_and_since_returns_new_records():
    log = EventLog(capacity=10)
    for i in range(25):
        log.add(OUT, {"type": f"t{i}"})
    assert len(log) == 10 and log.next_seq == 25
    assert [r.type for r in log.since(22)] == ["t22", "t23", "t24"]
    assert [r.seq for r in log.since(0)][0] == 15  # older ones fell out
    assert log.since(25) == []


def test_export_and_sink(tmp_path):
    log = EventLog()
    with open(tmp_path / "live.jsonl", "w") as sink:
        log.sink = sink
        log.add(IN, {"type": "session.created", "session": {"id": "s"}})
        log.add_raw(IN, "not json")
    n = EventLog.export_jsonl(log.records(), tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert n == 2 and json.loads(lines[0])["event"]["session"] == {"id": "s"}
    assert json.loads(lines[1])["type"] == "(not JSON)"
    assert (tmp_path / "live.jsonl").read_text().splitlines() == lines
