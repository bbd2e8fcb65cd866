"""The conversation model: turns from transcript updates, persistence as it happens, history, export."""

from __future__ import annotations

import json
import wave

import numpy as np

from qwenvoice.audio.wav import WavTrack, read_wav
from qwenvoice.session.conversation import (
    ASSISTANT,
    USER,
    Conversation,
    export_bundle,
    list_conversations,
    load_turns,
    transcript_markdown,
)


def test_turns_follow_live_and_final_transcripts(tmp_path):
    conv = Conversation.create(tmp_path)
    i = conv.user_speech("item_1")
    assert conv.turns[i].role == USER and conv.turns[i].text == ""
    assert conv.user_transcript("item_1", "hello", final=False, preview=" wor") == i
    assert conv.turns[i].display_text == "hello wor"
    conv.user_transcript("item_1", "hello world", final=True)
    assert conv.turns[i].display_text == "hello world" and conv.turns[i].final
    a = conv.assistant_delta("resp_1", "Hi", item_id="item_2")
    conv.assistant_delta("resp_1", " there")
    assert a == i + 1 and conv.turns[a].text == "Hi there" and conv.turns[a].role == ASSISTANT
    conv.assistant_done("resp_1", "Hi there!")
    assert conv.turns[a].text == "Hi there!" and conv.turns[a].final
    t = conv.user_text("typed words")
    assert conv.turns[t].source == "text" and conv.turns[t].final


def test_interrupted_reply_keeps_the_cut_point(tmp_path):
    conv = Conversation.create(tmp_path)
    a = conv.assistant_delta("resp_1", "The answer is")
    conv.mark_interrupted("resp_1")
    conv.assistant_delta("resp_1", " forty-two")  # a late delta still shows, the cut stays where it was
    conv.assistant_done("resp_1", "The answer is forty-two and more")
    turn = conv.turns[a]
    assert turn.interrupted and turn.heard_chars == len("The answer is")
    assert "interrupted" in transcript_markdown(conv.turns)
    assert "forty-two" not in transcript_markdown(conv.turns)


def test_everything_is_on_disk_before_close(tmp_path):
    conv = Conversation.create(tmp_path)
    conv.user_transcript("item_1", "what time is it", final=True)
    conv.assistant_delta("resp_1", "It is noon.")
    conv.append_user_audio(np.full(1600, 1000, dtype=np.int16).tobytes())
    conv.append_assistant_audio(np.full(2400, -1000, dtype=np.int16).tobytes())
    # Not closed: a crash now must still leave a readable transcript and valid WAV files.
    turns = load_turns(conv.folder)
    assert [t.display_text for t in turns] == ["what time is it", "It is noon."]
    with wave.open(str(conv.folder / "user.wav")) as w:
        assert w.getframerate() == 16000 and w.getnframes() >= 1600
    with wave.open(str(conv.folder / "assistant.wav")) as w:
        assert w.getframerate() == 24000 and w.getnframes() >= 2400
    conv.close()


def test_torn_last_line_is_ignored(tmp_path):
    conv = Conversation.create(tmp_path)
    conv.user_transcript("item_1", "first", final=True)
    conv.close()
    with open(conv.folder / "transcript.jsonl", "a") as f:
        f.write('{"turn_id": "x", "role": "us')
    assert [t.text for t in load_turns(conv.folder)] == ["first"]


def test_history_lists_newest_first_and_exports_a_bundle(tmp_path):
    old = Conversation.create(tmp_path)
    old.user_transcript("i", "older question", final=True)
    old.close()
    meta = json.loads((old.folder / "meta.json").read_text())
    meta["started_at"] -= 100
    (old.folder / "meta.json").write_text(json.dumps(meta))
    new = Conversation.create(tmp_path)
    new.user_text("newer question")
    new.assistant_delta("r", "reply")
    new.append_assistant_audio(np.arange(480, dtype=np.int16).tobytes())
    new.log_event_line('{"type": "response.done"}')
    new.close()
    summaries = list_conversations(tmp_path)
    assert [s.title for s in summaries] == ["newer question", "older question"]
    assert summaries[0].turn_count == 2
    out = export_bundle(new.folder, tmp_path / "bundle")
    names = sorted(p.name for p in out)
    assert names == ["assistant.wav", "events.jsonl", "transcript.md", "user.wav"]
    md = (tmp_path / "bundle" / "transcript.md").read_text()
    assert "newer question" in md and "reply" in md and "(typed)" in md
    saved = read_wav(tmp_path / "bundle" / "assistant.wav")
    samples, rate = saved.samples(), saved.rate
    assert rate == 24000 and samples[-1] == 479
    assert (tmp_path / "bundle" / "events.jsonl").read_text().strip() == '{"type": "response.done"}'


def test_wav_track_pads_to_wall_clock(tmp_path):
    track = WavTrack(tmp_path / "t.wav", 1000, origin=0.0)
    track.pad_to_now(now=0.5)
    assert track.samples_written == 500
    track.append(b"\x01\x00" * 10, align=False)
    track.close()
    saved = read_wav(tmp_path / "t.wav")
    samples, rate = saved.samples(), saved.rate
    assert rate == 1000 and len(samples) == 510 and samples[-1] == 1 and samples[0] == 0
