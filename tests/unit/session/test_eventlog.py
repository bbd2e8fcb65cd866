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


def test_consecutive_audio_appends_fold_into_one_counted_record(tmp_path):
    log = EventLog()
    with open(tmp_path / "live.jsonl", "w") as sink:
        log.sink = sink
        log.add(OUT, {"type": "session.update", "session": {}})
        for _ in range(50):
            log.add(OUT, {"type": "input_audio_buffer.append", "audio": "A" * 1280}, size=1300)
        log.add(IN, {"type": "input_audio_buffer.speech_started"})
        for _ in range(3):
            log.add(OUT, {"type": "input_audio_buffer.append", "audio": "A" * 1280}, size=1300)
    rows = log.records()
    assert [(r.label, r.size) for r in rows] == [
        ("session.update", rows[0].size), ("input_audio_buffer.append ×50", 65000),
        ("input_audio_buffer.speech_started", rows[2].size), ("input_audio_buffer.append ×3", 3900)]
    assert log.next_seq == 4 and log.counts[OUT] == 54
    assert rows[1].payload["appends"] == 50 and '"count": 50' in rows[1].to_json()
    # the saved file still has every event
    assert len((tmp_path / "live.jsonl").read_text().splitlines()) == 55


def test_set_up_and_errors_outlive_the_ring():
    log = EventLog(capacity=10)
    log.add(IN, {"type": "session.created", "session": {}})
    log.add(OUT, {"type": "session.update", "session": {}})
    log.add(IN, {"type": "session.updated", "session": {}})
    for i in range(30):
        log.add(IN, {"type": f"response.text.delta{i}"})
        if i == 5:
            log.add(IN, {"type": "error", "error": {"message": "boom"}})
    kept = [r.type for r in log.records()]
    assert kept[:4] == ["session.created", "session.update", "session.updated", "error"]
    assert kept[4:] == [f"response.text.delta{i}" for i in range(20, 30)]
    assert [r.type for r in log.since(0)][:4] == kept[:4]  # a view opened late still gets the set-up
